//! `LocalNodes`: the `NodeBackend` that makes domains, VLANs, servers and NAT/firewall rules real.
//! This file holds the backend's registry, its start and shutdown and the trait's entry points;
//! `network` makes domains, VLANs, secondary NICs and the public side real, `node` the servers.
//!
//! Domain = network namespace `PREFIX-dN` with one bridge per VLAN carrying the gateway address (and
//! IPv4 forwarding between its VLANs; it has no uplink, so nothing leaves it). Server = network
//! namespace `PREFIX-nN` with a veth on its VLAN's bridge and exactly the API's private address,
//! default route via the gateway, plus the namespaces, overlay root and sshd that `init` sets up. A
//! secondary NIC = one more veth, from the server namespace (`eth1`, `eth2`...) to another VLAN's
//! bridge, with exactly the NIC's address (no route beyond its subnet). The public side is
//! `forward::Public`. Everything lives under the state dir, and the prefix comes from a
//! hash of it (see `naming`), so a new backend first removes what a crashed run left there.
//!
//! Thread-safety: all methods take `&self` and may run concurrently; operations on one server are
//! serialised by a per-server lock, so creating many servers in parallel boots them in parallel.

mod network;
mod node;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use emulator::backend::{
    BackendError, FirewallRuleSpec, NatSpec, NicSpec, NodeBackend, ServerSpec, VipSpec,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use secrets::Secret;

use crate::cgroup::{self, NodeCgroup};
use crate::error::{NodesError, Result};
use crate::forward::Public;
use crate::process::{self, Spawner};
use crate::{naming, netns, owners};

/// Top-level entries of `/` that nodes see; every other one (and the state dir) is hidden in nodes.
const STANDARD_TOP: &[&str] = &[
    "bin", "boot", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "media", "mnt", "opt",
    "proc", "root", "run", "sbin", "srv", "sys", "tmp", "usr", "var",
];

/// How a [`LocalNodes`] backend is set up.
#[derive(Debug, Clone)]
pub struct LocalNodesConfig {
    /// Where node disks, console logs and pid records live (created if missing).
    pub state_dir: PathBuf,
    /// The `plumbery` executable that runs a node's PID 1 as `plumbery __node-init ...`.
    pub init_exe: PathBuf,
    /// How long a start may take until sshd accepts connections.
    pub boot_timeout: Duration,
    /// Keep node disks (upper layers) when the backend starts over or shuts down, so that an
    /// emulator replaying its state gets its servers back with their files, host keys and root
    /// password; only `delete_server` removes a disk. Off by default (a fresh start wipes them).
    pub keep_disks: bool,
}

impl LocalNodesConfig {
    /// Config with the default boot timeout (60 s).
    pub fn new(state_dir: impl Into<PathBuf>, init_exe: impl Into<PathBuf>) -> Self {
        LocalNodesConfig {
            state_dir: state_dir.into(),
            init_exe: init_exe.into(),
            boot_timeout: Duration::from_secs(60),
            keep_disks: false,
        }
    }
}

struct Vlan {
    bridge: String,
}

struct Domain {
    netns: String,
    ns: Arc<File>,
    vlans: HashMap<String, Vlan>,
    /// Private virtual listener addresses put on the namespace's `lo` (answered on every VLAN).
    vip_addrs: std::collections::BTreeSet<Ipv4Addr>,
}

/// A secondary NIC made real: `ifname` in the server namespace, its peer `veth` on a VLAN bridge of
/// the domain namespace.
struct NicLink {
    ifname: String,
    veth: String,
    vlan_id: String,
}

struct ServerState {
    keeper: Option<Pid>,
    /// The root password until the node's first boot consumed it. Never printed.
    password: Option<Secret>,
    deleted: bool,
    /// Secondary NICs by NIC id.
    nics: BTreeMap<String, NicLink>,
}

struct Server {
    id: String,
    name: String,
    domain_id: String,
    netns: String,
    domain_ns: Arc<File>,
    ip: Ipv4Addr,
    dir: PathBuf,
    cg: NodeCgroup,
    st: Mutex<ServerState>,
}

#[derive(Default)]
struct Registry {
    domains: HashMap<String, Domain>,
    servers: HashMap<String, Arc<Server>>,
}

/// The local-nodes backend. See the module documentation.
pub struct LocalNodes {
    cfg: LocalNodesConfig,
    prefix: String,
    nodes_dir: PathBuf,
    hide: Vec<PathBuf>,
    spawner: Spawner,
    public: Public,
    reg: Mutex<Registry>,
    next: AtomicU32,
    down: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn io<T>(what: impl Into<String>, r: std::io::Result<T>) -> Result<T> {
    r.map_err(|e| NodesError::io(what, e))
}

impl LocalNodes {
    /// Opens the backend: checks for root, creates the state dir, and removes every namespace,
    /// process, cgroup and node disk a crashed earlier run with this state dir left behind.
    pub fn new(cfg: LocalNodesConfig) -> Result<Self> {
        if !nix::unistd::geteuid().is_root() {
            return Err(NodesError::Invalid(
                "local nodes need root (namespaces, mounts, cgroups)".into(),
            ));
        }
        io("create state dir", std::fs::create_dir_all(&cfg.state_dir))?;
        let state_dir = io("resolve state dir", cfg.state_dir.canonicalize())?;
        let prefix = naming::prefix_for(&state_dir);
        let nodes_dir = state_dir.join("nodes");
        let hide = hidden_paths(&state_dir);
        let me = LocalNodes {
            cfg: LocalNodesConfig { state_dir, ..cfg },
            prefix,
            nodes_dir,
            hide,
            spawner: Spawner::new(),
            public: Public::new()?,
            reg: Mutex::new(Registry::default()),
            next: AtomicU32::new(1),
            down: AtomicBool::new(false),
        };
        me.clear_leftovers();
        owners::clear_dead(&me.prefix);
        owners::register(&me.prefix, &me.cfg.state_dir);
        io("create nodes dir", std::fs::create_dir_all(&me.nodes_dir))?;
        io(
            "chmod nodes dir",
            std::fs::set_permissions(&me.nodes_dir, std::fs::Permissions::from_mode(0o700)),
        )?;
        Ok(me)
    }

    /// The name prefix of this backend's namespaces and cgroups (derived from the state dir).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The configuration (with the state dir made absolute).
    pub fn config(&self) -> &LocalNodesConfig {
        &self.cfg
    }

    /// Directory of a server's disk (`upper/`), console log and pid record.
    pub fn node_dir(&self, server_id: &str) -> PathBuf {
        self.nodes_dir.join(server_id)
    }

    /// Host pid of the keeper process of a running server (its child is the node's PID 1).
    pub fn keeper_pid(&self, server_id: &str) -> Option<i32> {
        let s = lock(&self.reg).servers.get(server_id).cloned()?;
        lock(&s.st).keeper.map(Pid::as_raw)
    }

    /// Host pid of the node's PID 1 (use with `nsenter -t PID -a`).
    pub fn init_pid(&self, server_id: &str) -> Option<i32> {
        self.keeper_pid(server_id)
            .and_then(|k| process::children(k).first().copied())
    }

    /// Bytes of memory the server's cgroup uses now.
    pub fn memory_usage(&self, server_id: &str) -> Option<u64> {
        let s = lock(&self.reg).servers.get(server_id).cloned()?;
        cgroup::memory_usage(&s.cg)
    }

    /// Public addresses currently listening.
    pub fn public_listeners(&self) -> Vec<SocketAddrV4> {
        self.public.listening()
    }

    fn next_n(&self) -> u32 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    fn check_up(&self) -> Result<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(NodesError::Invalid(
                "the local nodes backend is shut down".into(),
            ));
        }
        Ok(())
    }

    fn server(&self, id: &str) -> Result<Arc<Server>> {
        lock(&self.reg)
            .servers
            .get(id)
            .cloned()
            .ok_or_else(|| NodesError::Invalid(format!("unknown server {id}")))
    }

    /// Kills what an earlier run with this state dir left: keeper processes (by pid record),
    /// namespaces with this prefix, cgroups, and node disks unless `keep_disks`.
    fn clear_leftovers(&self) {
        let mut pids = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&self.nodes_dir) {
            for e in entries.flatten() {
                if let Some(pid) = process::live_record(&e.path().join("keeper.pid")) {
                    pids.extend(process::children(pid));
                    pids.push(pid);
                }
            }
        }
        for pid in &pids {
            tracing::info!("killing leftover node process {pid}");
            let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while pids.iter().any(|p| process::alive(*p)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        for ns in netns::list_with_prefix(&format!("{}-", self.prefix)) {
            tracing::info!("removing leftover network namespace {ns}");
            if let Err(e) = netns::delete(&ns) {
                tracing::warn!("{e}");
            }
        }
        cgroup::remove_all(&self.prefix);
        if !self.cfg.keep_disks
            && self.nodes_dir.exists()
            && let Err(e) = std::fs::remove_dir_all(&self.nodes_dir)
        {
            tracing::warn!("remove {}: {e}", self.nodes_dir.display());
        }
    }

    fn do_shutdown(&self) {
        if self.down.swap(true, Ordering::SeqCst) {
            return;
        }
        self.public.shutdown();
        let (servers, domains) = {
            let mut reg = lock(&self.reg);
            let s: Vec<Arc<Server>> = reg.servers.drain().map(|(_, s)| s).collect();
            let d: Vec<Domain> = reg.domains.drain().map(|(_, d)| d).collect();
            (s, d)
        };
        std::thread::scope(|sc| {
            for s in &servers {
                sc.spawn(|| self.destroy(s, !self.cfg.keep_disks));
            }
        });
        for d in domains {
            if let Err(e) = netns::delete(&d.netns) {
                tracing::warn!("{e}");
            }
        }
        self.spawner.stop();
        self.clear_leftovers();
        owners::unregister(&self.prefix);
    }
}

impl Drop for LocalNodes {
    fn drop(&mut self) {
        self.do_shutdown();
    }
}

/// Host paths hidden inside nodes: non-standard top-level entries of `/` and the state dir.
fn hidden_paths(state_dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir("/")
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| !t.is_symlink()))
                .filter(|e| {
                    let name = e.file_name();
                    !STANDARD_TOP.iter().any(|s| name.as_bytes() == s.as_bytes())
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    v.push(state_dir.to_path_buf());
    v.sort();
    v
}

impl NodeBackend for LocalNodes {
    fn create_domain(&self, domain_id: &str) -> Result<(), BackendError> {
        Ok(self.do_create_domain(domain_id)?)
    }
    fn delete_domain(&self, domain_id: &str) -> Result<(), BackendError> {
        Ok(self.do_delete_domain(domain_id)?)
    }
    fn create_vlan(
        &self,
        domain_id: &str,
        vlan_id: &str,
        gateway: Ipv4Addr,
        prefix: u8,
    ) -> Result<(), BackendError> {
        Ok(self.do_create_vlan(domain_id, vlan_id, gateway, prefix)?)
    }
    fn delete_vlan(&self, domain_id: &str, vlan_id: &str) -> Result<(), BackendError> {
        Ok(self.do_delete_vlan(domain_id, vlan_id)?)
    }
    fn create_server(&self, spec: &ServerSpec, start: bool) -> Result<(), BackendError> {
        Ok(self.do_create_server(spec, start)?)
    }
    fn resize_server(
        &self,
        server_id: &str,
        cpu_count: u32,
        memory_gb: u32,
    ) -> Result<(), BackendError> {
        let s = self.server(server_id)?;
        cgroup::set_limits(&s.cg, cpu_count, memory_gb);
        Ok(())
    }
    fn start_server(&self, server_id: &str) -> Result<(), BackendError> {
        Ok(self.do_start(server_id)?)
    }
    fn stop_server(&self, server_id: &str, graceful: bool) -> Result<(), BackendError> {
        Ok(self.do_stop(server_id, graceful)?)
    }
    fn restart_server(&self, server_id: &str, graceful: bool) -> Result<(), BackendError> {
        self.do_stop(server_id, graceful)?;
        Ok(self.do_start(server_id)?)
    }
    fn delete_server(&self, server_id: &str) -> Result<(), BackendError> {
        Ok(self.do_delete_server(server_id)?)
    }
    fn attach_nic(&self, server_id: &str, nic: &NicSpec) -> Result<(), BackendError> {
        Ok(self.do_attach_nic(server_id, nic)?)
    }
    fn detach_nic(&self, server_id: &str, nic_id: &str) -> Result<(), BackendError> {
        Ok(self.do_detach_nic(server_id, nic_id)?)
    }
    fn sync_public(
        &self,
        domain_id: &str,
        nats: &[NatSpec],
        rules: &[FirewallRuleSpec],
    ) -> Result<(), BackendError> {
        Ok(self.do_sync_public(domain_id, nats, rules, &[])?)
    }
    fn sync_public_vips(
        &self,
        domain_id: &str,
        nats: &[NatSpec],
        rules: &[FirewallRuleSpec],
        vips: &[VipSpec],
    ) -> Result<(), BackendError> {
        Ok(self.do_sync_public(domain_id, nats, rules, vips)?)
    }
    fn shutdown(&self) {
        self.do_shutdown();
    }
}
