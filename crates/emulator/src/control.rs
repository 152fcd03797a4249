//! Control endpoints under `/emulator/v1/` (not part of CloudControl): `GET stats`, `POST reset`,
//! `GET`/`PUT faults`; the request counters; and the request log (JSON lines in the state dir, with
//! passwords and other secrets redacted).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::mpsc;

use serde_json::{Value, json};

use super::core::{Core, public_of};
use super::faults::FaultSpec;

/// Request counters.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// All requests.
    pub total: u64,
    /// By operation name.
    pub by_operation: BTreeMap<String, u64>,
    /// By responseCode (or `HTTP_<status>` when there is none).
    pub by_code: BTreeMap<String, u64>,
}

impl Stats {
    /// Counts one request.
    pub fn count(&mut self, operation: &str, code: &str) {
        self.total += 1;
        *self.by_operation.entry(operation.to_string()).or_default() += 1;
        *self.by_code.entry(code.to_string()).or_default() += 1;
    }
}

/// The `GET /emulator/v1/stats` document.
pub fn stats_json(core: &Core) -> Value {
    let s = core.stats.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let st = core.read();
    let client_rules = st
        .firewall_rules
        .values()
        .filter(|r| !r.is_default())
        .count();
    let servers: Vec<Value> = st
        .servers
        .values()
        .map(|s| {
            json!({
                "id": s.id,
                "name": s.name,
                "state": s.state.as_str(),
                "started": s.started,
                "deployed": s.deployed,
                "action": s.pending.map(|p| p.op.action()),
                "networkDomainId": s.domain_id,
                "privateIpv4": s.nics().map(|n| n.ipv4.to_string()).collect::<Vec<_>>(),
                "publicIpv4": s.nics().filter_map(|n| public_of(&st, n.ipv4)).map(|a| a.to_string()).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "requests": { "total": s.total, "byOperation": s.by_operation, "byResponseCode": s.by_code },
        "resources": {
            "networkDomain": st.domains.len(),
            "vlan": st.vlans.len(),
            "reservedPrivateIpv4": st.vlans.values().map(|v| v.reserved.len()).sum::<usize>(),
            "publicIpBlock": st.ip_blocks.len(),
            "natRule": st.nat_rules.len(),
            "firewallRule": client_rules,
            "defaultFirewallRule": st.firewall_rules.len() - client_rules,
            "server": st.servers.len(),
        },
        "servers": servers,
        "orgId": st.org_id,
    })
}

/// `GET /emulator/v1/faults`.
pub fn faults_json(core: &Core) -> Value {
    serde_json::to_value(core.faults.spec()).unwrap_or(Value::Null)
}

/// `PUT /emulator/v1/faults`: a JSON object (`{"busy":0.1,...,"delay_ms":50,"seed":7}`) or a spec
/// string (`{"spec":"busy=0.1,delay=50ms","seed":7}`).
pub fn set_faults(core: &Core, body: &[u8]) -> Result<Value, String> {
    let mut v: Value = serde_json::from_slice(body).map_err(|e| format!("malformed JSON: {e}"))?;
    let obj = v.as_object_mut().ok_or("a JSON object is required")?;
    let seed = match obj.remove("seed") {
        None | Some(Value::Null) => None,
        Some(s) => Some(s.as_u64().ok_or("seed must be a non-negative integer")?),
    };
    let spec = match obj.remove("spec") {
        Some(Value::String(s)) => {
            if !obj.is_empty() {
                return Err("give either spec or the fields, not both".into());
            }
            FaultSpec::parse(&s).map_err(|e| e.to_string())?
        }
        Some(_) => return Err("spec must be a string".into()),
        None => {
            let f: FaultSpec =
                serde_json::from_value(Value::Object(obj.clone())).map_err(|e| e.to_string())?;
            f.check().map_err(|e| e.to_string())?;
            f
        }
    };
    core.faults.set(spec, seed);
    Ok(faults_json(core))
}

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
                }
            })?;
        Ok(RequestLog { tx: Some(tx) })
    }

    /// A log that drops everything.
    pub fn disabled() -> RequestLog {
        RequestLog { tx: None }
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

/// The body of a change as logged: parsed (XML or JSON), secrets redacted; never the raw bytes.
pub fn loggable_body(content_type: &str, body: &[u8]) -> Option<Value> {
    if body.is_empty() {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    let t = text.trim_start();
    let mut v = if content_type.contains("json") || t.starts_with('{') {
        serde_json::from_str::<Value>(t).ok()
    } else {
        super::responses::body::xml_to_value(t).ok().map(|(_, v)| v)
    };
    match &mut v {
        Some(v) => {
            redact(v);
            Some(v.clone())
        }
        None => Some(Value::String(format!(
            "<{} bytes, unparseable>",
            body.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_in_both_forms() {
        let xml = br#"<deployServer><name>a</name><administratorPassword>S3cr3t!!</administratorPassword></deployServer>"#;
        let v = loggable_body("application/xml", xml).unwrap();
        assert!(!v.to_string().contains("S3cr3t"));
        assert_eq!(v["administratorPassword"], "<redacted>");
        let v = loggable_body(
            "application/json",
            br#"{"x":{"clientSecret":"abc"},"name":"n"}"#,
        )
        .unwrap();
        assert!(!v.to_string().contains("abc"));
        let v = loggable_body("", b"<broken S3cr3t").unwrap();
        assert!(!v.to_string().contains("S3cr3t"));
    }

    #[test]
    fn stats_count_by_operation_and_code() {
        let mut s = Stats::default();
        s.count("DEPLOY_SERVER", "IN_PROGRESS");
        s.count("DEPLOY_SERVER", "RESOURCE_BUSY");
        assert_eq!(s.total, 2);
        assert_eq!(s.by_operation["DEPLOY_SERVER"], 2);
        assert_eq!(s.by_code["RESOURCE_BUSY"], 1);
    }
}
