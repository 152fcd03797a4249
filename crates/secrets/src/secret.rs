//! [`Secret`]: the one redacting wrapper for a password or other secret value, used by the cloud
//! client, the emulator and the local nodes; and [`shared_secret`], the one rule for `SHARED_SECRET`.

use std::fmt;

/// A secret value that never shows in `Debug` or `Display` output (both print `Secret(***)`);
/// [`Secret::expose`] reads it where it is really needed. Serialised (serde) as the bare string, so
/// a stored or wire form that holds the value keeps its shape.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The shared root password of new nodes: `SHARED_SECRET` when it is set and not blank.
pub fn shared_secret() -> Option<String> {
    std::env::var("SHARED_SECRET")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "Secret(***) Secret(***)");
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"hunter2\"");
    }
}
