//! The inside of a node: `plumbery __node-init ARGS` (started by the backend with the node's root
//! password on stdin) becomes the node's *keeper*, and forks the node's PID 1.
//!
//! Keeper: joins the node's cgroups and network namespace, unshares mount, UTS, IPC and PID namespaces,
//! forks PID 1, forwards SIGTERM to it and exits with its status once it is gone (so everything the
//! node mounted vanishes with the mount namespace before the backend sees the keeper exit).
//!
//! PID 1: mounts the overlay root (`lowerdir=/`, upper in the node dir) with fresh `/proc` (with
//! `/proc/sys` read-only), read-only `/sys`, a minimal `/dev`, tmpfs `/run` and `/tmp`, hides
//! host-specific folders, sets the hostname, `pivot_root`s, drops capabilities (see `caps`), runs the
//! first-boot setup once (see `firstboot`), starts `sshd -D` and the services enabled through the
//! `systemctl` shim, then reaps orphans until SIGTERM (graceful stop: TERM to all, KILL after 5 s).

use std::convert::Infallible;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, getpid, pivot_root, sethostname};

use super::error::{NodesError, Result};
use super::{caps, firstboot};

/// Arguments of `plumbery __node-init`, built by the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitArgs {
    /// Handle of the node's network namespace (`/run/netns/NAME`).
    pub netns: PathBuf,
    /// The node directory holding `upper/`, `work/` and `merged/`.
    pub dir: PathBuf,
    /// Hostname (the server name).
    pub hostname: String,
    /// Host paths to hide inside the node (empty read-only tmpfs, or /dev/null for files).
    pub hide: Vec<PathBuf>,
    /// cgroup directories to join.
    pub cgroups: Vec<PathBuf>,
}

impl InitArgs {
    /// The command-line form (after `__node-init`).
    pub fn to_args(&self) -> Vec<String> {
        let mut v = vec![
            "--netns".into(),
            self.netns.display().to_string(),
            "--dir".into(),
            self.dir.display().to_string(),
            "--hostname".into(),
            self.hostname.clone(),
        ];
        for h in &self.hide {
            v.extend(["--hide".into(), h.display().to_string()]);
        }
        for c in &self.cgroups {
            v.extend(["--cgroup".into(), c.display().to_string()]);
        }
        v
    }

    /// Parses the command-line form.
    pub fn parse(args: &[String]) -> Result<Self> {
        let mut a = InitArgs {
            netns: PathBuf::new(),
            dir: PathBuf::new(),
            hostname: String::new(),
            hide: Vec::new(),
            cgroups: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = it
                .next()
                .ok_or_else(|| NodesError::Invalid(format!("{flag} needs a value")))?;
            match flag.as_str() {
                "--netns" => a.netns = value.into(),
                "--dir" => a.dir = value.into(),
                "--hostname" => a.hostname = value.clone(),
                "--hide" => a.hide.push(value.into()),
                "--cgroup" => a.cgroups.push(value.into()),
                other => return Err(NodesError::Invalid(format!("unknown argument {other}"))),
            }
        }
        if a.netns.as_os_str().is_empty() || a.dir.as_os_str().is_empty() || a.hostname.is_empty() {
            return Err(NodesError::Invalid(
                "--netns, --dir and --hostname are required".into(),
            ));
        }
        Ok(a)
    }
}

/// `plumbery __node-init ARGS`: runs the keeper; returns its exit code.
pub fn main(args: &[String]) -> i32 {
    let result = InitArgs::parse(args).and_then(keeper);
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("plumbery node init: {e}");
            1
        }
    }
}

fn signals() -> SigSet {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGCHLD,
    ] {
        set.add(s);
    }
    set
}

fn keeper(a: InitArgs) -> Result<i32> {
    let mut secret = Vec::new();
    std::io::stdin()
        .read_to_end(&mut secret)
        .map_err(|e| NodesError::io("read stdin", e))?;
    for cg in &a.cgroups {
        if let Err(e) = std::fs::write(cg.join("cgroup.procs"), getpid().to_string()) {
            eprintln!("plumbery node init: join cgroup {}: {e}", cg.display());
        }
    }
    let ns = File::open(&a.netns).map_err(|e| NodesError::io("open node netns", e))?;
    setns(&ns, CloneFlags::CLONE_NEWNET).map_err(|e| NodesError::sys("setns(net)", e))?;
    drop(ns);
    unshare(
        CloneFlags::CLONE_NEWNS
            | CloneFlags::CLONE_NEWUTS
            | CloneFlags::CLONE_NEWIPC
            | CloneFlags::CLONE_NEWPID,
    )
    .map_err(|e| NodesError::sys("unshare", e))?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| NodesError::sys("make / private", e))?;
    let set = signals();
    set.thread_block()
        .map_err(|e| NodesError::sys("block signals", e))?;
    let keeper_pid = getpid().as_raw();
    // SAFETY: the keeper is single-threaded (it runs straight from `main`), so fork is sound.
    match unsafe { fork() }.map_err(|e| NodesError::sys("fork", e))? {
        ForkResult::Child => {
            let err = match pid1(&a, secret, keeper_pid) {
                Ok(never) => match never {},
                Err(e) => e,
            };
            eprintln!("plumbery node init (pid 1): {err}");
            std::process::exit(1);
        }
        ForkResult::Parent { child } => {
            secret.fill(0);
            drop(secret);
            loop {
                let sig = set.wait().map_err(|e| NodesError::sys("sigwait", e))?;
                if sig != Signal::SIGCHLD {
                    let _ = kill(child, Signal::SIGTERM);
                    continue;
                }
                match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::Exited(_, code)) => return Ok(code),
                    Ok(WaitStatus::Signaled(_, s, _)) => return Ok(128 + s as i32),
                    _ => {}
                }
            }
        }
    }
}

fn mnt(src: &str, target: &Path, fstype: &str, flags: MsFlags, data: Option<&str>) -> Result<()> {
    mount(Some(src), target, Some(fstype), flags, data)
        .map_err(|e| NodesError::sys(format!("mount {fstype} on {}", target.display()), e))
}

fn bind(src: &Path, target: &Path, read_only: bool) -> Result<()> {
    mount(
        Some(src),
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| NodesError::sys(format!("bind {}", target.display()), e))?;
    if read_only {
        mount(
            None::<&str>,
            target,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
            None::<&str>,
        )
        .map_err(|e| NodesError::sys(format!("remount ro {}", target.display()), e))?;
    }
    Ok(())
}

fn io<T>(what: &str, r: std::io::Result<T>) -> Result<T> {
    r.map_err(|e| NodesError::io(what.to_string(), e))
}

/// Mounts the node's root under `dir/merged` and everything in it.
fn mount_root(a: &InitArgs) -> Result<PathBuf> {
    let m = mount_overlay(&a.dir)?;
    mount_proc_and_sys(&m)?;
    let dev = m.join("dev");
    mount_dev_nodes(&dev)?;
    mask_proc_files(&m, &dev)?;
    mount_dev_filesystems(&dev)?;
    for (d, mode) in [("run", "mode=755"), ("tmp", "mode=1777")] {
        mnt(
            "tmpfs",
            &m.join(d),
            "tmpfs",
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some(mode),
        )?;
    }
    hide_paths(&m, &dev, &a.hide)?;
    Ok(m)
}

/// Mount flags of the kernel's and the node's own pseudo file systems.
const NOSX: MsFlags = MsFlags::MS_NOSUID
    .union(MsFlags::MS_NOEXEC)
    .union(MsFlags::MS_NODEV);

/// Mounts the host's root, read-only below, with the node's changes in `dir/upper`; returns the
/// merged root `dir/merged`.
fn mount_overlay(dir: &Path) -> Result<PathBuf> {
    let (upper, work, m) = (dir.join("upper"), dir.join("work"), dir.join("merged"));
    for p in [&upper, &work] {
        let s = p.display().to_string();
        if s.contains([',', ':']) {
            return Err(NodesError::Invalid(format!(
                "overlay path {s} has ',' or ':'"
            )));
        }
    }
    let opts = format!(
        "lowerdir=/,upperdir={},workdir={}",
        upper.display(),
        work.display()
    );
    mnt("overlay", &m, "overlay", MsFlags::empty(), Some(&opts))?;
    Ok(m)
}

/// Mounts `/proc` (its host-wide knobs read-only) and a read-only `/sys`.
fn mount_proc_and_sys(m: &Path) -> Result<()> {
    mnt("proc", &m.join("proc"), "proc", NOSX, None)?;
    for p in ["sys", "sysrq-trigger", "irq", "bus", "fs"] {
        let t = m.join("proc").join(p);
        if t.exists() {
            bind(&t, &t, true)?;
        }
    }
    mnt(
        "sysfs",
        &m.join("sys"),
        "sysfs",
        NOSX | MsFlags::MS_RDONLY,
        None,
    )
}

/// Mounts a small `/dev` holding only the harmless devices, bound from the host's.
fn mount_dev_nodes(dev: &Path) -> Result<()> {
    mnt(
        "tmpfs",
        dev,
        "tmpfs",
        MsFlags::MS_NOSUID,
        Some("mode=755,size=64k"),
    )?;
    for d in ["null", "zero", "full", "random", "urandom", "tty"] {
        let t = dev.join(d);
        io("create dev node", File::create(&t))?;
        bind(&Path::new("/dev").join(d), &t, false)?;
    }
    Ok(())
}

/// Hides the `/proc` files that show the host's memory, keys and timers behind `/dev/null`.
fn mask_proc_files(m: &Path, dev: &Path) -> Result<()> {
    for (p, src) in [("kcore", "null"), ("keys", "null"), ("timer_list", "null")] {
        let t = m.join("proc").join(p);
        if t.exists() {
            bind(&dev.join(src), &t, true)?;
        }
    }
    Ok(())
}

/// Mounts the node's own pseudo terminals, shared memory and message queues, and the usual
/// links of `/dev`.
fn mount_dev_filesystems(dev: &Path) -> Result<()> {
    for d in ["pts", "shm", "mqueue"] {
        io("mkdir dev", std::fs::create_dir_all(dev.join(d)))?;
    }
    mnt(
        "devpts",
        &dev.join("pts"),
        "devpts",
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5"),
    )?;
    mnt("tmpfs", &dev.join("shm"), "tmpfs", NOSX, Some("mode=1777"))?;
    mnt("mqueue", &dev.join("mqueue"), "mqueue", NOSX, None)?;
    for (link, target) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        io(
            "symlink dev",
            std::os::unix::fs::symlink(target, dev.join(link)),
        )?;
    }
    Ok(())
}

/// Covers each of `hide` (absolute paths of the host) with an empty read-only directory or
/// `/dev/null`.
fn hide_paths(m: &Path, dev: &Path, hide: &[PathBuf]) -> Result<()> {
    for h in hide {
        let Ok(rel) = h.strip_prefix("/") else {
            continue;
        };
        let t = m.join(rel);
        match std::fs::symlink_metadata(&t) {
            Ok(md) if md.is_dir() => mnt(
                "tmpfs",
                &t,
                "tmpfs",
                NOSX | MsFlags::MS_RDONLY,
                Some("mode=755,size=4k"),
            )?,
            Ok(md) if md.is_file() => bind(&dev.join("null"), &t, true)?,
            _ => {}
        }
    }
    Ok(())
}

fn enter_root(m: &Path) -> Result<()> {
    nix::unistd::chdir(m).map_err(|e| NodesError::sys("chdir new root", e))?;
    let old = ".plumbery-oldroot";
    io("mkdir oldroot", std::fs::create_dir_all(m.join(old)))?;
    pivot_root(".", old).map_err(|e| NodesError::sys("pivot_root", e))?;
    nix::unistd::chdir("/").map_err(|e| NodesError::sys("chdir /", e))?;
    let old = format!("/{old}");
    umount2(old.as_str(), MntFlags::MNT_DETACH)
        .map_err(|e| NodesError::sys("umount oldroot", e))?;
    io("rmdir oldroot", std::fs::remove_dir(&old))
}

fn pid1(a: &InitArgs, secret: Vec<u8>, keeper_pid: i32) -> Result<Infallible> {
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)
        .map_err(|e| NodesError::sys("set pdeathsig", e))?;
    // The keeper may have died before the line above; /proc is still the host's here.
    let stat = std::fs::read_to_string(format!("/proc/{keeper_pid}/stat")).unwrap_or_default();
    if stat.is_empty() || stat.contains(") Z ") {
        return Err(NodesError::Boot("the keeper is gone".into()));
    }
    let m = mount_root(a)?;
    sethostname(&a.hostname).map_err(|e| NodesError::sys("sethostname", e))?;
    enter_root(&m)?;
    caps::drop_all_but_kept().map_err(|e| NodesError::sys("drop capabilities", e))?;
    set_env();
    if !firstboot::done() {
        firstboot::run(&a.hostname, secret)?;
    } else {
        let mut secret = secret;
        secret.fill(0);
    }
    firstboot::boot()?;
    reap_forever()
}

fn set_env() {
    let keep_term = std::env::var("TERM").ok();
    for (k, _) in std::env::vars_os() {
        // SAFETY: PID 1 is single-threaded here.
        unsafe { std::env::remove_var(k) };
    }
    for (k, v) in [
        (
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ),
        ("HOME", "/root"),
        ("LANG", "C.UTF-8"),
    ] {
        // SAFETY: PID 1 is single-threaded here.
        unsafe { std::env::set_var(k, v) };
    }
    if let Some(t) = keep_term {
        // SAFETY: PID 1 is single-threaded here.
        unsafe { std::env::set_var("TERM", t) };
    }
}

fn reap_all() -> bool {
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => return true,
            Ok(_) => continue,
            Err(_) => return false, // ECHILD: no children left
        }
    }
}

fn reap_forever() -> Result<Infallible> {
    let set = signals();
    loop {
        let sig = set.wait().map_err(|e| NodesError::sys("sigwait", e))?;
        if sig == Signal::SIGCHLD {
            reap_all();
            continue;
        }
        // Graceful shutdown: TERM everyone in the node, KILL what is left after 5 s.
        let _ = kill(Pid::from_raw(-1), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while reap_all() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = kill(Pid::from_raw(-1), Signal::SIGKILL);
        while reap_all() {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::process::exit(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_round_trip() {
        let a = InitArgs {
            netns: "/run/netns/plx-n1".into(),
            dir: "/tmp/s/nodes/1".into(),
            hostname: "web-01".into(),
            hide: vec!["/work".into(), "/farm".into()],
            cgroups: vec!["/sys/fs/cgroup/cpu/plumbery-x/n1".into()],
        };
        assert_eq!(InitArgs::parse(&a.to_args()).unwrap(), a);
    }

    #[test]
    fn args_need_required_flags() {
        assert!(InitArgs::parse(&["--dir".into(), "/x".into()]).is_err());
        assert!(InitArgs::parse(&["--bogus".into()]).is_err());
    }
}
