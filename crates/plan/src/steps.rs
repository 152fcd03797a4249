//! Steps: the changes the engine will make, as plain values that can be printed (safe mode), compared in
//! tests and serialised. A [`StepPlan`] is a DAG: each step names the steps it runs after.

use serde::{Deserialize, Serialize};

/// One change against the cloud. Resources are named the way the plan names them; ids are resolved when
/// the step runs (a domain created by an earlier step has no id yet when the plan is made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Step {
    /// Deploy a network domain and wait until it is NORMAL.
    CreateDomain {
        /// Name.
        domain: String,
        /// Description.
        description: String,
        /// ESSENTIALS | ADVANCED.
        plan: String,
    },
    /// Wait for a domain found pending.
    AwaitDomain {
        /// Name.
        domain: String,
    },
    /// Deploy a VLAN and wait until it is NORMAL.
    CreateVlan {
        /// Domain name.
        domain: String,
        /// VLAN name.
        vlan: String,
        /// Description.
        description: String,
        /// Base address.
        base: String,
        /// Prefix length.
        prefix: u8,
    },
    /// Wait for a VLAN found pending.
    AwaitVlan {
        /// Domain name.
        domain: String,
        /// VLAN name.
        vlan: String,
    },
    /// Reserve a private IPv4 address on a VLAN (before any server is deployed on it).
    ReservePrivateIpv4 {
        /// Domain name.
        domain: String,
        /// VLAN name.
        vlan: String,
        /// The address.
        ip: String,
    },
    /// Release a reserved private IPv4 address (before its VLAN is deleted).
    UnreservePrivateIpv4 {
        /// Domain name.
        domain: String,
        /// VLAN name.
        vlan: String,
        /// VLAN id.
        id: String,
        /// The address.
        ip: String,
    },
    /// Add public IPv4 blocks (2 addresses each) to a domain: one step per domain, listing its
    /// blocks before and after the adds, however many it adds.
    AddIpBlocks {
        /// Domain name.
        domain: String,
        /// How many blocks.
        count: usize,
    },
    /// Deploy a server (answer accepted, private address known).
    DeployServer {
        /// Domain name.
        domain: String,
        /// VLAN name.
        vlan: String,
        /// Node name.
        node: String,
        /// Image id.
        image_id: String,
        /// Image name, for humans.
        image: String,
        /// CPU (count, cores per socket, speed).
        cpu: Option<(u32, u32, String)>,
        /// Memory.
        memory_gb: Option<u32>,
        /// Fixed private address.
        primary_ipv4: Option<String>,
        /// Description.
        description: String,
        /// Start once deployed.
        start: bool,
    },
    /// Wait until a server is NORMAL (deployed, or found pending).
    AwaitServer {
        /// Domain name.
        domain: String,
        /// Node name.
        node: String,
        /// Just deployed by this run (else found pending).
        fresh: bool,
        /// Deployed with start.
        started: bool,
        /// Found being deleted: wait until it is gone.
        #[serde(default)]
        deleting: bool,
    },
    /// Start a server if it is stopped, and wait.
    StartServer {
        /// Domain name.
        domain: String,
        /// Node name.
        node: String,
    },
    /// Reconfigure CPU count and/or memory of a server (while it runs), and wait for NORMAL.
    ReconfigureServer {
        /// Domain name.
        domain: String,
        /// Node name.
        node: String,
        /// New CPU count.
        cpu_count: Option<u32>,
        /// New memory in GB.
        memory_gb: Option<u32>,
        /// New cores per socket.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cores_per_socket: Option<u32>,
        /// New CPU speed (STANDARD, HIGHPERFORMANCE).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cpu_speed: Option<String>,
    },
    /// Make the disk at `scsi_id` exist with at least `size_gb` and speed `speed` (add, expand,
    /// change speed as needed; never shrink), waiting for NORMAL after each change.
    SetDisk {
        /// Domain name.
        domain: String,
        /// Node name.
        node: String,
        /// SCSI id.
        scsi_id: u32,
        /// Size in GB.
        size_gb: u32,
        /// API speed (STANDARD, HIGHPERFORMANCE, ECONOMY).
        speed: String,
    },
    /// Attach a secondary NIC on another VLAN of the domain to a server, and wait for NORMAL.
    AttachNic {
        /// Domain name.
        domain: String,
        /// Node name.
        node: String,
        /// VLAN name.
        vlan: String,
        /// Fixed private address (full); `None`: any free address of the VLAN.
        address: Option<String>,
    },
    /// Shut a server down (power off when graceful is impossible) if it runs, and wait.
    StopServer {
        /// Domain name.
        domain: String,
        /// Node name.
        node: String,
    },
    /// Enable (or change) monitoring.
    EnableMonitoring {
        /// Domain name.
        domain: String,
        /// Node name.
        node: String,
        /// ESSENTIALS | ADVANCED.
        plan: String,
        /// Monitoring is on with another plan: change it.
        change: bool,
    },
    /// NAT a free public address of the domain to the node's private address.
    CreateNat {
        /// Domain name.
        domain: String,
        /// Node name.
        node: String,
    },
    /// Open one port of the node's public address.
    CreateFirewallRule {
        /// Domain name.
        domain: String,
        /// Node name.
        node: String,
        /// Rule name.
        rule: String,
        /// Protocol.
        protocol: String,
        /// First port.
        begin: Option<u16>,
        /// Last port.
        end: Option<u16>,
    },
    /// Accept all traffic from one VLAN to another (IPv4 or IPv6 ranges). The source is a VLAN of
    /// the same domain, or with `from_location` a VLAN of another location (IPv6 only), looked up
    /// by name there when the step runs.
    CreateAcceptRule {
        /// Domain name.
        domain: String,
        /// Rule name.
        rule: String,
        /// Source VLAN name.
        from_vlan: String,
        /// Destination VLAN name.
        to_vlan: String,
        /// IPv6 ranges instead of IPv4.
        ipv6: bool,
        /// Location of a source VLAN in another location.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_location: Option<String>,
        /// Region of that location, when the plan names it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_region: Option<String>,
    },
    /// Disable a default rule (CCDEFAULT.DenyExternalInboundIPv6 once VLANs accept each other).
    DisableDefaultRule {
        /// Domain name.
        domain: String,
        /// Rule name.
        rule: String,
    },
    /// Delete a firewall rule by id.
    DeleteFirewallRule {
        /// Domain name.
        domain: String,
        /// Rule name.
        rule: String,
        /// Rule id.
        id: String,
    },
    /// Delete a NAT rule.
    DeleteNat {
        /// Domain name.
        domain: String,
        /// Node name.
        node: String,
        /// Rule id.
        id: String,
        /// Its public address.
        external_ip: String,
    },
    /// Delete a (stopped) server and wait until it is gone.
    DeleteServer {
        /// Domain name.
        domain: String,
        /// Node name.
        node: String,
        /// Server id.
        id: String,
    },
    /// Delete a server that duplicates the one kept for its node (found with the same name in the
    /// domain, created later or with a larger id): once it settles, stopped if needed, then deleted;
    /// waits until it is gone.
    DeleteDuplicateServer {
        /// Domain name.
        domain: String,
        /// Node name.
        node: String,
        /// Id of the duplicate.
        id: String,
        /// Id of the server kept.
        kept: String,
    },
    /// Release a public IP block found beyond what the plan needs (unless a NAT rule uses it
    /// meanwhile: then it is kept).
    RemoveSpareIpBlock {
        /// Domain name.
        domain: String,
        /// Block id.
        id: String,
        /// First address.
        base_ip: String,
    },
    /// Release a public IP block.
    RemoveIpBlock {
        /// Domain name.
        domain: String,
        /// Block id.
        id: String,
        /// First address.
        base_ip: String,
    },
    /// Delete a VLAN and wait until it is gone.
    DeleteVlan {
        /// Domain name.
        domain: String,
        /// VLAN name.
        vlan: String,
        /// VLAN id.
        id: String,
    },
    /// Delete a network domain and wait until it is gone.
    DeleteDomain {
        /// Domain name.
        domain: String,
        /// Domain id.
        id: String,
    },
    /// Create a load balancer pool and wait until it is NORMAL.
    CreatePool {
        /// Domain name.
        domain: String,
        /// Pool name.
        pool: String,
        /// API load balance method.
        method: String,
        /// Description.
        description: String,
    },
    /// Create the VIP node of a node's server (named after its private address) and wait.
    CreateVipNode {
        /// Domain name.
        domain: String,
        /// Node name.
        node: String,
    },
    /// Put a node's VIP node in a pool.
    AddPoolMember {
        /// Domain name.
        domain: String,
        /// Pool name.
        pool: String,
        /// Node name.
        node: String,
    },
    /// Create a virtual listener on a free public address of the domain (or a fixed one) and wait.
    CreateListener {
        /// Domain name.
        domain: String,
        /// Listener name.
        listener: String,
        /// Pool name.
        pool: String,
        /// API protocol.
        protocol: String,
        /// Port.
        port: u16,
        /// Fixed address.
        address: Option<String>,
    },
    /// Delete a virtual listener and wait until it is gone.
    DeleteListener {
        /// Domain name.
        domain: String,
        /// Listener name.
        listener: String,
        /// Listener id.
        id: String,
    },
    /// Take a VIP node out of a pool.
    RemovePoolMember {
        /// Domain name.
        domain: String,
        /// Member id.
        id: String,
        /// Its address.
        ip: String,
    },
    /// Delete a pool.
    DeletePool {
        /// Domain name.
        domain: String,
        /// Pool name.
        pool: String,
        /// Pool id.
        id: String,
    },
    /// Delete a VIP node.
    DeleteVipNode {
        /// Domain name.
        domain: String,
        /// VIP node id.
        id: String,
        /// Its address.
        ip: String,
    },
    /// Enable cloud backup on a server (or change its plan), and wait until it is NORMAL.
    EnableBackup {
        /// Domain name.
        domain: String,
        /// Node name.
        node: String,
        /// `Essentials`, `Advanced` or `Enterprise`.
        plan: String,
        /// Backup is on with another plan: change it.
        change: bool,
    },
    /// Add a backup client to a server.
    AddBackupClient {
        /// Domain name.
        domain: String,
        /// Node name.
        node: String,
        /// `filesystem`, `file`, a client type or a description prefix.
        kind: String,
        /// Storage policy.
        storage_policy: String,
        /// Schedule policy.
        schedule_policy: String,
        /// Alert trigger.
        trigger: String,
        /// Alert address.
        email: Option<String>,
    },
    /// Create a tag key of the organisation (for a `#hashtag` of a node's description).
    CreateTagKey {
        /// Key name.
        key: String,
    },
    /// Apply tag keys (no value) to a server.
    ApplyTags {
        /// Domain name.
        domain: String,
        /// Node name.
        node: String,
        /// Key names.
        tags: Vec<String>,
    },
    /// Disable cloud backup of a server (before it is deleted).
    DisableBackup {
        /// Domain name.
        domain: String,
        /// Node name.
        node: String,
        /// Server id.
        id: String,
    },
}

impl Step {
    /// One line for humans.
    pub fn describe(&self) -> String {
        match self {
            Step::CreateDomain { domain, plan, .. } => {
                format!("create network domain {domain} ({plan})")
            }
            Step::AwaitDomain { domain } => format!("wait for network domain {domain}"),
            Step::CreateVlan {
                domain,
                vlan,
                base,
                prefix,
                ..
            } => format!("create VLAN {vlan} {base}/{prefix} in {domain}"),
            Step::AwaitVlan { vlan, .. } => format!("wait for VLAN {vlan}"),
            Step::ReservePrivateIpv4 { vlan, ip, .. } => format!("reserve {ip} on VLAN {vlan}"),
            Step::UnreservePrivateIpv4 { vlan, ip, .. } => format!("release {ip} of VLAN {vlan}"),
            Step::AddIpBlocks { domain, count: 1 } => {
                format!("add a public IPv4 block to {domain}")
            }
            Step::AddIpBlocks { domain, count } => {
                format!("add {count} public IPv4 blocks to {domain}")
            }
            Step::CreateNat { node, .. } => format!("NAT a public IPv4 address to {node}"),
            Step::CreateFirewallRule { rule, .. } => format!("create firewall rule {rule}"),
            Step::CreateAcceptRule { rule, .. } => format!("create firewall rule {rule}"),
            Step::DisableDefaultRule { rule, .. } => format!("disable firewall rule {rule}"),
            Step::DeleteFirewallRule { rule, .. } => format!("delete firewall rule {rule}"),
            Step::DeleteNat {
                node, external_ip, ..
            } => format!("delete NAT rule {external_ip} -> {node}"),
            Step::DeleteServer { node, .. } => format!("delete server {node}"),
            Step::DeleteDuplicateServer { node, id, kept, .. } => {
                format!("delete duplicate server {node} ({id}; {kept} is kept)")
            }
            Step::RemoveIpBlock { base_ip, .. } => format!("release public IPv4 block {base_ip}"),
            Step::RemoveSpareIpBlock { base_ip, .. } => {
                format!("release spare public IPv4 block {base_ip}")
            }
            Step::DeleteVlan { vlan, .. } => format!("delete VLAN {vlan}"),
            Step::DeleteDomain { domain, .. } => format!("delete network domain {domain}"),
            _ => self.describe_server(),
        }
    }

    /// The lines of the steps on one server.
    fn describe_server(&self) -> String {
        match self {
            Step::DeployServer {
                node,
                image,
                cpu,
                memory_gb,
                start,
                vlan,
                ..
            } => {
                let cpu = cpu
                    .as_ref()
                    .map_or(String::new(), |c| format!(", {} CPU", c.0));
                let mem = memory_gb.map_or(String::new(), |m| format!(", {m} GB"));
                let st = if *start { ", started" } else { "" };
                format!("deploy server {node} ({image}{cpu}{mem}{st}) on {vlan}")
            }
            Step::AwaitServer { node, .. } => format!("wait for server {node}"),
            Step::StartServer { node, .. } => format!("start server {node}"),
            Step::StopServer { node, .. } => format!("stop server {node}"),
            Step::ReconfigureServer {
                node,
                cpu_count,
                memory_gb,
                cores_per_socket,
                cpu_speed,
                ..
            } => {
                let what = [
                    cpu_count.map(|c| format!("{c} CPU")),
                    cores_per_socket.map(|c| format!("{c} cores per socket")),
                    cpu_speed.as_ref().map(|s| format!("{s} CPU speed")),
                    memory_gb.map(|m| format!("{m} GB")),
                ];
                let what: Vec<String> = what.into_iter().flatten().collect();
                format!("reconfigure server {node} ({})", what.join(", "))
            }
            Step::SetDisk {
                node,
                scsi_id,
                size_gb,
                speed,
                ..
            } => format!("set disk {scsi_id} of {node} to {size_gb} GB {speed}"),
            Step::AttachNic {
                node,
                vlan,
                address,
                ..
            } => match address {
                Some(a) => format!("attach a NIC on {vlan} ({a}) to {node}"),
                None => format!("attach a NIC on {vlan} to {node}"),
            },
            Step::EnableMonitoring {
                node,
                plan,
                change: true,
                ..
            } => format!("change monitoring of {node} to {plan}"),
            Step::EnableMonitoring { node, plan, .. } => {
                format!("enable {plan} monitoring on {node}")
            }
            _ => self.describe_more(),
        }
    }

    /// The lines of the load balancer and backup steps.
    fn describe_more(&self) -> String {
        match self {
            Step::CreatePool { pool, method, .. } => format!("create pool {pool} ({method})"),
            Step::CreateVipNode { node, .. } => format!("create the VIP node of {node}"),
            Step::AddPoolMember { pool, node, .. } => format!("add {node} to pool {pool}"),
            Step::CreateListener {
                listener,
                protocol,
                port,
                ..
            } => format!("create virtual listener {listener} ({protocol} {port})"),
            Step::DeleteListener { listener, .. } => format!("delete virtual listener {listener}"),
            Step::RemovePoolMember { ip, .. } => format!("remove {ip} from its pool"),
            Step::DeletePool { pool, .. } => format!("delete pool {pool}"),
            Step::DeleteVipNode { ip, .. } => format!("delete VIP node {ip}"),
            Step::EnableBackup {
                node, plan, change, ..
            } => {
                if *change {
                    format!("change backup of {node} to {plan}")
                } else {
                    format!("enable {plan} backup on {node}")
                }
            }
            Step::AddBackupClient { node, kind, .. } => {
                format!("add a {kind} backup client to {node}")
            }
            Step::DisableBackup { node, .. } => format!("disable backup of {node}"),
            Step::CreateTagKey { key } => format!("create tag key {key}"),
            Step::ApplyTags { node, tags, .. } => format!("tag {node} with {}", tags.join(", ")),
            other => unreachable!("describe handles {other:?}"),
        }
    }

    /// True for steps that only wait (they change nothing).
    pub fn is_wait(&self) -> bool {
        matches!(
            self,
            Step::AwaitDomain { .. } | Step::AwaitVlan { .. } | Step::AwaitServer { .. }
        )
    }
}

/// A step with its place in the DAG.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedStep {
    /// Index in the plan.
    pub id: usize,
    /// The change.
    pub step: Step,
    /// Steps that must succeed first.
    pub after: Vec<usize>,
}

impl PlannedStep {
    /// The line safe mode prints for this step of phase `phase` (see [`crate::Phase::name`]):
    /// `[deploy #3] would deploy server web1 (...) on net (after [1, 2])`.
    pub fn would(&self, phase: &str) -> String {
        let after = if self.after.is_empty() {
            String::new()
        } else {
            format!(" (after {:?})", self.after)
        };
        format!(
            "[{phase} #{}] would {}{after}",
            self.id,
            self.step.describe()
        )
    }
}

/// The DAG of one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StepPlan {
    /// Steps; `after` only names lower ids, so the order is a valid sequential order.
    pub steps: Vec<PlannedStep>,
}

impl StepPlan {
    /// Adds a step after the given ones (duplicates and `None`s removed); returns its id.
    pub fn add(&mut self, step: Step, after: impl IntoIterator<Item = Option<usize>>) -> usize {
        let id = self.steps.len();
        let mut deps: Vec<usize> = after.into_iter().flatten().collect();
        deps.sort_unstable();
        deps.dedup();
        self.steps.push(PlannedStep {
            id,
            step,
            after: deps,
        });
        id
    }

    /// Number of steps that change something.
    pub fn changes(&self) -> usize {
        self.steps.iter().filter(|s| !s.step.is_wait()).count()
    }

    /// True when nothing is to be done.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_mode_lines() {
        let mut plan = StepPlan::default();
        let a = plan.add(
            Step::AddIpBlocks {
                domain: "Fox".into(),
                count: 1,
            },
            [],
        );
        plan.add(
            Step::CreateNat {
                domain: "Fox".into(),
                node: "web1".into(),
            },
            [Some(a), None, Some(a)],
        );
        let lines: Vec<String> = plan.steps.iter().map(|s| s.would("deploy")).collect();
        assert_eq!(
            lines,
            [
                "[deploy #0] would add a public IPv4 block to Fox",
                "[deploy #1] would NAT a public IPv4 address to web1 (after [0])",
            ]
        );
        assert_eq!(plan.changes(), 2);
    }

    #[test]
    fn server_lines_name_only_what_the_step_sets() {
        let deploy = Step::DeployServer {
            domain: "Fox".into(),
            vlan: "Net".into(),
            node: "redis01".into(),
            image_id: "i-1".into(),
            image: "Ubuntu 22".into(),
            cpu: Some((2, 1, "STANDARD".into())),
            memory_gb: None,
            primary_ipv4: None,
            description: String::new(),
            start: true,
        };
        assert_eq!(
            deploy.describe(),
            "deploy server redis01 (Ubuntu 22, 2 CPU, started) on Net"
        );
        let reconfigure = Step::ReconfigureServer {
            domain: "Fox".into(),
            node: "redis01".into(),
            cpu_count: Some(4),
            memory_gb: Some(8),
            cores_per_socket: None,
            cpu_speed: Some("HIGHPERFORMANCE".into()),
        };
        assert_eq!(
            reconfigure.describe(),
            "reconfigure server redis01 (4 CPU, HIGHPERFORMANCE CPU speed, 8 GB)"
        );
        let monitoring = |change| Step::EnableMonitoring {
            domain: "Fox".into(),
            node: "redis01".into(),
            plan: "ADVANCED".into(),
            change,
        };
        assert_eq!(
            monitoring(false).describe(),
            "enable ADVANCED monitoring on redis01"
        );
        assert_eq!(
            monitoring(true).describe(),
            "change monitoring of redis01 to ADVANCED"
        );
    }
}
