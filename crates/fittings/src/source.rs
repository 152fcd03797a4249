//! Where a plan comes from (a path, `-` for stdin, or an http(s) URL) and the key that names its state.
//!
//! Fetching a URL is network I/O, which the plan language never does: [`PlanSource::read_with`] takes the
//! fetch from its caller (the command line passes `cloud::http_get`); [`PlanSource::read`] refuses URLs.

use std::io::Read;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::error::LoadError;
use super::model::SourcePos;

/// The FITTINGS argument of the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanSource {
    /// A file path.
    File(PathBuf),
    /// `-`: read standard input.
    Stdin,
    /// An `http://` or `https://` URL.
    Url(String),
    /// Text already in memory (tests, benchmarks), with a display name.
    Text {
        /// Name used in messages (stands for the file name).
        name: String,
        /// The plan text.
        text: String,
    },
}

/// A plan's text, its display name, and the key of its state (secrets, host keys, logs).
#[derive(Debug, Clone)]
pub struct PlanText {
    /// Name used in messages: the path as given, `-`, or the URL.
    pub name: String,
    /// Stable key of the plan: `file:<canonical path>`, `url:<url>`, or `text:<sha256 of the text>` for
    /// stdin and in-memory text. It does not depend on the working directory.
    pub key: String,
    /// The raw text.
    pub text: String,
}

impl PlanSource {
    /// Interprets a command line argument.
    pub fn from_arg(arg: &str) -> PlanSource {
        if arg == "-" {
            PlanSource::Stdin
        } else if arg.starts_with("http://") || arg.starts_with("https://") {
            PlanSource::Url(arg.to_string())
        } else {
            PlanSource::File(PathBuf::from(arg))
        }
    }

    /// The name used in messages.
    pub fn name(&self) -> String {
        match self {
            PlanSource::File(p) => p.display().to_string(),
            PlanSource::Stdin => "-".into(),
            PlanSource::Url(u) => u.clone(),
            PlanSource::Text { name, .. } => name.clone(),
        }
    }

    /// Reads the plan from a file, standard input or memory; a URL is refused (see [`PlanSource::read_with`]).
    pub fn read(&self) -> Result<PlanText, LoadError> {
        self.read_with(&|_| {
            Err("fetching a URL is up to the caller; give the plan's path instead".to_string())
        })
    }

    /// Reads the plan; an `http(s)://` source is fetched with `fetch` (the text of the answer, or why not).
    pub fn read_with(
        &self,
        fetch: &dyn Fn(&str) -> Result<String, String>,
    ) -> Result<PlanText, LoadError> {
        let name = self.name();
        match self {
            PlanSource::File(path) => {
                let bytes = std::fs::File::open(path)
                    .and_then(read_capped)
                    .map_err(|e| {
                        LoadError::plain(format!(
                            "{name}: cannot read the plan ({e}); check the path"
                        ))
                    })?;
                let text = utf8(&name, bytes)?;
                let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
                Ok(PlanText {
                    name,
                    key: format!("file:{}", canonical.display()),
                    text,
                })
            }
            PlanSource::Stdin => {
                let bytes = read_capped(std::io::stdin().lock()).map_err(|e| {
                    LoadError::plain(format!("-: cannot read the plan from standard input ({e})"))
                })?;
                let text = utf8(&name, bytes)?;
                Ok(PlanText {
                    name,
                    key: text_key(&text),
                    text,
                })
            }
            PlanSource::Url(url) => {
                let text = fetch(url)
                    .map_err(|e| LoadError::plain(format!("{url}: cannot fetch the plan: {e}")))?;
                Ok(PlanText {
                    name,
                    key: format!("url:{url}"),
                    text,
                })
            }
            PlanSource::Text { text, .. } => Ok(PlanText {
                name,
                key: text_key(text),
                text: text.clone(),
            }),
        }
    }
}

/// Largest plan read from a file, standard input or a URL (real plans are a few KiB).
pub const MAX_PLAN_BYTES: u64 = 16 << 20;

/// Reads at most [`MAX_PLAN_BYTES`]; more is an error (so `/dev/zero` or an endless pipe cannot eat the
/// memory).
fn read_capped(reader: impl Read) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(MAX_PLAN_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_PLAN_BYTES {
        return Err(std::io::Error::other("it is larger than 16 MiB"));
    }
    Ok(bytes)
}

/// The text of a plan file, or an error at the first byte that is not UTF-8.
fn utf8(name: &str, bytes: Vec<u8>) -> Result<String, LoadError> {
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = 1 + good.iter().filter(|b| **b == b'\n').count();
        let start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let column = 1 + String::from_utf8_lossy(&good[start..]).chars().count();
        LoadError::at(
            SourcePos {
                file: name.to_string(),
                line,
                column,
            },
            "the plan is not UTF-8 text; save it as UTF-8",
        )
    })
}

fn text_key(text: &str) -> String {
    format!("text:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        assert_eq!(PlanSource::from_arg("-"), PlanSource::Stdin);
        assert!(matches!(
            PlanSource::from_arg("http://x/y"),
            PlanSource::Url(_)
        ));
        assert!(matches!(
            PlanSource::from_arg("a.yaml"),
            PlanSource::File(_)
        ));
    }

    #[test]
    fn file_key_is_canonical() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.yaml"), "a: 1\n").unwrap();
        let a = PlanSource::File(dir.path().join("p.yaml")).read().unwrap();
        let b = PlanSource::File(dir.path().join(".").join("p.yaml"))
            .read()
            .unwrap();
        assert_eq!(a.key, b.key);
        assert!(
            PlanSource::File(dir.path().join("none.yaml"))
                .read()
                .is_err()
        );
    }

    #[test]
    fn urls_are_fetched_by_the_caller() {
        let url = PlanSource::Url("http://x/p.yaml".into());
        let text = url.read_with(&|u| Ok(format!("# {u}\n"))).unwrap();
        assert_eq!(text.text, "# http://x/p.yaml\n");
        assert_eq!(text.key, "url:http://x/p.yaml");
        let err = url.read_with(&|_| Err("no route".into())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "http://x/p.yaml: cannot fetch the plan: no route"
        );
        assert!(url.read().is_err());
    }

    #[test]
    fn non_utf8_is_placed() {
        let err = utf8("p.yaml", b"a: 1\nb: \xc3\xa9\xff\n".to_vec()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "p.yaml:2:5: the plan is not UTF-8 text; save it as UTF-8"
        );
    }

    #[test]
    fn endless_input_is_cut() {
        let err = read_capped(std::io::repeat(b'a')).unwrap_err();
        assert_eq!(err.to_string(), "it is larger than 16 MiB");
        assert_eq!(read_capped(&b"a: 1\n"[..]).unwrap(), b"a: 1\n");
    }
}
