//! The plan data model: what a fittings plan says once it is loaded, merged and checked.
//!
//! These types are the contract between the plan language (`fittings`) and everything that acts on a
//! plan (`engine`, `bootstrap`, `cli`). They are plain values: `Clone`, comparable, and `Serialize` (for
//! `validate --json`). Tokens other than `{{ parameter.X }}` are still present in string fields such as
//! `cloud_config` and `information`; expand them with [`crate::tokens`] once the facts are known.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Serialize, Serializer};

/// A position in a plan file (1-based line and column), used in errors and warnings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct SourcePos {
    /// File name as given by the user (`-` for stdin, or the URL).
    pub file: String,
    /// Line, 1-based.
    pub line: usize,
    /// Column, 1-based.
    pub column: usize,
}

impl fmt::Display for SourcePos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A whole plan: engine settings (first YAML document) and one [`Location`] per other document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// Where the plan was read from (path as given, `-`, or URL).
    pub origin: String,
    /// Settings from the first document.
    pub settings: Settings,
    /// Facilities (MCP data centres), in document order.
    pub locations: Vec<Location>,
}

/// Engine settings: the first document of a multi-document plan.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// Lines printed under "About this fittings plan:".
    pub information: Vec<String>,
    /// `links:` (documentation, credit, inspiration); stored only.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, String>,
    /// Declared parameters, by name.
    pub parameters: BTreeMap<String, ParameterSpec>,
    /// The value each parameter took (command line `-p` or the declared default).
    pub parameter_values: BTreeMap<String, String>,
    /// The raw `defaults:` mapping (after parameter expansion); already merged into blueprints and nodes.
    #[serde(skip)]
    pub defaults: serde_yaml::Value,
    /// Extra SSH public key files (`keys:`), as written.
    pub keys: Vec<String>,
    /// Polishers declared under `actions:`, in order.
    pub actions: Vec<ActionSpec>,
    /// Polisher run after `build` (`buildPolisher:`, default `configure`).
    pub build_polisher: String,
    /// `safeMode: true` in the plan (same as `-s`).
    pub safe_mode: bool,
}

/// One declared parameter (`parameters: {name: {information, type, default}}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterSpec {
    /// Help lines.
    pub information: Vec<String>,
    /// Declared type (`str`, `locations.list`, `[4..32]` ...); informative only.
    #[serde(rename = "type")]
    pub kind: String,
    /// Default value as text, if any.
    pub default: Option<String>,
}

/// A polisher declared under `actions:` with its settings (for example `inventory: {output: inv.yaml}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionSpec {
    /// Polisher name (`information`, `inventory`, `ansible`, `prepare`, `ping`, `configure`).
    pub name: String,
    /// Its settings mapping (`output:`, `key:` ...), or null.
    pub settings: serde_yaml::Value,
}

/// One facility: an MCP data centre and the blueprints to build there.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    /// MCP data centre id, for example `NA12` or `EU6`.
    pub location_id: String,
    /// Region (`dd-na`, `dd-eu` ...) as the plan writes it; `None`: the client derives it from the location
    /// id (`cloud::region_for_location`, the one table).
    pub region_id: Option<String>,
    /// Private API endpoint host (`apiHost:`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_host: Option<String>,
    /// Blueprints built first and destroyed last.
    pub basement: Vec<String>,
    /// Blueprints, in document order.
    pub blueprints: Vec<Blueprint>,
    /// String-form blueprints: an alias name for a group of blueprint names.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub aliases: BTreeMap<String, Vec<String>>,
    /// Local IPv4 addresses from which nodes are reachable directly (`prepare: [{beachhead: ..}]`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub beachheads: Vec<String>,
    /// Lines printed under `About '<locationId>':`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub information: Vec<String>,
    /// `defaults: {blueprints: "a b"}`: the blueprints (or aliases) that "all blueprints" means
    /// when the command line names none. `None`: every blueprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_blueprints: Option<Vec<String>>,
    /// Where this document starts.
    #[serde(skip)]
    pub pos: SourcePos,
}

/// A blueprint: one network domain, one VLAN, and the nodes attached to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Blueprint {
    /// Blueprint name (the key in `blueprints:`).
    pub name: String,
    /// Network domain.
    pub domain: Domain,
    /// VLAN.
    pub ethernet: Ethernet,
    /// Nodes, with name ranges expanded, in document order.
    pub nodes: Vec<Node>,
    /// Load balancer listeners (`balancers:`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub balancers: Vec<Balancer>,
    /// Load balancer pool (`pool:`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<Pool>,
    /// Lines printed under `About '<blueprint>':`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub information: Vec<String>,
    /// Where the blueprint is declared.
    #[serde(skip)]
    pub pos: SourcePos,
}

/// A network domain (`domain:`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Domain {
    /// Name, unique in the location.
    pub name: String,
    /// Description as written (the cloud copy gets ` #plumbery` appended, see [`with_plumbery_tag`]).
    pub description: String,
    /// Service plan.
    pub service: ServicePlan,
    /// How many public IPv4 addresses the domain may hold.
    pub ipv4: Ipv4Quota,
}

/// Network domain service plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServicePlan {
    /// `essentials` (default).
    Essentials,
    /// `advanced`.
    Advanced,
}

impl ServicePlan {
    /// The API spelling: `ESSENTIALS` or `ADVANCED`.
    pub fn api_name(self) -> &'static str {
        match self {
            ServicePlan::Essentials => "ESSENTIALS",
            ServicePlan::Advanced => "ADVANCED",
        }
    }
}

/// Public IPv4 quota of a domain (`domain.ipv4`, else `defaults.ipv4`, else 2). Serialised as the
/// number, `"auto"` or `"transient"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv4Quota {
    /// A fixed limit, 2..=128.
    Count(u32),
    /// As many as needed (current count + 2).
    Auto,
    /// As needed, and nodes are exposed to the Internet only while `prepare` runs.
    Transient,
}

impl Serialize for Ipv4Quota {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Ipv4Quota::Count(n) => s.serialize_u32(*n),
            Ipv4Quota::Auto => s.serialize_str("auto"),
            Ipv4Quota::Transient => s.serialize_str("transient"),
        }
    }
}

/// A reference to a network by name: `name`, `LOC::name` or `region::LOC::name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NetworkRef {
    /// Region, for `region::LOC::name`.
    pub region: Option<String>,
    /// Location, for `LOC::name`.
    pub location: Option<String>,
    /// The VLAN name.
    pub name: String,
}

impl NetworkRef {
    /// Parses `name`, `LOC::name` or `region::LOC::name`; `None` if a part is empty or there are more parts.
    pub fn parse(text: &str) -> Option<NetworkRef> {
        let parts: Vec<&str> = text.trim().split("::").collect();
        if parts.iter().any(|p| p.trim().is_empty()) {
            return None;
        }
        let owned = |s: &str| s.trim().to_string();
        match parts.as_slice() {
            [name] => Some(NetworkRef {
                region: None,
                location: None,
                name: owned(name),
            }),
            [loc, name] => Some(NetworkRef {
                region: None,
                location: Some(owned(loc)),
                name: owned(name),
            }),
            [region, loc, name] => Some(NetworkRef {
                region: Some(owned(region)),
                location: Some(owned(loc)),
                name: owned(name),
            }),
            _ => None,
        }
    }
}

impl fmt::Display for NetworkRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(region) = &self.region {
            write!(f, "{region}::")?;
        }
        if let Some(loc) = &self.location {
            write!(f, "{loc}::")?;
        }
        f.write_str(&self.name)
    }
}

impl Serialize for NetworkRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A VLAN (`ethernet:`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ethernet {
    /// VLAN name; `LOC::name` when the VLAN lives in another location.
    pub name: NetworkRef,
    /// Private IPv4 range (`subnet: 10.0.0.0/24`; the default prefix is 24).
    #[serde(serialize_with = "ser_display")]
    pub subnet: Ipv4Net,
    /// Which end of the range holds the gateway (`low` default, or `high`).
    pub addressing: GatewayAddressing,
    /// Description as written.
    pub description: String,
    /// Networks whose traffic is accepted (firewall rules `From<Src>To<Dst>...`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accept: Vec<NetworkRef>,
    /// Private IPv4 addresses to reserve on the VLAN.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reserved: Vec<Ipv4Addr>,
    /// `destroy: never`: keep the VLAN on destroy.
    pub destroy_never: bool,
}

/// Gateway position in a VLAN (`subnet: a.b.c.d/NN low|high`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum GatewayAddressing {
    /// Gateway at the low end (prefix 16..=28). Default.
    #[default]
    Low,
    /// Gateway at the high end (prefix 16..=24).
    High,
}

/// A node (server), after defaults, node class and range expansion.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    /// Node name (one element of a range such as `redis0[2..4]`).
    pub name: String,
    /// The label as written (`redis0[2..4]`), equal to `name` when it is not a range.
    pub label: String,
    /// Image name substring, matched against OS and customer images; `None`: the first image.
    pub appliance: Option<String>,
    /// CPU specification.
    #[serde(flatten)]
    pub cpu: Option<Cpu>,
    /// Memory in GB, 1..=256.
    #[serde(rename = "memory")]
    pub memory_gb: Option<u32>,
    /// Disks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disks: Vec<Disk>,
    /// Network attachments (`glue:`).
    pub glue: Vec<Glue>,
    /// Monitoring plan.
    pub monitoring: Option<Monitoring>,
    /// Backup settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<Backup>,
    /// Description as written (hashtags included, without ` #plumbery`).
    pub description: String,
    /// `#hashtags` found in the description, without `#`.
    pub hashtags: Vec<String>,
    /// Lines printed by `information` (tokens not yet expanded).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub information: Vec<String>,
    /// `running: always`: never stopped.
    pub running_always: bool,
    /// `destroy: never`: never destroyed.
    pub destroy_never: bool,
    /// Merged cloud-config (defaults ← class ← node), tokens not yet expanded. `None` when empty.
    pub cloud_config: Option<serde_yaml::Value>,
    /// `prepare:` steps.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prepare: Vec<PrepareStep>,
    /// `windows:` settings (hostname, cmds), kept as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub windows: Option<serde_yaml::Value>,
    /// Node class applied (`default:`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Where the node is declared.
    #[serde(skip)]
    pub pos: SourcePos,
}

/// CPU specification: `"N [cores 1|2] [standard|highperformance]"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cpu {
    /// Number of virtual CPUs, 1..=32.
    #[serde(rename = "cpu")]
    pub count: u32,
    /// Cores per socket (1 or 2).
    #[serde(rename = "cpuCoresPerSocket")]
    pub cores_per_socket: u32,
    /// Performance class.
    #[serde(rename = "cpuSpeed")]
    pub speed: CpuSpeed,
}

/// CPU performance class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CpuSpeed {
    /// `standard` (API `STANDARD`).
    Standard,
    /// `highperformance` (API `HIGHPERFORMANCE`).
    HighPerformance,
}

impl CpuSpeed {
    /// The API spelling.
    pub fn api_name(self) -> &'static str {
        match self {
            CpuSpeed::Standard => "STANDARD",
            CpuSpeed::HighPerformance => "HIGHPERFORMANCE",
        }
    }
}

/// A disk: `"<scsiId 0-9> <sizeGB 10..1000> [standard|highperformance|economy]"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Disk {
    /// SCSI id 0..=9.
    pub scsi_id: u8,
    /// Size in GB, 10..=1000.
    pub size_gb: u32,
    /// Speed class.
    pub speed: DiskSpeed,
}

/// Disk speed class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiskSpeed {
    /// `standard` (default).
    Standard,
    /// `highperformance`.
    HighPerformance,
    /// `economy`.
    Economy,
}

impl DiskSpeed {
    /// The API spelling.
    pub fn api_name(self) -> &'static str {
        match self {
            DiskSpeed::Standard => "STANDARD",
            DiskSpeed::HighPerformance => "HIGHPERFORMANCE",
            DiskSpeed::Economy => "ECONOMY",
        }
    }
}

/// Monitoring plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Monitoring {
    /// `essentials`.
    Essentials,
    /// `advanced`.
    Advanced,
}

impl Monitoring {
    /// The API spelling.
    pub fn api_name(self) -> &'static str {
        match self {
            Monitoring::Essentials => "ESSENTIALS",
            Monitoring::Advanced => "ADVANCED",
        }
    }
}

/// One `glue:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Glue {
    /// `internet [ports...]`: a public IPv4 (NAT) and one firewall rule per port (none given: TCP any).
    Internet {
        /// Ports opened on the public address.
        ports: Vec<FirewallPort>,
    },
    /// `primary .11` or `<primary-network> 10.1.2.11`: a static address on the blueprint's own VLAN.
    Primary {
        /// The full IPv4 address (a `.11` suffix is completed from the blueprint subnet).
        address: Ipv4Addr,
    },
    /// `<network> [ip|.suffix]`: an extra NIC on another VLAN (maybe `LOC::net`).
    Extra {
        /// The other VLAN.
        network: NetworkRef,
        /// A static address on it, or `None` for any.
        address: Option<GlueAddress>,
    },
}

/// Address given for an extra NIC: a full address or a `.suffix` completed from that VLAN's subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlueAddress {
    /// `10.1.2.3`.
    Full(Ipv4Addr),
    /// `.3`: the last octet(s), completed once the VLAN is known.
    Suffix(String),
}

impl fmt::Display for Glue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Glue::Internet { ports } => {
                f.write_str("internet")?;
                for p in ports {
                    write!(f, " {p}")?;
                }
                Ok(())
            }
            Glue::Primary { address } => write!(f, "primary {address}"),
            Glue::Extra { network, address } => {
                write!(f, "{network}")?;
                match address {
                    Some(GlueAddress::Full(a)) => write!(f, " {a}"),
                    Some(GlueAddress::Suffix(s)) => write!(f, " {s}"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl Serialize for Glue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One port token of `glue: internet ...`: protocol and port range (`None` = any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirewallPort {
    /// Protocol.
    pub protocol: Protocol,
    /// First port, `None` for any.
    pub begin: Option<u16>,
    /// Last port when a range (`80..81`), else `None`.
    pub end: Option<u16>,
}

impl fmt::Display for FirewallPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let range = match (self.begin, self.end) {
            (None, _) => "any".to_string(),
            (Some(b), None) => b.to_string(),
            (Some(b), Some(e)) => format!("{b}..{e}"),
        };
        match self.protocol {
            Protocol::Tcp if self.begin.is_some() => f.write_str(&range),
            Protocol::Icmp if self.begin.is_none() => f.write_str("icmp"),
            p => write!(f, "{}:{range}", p.name()),
        }
    }
}

/// A firewall protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Protocol {
    /// Any IP traffic.
    Ip,
    /// ICMP.
    Icmp,
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// Lower-case name (`tcp`), as written in plans.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Ip => "ip",
            Protocol::Icmp => "icmp",
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }

    /// API spelling (`TCP`).
    pub fn api_name(self) -> &'static str {
        match self {
            Protocol::Ip => "IP",
            Protocol::Icmp => "ICMP",
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }
}

/// Backup settings: a plan name, or a detailed mapping.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Backup {
    /// `essentials`, `advanced` or `enterprise`.
    pub plan: String,
    /// Notification email, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Backup clients.
    pub clients: Vec<BackupClient>,
}

/// One backup client.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupClient {
    /// `filesystem`, `file`, or a client description prefix.
    #[serde(rename = "type")]
    pub kind: String,
    /// Storage policy (default `14 Day Storage Policy`).
    pub storage_policy: String,
    /// Schedule policy (default `12AM - 6AM`).
    pub schedule_policy: String,
    /// Alert trigger (default `ON_FAILURE`).
    pub trigger: String,
    /// Alert email, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// A `prepare:` step of a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "step")]
pub enum PrepareStep {
    /// `run <script> [args]` (tokens expanded in the script) or `run_raw` (`raw: true`).
    Run {
        /// Local script path.
        script: String,
        /// Arguments.
        args: Vec<String>,
        /// `run_raw`: the script is sent without token expansion.
        raw: bool,
    },
    /// `put <file> [dest]` or `put_raw`.
    Put {
        /// Local file path.
        file: String,
        /// Destination path on the node, if given.
        dest: Option<String>,
        /// `put_raw`: the file is sent without token expansion.
        raw: bool,
    },
    /// Any other text: logged.
    Echo {
        /// The text (an `echo ` prefix removed).
        text: String,
    },
}

/// A load balancer listener (`balancers: [{label: {...}}]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Balancer {
    /// Label.
    pub name: String,
    /// `http` (default), `https`, `tcp` or `udp`.
    pub protocol: String,
    /// Port (default 80).
    pub port: u16,
    /// Fixed virtual IP; `None` takes one from the domain's public pool.
    pub address: Option<Ipv4Addr>,
    /// Lines printed by `information` (may use `{{ balancer.name/ip/port }}`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub information: Vec<String>,
}

/// A load balancer pool (`pool:`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pool {
    /// Algorithm (`round_robin` default, `random`, `least_connections` ...).
    pub algorithm: String,
    /// Description.
    pub description: String,
}

fn ser_display<T: fmt::Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// The description sent to the cloud: the plan's text with ` #plumbery` appended (once).
pub fn with_plumbery_tag(description: &str) -> String {
    let d = description.trim();
    if d.split_whitespace().any(|w| w == "#plumbery") {
        d.to_string()
    } else if d.is_empty() {
        "#plumbery".to_string()
    } else {
        format!("{d} #plumbery")
    }
}

/// The original's firewall rule name for one node port: `"<NodeTitle>.<PROTO>v4_<port>.plumbery"`.
///
/// The node name is title-cased (first letter of each alphanumeric run upper-case, the rest lower-case)
/// and stripped of characters other than ASCII alphanumerics and `_`, so `redis01` port TCP 22 gives
/// `Redis01.TCPv4_22.plumbery` and ICMP gives `Redis01.ICMPv4_any.plumbery`. A port range is written
/// `begin..end` (`Web1.UDPv4_137..138.plumbery`), as in the original.
pub fn firewall_rule_name(node_name: &str, port: &FirewallPort) -> String {
    let range = match (port.begin, port.end) {
        (None, _) => "any".to_string(),
        (Some(b), None) => b.to_string(),
        (Some(b), Some(e)) => format!("{b}..{e}"),
    };
    format!(
        "{}.{}v4_{}.plumbery",
        title_alnum(node_name),
        port.protocol.api_name(),
        range
    )
}

/// Python's `str.title()` followed by removing every character that is not alphanumeric or `_`.
pub fn title_alnum(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev_cased = false;
    for c in text.chars() {
        let t = if c.is_alphabetic() {
            if prev_cased {
                c.to_lowercase().next().unwrap_or(c)
            } else {
                c.to_uppercase().next().unwrap_or(c)
            }
        } else {
            c
        };
        prev_cased = c.is_alphabetic();
        if t.is_ascii_alphanumeric() || t == '_' {
            out.push(t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_follow_the_original() {
        let tcp22 = FirewallPort {
            protocol: Protocol::Tcp,
            begin: Some(22),
            end: None,
        };
        assert_eq!(
            firewall_rule_name("redis01", &tcp22),
            "Redis01.TCPv4_22.plumbery"
        );
        let icmp = FirewallPort {
            protocol: Protocol::Icmp,
            begin: None,
            end: None,
        };
        assert_eq!(
            firewall_rule_name("redis01", &icmp),
            "Redis01.ICMPv4_any.plumbery"
        );
        assert_eq!(
            firewall_rule_name("web-eu.1", &tcp22),
            "WebEu1.TCPv4_22.plumbery"
        );
        assert_eq!(title_alnum("gigafox.control"), "GigafoxControl");
        assert_eq!(title_alnum("myNetwork"), "Mynetwork");
        assert_eq!(title_alnum("node1a"), "Node1A");
    }

    #[test]
    fn network_refs_parse() {
        let r = NetworkRef::parse("dd-eu::EU6::front").unwrap();
        assert_eq!(r.region.as_deref(), Some("dd-eu"));
        assert_eq!(r.to_string(), "dd-eu::EU6::front");
        assert!(NetworkRef::parse("a::::b").is_none());
    }

    #[test]
    fn plumbery_tag_is_added_once() {
        assert_eq!(with_plumbery_tag("#redis"), "#redis #plumbery");
        assert_eq!(with_plumbery_tag("x #plumbery"), "x #plumbery");
    }
}
