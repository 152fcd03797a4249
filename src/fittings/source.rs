//! Where a plan comes from (a path, `-` for stdin, or an http URL) and the key that names its state.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::{Duration, Instant};

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

/// A minimal HTTP/1.0 GET for plain `http://` URLs (status 200 only, 16 MiB at most). The whole fetch,
/// connection included, must end within `PLUMBERY_HTTP_TIMEOUT` seconds (default 10), so a server that
/// accepts and never answers, or answers a byte at a time, cannot hang plumbery.
pub fn http_get(url: &str) -> Result<String, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        "only http:// URLs can be fetched for now; download the plan and give its path instead"
            .to_string()
    })?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    let host = hostport.split(':').next().unwrap_or(hostport);
    let limit = http_timeout();
    let deadline = Instant::now() + limit;
    let too_slow = || {
        format!(
            "no complete answer from {addr} within {:.0} s; check the URL, or download the plan and give its path",
            limit.as_secs_f64()
        )
    };
    let target = addr
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("cannot resolve {addr}"))?;
    let mut stream = TcpStream::connect_timeout(&target, limit).map_err(|e| {
        if e.kind() == ErrorKind::TimedOut {
            too_slow()
        } else {
            format!("cannot connect to {addr}: {e}")
        }
    })?;
    let left = |deadline: Instant| {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    };
    stream.set_write_timeout(left(deadline)).ok();
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: plumbery\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut body = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let Some(remaining) = left(deadline) else {
            return Err(too_slow());
        };
        stream.set_read_timeout(Some(remaining)).ok();
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                body.extend_from_slice(&buf[..n]);
                if body.len() as u64 > MAX_PLAN_BYTES {
                    return Err("the answer is larger than 16 MiB".into());
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(too_slow());
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    let text = String::from_utf8(body).map_err(|_| "the answer is not UTF-8 text".to_string())?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("the answer is not HTTP")?;
    let status = head.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(format!("the server answered '{status}'"));
    }
    Ok(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
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
            assert!(request.starts_with(b"GET /plan.yaml HTTP/1.0\r\n"));
            s.write_all(b"HTTP/1.0 200 OK\r\nContent-Type: text/yaml\r\n\r\nlocationId: EU6\n")
                .unwrap();
        });
        let text = PlanSource::Url(format!("http://127.0.0.1:{port}/plan.yaml"))
            .read()
            .unwrap();
        assert_eq!(text.text, "locationId: EU6\n");
        server.join().unwrap();
        assert!(http_get("https://example.invalid/").is_err());
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
