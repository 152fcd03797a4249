//! Control endpoints under `/emulator/v1/` (not part of CloudControl): `GET stats`, `POST reset`,
//! `GET`/`PUT faults`. The counters and the stats document live in `stats`, the request log in
//! `request_log`.

use serde_json::Value;

use crate::core::Core;
use crate::faults::FaultSpec;
use crate::stats::Stats;

/// The `GET /emulator/v1/stats` document.
pub fn stats(core: &Core) -> Stats {
    let requests = core
        .requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Stats::new(requests, &core.read())
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
