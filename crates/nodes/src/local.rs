//! `LocalNodes`: the `NodeBackend` that makes domains, VLANs, servers and NAT/firewall rules real.
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

use std::collections::{BTreeMap, HashMap};
use std::ffi::CString;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use secrets::Secret;

use super::cgroup::{self, NodeCgroup};
use super::error::{NodesError, Result};
use super::forward::Public;
use super::init::InitArgs;
use super::process::{self, Spawner};
use super::{firewall, naming, netns, owners};
use emulator::backend::{
    BackendError, FirewallRuleSpec, NatSpec, NicSpec, NodeBackend, ServerSpec,
};

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

    fn do_create_domain(&self, domain_id: &str) -> Result<()> {
        self.check_up()?;
        let mut reg = lock(&self.reg);
        if reg.domains.contains_key(domain_id) {
            return Ok(());
        }
        let name = naming::domain_netns(&self.prefix, self.next_n());
        netns::add(&name)?;
        let setup = netns::open(&name).and_then(|f| {
            netns::sysctl(&f, "net/ipv4/ip_forward", "1")?;
            Ok(f)
        });
        match setup {
            Ok(f) => {
                reg.domains.insert(
                    domain_id.to_string(),
                    Domain {
                        netns: name,
                        ns: Arc::new(f),
                        vlans: HashMap::new(),
                    },
                );
                Ok(())
            }
            Err(e) => {
                let _ = netns::delete(&name);
                Err(e)
            }
        }
    }

    fn do_delete_domain(&self, domain_id: &str) -> Result<()> {
        let servers: Vec<String> = lock(&self.reg)
            .servers
            .values()
            .filter(|s| s.domain_id == domain_id)
            .map(|s| s.id.clone())
            .collect();
        for s in servers {
            self.do_delete_server(&s)?;
        }
        self.public.close_domain(domain_id);
        let removed = lock(&self.reg).domains.remove(domain_id);
        if let Some(d) = removed {
            netns::delete(&d.netns)?;
        }
        Ok(())
    }

    fn do_create_vlan(
        &self,
        domain_id: &str,
        vlan_id: &str,
        gw: Ipv4Addr,
        prefix: u8,
    ) -> Result<()> {
        self.check_up()?;
        let n = self.next_n();
        let mut reg = lock(&self.reg);
        let d = reg
            .domains
            .get_mut(domain_id)
            .ok_or_else(|| NodesError::Invalid(format!("unknown network domain {domain_id}")))?;
        if d.vlans.contains_key(vlan_id) {
            return Ok(());
        }
        let bridge = naming::bridge(n);
        netns::batch(
            Some(&d.netns),
            &[
                format!("link add {bridge} type bridge"),
                format!("addr add {gw}/{prefix} dev {bridge}"),
                format!("link set {bridge} up"),
            ],
        )?;
        d.vlans.insert(vlan_id.to_string(), Vlan { bridge });
        Ok(())
    }

    fn do_delete_vlan(&self, domain_id: &str, vlan_id: &str) -> Result<()> {
        // The API refuses this while NICs are on the VLAN; the backend still removes any veth left
        // on its bridge, so that nothing outlives the VLAN.
        let (servers, domain_netns) = {
            let reg = lock(&self.reg);
            let servers: Vec<Arc<Server>> = reg
                .servers
                .values()
                .filter(|s| s.domain_id == domain_id)
                .cloned()
                .collect();
            (servers, reg.domains.get(domain_id).map(|d| d.netns.clone()))
        };
        if let Some(dn) = &domain_netns {
            for s in servers {
                let mut st = lock(&s.st);
                let gone: Vec<String> = st
                    .nics
                    .iter()
                    .filter(|(_, l)| l.vlan_id == vlan_id)
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in gone {
                    if let Some(l) = st.nics.remove(&id)
                        && let Err(e) = netns::batch(Some(dn), &[format!("link del {}", l.veth)])
                    {
                        tracing::warn!("{e}");
                    }
                }
            }
        }
        let mut reg = lock(&self.reg);
        let Some(d) = reg.domains.get_mut(domain_id) else {
            return Ok(());
        };
        if let Some(v) = d.vlans.remove(vlan_id) {
            netns::batch(Some(&d.netns), &[format!("link del {}", v.bridge)])?;
        }
        Ok(())
    }

    fn do_create_server(&self, spec: &ServerSpec, start: bool) -> Result<()> {
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

    fn do_start(&self, id: &str) -> Result<()> {
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

    fn do_stop(&self, id: &str, graceful: bool) -> Result<()> {
        let s = self.server(id)?;
        let mut st = lock(&s.st);
        if let Some(pid) = st.keeper.take() {
            stop_keeper(pid, graceful);
            let _ = std::fs::remove_file(s.dir.join("keeper.pid"));
        }
        Ok(())
    }

    fn do_delete_server(&self, id: &str) -> Result<()> {
        let removed = lock(&self.reg).servers.remove(id);
        if let Some(s) = removed {
            self.destroy(&s, true);
        }
        Ok(())
    }

    /// Stops the node hard and removes its namespace, cgroup and (when `disk`) its disk.
    fn destroy(&self, s: &Server, disk: bool) {
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

    fn do_attach_nic(&self, id: &str, nic: &NicSpec) -> Result<()> {
        self.check_up()?;
        let s = self.server(id)?;
        let (domain_netns, bridge) = {
            let reg = lock(&self.reg);
            let d = reg.domains.get(&s.domain_id).ok_or_else(|| {
                NodesError::Invalid(format!("unknown network domain {}", s.domain_id))
            })?;
            let v = d
                .vlans
                .get(&nic.vlan_id)
                .ok_or_else(|| NodesError::Invalid(format!("unknown VLAN {}", nic.vlan_id)))?;
            (d.netns.clone(), v.bridge.clone())
        };
        let mut st = lock(&s.st);
        if st.deleted {
            return Err(NodesError::Invalid(format!("server {id} is deleted")));
        }
        if st.nics.contains_key(&nic.id) {
            return Ok(());
        }
        let ifname = (1..)
            .map(|i| format!("eth{i}"))
            .find(|n| !st.nics.values().any(|l| &l.ifname == n))
            .expect("a free interface name");
        let veth = naming::veth(self.next_n());
        let made = netns::batch(
            Some(&domain_netns),
            &[
                format!(
                    "link add {veth} type veth peer name {ifname} netns {}",
                    s.netns
                ),
                format!("link set {veth} master {bridge} up"),
            ],
        )
        .and_then(|()| {
            netns::batch(
                Some(&s.netns),
                &[
                    format!("addr add {}/{} dev {ifname}", nic.private_ipv4, nic.prefix),
                    format!("link set {ifname} up"),
                ],
            )
        });
        if let Err(e) = made {
            let _ = netns::batch(Some(&domain_netns), &[format!("link del {veth}")]);
            return Err(e);
        }
        st.nics.insert(
            nic.id.clone(),
            NicLink {
                ifname,
                veth,
                vlan_id: nic.vlan_id.clone(),
            },
        );
        Ok(())
    }

    fn do_detach_nic(&self, id: &str, nic_id: &str) -> Result<()> {
        let Ok(s) = self.server(id) else {
            return Ok(());
        };
        let mut st = lock(&s.st);
        let Some(l) = st.nics.remove(nic_id) else {
            return Ok(());
        };
        // Deleting one end of a veth pair deletes both.
        if let Err(e) = netns::batch(Some(&s.netns), &[format!("link del {}", l.ifname)]) {
            let still_there =
                netns::batch(Some(&s.netns), &[format!("link show {}", l.ifname)]).is_ok();
            if still_there {
                st.nics.insert(nic_id.to_string(), l);
                return Err(e);
            }
        }
        Ok(())
    }

    fn do_sync_public(
        &self,
        domain_id: &str,
        nats: &[NatSpec],
        rules: &[FirewallRuleSpec],
    ) -> Result<()> {
        self.check_up()?;
        let ns = lock(&self.reg).domains.get(domain_id).map(|d| d.ns.clone());
        let Some(ns) = ns else {
            if nats.is_empty() {
                self.public.close_domain(domain_id);
                return Ok(());
            }
            return Err(NodesError::Invalid(format!(
                "unknown network domain {domain_id}"
            )));
        };
        let mut wanted = BTreeMap::new();
        for nat in nats {
            for port in firewall::open_ports(nat, rules) {
                wanted.insert(
                    SocketAddrV4::new(nat.external, port),
                    SocketAddrV4::new(nat.internal, port),
                );
            }
        }
        self.public.sync(domain_id, &ns, &wanted)
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
        Ok(self.do_sync_public(domain_id, nats, rules)?)
    }
    fn shutdown(&self) {
        self.do_shutdown();
    }
}
