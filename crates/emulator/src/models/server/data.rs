//! A server's data: the stored server with its NICs, disks and staged hardware change, and what the
//! deploy, monitoring and reconfigure requests ask for.

use std::fmt;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::models::backup::data::Backup;
use crate::models::common::{Pending, ResourceState};

/// A secret string: stored (serialised as the bare string), never printed.
pub use secrets::Secret;

/// A network interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nic {
    /// NIC id.
    pub id: String,
    /// VLAN id.
    pub vlan_id: String,
    /// Private IPv4.
    pub ipv4: Ipv4Addr,
    /// IPv6.
    pub ipv6: String,
    /// Adapter type.
    pub adapter: String,
}

/// A disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disk {
    /// Disk id.
    pub id: String,
    /// SCSI id.
    pub scsi_id: u32,
    /// Size in GB.
    pub size_gb: u32,
    /// Speed.
    pub speed: String,
}

/// A server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Server {
    /// Id.
    pub id: String,
    /// Datacenter id.
    pub datacenter_id: String,
    /// Name (not unique).
    pub name: String,
    /// Description.
    pub description: String,
    /// Source image id.
    pub image_id: String,
    /// CPU count.
    pub cpu_count: u32,
    /// Cores per socket.
    pub cores_per_socket: u32,
    /// CPU speed.
    pub cpu_speed: String,
    /// Memory in GB.
    pub memory_gb: u32,
    /// Disks.
    pub disks: Vec<Disk>,
    /// SCSI controller id.
    pub scsi_controller_id: String,
    /// Network domain id.
    pub domain_id: String,
    /// Primary NIC.
    pub primary_nic: Nic,
    /// Additional NICs.
    pub additional_nics: Vec<Nic>,
    /// Monitoring service plan when enabled.
    pub monitoring: Option<String>,
    /// Creation time (ms).
    pub create_ms: i64,
    /// Deployed.
    pub deployed: bool,
    /// Started.
    pub started: bool,
    /// Start once deployed.
    pub start_on_deploy: bool,
    /// State.
    pub state: ResourceState,
    /// Operation under way.
    pub pending: Option<Pending>,
    /// Why the last operation failed.
    pub failure_reason: Option<String>,
    /// Root password for the backend (never rendered, logged or printed).
    pub admin_password: Option<Secret>,
    /// The hardware change the pending operation applies when it completes.
    #[serde(default)]
    pub staged: Option<HardwareChange>,
    /// Cloud backup when enabled (MCP 1.0 API).
    #[serde(default)]
    pub backup: Option<Box<Backup>>,
}

/// A hardware change (reconfigureServer, addDisk, expandDisk, changeDiskSpeed, addNic, removeNic),
/// journaled with the server while it is PENDING_CHANGE and applied when the operation completes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum HardwareChange {
    /// New CPU count, cores per socket, CPU speed and memory (absent: unchanged).
    Reconfigure {
        /// CPU count.
        cpu_count: Option<u32>,
        /// Cores per socket.
        cores_per_socket: Option<u32>,
        /// CPU speed.
        cpu_speed: Option<String>,
        /// Memory in GB.
        memory_gb: Option<u32>,
    },
    /// A new disk.
    AddDisk(Disk),
    /// Disk `0` grows to `1` GB.
    ExpandDisk(String, u32),
    /// Disk `0` changes to speed `1`.
    DiskSpeed(String, String),
    /// A new secondary NIC (its address is reserved while the change is pending).
    AddNic(Nic),
    /// The secondary NIC of that id goes.
    RemoveNic(String),
}

/// Most NICs a server may have (primary included).
pub const MAX_NICS: usize = 10;

/// One NIC of a deploy request: exactly one of `vlan_id` and `private_ipv4`.
#[derive(Debug, Clone, Default)]
pub struct NicRequest {
    /// VLAN to take an address from.
    pub vlan_id: Option<String>,
    /// Fixed address (its VLAN is the one containing it).
    pub private_ipv4: Option<String>,
    /// Adapter type.
    pub adapter: Option<String>,
}

/// What a deploy asks for.
#[derive(Clone, Default)]
pub struct DeployServer {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// OS image id.
    pub image_id: String,
    /// Start once deployed.
    pub start: bool,
    /// Root password.
    pub admin_password: Option<String>,
    /// CPU count / cores per socket / speed.
    pub cpu: (Option<u32>, Option<u32>, Option<String>),
    /// Memory in GB.
    pub memory_gb: Option<u32>,
    /// Network domain id.
    pub domain_id: String,
    /// Primary NIC.
    pub primary: NicRequest,
    /// Additional NICs.
    pub additional: Vec<NicRequest>,
    /// Disk speeds by SCSI id.
    pub disks: Vec<(u32, String)>,
}

impl fmt::Debug for DeployServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeployServer")
            .field("name", &self.name)
            .field("image_id", &self.image_id)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// All NICs, primary first.
    pub fn nics(&self) -> impl Iterator<Item = &Nic> {
        std::iter::once(&self.primary_nic).chain(self.additional_nics.iter())
    }

    /// The NIC a pending addNic adds, if any (its address and VLAN count as taken already).
    pub fn staged_nic(&self) -> Option<&Nic> {
        match &self.staged {
            Some(HardwareChange::AddNic(n)) => Some(n),
            _ => None,
        }
    }
}

/// Monitoring changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Monitoring<'a> {
    /// enableServerMonitoring with a plan.
    Enable(&'a str),
    /// changeServerMonitoringPlan.
    Change(&'a str),
    /// disableServerMonitoring.
    Disable,
}

/// What a reconfigureServer asks for (every field optional).
#[derive(Debug, Clone, Default)]
pub struct Reconfigure {
    /// CPU count (1..32).
    pub cpu_count: Option<u32>,
    /// Cores per socket (divides the CPU count).
    pub cores_per_socket: Option<u32>,
    /// CPU speed.
    pub cpu_speed: Option<String>,
    /// Memory in GB (1..256).
    pub memory_gb: Option<u32>,
}
