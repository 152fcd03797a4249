//! Servers of local nodes: disk (an overlay upper layer), network namespace with the private
//! address, boot (the keeper and the node's PID 1, until sshd accepts), stop and destroy.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use emulator::backend::ServerSpec;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use secrets::Secret;

use super::{LocalNodes, Server, ServerState, io, lock};
use crate::cgroup;
use crate::error::{NodesError, Result};
use crate::init::InitArgs;
use crate::{naming, netns, process};

impl LocalNodes {
    pub(super) fn do_create_server(&self, spec: &ServerSpec, start: bool) -> Result<()> {
        self.check_up()?;
        // The id names the node's directory, which delete removes: no path tricks.
        let id_ok = !spec.id.is_empty()
            && spec.id.len() <= 128
            && !spec.id.starts_with('.')
            && spec
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !id_ok {
            return Err(NodesError::Invalid(format!(
                "unusable server id {:?}",
                spec.id
            )));
        }
        let n = self.next_n();
        let mut reg = lock(&self.reg);
        if reg.servers.contains_key(&spec.id) {
            drop(reg);
            return if start {
                self.do_start(&spec.id)
            } else {
                Ok(())
            };
        }
        let d = reg.domains.get(&spec.domain_id).ok_or_else(|| {
            NodesError::Invalid(format!("unknown network domain {}", spec.domain_id))
        })?;
        let v = d
            .vlans
            .get(&spec.vlan_id)
            .ok_or_else(|| NodesError::Invalid(format!("unknown VLAN {}", spec.vlan_id)))?;
        let (domain_netns, bridge) = (d.netns.clone(), v.bridge.clone());
        let server = Arc::new(Server {
            id: spec.id.clone(),
            name: naming::hostname_for(&spec.name),
            domain_id: spec.domain_id.clone(),
            netns: naming::server_netns(&self.prefix, n),
            domain_ns: d.ns.clone(),
            ip: spec.private_ipv4,
            dir: self.node_dir(&spec.id),
            cg: cgroup::create(
                &self.prefix,
                &format!("n{n}"),
                spec.cpu_count,
                spec.memory_gb,
            ),
            st: Mutex::new(ServerState {
                keeper: None,
                password: Some(Secret::new(spec.admin_password.clone())),
                deleted: false,
                nics: BTreeMap::new(),
            }),
        });
        // Locked before it becomes visible: no other call can touch it until it is prepared.
        let mut st = lock(&server.st);
        reg.servers.insert(spec.id.clone(), server.clone());
        drop(reg);
        let prepared = self.prepare(&server, spec, n, &domain_netns, &bridge);
        if let Err(e) = prepared {
            st.deleted = true;
            drop(st);
            lock(&self.reg).servers.remove(&spec.id);
            self.destroy(&server, true);
            return Err(e);
        }
        if start {
            self.boot(&server, &mut st)?;
        }
        Ok(())
    }

    /// Disk and network of a new server.
    fn prepare(
        &self,
        s: &Server,
        spec: &ServerSpec,
        n: u32,
        domain_netns: &str,
        bridge: &str,
    ) -> Result<()> {
        let upper = s.dir.join("upper");
        for d in [upper.clone(), s.dir.join("work"), s.dir.join("merged")] {
            io(
                format!("create {}", d.display()),
                std::fs::create_dir_all(&d),
            )?;
        }
        // Host home folders are hidden (opaque) but the node's own stay on its disk.
        for (d, mode) in [("root", 0o700), ("home", 0o755)] {
            let p = upper.join(d);
            io("create opaque dir", std::fs::create_dir_all(&p))?;
            io(
                "chmod opaque dir",
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)),
            )?;
            set_opaque(&p)?;
        }
        netns::add(&s.netns)?;
        let veth = naming::veth(n);
        netns::batch(
            Some(domain_netns),
            &[
                format!("link add {veth} type veth peer name eth0 netns {}", s.netns),
                format!("link set {veth} master {bridge} up"),
            ],
        )?;
        netns::batch(
            Some(&s.netns),
            &[
                format!("addr add {}/{} dev eth0", spec.private_ipv4, spec.prefix),
                "link set eth0 up".to_string(),
                format!("route add default via {}", spec.gateway),
            ],
        )
    }

    pub(super) fn do_start(&self, id: &str) -> Result<()> {
        self.check_up()?;
        let s = self.server(id)?;
        let mut st = lock(&s.st);
        self.boot(&s, &mut st)
    }

    /// Starts the node (if not running) and waits until sshd accepts on its private address.
    fn boot(&self, s: &Server, st: &mut ServerState) -> Result<()> {
        if st.deleted {
            return Err(NodesError::Invalid(format!("server {} is deleted", s.id)));
        }
        if let Some(pid) = st.keeper {
            if !process::has_exited(pid) {
                return Ok(());
            }
            st.keeper = None;
        }
        let first_boot = !s
            .dir
            .join("upper/etc/plumbery-node/firstboot-done")
            .exists();
        let stdin = match (&st.password, first_boot) {
            (Some(p), true) => p.expose().as_bytes().to_vec(),
            _ => Vec::new(),
        };
        let console = io(
            "open console log",
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(s.dir.join("console.log")),
        )?;
        let console2 = io("dup console log", console.try_clone())?;
        let args = InitArgs {
            netns: netns::path(&s.netns),
            dir: s.dir.clone(),
            hostname: s.name.clone(),
            hide: self.hide.clone(),
            cgroups: s.cg.dirs.clone(),
        };
        let mut cmd = Command::new(&self.cfg.init_exe);
        cmd.arg("__node-init")
            .args(args.to_args())
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .stdout(Stdio::from(console))
            .stderr(Stdio::from(console2))
            .current_dir("/");
        let t0 = Instant::now();
        let pid = self.spawner.spawn(cmd, stdin)?;
        st.keeper = Some(pid);
        let _ = process::write_record(&s.dir.join("keeper.pid"), pid);
        let addr = SocketAddr::from((s.ip, 22));
        let deadline = t0 + self.cfg.boot_timeout;
        let ready = netns::run_in(&s.domain_ns, move || wait_ready(pid, addr, deadline))?;
        match ready {
            Ok(()) => {
                tracing::debug!("node {} up in {:?}", s.name, t0.elapsed());
                if first_boot {
                    st.password = None;
                }
                Ok(())
            }
            Err(why) => {
                st.keeper = None;
                let _ = std::fs::remove_file(s.dir.join("keeper.pid"));
                let why = match why {
                    NotReady::Exited => "its init exited".to_string(),
                    NotReady::Timeout => {
                        stop_keeper(pid, false);
                        format!(
                            "sshd on {addr} did not accept within {:?}",
                            self.cfg.boot_timeout
                        )
                    }
                };
                Err(NodesError::Boot(format!(
                    "node {} did not come up: {why}; console: {}",
                    s.name,
                    console_tail(&s.dir.join("console.log"))
                )))
            }
        }
    }

    pub(super) fn do_stop(&self, id: &str, graceful: bool) -> Result<()> {
        let s = self.server(id)?;
        let mut st = lock(&s.st);
        if let Some(pid) = st.keeper.take() {
            stop_keeper(pid, graceful);
            let _ = std::fs::remove_file(s.dir.join("keeper.pid"));
        }
        Ok(())
    }

    pub(super) fn do_delete_server(&self, id: &str) -> Result<()> {
        let removed = lock(&self.reg).servers.remove(id);
        if let Some(s) = removed {
            self.destroy(&s, true);
        }
        Ok(())
    }

    /// Stops the node hard and removes its namespace, cgroup and (when `disk`) its disk.
    pub(super) fn destroy(&self, s: &Server, disk: bool) {
        let mut st = lock(&s.st);
        st.deleted = true;
        // Deleting the server namespace below deletes every veth pair with an end in it.
        st.nics.clear();
        if let Some(pid) = st.keeper.take() {
            stop_keeper(pid, false);
        }
        if let Err(e) = netns::delete(&s.netns) {
            tracing::warn!("{e}");
        }
        cgroup::remove(&s.cg);
        if disk
            && s.dir.exists()
            && let Err(e) = std::fs::remove_dir_all(&s.dir)
        {
            tracing::warn!("remove {}: {e}", s.dir.display());
        }
    }
}

/// Marks a directory of the upper layer opaque, so the lower layer's content stays hidden.
fn set_opaque(dir: &Path) -> Result<()> {
    let path = CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| NodesError::Invalid("path with NUL".into()))?;
    // SAFETY: both strings are NUL-terminated and the value buffer is 1 byte long.
    let r = unsafe {
        nix::libc::setxattr(
            path.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            b"y".as_ptr().cast(),
            1,
            0,
        )
    };
    if r != 0 {
        return Err(NodesError::sys(
            format!("mark {} opaque", dir.display()),
            nix::errno::Errno::last(),
        ));
    }
    Ok(())
}

/// Why a node did not become ready.
enum NotReady {
    /// The keeper exited (and was reaped): there is nothing left to stop.
    Exited,
    /// Time is up; the keeper still runs.
    Timeout,
}

/// Polls (from inside the domain namespace) until `addr` accepts TCP, the keeper exits or time is up.
fn wait_ready(
    keeper: Pid,
    addr: SocketAddr,
    deadline: Instant,
) -> std::result::Result<(), NotReady> {
    loop {
        if process::has_exited(keeper) {
            return Err(NotReady::Exited);
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(NotReady::Timeout);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Stops a keeper: graceful = SIGTERM (PID 1 TERMs everything, KILLs after 5 s); hard = SIGKILL the
/// node's PID 1, which takes the whole PID namespace down. Returns when the keeper is reaped.
fn stop_keeper(pid: Pid, graceful: bool) {
    if graceful {
        let _ = kill(pid, Signal::SIGTERM);
        if process::wait_exit(pid, Duration::from_secs(10)) {
            return;
        }
    }
    let kids = process::children(pid.as_raw());
    for k in &kids {
        let _ = kill(Pid::from_raw(*k), Signal::SIGKILL);
    }
    if kids.is_empty() || !process::wait_exit(pid, Duration::from_secs(10)) {
        let _ = kill(pid, Signal::SIGKILL);
        process::wait_exit(pid, Duration::from_secs(10));
    }
}

fn console_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}
