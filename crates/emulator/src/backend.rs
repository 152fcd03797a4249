//! The contract between the emulator's API model and whatever makes its resources real.
//!
//! The emulator calls a `NodeBackend` when a network domain, VLAN, server, NAT rule or firewall rule
//! changes, when a secondary NIC is attached or detached, and when the load balancers of a domain
//! change (`sync_public_vips`). `NoBackend` (`--nodes none`) accepts
//! everything and does nothing; `nodes::LocalNodes` (`--nodes local`) turns servers into namespace
//! containers, secondary NICs into veths on other VLAN bridges, and NAT/firewall rules into real
//! listeners.
//! Calls may block (creating a node takes a fraction of a second), so the emulator invokes them from
//! `tokio::task::spawn_blocking`. Every call is idempotent: calling it twice has the effect of once.

use std::net::Ipv4Addr;

/// Errors a backend reports; the emulator maps them to a FAILED_* state or an UNEXPECTED_ERROR.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The node or network could not be set up or changed.
    #[error("{0}")]
    Failed(String),
}

/// A server to create, as the API reports it. Its `Debug` output redacts the password.
#[derive(Clone)]
pub struct ServerSpec {
    /// The server id (a UUID), unique in the emulator.
    pub id: String,
    /// The server name; becomes the node's hostname.
    pub name: String,
    /// The network domain id the server lives in.
    pub domain_id: String,
    /// The VLAN id of the primary NIC.
    pub vlan_id: String,
    /// The private IPv4 the API reports for the primary NIC.
    pub private_ipv4: Ipv4Addr,
    /// Prefix length of the VLAN.
    pub prefix: u8,
    /// Gateway of the VLAN.
    pub gateway: Ipv4Addr,
    /// Root password (`administratorPassword`). Never log it.
    pub admin_password: String,
    /// CPU count, applied as a cgroup limit.
    pub cpu_count: u32,
    /// Memory in GB, applied as a cgroup limit.
    pub memory_gb: u32,
}

impl std::fmt::Debug for ServerSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSpec")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("domain_id", &self.domain_id)
            .field("vlan_id", &self.vlan_id)
            .field("private_ipv4", &self.private_ipv4)
            .field("prefix", &self.prefix)
            .field("gateway", &self.gateway)
            .field("admin_password", &"<redacted>")
            .field("cpu_count", &self.cpu_count)
            .field("memory_gb", &self.memory_gb)
            .finish()
    }
}

/// A secondary NIC of a server: an interface on another VLAN of the server's domain with exactly
/// the API's private address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NicSpec {
    /// The NIC id (unique in the emulator).
    pub id: String,
    /// The VLAN it is on.
    pub vlan_id: String,
    /// Its private IPv4.
    pub private_ipv4: Ipv4Addr,
    /// Prefix length of the VLAN.
    pub prefix: u8,
}

/// One firewall rule of a domain, in rule order, as the backend needs it to decide which ports to open.
#[derive(Debug, Clone)]
pub struct FirewallRuleSpec {
    /// Rule id.
    pub id: String,
    /// `true` for ACCEPT_DECISIVELY, `false` for DROP.
    pub accept: bool,
    /// Whether the rule is enabled.
    pub enabled: bool,
    /// IPv4 only; IPv6 rules are not passed.
    /// Protocol: "IP", "TCP", "UDP" or "ICMP".
    pub protocol: String,
    /// Destination address, `None` for ANY.
    pub dest_ip: Option<Ipv4Addr>,
    /// Destination prefix length when `dest_ip` is a network (None = single address).
    pub dest_prefix: Option<u8>,
    /// Destination port range, `None` for any port.
    pub dest_ports: Option<(u16, u16)>,
}

/// One NAT rule: the public address in 127.77.0.0/16 that leads to a private address.
#[derive(Debug, Clone)]
pub struct NatSpec {
    /// Rule id.
    pub id: String,
    /// Private address of the node.
    pub internal: Ipv4Addr,
    /// Public address (127.77.x.y).
    pub external: Ipv4Addr,
}

/// One virtual listener as the backend needs it to balance TCP connections: its address and port,
/// and the members it spreads connections over (round robin, skipping members that are down).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipSpec {
    /// Virtual listener id.
    pub id: String,
    /// Listener address (a public 127.77.x.y address, or a private one of a VLAN).
    pub address: Ipv4Addr,
    /// Listener port.
    pub port: u16,
    /// The enabled members (private address, port), in pool order.
    pub members: Vec<(Ipv4Addr, u16)>,
}

/// What makes the emulator's resources real. All methods are idempotent and may block.
pub trait NodeBackend: Send + Sync + 'static {
    /// A network domain was deployed.
    fn create_domain(&self, domain_id: &str) -> Result<(), BackendError>;
    /// A network domain was deleted (it has no VLANs left).
    fn delete_domain(&self, domain_id: &str) -> Result<(), BackendError>;
    /// A VLAN was deployed: a bridge with the gateway address inside the domain.
    fn create_vlan(
        &self,
        domain_id: &str,
        vlan_id: &str,
        gateway: Ipv4Addr,
        prefix: u8,
    ) -> Result<(), BackendError>;
    /// A VLAN was deleted (it has no servers left).
    fn delete_vlan(&self, domain_id: &str, vlan_id: &str) -> Result<(), BackendError>;
    /// Create the server's disk and identity; start it when `start` is true. Returns once sshd accepts
    /// connections when started.
    fn create_server(&self, spec: &ServerSpec, start: bool) -> Result<(), BackendError>;
    /// Start a stopped server; returns once sshd accepts connections.
    fn start_server(&self, server_id: &str) -> Result<(), BackendError>;
    /// Stop a running server (graceful or hard); its disk stays.
    fn stop_server(&self, server_id: &str, graceful: bool) -> Result<(), BackendError>;
    /// Reboot (graceful) or reset (hard) a running server.
    fn restart_server(&self, server_id: &str, graceful: bool) -> Result<(), BackendError>;
    /// Delete a server and its disk (its secondary NICs go with it).
    fn delete_server(&self, server_id: &str) -> Result<(), BackendError>;
    /// The server was reconfigured: `cpu_count` CPUs and `memory_gb` GB from now on. Backends
    /// without resource limits have nothing to do.
    fn resize_server(
        &self,
        _server_id: &str,
        _cpu_count: u32,
        _memory_gb: u32,
    ) -> Result<(), BackendError> {
        Ok(())
    }
    /// Attach a secondary NIC to an existing server (running or not). The default does nothing, for
    /// backends that do not model networks.
    fn attach_nic(&self, server_id: &str, nic: &NicSpec) -> Result<(), BackendError> {
        let _ = (server_id, nic);
        Ok(())
    }
    /// Detach a secondary NIC; an unknown server or NIC is no error. The default does nothing.
    fn detach_nic(&self, server_id: &str, nic_id: &str) -> Result<(), BackendError> {
        let _ = (server_id, nic_id);
        Ok(())
    }
    /// The NAT and firewall rules of a domain changed: `nats` and `rules` are the complete current sets
    /// (rules in evaluation order). The backend opens and closes public listeners to match.
    fn sync_public(
        &self,
        domain_id: &str,
        nats: &[NatSpec],
        rules: &[FirewallRuleSpec],
    ) -> Result<(), BackendError>;
    /// Like `sync_public`, with the domain's virtual listeners too (`vips`: the complete current
    /// set). Backends that do not balance ignore them (the default).
    fn sync_public_vips(
        &self,
        domain_id: &str,
        nats: &[NatSpec],
        rules: &[FirewallRuleSpec],
        vips: &[VipSpec],
    ) -> Result<(), BackendError> {
        let _ = vips;
        self.sync_public(domain_id, nats, rules)
    }
    /// Whether `sync_public` does anything: when not, the emulator skips gathering a domain's NAT
    /// rules, firewall rules and listeners after each change of them (a cost that grows with the
    /// domain: quadratic over a 1,000-node deploy).
    fn exposes_public(&self) -> bool {
        true
    }
    /// Whether the calls take time (they build or change real nodes): when not, jobs make them
    /// inline instead of on a blocking thread (handing each job to a thread and back cost about a
    /// tenth of the CPU of a change request).
    fn blocks(&self) -> bool {
        true
    }
    /// Remove everything this backend made (namespaces, mounts, processes, listeners).
    fn shutdown(&self);
}

/// `--nodes none`: nothing becomes real.
#[derive(Debug, Default)]
pub struct NoBackend;

impl NodeBackend for NoBackend {
    fn create_domain(&self, _: &str) -> Result<(), BackendError> {
        Ok(())
    }
    fn delete_domain(&self, _: &str) -> Result<(), BackendError> {
        Ok(())
    }
    fn create_vlan(&self, _: &str, _: &str, _: Ipv4Addr, _: u8) -> Result<(), BackendError> {
        Ok(())
    }
    fn delete_vlan(&self, _: &str, _: &str) -> Result<(), BackendError> {
        Ok(())
    }
    fn create_server(&self, _: &ServerSpec, _: bool) -> Result<(), BackendError> {
        Ok(())
    }
    fn start_server(&self, _: &str) -> Result<(), BackendError> {
        Ok(())
    }
    fn stop_server(&self, _: &str, _: bool) -> Result<(), BackendError> {
        Ok(())
    }
    fn restart_server(&self, _: &str, _: bool) -> Result<(), BackendError> {
        Ok(())
    }
    fn delete_server(&self, _: &str) -> Result<(), BackendError> {
        Ok(())
    }
    fn sync_public(
        &self,
        _: &str,
        _: &[NatSpec],
        _: &[FirewallRuleSpec],
    ) -> Result<(), BackendError> {
        Ok(())
    }
    fn exposes_public(&self) -> bool {
        false
    }
    fn blocks(&self) -> bool {
        false
    }
    fn shutdown(&self) {}
}
