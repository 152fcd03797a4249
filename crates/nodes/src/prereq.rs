//! Prerequisites of local nodes, checked before `plumbery --local` starts the emulator: root, the
//! kernel features (namespaces, overlayfs, cgroups) and the Debian packages nodes run.

use std::fmt;
use std::path::Path;

/// One missing piece.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// Not running as root.
    Root,
    /// A kernel feature is not available (what, and how to tell).
    Kernel(String),
    /// A Debian package is not installed (package name, and the file that was looked for).
    Package {
        /// The Debian package to install.
        package: &'static str,
        /// The program that was not found.
        program: &'static str,
    },
}

/// Everything missing, with the command that fixes the package part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PrereqError {
    /// The missing pieces, in check order.
    pub missing: Vec<Missing>,
}

/// Programs nodes need, and the package that ships each.
pub const PACKAGES: &[(&str, &str)] = &[
    ("openssh-server", "/usr/sbin/sshd"),
    ("openssh-client", "/usr/bin/ssh-keygen"),
    ("redis-server", "/usr/bin/redis-server"),
    ("redis-sentinel", "/usr/bin/redis-sentinel"),
    ("chrony", "/usr/sbin/chronyd"),
    ("sudo", "/usr/bin/sudo"),
    ("iproute2", "/usr/sbin/ip"),
    ("passwd", "/usr/sbin/chpasswd"),
];

impl PrereqError {
    /// The packages to install, in check order.
    pub fn packages(&self) -> Vec<&'static str> {
        self.missing
            .iter()
            .filter_map(|m| match m {
                Missing::Package { package, .. } => Some(*package),
                _ => None,
            })
            .collect()
    }

    /// The exact `apt-get install` line for the missing packages (`None` when no package is missing).
    pub fn apt_line(&self) -> Option<String> {
        let p = self.packages();
        (!p.is_empty()).then(|| format!("apt-get install -y {}", p.join(" ")))
    }
}

impl fmt::Display for PrereqError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "local nodes cannot run on this machine:")?;
        for m in &self.missing {
            match m {
                Missing::Root => writeln!(f, "  - run as root (sudo plumbery --local ...)")?,
                Missing::Kernel(what) => writeln!(f, "  - kernel: {what}")?,
                Missing::Package { package, program } => {
                    writeln!(f, "  - package {package} (no {program})")?
                }
            }
        }
        if let Some(line) = self.apt_line() {
            write!(f, "install the packages with: {line}")?;
        }
        Ok(())
    }
}

fn kernel_missing(root: &Path) -> Vec<Missing> {
    let mut v = Vec::new();
    for ns in ["net", "mnt", "pid", "uts", "ipc"] {
        if !root.join("proc/self/ns").join(ns).exists() {
            v.push(Missing::Kernel(format!(
                "{ns} namespaces (no /proc/self/ns/{ns})"
            )));
        }
    }
    let fs = std::fs::read_to_string(root.join("proc/filesystems")).unwrap_or_default();
    let has_overlay = fs
        .lines()
        .any(|l| l.split_whitespace().last() == Some("overlay"));
    let release =
        std::fs::read_to_string(root.join("proc/sys/kernel/osrelease")).unwrap_or_default();
    let module = root
        .join("lib/modules")
        .join(release.trim())
        .join("kernel/fs/overlayfs");
    if !has_overlay && !module.exists() {
        v.push(Missing::Kernel(
            "overlayfs (not in /proc/filesystems, no module)".into(),
        ));
    }
    let cg = root.join("sys/fs/cgroup");
    let v2 = cg.join("cgroup.controllers").exists();
    let v1 = cg.join("cpu/tasks").exists() && cg.join("memory/tasks").exists();
    if !v2 && !v1 {
        v.push(Missing::Kernel(
            "cgroups (neither v2 at /sys/fs/cgroup nor v1 cpu and memory)".into(),
        ));
    }
    v
}

fn packages_missing(root: &Path) -> Vec<Missing> {
    PACKAGES
        .iter()
        .filter(|(_, prog)| !root.join(prog.trim_start_matches('/')).exists())
        .map(|(package, program)| Missing::Package { package, program })
        .collect()
}

/// Checks everything local nodes need on this machine.
pub fn check() -> Result<(), PrereqError> {
    let mut missing = Vec::new();
    if !nix::unistd::geteuid().is_root() {
        missing.push(Missing::Root);
    }
    missing.extend(kernel_missing(Path::new("/")));
    missing.extend(packages_missing(Path::new("/")));
    if missing.is_empty() {
        Ok(())
    } else {
        Err(PrereqError { missing })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_misses_every_package_with_one_apt_line() {
        let dir = tempfile::tempdir().unwrap();
        let missing = packages_missing(dir.path());
        assert_eq!(missing.len(), PACKAGES.len());
        let e = PrereqError { missing };
        assert_eq!(
            e.apt_line().unwrap(),
            "apt-get install -y openssh-server openssh-client redis-server redis-sentinel chrony sudo iproute2 passwd"
        );
        assert!(e.to_string().contains("apt-get install -y openssh-server"));
    }

    #[test]
    fn kernel_checks_fail_on_an_empty_root() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(kernel_missing(dir.path()).len(), 5 + 2);
    }

    #[test]
    fn this_machine_has_the_kernel_features() {
        assert!(kernel_missing(Path::new("/")).is_empty());
    }
}
