//! A host-wide record of live backends (`/run/plumbery-nodes/PREFIX`: owner pid and start time, state
//! dir), so that a new backend can clear what *other* backends left when their process died without
//! shutting down (a killed test, a crashed emulator): their namespaces, cgroups and node disks. A
//! backend whose owner process still runs is never touched.

use std::path::{Path, PathBuf};

use super::{cgroup, netns, process};

const DIR: &str = "/run/plumbery-nodes";

fn entry(prefix: &str) -> PathBuf {
    Path::new(DIR).join(prefix)
}

/// Records this process as the owner of the backend `prefix` with `state_dir`.
pub fn register(prefix: &str, state_dir: &Path) {
    let pid = nix::unistd::getpid().as_raw();
    let st = process::start_time(pid).unwrap_or(0);
    let text = format!("{pid} {st}\n{}\n", state_dir.display());
    // Retried: another backend may remove the (then empty) directory between our two steps.
    let mut result = Ok(());
    for _ in 0..3 {
        result = std::fs::create_dir_all(DIR).and_then(|_| std::fs::write(entry(prefix), &text));
        if result.is_ok() {
            return;
        }
    }
    if let Err(e) = result {
        tracing::warn!("record backend in {DIR}: {e}");
    }
}

/// Forgets the backend `prefix` (it shut down cleanly).
pub fn unregister(prefix: &str) {
    let _ = std::fs::remove_file(entry(prefix));
    let _ = std::fs::remove_dir(DIR); // only succeeds when empty
}

/// Clears what backends whose owner process is gone left behind (never this backend's own prefix).
pub fn clear_dead(own_prefix: &str) {
    let Ok(entries) = std::fs::read_dir(DIR) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(prefix) = e.file_name().into_string() else {
            continue;
        };
        if prefix == own_prefix || !is_prefix(&prefix) {
            continue;
        }
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        let mut lines = text.lines();
        let owner_alive = lines
            .next()
            .is_some_and(|l| process::live_record_text(l).is_some());
        if owner_alive {
            continue;
        }
        tracing::info!("clearing leftovers of dead backend {prefix}");
        for ns in netns::list_with_prefix(&format!("{prefix}-")) {
            if let Err(e) = netns::delete(&ns) {
                tracing::warn!("{e}");
            }
        }
        cgroup::remove_all(&prefix);
        if let Some(state_dir) = lines.next() {
            let nodes = Path::new(state_dir).join("nodes");
            if nodes.is_dir() {
                let _ = std::fs::remove_dir_all(&nodes);
            }
        }
        let _ = std::fs::remove_file(e.path());
    }
}

/// Whether `s` looks like a backend prefix (`pl` and six hex digits).
fn is_prefix(s: &str) -> bool {
    s.len() == 8 && s.starts_with("pl") && s[2..].chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_prefixes() {
        assert!(is_prefix("pl3fa9c1"));
        assert!(!is_prefix("pl3fa9c"));
        assert!(!is_prefix("xx3fa9c1"));
        assert!(!is_prefix("plzzzzzz"));
    }
}
