//! Where a plan comes from (a path, `-` for stdin, or an http(s) URL) and the key that names its state.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

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

    /// Reads the plan.
    pub fn read(&self) -> Result<PlanText, LoadError> {
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
                let text = http_get(url)
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

/// Seconds an http:// fetch may take in all (`PLUMBERY_HTTP_TIMEOUT`, default 10).
fn http_timeout() -> Duration {
    let secs = std::env::var("PLUMBERY_HTTP_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(10.0);
    Duration::from_secs_f64(secs)
}

fn text_key(text: &str) -> String {
    format!("text:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

/// GET an `http://` or `https://` URL with reqwest (status 200 only, 16 MiB at most, TLS verified
/// against the web's roots). The whole fetch, connection included, must end within
/// `PLUMBERY_HTTP_TIMEOUT` seconds (default 10), so a server that accepts and never answers, or answers
/// a byte at a time, cannot hang plumbery. It runs on a thread of its own with a private runtime, so it
/// may be called from synchronous code and from inside an async task alike.
pub fn http_get(url: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(url).map_err(|e| format!("'{url}' is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "only http:// and https:// URLs can be fetched, not {}://",
            url.scheme()
        ));
    }
    std::thread::spawn(move || fetch(url))
        .join()
        .map_err(|_| "the fetch thread crashed".to_string())?
}

fn fetch(url: reqwest::Url) -> Result<String, String> {
    let limit = http_timeout();
    let addr = format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(80)
    );
    let too_slow = || {
        format!(
            "no complete answer from {addr} within {:.0} s; check the URL, or download the plan and give its path",
            limit.as_secs_f64()
        )
    };
    let explain = |e: reqwest::Error| {
        if e.is_timeout() {
            too_slow()
        } else if e.is_connect() {
            let cause = std::error::Error::source(&e)
                .map(|c| c.to_string())
                .unwrap_or_else(|| e.to_string());
            format!("cannot connect to {addr}: {cause}")
        } else {
            e.to_string()
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(limit)
            .connect_timeout(limit)
            .user_agent(concat!("plumbery/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        let mut answer = client.get(url.clone()).send().await.map_err(explain)?;
        if answer.status() != reqwest::StatusCode::OK {
            return Err(format!(
                "the server answered '{:?} {}'",
                answer.version(),
                answer.status()
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = answer.chunk().await.map_err(explain)? {
            body.extend_from_slice(&chunk);
            if body.len() as u64 > MAX_PLAN_BYTES {
                return Err("the answer is larger than 16 MiB".into());
            }
        }
        String::from_utf8(body).map_err(|_| "the answer is not UTF-8 text".to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

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
    fn fetches_over_http() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.ends_with(b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "the client closed before the end of its request");
                request.extend_from_slice(&buf[..n]);
            }
            assert!(request.starts_with(b"GET /plan.yaml HTTP/1.1\r\n"));
            s.write_all(b"HTTP/1.0 200 OK\r\nContent-Type: text/yaml\r\n\r\nlocationId: EU6\n")
                .unwrap();
        });
        let text = PlanSource::Url(format!("http://127.0.0.1:{port}/plan.yaml"))
            .read()
            .unwrap();
        assert_eq!(text.text, "locationId: EU6\n");
        server.join().unwrap();
        assert!(http_get("https://example.invalid/").is_err());
        assert!(
            http_get("ftp://example.invalid/")
                .unwrap_err()
                .contains("ftp://")
        );
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
