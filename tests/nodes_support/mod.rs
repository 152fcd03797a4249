//! Shared helpers of the local-nodes integration tests: a backend in its own temp state dir that is
//! shut down (and checked clean) even when a test fails, server specs, NAT/firewall rules, and ssh.

#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::Arc;

use emulator::backend::{FirewallRuleSpec, NatSpec, NodeBackend, ServerSpec};
use nodes::{LocalNodes, LocalNodesConfig};

pub const PASSWORD: &str = "Pl-Test_Secret42";
pub const DOMAIN: &str = "dom-1";
pub const VLAN: &str = "vlan-1";

/// A backend in its own state dir; Drop shuts it down, so nothing is left even if a test panics.
pub struct Harness {
    pub nodes: Arc<LocalNodes>,
    pub dir: tempfile::TempDir,
    /// Third octet of this harness's public addresses (127.77.X.y), random to stay parallel-safe.
    pub public_net: u8,
}

/// Tests need root; elsewhere they print why and pass.
pub fn root_or_skip() -> bool {
    if nix::unistd::geteuid().is_root() {
        true
    } else {
        eprintln!("skipped: local nodes need root");
        false
    }
}

fn random_u8() -> u8 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    ((t ^ (std::process::id() << 7)) % 250) as u8 + 1
}

impl Harness {
    /// A backend with one domain and one VLAN 10.0.0.0/24 (gateway 10.0.0.1).
    pub fn new() -> Harness {
        let dir = tempfile::Builder::new()
            .prefix("plnodes")
            .tempdir()
            .unwrap();
        let cfg = LocalNodesConfig::new(dir.path().join("state"), env!("CARGO_BIN_EXE_plumbery"));
        let nodes = Arc::new(LocalNodes::new(cfg).expect("backend"));
        nodes.create_domain(DOMAIN).unwrap();
        nodes
            .create_vlan(DOMAIN, VLAN, Ipv4Addr::new(10, 0, 0, 1), 24)
            .unwrap();
        Harness {
            nodes,
            dir,
            public_net: random_u8(),
        }
    }

    pub fn spec(&self, i: u8) -> ServerSpec {
        ServerSpec {
            id: format!("srv-{i}"),
            name: format!("node{i}"),
            domain_id: DOMAIN.into(),
            vlan_id: VLAN.into(),
            private_ipv4: private(i),
            prefix: 24,
            gateway: Ipv4Addr::new(10, 0, 0, 1),
            admin_password: PASSWORD.into(),
            cpu_count: 1,
            memory_gb: 1,
        }
    }

    pub fn public(&self, i: u8) -> Ipv4Addr {
        Ipv4Addr::new(127, 77, self.public_net, 10 + i)
    }

    pub fn nat(&self, i: u8) -> NatSpec {
        NatSpec {
            id: format!("nat-{i}"),
            internal: private(i),
            external: self.public(i),
        }
    }

    /// Names of this backend's network namespaces (`ip netns list`).
    pub fn netns(&self) -> Vec<String> {
        netns_with_prefix(self.nodes.prefix())
    }

    /// Lines of /proc/mounts that mention this backend (its state dir or its namespaces).
    pub fn mounts(&self) -> Vec<String> {
        let dir = self.dir.path().display().to_string();
        mounts_mentioning(&[&dir, self.nodes.prefix()])
    }

    /// Processes whose command line mentions this backend's state dir.
    pub fn processes(&self) -> Vec<i32> {
        processes_mentioning(&self.dir.path().display().to_string())
    }

    /// Asserts that nothing of this backend is left (namespaces, mounts, processes).
    pub fn assert_clean(&self) {
        assert_eq!(self.netns(), Vec::<String>::new(), "namespaces left");
        assert_eq!(self.mounts(), Vec::<String>::new(), "mounts left");
        assert_eq!(self.processes(), Vec::<i32>::new(), "processes left");
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.nodes.shutdown();
    }
}

/// Network namespaces (`ip netns list`) whose name starts with `prefix`.
pub fn netns_with_prefix(prefix: &str) -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

/// Lines of /proc/mounts that contain one of `needles` (a state dir, a namespace prefix).
pub fn mounts_mentioning(needles: &[&str]) -> Vec<String> {
    std::fs::read_to_string("/proc/mounts")
        .unwrap()
        .lines()
        .filter(|l| needles.iter().any(|n| l.contains(n)))
        .map(str::to_string)
        .collect()
}

/// Processes whose command line contains `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

pub fn private(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 10 + i)
}

pub fn rule(id: &str, dest: Option<Ipv4Addr>, port: Option<u16>) -> FirewallRuleSpec {
    FirewallRuleSpec {
        id: id.into(),
        accept: true,
        enabled: true,
        protocol: "TCP".into(),
        dest_ip: dest,
        dest_prefix: None,
        dest_ports: port.map(|p| (p, p)),
    }
}

/// What a command run over ssh produced.
pub struct SshOut {
    /// Connected, authenticated, and the command exited 0.
    pub ok: bool,
    pub stdout: String,
    /// stderr, or why ssh failed.
    pub stderr: String,
}

/// `ssh root@ADDR CMD` with the admin password (ssh2; the host key is not checked).
pub fn ssh(addr: Ipv4Addr, cmd: &str) -> SshOut {
    ssh_with_password(addr, PASSWORD, cmd)
}

/// `ssh root@ADDR CMD` with the given password.
pub fn ssh_with_password(addr: Ipv4Addr, password: &str, cmd: &str) -> SshOut {
    match try_ssh(addr, password, cmd) {
        Ok(out) => out,
        Err(e) => SshOut {
            ok: false,
            stdout: String::new(),
            stderr: e.to_string(),
        },
    }
}

fn try_ssh(
    addr: Ipv4Addr,
    password: &str,
    cmd: &str,
) -> Result<SshOut, Box<dyn std::error::Error>> {
    use std::io::Read;
    let tcp = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from((addr, 22)),
        std::time::Duration::from_secs(5),
    )?;
    let mut sess = ssh2::Session::new()?;
    sess.set_timeout(30_000);
    sess.set_tcp_stream(tcp);
    sess.handshake()?;
    sess.userauth_password("root", password)?;
    let mut ch = sess.channel_session()?;
    ch.exec(cmd)?;
    let mut stdout = String::new();
    ch.read_to_string(&mut stdout)?;
    let mut stderr = String::new();
    ch.stderr().read_to_string(&mut stderr)?;
    ch.wait_close()?;
    Ok(SshOut {
        ok: ch.exit_status()? == 0,
        stdout,
        stderr,
    })
}

/// Like [`ssh`], asserting success and returning trimmed stdout.
pub fn ssh_ok(addr: Ipv4Addr, cmd: &str) -> String {
    let out = ssh(addr, cmd);
    assert!(out.ok, "ssh {addr} {cmd:?} failed: {}", out.stderr);
    out.stdout.trim().to_string()
}

/// Whether a TCP connection to ADDR:PORT is accepted from the host.
pub fn port_open(addr: Ipv4Addr, port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from((addr, port)),
        std::time::Duration::from_secs(2),
    )
    .is_ok()
}

/// The limits (CPU quota, memory) a node's processes run under, read from the cgroups its PID 1 is
/// in: `(cpus, memory GiB)`. `None` when the node is in no plumbery cgroup (a machine without
/// cgroups runs nodes without limits).
pub fn node_limits(pid: i32) -> Option<(u64, u64)> {
    let lines = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let root = std::path::Path::new("/sys/fs/cgroup");
    let read = |p: std::path::PathBuf| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
    };
    let (mut cpu, mut mem) = (None, None);
    for line in lines.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        if !path.contains("plumbery-") {
            continue;
        }
        let rel = path.trim_start_matches('/');
        if controllers.is_empty() {
            let max = read(root.join(rel).join("cpu.max"))?;
            let (quota, period) = max.split_once(' ')?;
            cpu = Some(quota.parse::<u64>().ok()? / period.parse::<u64>().ok()?);
            mem = Some(
                read(root.join(rel).join("memory.max"))?
                    .parse::<u64>()
                    .ok()?
                    >> 30,
            );
        } else if controllers.split(',').any(|c| c == "cpu") {
            let dir = root.join(controllers).join(rel);
            let quota: u64 = read(dir.join("cpu.cfs_quota_us"))?.parse().ok()?;
            let period: u64 = read(dir.join("cpu.cfs_period_us"))?.parse().ok()?;
            cpu = Some(quota / period);
        } else if controllers.split(',').any(|c| c == "memory") {
            let dir = root.join(controllers).join(rel);
            mem = Some(
                read(dir.join("memory.limit_in_bytes"))?
                    .parse::<u64>()
                    .ok()?
                    >> 30,
            );
        }
    }
    Some((cpu?, mem?))
}
