//! The request log: one JSON line per request in `STATE_DIR/requests.log` (mode 0600), written by
//! its own thread so requests never wait on it (in batches, at most ~10 ms late), with passwords
//! and other secrets redacted.

use std::io::Write;
use std::path::Path;
use std::sync::mpsc;

use serde_json::Value;

/// How long the writer lets lines gather after writing a batch: a line reaches the file at most
/// this much later.
const COALESCE: std::time::Duration = std::time::Duration::from_millis(10);

/// One request log line.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogLine {
    /// RFC 3339 time.
    pub time: String,
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Operation name.
    pub operation: String,
    /// responseCode, or `HTTP_<status>`.
    #[serde(rename = "responseCode")]
    pub response_code: String,
    /// HTTP status.
    pub status: u16,
    /// Milliseconds spent.
    pub ms: f64,
    /// Request body with secrets redacted (changes only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// The request log: lines go through a channel to a writer thread so requests never wait on it.
pub struct RequestLog {
    tx: Option<mpsc::Sender<LogLine>>,
}

impl RequestLog {
    /// Appends to `path` (created with mode 0600).
    pub fn open(path: &Path) -> std::io::Result<RequestLog> {
        use std::os::unix::fs::OpenOptionsExt;
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        let (tx, rx) = mpsc::channel::<LogLine>();
        std::thread::Builder::new()
            .name("emulator-log".into())
            .spawn(move || {
                let mut w = std::io::BufWriter::new(f);
                while let Ok(line) = rx.recv() {
                    let _ = serde_json::to_writer(&mut w, &line);
                    let _ = w.write_all(b"\n");
                    while let Ok(line) = rx.try_recv() {
                        let _ = serde_json::to_writer(&mut w, &line);
                        let _ = w.write_all(b"\n");
                    }
                    let _ = w.flush();
                    // Lines arriving meanwhile wait here instead of waking this thread once per
                    // request (the wake-ups cost more than the writing under load).
                    std::thread::sleep(COALESCE);
                }
            })?;
        Ok(RequestLog { tx: Some(tx) })
    }

    /// Queues one line.
    pub fn write(&self, line: LogLine) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(line);
        }
    }
}

/// Whether a field name designates a secret.
pub fn is_secret_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    [
        "password",
        "secret",
        "privatekey",
        "private_key",
        "token",
        "passphrase",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// Replaces every secret field of a parsed body by `"<redacted>"`.
pub fn redact(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if is_secret_key(k) {
                    *x = Value::String("<redacted>".into());
                } else {
                    redact(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact),
        _ => {}
    }
}
