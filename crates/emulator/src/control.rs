//! Control endpoints under `/emulator/v1/` (not part of CloudControl): `GET stats`, `POST reset`,
//! `GET`/`PUT faults`. The counters and the stats document live in `stats`, the request log in
//! `request_log`.

use serde_json::Value;

use crate::core::Core;
use crate::faults::{FaultSpec, FaultSpecError};
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

/// Why a `PUT /emulator/v1/faults` body was refused (answered as `{"error": "..."}`, HTTP 400).
#[derive(Debug, thiserror::Error)]
pub enum FaultsBodyError {
    /// Not JSON at all.
    #[error("malformed JSON: {0}")]
    Malformed(serde_json::Error),
    /// JSON, but not an object.
    #[error("a JSON object is required")]
    NotAnObject,
    /// `seed` is not a non-negative integer.
    #[error("seed must be a non-negative integer")]
    Seed,
    /// Both `spec` and fields.
    #[error("give either spec or the fields, not both")]
    SpecAndFields,
    /// `spec` is not a string.
    #[error("spec must be a string")]
    SpecNotString,
    /// The fields do not make a fault spec.
    #[error("{0}")]
    Fields(serde_json::Error),
    /// The spec is invalid.
    #[error(transparent)]
    Spec(#[from] FaultSpecError),
}

/// `PUT /emulator/v1/faults`: a JSON object (`{"busy":0.1,...,"delay_ms":50,"seed":7}`) or a spec
/// string (`{"spec":"busy=0.1,delay=50ms","seed":7}`).
pub fn set_faults(core: &Core, body: &[u8]) -> Result<Value, FaultsBodyError> {
    let mut v: Value = serde_json::from_slice(body).map_err(FaultsBodyError::Malformed)?;
    let obj = v.as_object_mut().ok_or(FaultsBodyError::NotAnObject)?;
    let seed = match obj.remove("seed") {
        None | Some(Value::Null) => None,
        Some(s) => Some(s.as_u64().ok_or(FaultsBodyError::Seed)?),
    };
    let spec = match obj.remove("spec") {
        Some(Value::String(s)) => {
            if !obj.is_empty() {
                return Err(FaultsBodyError::SpecAndFields);
            }
            FaultSpec::parse(&s)?
        }
        Some(_) => return Err(FaultsBodyError::SpecNotString),
        None => {
            let f: FaultSpec = serde_json::from_value(Value::Object(obj.clone()))
                .map_err(FaultsBodyError::Fields)?;
            f.check()?;
            f
        }
    };
    core.faults.set(spec, seed);
    Ok(faults_json(core))
}
