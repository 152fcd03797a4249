//! Where per-plan state lives: `PLUMBERY_STATE_DIR`, else `$XDG_STATE_HOME/plumbery`, else
//! `~/.local/state/plumbery`; one directory per plan under `plans/`.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

/// The state root directory (not created here).
pub fn state_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("PLUMBERY_STATE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("plumbery");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".local/state/plumbery")
}

/// The state directory of the plan whose key is `plan_key` (`PlanText::key`):
/// `<state root>/plans/<file stem>-<first 16 hex digits of sha256(key)>` (not created here).
pub fn plan_state_dir(plan_key: &str) -> PathBuf {
    let hash = hex::encode(Sha256::digest(plan_key.as_bytes()));
    let stem = plan_key.rsplit(['/', ':']).next().unwrap_or("plan");
    let stem = stem
        .strip_suffix(".yaml")
        .or_else(|| stem.strip_suffix(".yml"))
        .unwrap_or(stem);
    let stem: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let stem = if stem.is_empty() {
        "plan".to_string()
    } else {
        stem
    };
    state_root()
        .join("plans")
        .join(format!("{stem}-{}", &hash[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_dirs_are_named_and_distinct() {
        let a = plan_state_dir("file:/a/redis-cluster.yaml");
        let b = plan_state_dir("file:/b/redis-cluster.yaml");
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("redis-cluster-") && name.len() == "redis-cluster-".len() + 16,
            "{name}"
        );
        assert!(
            plan_state_dir("text:abc")
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("abc-")
        );
    }
}
