//! CPU and memory limits of a node as cgroups: v2 where the machine offers it (unified hierarchy at
//! `/sys/fs/cgroup`), else v1 with the `cpu` and `memory` controllers.
//!
//! The backend creates the node's cgroup directories and writes the limits; the node's keeper process
//! (see `init`) moves itself into them before it forks the node's PID 1, so every process of the node
//! is accounted. Limits are best effort: a machine without cgroups still gets nodes (with a warning).

use std::path::{Path, PathBuf};

const ROOT: &str = "/sys/fs/cgroup";
const PERIOD_US: u64 = 100_000;

/// The cgroup directories of one node (one per v1 controller, or one for v2).
#[derive(Debug, Clone, Default)]
pub struct NodeCgroup {
    /// Directories whose `cgroup.procs` the keeper joins.
    pub dirs: Vec<PathBuf>,
}

fn is_v2() -> bool {
    Path::new(ROOT).join("cgroup.controllers").exists()
}

/// The per-backend parent directories (`plumbery-PREFIX` under each hierarchy used).
pub fn parents(prefix: &str) -> Vec<PathBuf> {
    let name = format!("plumbery-{prefix}");
    if is_v2() {
        vec![Path::new(ROOT).join(name)]
    } else {
        ["cpu", "memory"]
            .iter()
            .map(|c| Path::new(ROOT).join(c).join(&name))
            .filter(|p| p.parent().is_some_and(|c| c.join("tasks").exists()))
            .collect()
    }
}

/// Creates the cgroup of node `node` with `cpus` CPUs and `memory_gb` GiB. Failures are logged, and
/// the node then runs without that limit.
pub fn create(prefix: &str, node: &str, cpus: u32, memory_gb: u32) -> NodeCgroup {
    let mut cg = NodeCgroup::default();
    for parent in parents(prefix) {
        let dir = parent.join(node);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::warn!(
                "cgroup {}: {e}; node runs without this limit",
                dir.display()
            );
            continue;
        }
        if is_v2() {
            enable_v2_controllers(&parent);
        }
        cg.dirs.push(dir);
    }
    set_limits(&cg, cpus, memory_gb);
    cg
}

/// Writes `cpus` CPUs and `memory_gb` GiB as the limits of the node's cgroup (at creation, and when
/// the server is reconfigured). Failures are logged.
pub fn set_limits(cg: &NodeCgroup, cpus: u32, memory_gb: u32) {
    let quota = u64::from(cpus.max(1)) * PERIOD_US;
    let mem = u64::from(memory_gb.max(1)) << 30;
    for dir in &cg.dirs {
        let writes: Vec<(&str, String)> = if is_v2() {
            vec![
                ("cpu.max", format!("{quota} {PERIOD_US}")),
                ("memory.max", mem.to_string()),
            ]
        } else if dir
            .parent()
            .and_then(Path::parent)
            .is_some_and(|c| c.ends_with("cpu"))
        {
            vec![
                ("cpu.cfs_period_us", PERIOD_US.to_string()),
                ("cpu.cfs_quota_us", quota.to_string()),
            ]
        } else {
            vec![("memory.limit_in_bytes", mem.to_string())]
        };
        for (file, value) in writes {
            if let Err(e) = std::fs::write(dir.join(file), &value) {
                tracing::warn!("cgroup {}/{file}: {e}", dir.display());
            }
        }
    }
}

fn enable_v2_controllers(parent: &Path) {
    for dir in [Path::new(ROOT), parent] {
        let _ = std::fs::write(dir.join("cgroup.subtree_control"), "+cpu +memory");
    }
}

/// Removes the node's cgroup directories (its processes must be gone); retries briefly while the
/// kernel finishes tearing the last tasks down.
pub fn remove(cg: &NodeCgroup) {
    for dir in &cg.dirs {
        remove_dir_retry(dir);
    }
}

/// Removes every cgroup of this backend (used by shutdown and crash cleanup).
pub fn remove_all(prefix: &str) {
    for parent in parents(prefix) {
        if let Ok(entries) = std::fs::read_dir(&parent) {
            for e in entries.flatten() {
                if e.path().is_dir() {
                    remove_dir_retry(&e.path());
                }
            }
        }
        remove_dir_retry(&parent);
    }
}

fn remove_dir_retry(dir: &Path) {
    for _ in 0..200 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
    tracing::warn!("could not remove cgroup {}", dir.display());
}

/// Bytes of memory the node's cgroup uses now (`None` when not measurable).
pub fn memory_usage(cg: &NodeCgroup) -> Option<u64> {
    cg.dirs.iter().find_map(|d| {
        ["memory.current", "memory.usage_in_bytes"]
            .iter()
            .find_map(|f| std::fs::read_to_string(d.join(f)).ok())
            .and_then(|s| s.trim().parse().ok())
    })
}
