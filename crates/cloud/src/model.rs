//! Typed resources as the API reports them (XML in namespace `urn:didata.com:api:cloud:types`).
//! Field names follow the wire; XML attributes are marked `@` for decoding only, so the same types
//! serialise to clean JSON for reports.

use serde::{Deserialize, Serialize};

/// The `<state>` of any resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ResourceState {
    /// Ready.
    Normal,
    /// Being created.
    PendingAdd,
    /// Being changed (edits, server power operations).
    PendingChange,
    /// Being deleted.
    PendingDelete,
    /// Creation failed.
    FailedAdd,
    /// A change failed.
    FailedChange,
    /// Deletion failed.
    FailedDelete,
    /// The provider must intervene.
    RequiresSupport,
    /// Anything else, kept verbatim.
    Other(String),
}

impl From<String> for ResourceState {
    fn from(s: String) -> Self {
        match s.trim() {
            "NORMAL" => ResourceState::Normal,
            "PENDING_ADD" => ResourceState::PendingAdd,
            "PENDING_CHANGE" => ResourceState::PendingChange,
            "PENDING_DELETE" => ResourceState::PendingDelete,
            "FAILED_ADD" => ResourceState::FailedAdd,
            "FAILED_CHANGE" => ResourceState::FailedChange,
            "FAILED_DELETE" => ResourceState::FailedDelete,
            "REQUIRES_SUPPORT" => ResourceState::RequiresSupport,
            other => ResourceState::Other(other.to_string()),
        }
    }
}

impl From<ResourceState> for String {
    fn from(s: ResourceState) -> Self {
        s.as_str().to_string()
    }
}

impl ResourceState {
    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            ResourceState::Normal => "NORMAL",
            ResourceState::PendingAdd => "PENDING_ADD",
            ResourceState::PendingChange => "PENDING_CHANGE",
            ResourceState::PendingDelete => "PENDING_DELETE",
            ResourceState::FailedAdd => "FAILED_ADD",
            ResourceState::FailedChange => "FAILED_CHANGE",
            ResourceState::FailedDelete => "FAILED_DELETE",
            ResourceState::RequiresSupport => "REQUIRES_SUPPORT",
            ResourceState::Other(s) => s,
        }
    }

    /// True for PENDING_*.
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            ResourceState::PendingAdd | ResourceState::PendingChange | ResourceState::PendingDelete
        )
    }

    /// True for FAILED_*, REQUIRES_SUPPORT and unknown states: a wait cannot end well from there.
    pub fn is_failed(&self) -> bool {
        !self.is_pending() && *self != ResourceState::Normal
    }
}

impl Default for ResourceState {
    fn default() -> Self {
        ResourceState::Other(String::new())
    }
}

impl std::fmt::Display for ResourceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `GET infrastructure/datacenter` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Datacenter {
    /// e.g. `NA9`.
    #[serde(rename(deserialize = "@id"), alias = "id")]
    pub id: String,
    /// e.g. `MCP 2.0`.
    #[serde(rename(deserialize = "@type"), alias = "type", default)]
    pub r#type: Option<String>,
    /// Human name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// Country code.
    #[serde(default)]
    pub country: Option<String>,
}

/// `cpu` element of servers and images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cpu {
    /// Number of virtual CPUs.
    #[serde(rename(deserialize = "@count"), alias = "count")]
    pub count: u32,
    /// STANDARD | HIGHPERFORMANCE.
    #[serde(rename(deserialize = "@speed"), alias = "speed", default)]
    pub speed: Option<String>,
    /// Cores per socket.
    #[serde(
        rename(deserialize = "@coresPerSocket"),
        alias = "coresPerSocket",
        default
    )]
    pub cores_per_socket: Option<u32>,
}

/// A disk of a server or image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Disk {
    /// Disk id.
    #[serde(rename(deserialize = "@id"), alias = "id", default)]
    pub id: Option<String>,
    /// SCSI id.
    #[serde(rename(deserialize = "@scsiId"), alias = "scsiId", default)]
    pub scsi_id: Option<u32>,
    /// Size in GB.
    #[serde(rename(deserialize = "@sizeGb"), alias = "sizeGb", default)]
    pub size_gb: Option<u32>,
    /// Speed class.
    #[serde(rename(deserialize = "@speed"), alias = "speed", default)]
    pub speed: Option<String>,
}

/// `guest/operatingSystem`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperatingSystem {
    /// e.g. `UBUNTU1664`.
    #[serde(rename(deserialize = "@id"), alias = "id", default)]
    pub id: Option<String>,
    /// e.g. `UBUNTU16/64`.
    #[serde(rename(deserialize = "@displayName"), alias = "displayName", default)]
    pub display_name: Option<String>,
    /// UNIX | WINDOWS.
    #[serde(rename(deserialize = "@family"), alias = "family", default)]
    pub family: Option<String>,
}

/// `guest` element (2.4+).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Guest {
    /// The guest OS.
    #[serde(default)]
    pub operating_system: Option<OperatingSystem>,
    /// VMware tools (`guest/vmTools`), when the guest has them.
    #[serde(default)]
    pub vm_tools: Option<VmTools>,
}

/// VMware tools of a server (`vmwareTools` up to 2.3, `guest/vmTools` from 2.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmTools {
    /// CURRENT | NEED_UPGRADE | …
    #[serde(
        rename(deserialize = "@versionStatus"),
        alias = "versionStatus",
        default
    )]
    pub version_status: Option<String>,
    /// RUNNING | NOT_RUNNING.
    #[serde(
        rename(deserialize = "@runningStatus"),
        alias = "runningStatus",
        default
    )]
    pub running_status: Option<String>,
}

/// The backup of a server as its listing shows it (`<backup assetId= servicePlan= state=/>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerBackup {
    /// Asset id.
    #[serde(rename(deserialize = "@assetId"), alias = "assetId", default)]
    pub asset_id: Option<String>,
    /// `Essentials`, `Advanced` or `Enterprise`.
    #[serde(rename(deserialize = "@servicePlan"), alias = "servicePlan", default)]
    pub service_plan: String,
    /// State.
    #[serde(rename(deserialize = "@state"), alias = "state", default)]
    pub state: Option<String>,
}

/// An OS image or a customer image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// Image id.
    #[serde(rename(deserialize = "@id"), alias = "id")]
    pub id: String,
    /// Datacenter.
    #[serde(rename(deserialize = "@datacenterId"), alias = "datacenterId", default)]
    pub datacenter_id: Option<String>,
    /// Name, e.g. `Ubuntu 22.04 64-bit 2 CPU`.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Default CPU.
    #[serde(default)]
    pub cpu: Option<Cpu>,
    /// Default memory.
    #[serde(default)]
    pub memory_gb: Option<u32>,
    /// Disks.
    #[serde(default)]
    pub disk: Vec<Disk>,
    /// Guest OS (2.4+).
    #[serde(default)]
    pub guest: Option<Guest>,
    /// Guest OS (≤2.3 shape).
    #[serde(default)]
    pub operating_system: Option<OperatingSystem>,
}

impl Image {
    /// The OS family (UNIX/WINDOWS) from either shape.
    pub fn os_family(&self) -> Option<&str> {
        self.guest
            .as_ref()
            .and_then(|g| g.operating_system.as_ref())
            .or(self.operating_system.as_ref())
            .and_then(|o| o.family.as_deref())
    }
}

/// A network domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkDomain {
    /// Id.
    #[serde(rename(deserialize = "@id"), alias = "id")]
    pub id: String,
    /// Datacenter.
    #[serde(rename(deserialize = "@datacenterId"), alias = "datacenterId", default)]
    pub datacenter_id: String,
    /// Name (unique per datacenter).
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// ESSENTIALS | ADVANCED.
    #[serde(rename = "type", default)]
    pub plan: Option<String>,
    /// Source NAT address.
    #[serde(default)]
    pub snat_ipv4_address: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub create_time: Option<String>,
    /// State.
    #[serde(default)]
    pub state: ResourceState,
}

/// `vlan/networkDomain` reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainRef {
    /// Domain id.
    #[serde(rename(deserialize = "@id"), alias = "id")]
    pub id: String,
    /// Domain name.
    #[serde(rename(deserialize = "@name"), alias = "name", default)]
    pub name: Option<String>,
}

/// An address range `address/prefixSize`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpRange {
    /// Base address.
    #[serde(rename(deserialize = "@address"), alias = "address")]
    pub address: String,
    /// Prefix length.
    #[serde(rename(deserialize = "@prefixSize"), alias = "prefixSize")]
    pub prefix_size: u8,
}

/// A VLAN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vlan {
    /// Id.
    #[serde(rename(deserialize = "@id"), alias = "id")]
    pub id: String,
    /// Datacenter.
    #[serde(rename(deserialize = "@datacenterId"), alias = "datacenterId", default)]
    pub datacenter_id: String,
    /// The domain it belongs to.
    pub network_domain: DomainRef,
    /// Name (unique per domain).
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// IPv4 range.
    pub private_ipv4_range: IpRange,
    /// IPv4 gateway.
    #[serde(default)]
    pub ipv4_gateway_address: Option<String>,
    /// IPv6 range.
    #[serde(default)]
    pub ipv6_range: Option<IpRange>,
    /// IPv6 gateway.
    #[serde(default)]
    pub ipv6_gateway_address: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub create_time: Option<String>,
    /// State.
    #[serde(default)]
    pub state: ResourceState,
}

/// A public IPv4 block (2 addresses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicIpBlock {
    /// Id.
    #[serde(rename(deserialize = "@id"), alias = "id")]
    pub id: String,
    /// Datacenter.
    #[serde(rename(deserialize = "@datacenterId"), alias = "datacenterId", default)]
    pub datacenter_id: String,
    /// Owning domain.
    pub network_domain_id: String,
    /// First address.
    pub base_ip: String,
    /// Number of addresses.
    pub size: u32,
    /// Creation time.
    #[serde(default)]
    pub create_time: Option<String>,
    /// State.
    #[serde(default)]
    pub state: ResourceState,
}

impl PublicIpBlock {
    /// Every address of the block, in order.
    pub fn addresses(&self) -> Vec<std::net::Ipv4Addr> {
        let Ok(base) = self.base_ip.trim().parse::<std::net::Ipv4Addr>() else {
            return Vec::new();
        };
        let b = u32::from(base);
        (0..self.size)
            .map(|i| std::net::Ipv4Addr::from(b + i))
            .collect()
    }
}

/// A reserved (in use) public IPv4 address of a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReservedIp {
    /// The address.
    pub value: String,
    /// The block it comes from.
    pub ip_block_id: Option<String>,
    /// The domain.
    pub network_domain_id: Option<String>,
}

/// A private IPv4 address reserved on a VLAN (`GET network/reservedPrivateIpv4Address`). Decodes
/// the emulator's element form (`<ipv4><ipAddress>…</ipAddress><vlanId>…</vlanId>…</ipv4>`), the
/// attribute form of the real API's contracts (`<ipv4 vlanId="…" datacenterId="…">addr</ipv4>`) and
/// the Go client's JSON (`{"ipAddress","vlanId","datacenterId"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "ReservedPrivateIpv4Wire")]
pub struct ReservedPrivateIpv4 {
    /// The address.
    pub ip_address: String,
    /// The VLAN.
    pub vlan_id: String,
    /// Datacenter.
    pub datacenter_id: String,
    /// Description, when one was given.
    pub description: Option<String>,
}

/// Every spelling of a reserved private address on the wire.
#[derive(Deserialize)]
struct ReservedPrivateIpv4Wire {
    #[serde(rename = "ipAddress", default)]
    ip_address: Option<String>,
    #[serde(rename = "$text", default)]
    text: Option<String>,
    #[serde(rename = "@vlanId", alias = "vlanId", default)]
    vlan_id: Option<String>,
    #[serde(rename = "@datacenterId", alias = "datacenterId", default)]
    datacenter_id: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

impl From<ReservedPrivateIpv4Wire> for ReservedPrivateIpv4 {
    fn from(w: ReservedPrivateIpv4Wire) -> Self {
        let clean = |s: Option<String>| s.map(|s| s.trim().to_string()).unwrap_or_default();
        ReservedPrivateIpv4 {
            ip_address: clean(w.ip_address.filter(|s| !s.trim().is_empty()).or(w.text)),
            vlan_id: clean(w.vlan_id),
            datacenter_id: clean(w.datacenter_id),
            description: w.description.filter(|d| !d.is_empty()),
        }
    }
}

/// A NAT rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NatRule {
    /// Id.
    #[serde(rename(deserialize = "@id"), alias = "id")]
    pub id: String,
    /// Datacenter.
    #[serde(rename(deserialize = "@datacenterId"), alias = "datacenterId", default)]
    pub datacenter_id: String,
    /// Owning domain.
    pub network_domain_id: String,
    /// Private address.
    pub internal_ip: String,
    /// Public address.
    pub external_ip: String,
    /// Creation time.
    #[serde(default)]
    pub create_time: Option<String>,
    /// State.
    #[serde(default)]
    pub state: ResourceState,
}

/// A firewall endpoint address (`ip address= prefixSize=`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirewallIp {
    /// Address or `ANY`.
    #[serde(rename(deserialize = "@address"), alias = "address")]
    pub address: String,
    /// Prefix length for a network.
    #[serde(rename(deserialize = "@prefixSize"), alias = "prefixSize", default)]
    pub prefix_size: Option<u8>,
}

impl From<IpRange> for FirewallIp {
    /// A VLAN's range as a rule's source or destination network.
    fn from(r: IpRange) -> Self {
        FirewallIp {
            address: r.address,
            prefix_size: Some(r.prefix_size),
        }
    }
}

/// A port or port range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallPort {
    /// First port.
    #[serde(rename(deserialize = "@begin"), alias = "begin")]
    pub begin: u16,
    /// Last port.
    #[serde(rename(deserialize = "@end"), alias = "end", default)]
    pub end: Option<u16>,
}

/// Source or destination of a firewall rule. No `ip` means ANY.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirewallScope {
    /// Address.
    #[serde(default)]
    pub ip: Option<FirewallIp>,
    /// Port.
    #[serde(default)]
    pub port: Option<FirewallPort>,
    /// Address list reference.
    #[serde(default)]
    pub ip_address_list_id: Option<String>,
    /// Port list reference.
    #[serde(default)]
    pub port_list_id: Option<String>,
}

/// A firewall rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirewallRule {
    /// Id.
    #[serde(rename(deserialize = "@id"), alias = "id")]
    pub id: String,
    /// Datacenter.
    #[serde(rename(deserialize = "@datacenterId"), alias = "datacenterId", default)]
    pub datacenter_id: String,
    /// DEFAULT_RULE | CLIENT_RULE.
    #[serde(rename(deserialize = "@ruleType"), alias = "ruleType", default)]
    pub rule_type: Option<String>,
    /// Owning domain.
    pub network_domain_id: String,
    /// Name (unique per domain).
    pub name: String,
    /// ACCEPT_DECISIVELY | DROP.
    pub action: String,
    /// IPV4 | IPV6.
    pub ip_version: String,
    /// IP | TCP | UDP | ICMP.
    pub protocol: String,
    /// Source.
    #[serde(default)]
    pub source: FirewallScope,
    /// Destination.
    #[serde(default)]
    pub destination: FirewallScope,
    /// Enabled flag.
    #[serde(default)]
    pub enabled: bool,
    /// State.
    #[serde(default)]
    pub state: ResourceState,
}

/// A NIC of a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Nic {
    /// NIC id.
    #[serde(rename(deserialize = "@id"), alias = "id", default)]
    pub id: Option<String>,
    /// Private IPv4.
    #[serde(rename(deserialize = "@privateIpv4"), alias = "privateIpv4", default)]
    pub private_ipv4: Option<String>,
    /// IPv6.
    #[serde(rename(deserialize = "@ipv6"), alias = "ipv6", default)]
    pub ipv6: Option<String>,
    /// VLAN id.
    #[serde(rename(deserialize = "@vlanId"), alias = "vlanId", default)]
    pub vlan_id: Option<String>,
    /// VLAN name.
    #[serde(rename(deserialize = "@vlanName"), alias = "vlanName", default)]
    pub vlan_name: Option<String>,
}

/// `networkInfo` of a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkInfo {
    /// Domain id.
    #[serde(rename(deserialize = "@networkDomainId"), alias = "networkDomainId")]
    pub network_domain_id: String,
    /// Primary NIC.
    #[serde(default)]
    pub primary_nic: Option<Nic>,
    /// Other NICs.
    #[serde(default)]
    pub additional_nic: Vec<Nic>,
}

/// `monitoring` of a server, present once enabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Monitoring {
    /// Monitoring id.
    #[serde(rename(deserialize = "@monitoringId"), alias = "monitoringId", default)]
    pub monitoring_id: Option<String>,
    /// ESSENTIALS | ADVANCED.
    #[serde(rename(deserialize = "@servicePlan"), alias = "servicePlan")]
    pub service_plan: String,
    /// State.
    #[serde(rename(deserialize = "@state"), alias = "state", default)]
    pub state: Option<String>,
}

/// `progress` of a server, present while an operation is pending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// e.g. DEPLOY_SERVER, START_SERVER.
    #[serde(default)]
    pub action: Option<String>,
    /// When the operation was requested.
    #[serde(default)]
    pub request_time: Option<String>,
    /// Why it failed, if it did.
    #[serde(default)]
    pub failure_reason: Option<String>,
}

/// A server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Server {
    /// Id.
    #[serde(rename(deserialize = "@id"), alias = "id")]
    pub id: String,
    /// Datacenter.
    #[serde(rename(deserialize = "@datacenterId"), alias = "datacenterId", default)]
    pub datacenter_id: String,
    /// Name (not unique).
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// CPU.
    #[serde(default)]
    pub cpu: Option<Cpu>,
    /// Memory.
    #[serde(default)]
    pub memory_gb: Option<u32>,
    /// Disks (2.4 shape).
    #[serde(default)]
    pub disk: Vec<Disk>,
    /// Network (MCP 2).
    #[serde(default)]
    pub network_info: Option<NetworkInfo>,
    /// Monitoring, when enabled.
    #[serde(default)]
    pub monitoring: Option<Monitoring>,
    /// Image it was deployed from.
    #[serde(default)]
    pub source_image_id: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub create_time: Option<String>,
    /// Deployed flag.
    #[serde(default)]
    pub deployed: bool,
    /// Started flag.
    #[serde(default)]
    pub started: bool,
    /// State.
    #[serde(default)]
    pub state: ResourceState,
    /// Pending operation.
    #[serde(default)]
    pub progress: Option<Progress>,
    /// Guest OS.
    #[serde(default)]
    pub guest: Option<Guest>,
    /// VMware tools (≤2.3 shape; 2.4 reports them under `guest`).
    #[serde(default)]
    pub vmware_tools: Option<VmTools>,
    /// Cloud backup, when enabled.
    #[serde(default)]
    pub backup: Option<ServerBackup>,
}

/// What waits read of a server in `server/server` listings (many waits watch one listing): its
/// identity, addresses, power and progress. Decoding skips the hardware and guest elements: 1.7x
/// faster than a whole [`Server`], and listing 1,000 servers is mostly decoding.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerStatus {
    /// Id.
    #[serde(rename(deserialize = "@id"), alias = "id")]
    pub id: String,
    /// Datacenter.
    #[serde(rename(deserialize = "@datacenterId"), alias = "datacenterId", default)]
    pub datacenter_id: String,
    /// Name (not unique).
    pub name: String,
    /// Network (MCP 2).
    #[serde(default)]
    pub network_info: Option<NetworkInfo>,
    /// Creation time.
    #[serde(default)]
    pub create_time: Option<String>,
    /// Deployed flag.
    #[serde(default)]
    pub deployed: bool,
    /// Started flag.
    #[serde(default)]
    pub started: bool,
    /// State.
    #[serde(default)]
    pub state: ResourceState,
    /// Pending operation.
    #[serde(default)]
    pub progress: Option<Progress>,
}

impl From<ServerStatus> for Server {
    /// A server as far as its status tells: no hardware, guest, monitoring or backup.
    fn from(s: ServerStatus) -> Server {
        Server {
            id: s.id,
            datacenter_id: s.datacenter_id,
            name: s.name,
            description: None,
            cpu: None,
            memory_gb: None,
            disk: Vec::new(),
            network_info: s.network_info,
            monitoring: None,
            source_image_id: None,
            create_time: s.create_time,
            deployed: s.deployed,
            started: s.started,
            state: s.state,
            progress: s.progress,
            guest: None,
            vmware_tools: None,
            backup: None,
        }
    }
}

impl Server {
    /// The primary private IPv4, if known.
    pub fn private_ipv4(&self) -> Option<&str> {
        self.network_info
            .as_ref()?
            .primary_nic
            .as_ref()?
            .private_ipv4
            .as_deref()
    }

    /// The primary IPv6, if known.
    pub fn ipv6(&self) -> Option<&str> {
        self.network_info
            .as_ref()?
            .primary_nic
            .as_ref()?
            .ipv6
            .as_deref()
    }

    /// The secondary NICs (`networkInfo/additionalNic`).
    pub fn additional_nics(&self) -> &[Nic] {
        self.network_info
            .as_ref()
            .map_or(&[], |n| n.additional_nic.as_slice())
    }

    /// The network domain id, if MCP 2.
    pub fn network_domain_id(&self) -> Option<&str> {
        self.network_info
            .as_ref()
            .map(|n| n.network_domain_id.as_str())
    }

    /// The pending action, if any.
    pub fn pending_action(&self) -> Option<&str> {
        self.progress.as_ref().and_then(|p| p.action.as_deref())
    }

    /// The VMware tools of the server, from either shape; `None` when it has none.
    pub fn vm_tools(&self) -> Option<&VmTools> {
        self.guest
            .as_ref()
            .and_then(|g| g.vm_tools.as_ref())
            .or(self.vmware_tools.as_ref())
    }
}
