//! Asynchronous operations as plain data, shared by the models (which start and complete them)
//! and the job runner (which waits for them): what an operation is, how the models ask how long it
//! lasts, and the wall clock they are timed with. A leaf: it imports nothing from the crate.

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch (wall clock; pending work is due at such an instant).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The asynchronous operations: each lasts a while, then completes (or fails) in one transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OpKind {
    /// deployNetworkDomain
    DeployNetworkDomain,
    /// deleteNetworkDomain
    DeleteNetworkDomain,
    /// deployVlan
    DeployVlan,
    /// deleteVlan
    DeleteVlan,
    /// deployServer
    DeployServer,
    /// startServer
    StartServer,
    /// shutdownServer
    ShutdownServer,
    /// powerOffServer
    PowerOffServer,
    /// rebootServer
    RebootServer,
    /// resetServer
    ResetServer,
    /// deleteServer
    DeleteServer,
    /// cleanServer
    CleanServer,
    /// a new firewall rule's short PENDING_ADD
    CreateFirewallRule,
    /// reconfigureServer
    ReconfigureServer,
    /// addDisk
    AddDisk,
    /// expandDisk
    ExpandDisk,
    /// changeDiskSpeed
    ChangeDiskSpeed,
    /// addNic
    AddNic,
    /// removeNic
    RemoveNic,
    /// expandVlan
    ExpandVlan,
    /// updateVmwareTools
    UpdateVmwareTools,
}

impl OpKind {
    /// The `progress/action` / operation spelling.
    pub fn action(self) -> &'static str {
        match self {
            OpKind::DeployNetworkDomain => "DEPLOY_NETWORK_DOMAIN",
            OpKind::DeleteNetworkDomain => "DELETE_NETWORK_DOMAIN",
            OpKind::DeployVlan => "DEPLOY_VLAN",
            OpKind::DeleteVlan => "DELETE_VLAN",
            OpKind::DeployServer => "DEPLOY_SERVER",
            OpKind::StartServer => "START_SERVER",
            OpKind::ShutdownServer => "SHUTDOWN_SERVER",
            OpKind::PowerOffServer => "POWER_OFF_SERVER",
            OpKind::RebootServer => "REBOOT_SERVER",
            OpKind::ResetServer => "RESET_SERVER",
            OpKind::DeleteServer => "DELETE_SERVER",
            OpKind::CleanServer => "CLEAN_SERVER",
            OpKind::CreateFirewallRule => "CREATE_FIREWALL_RULE",
            OpKind::ReconfigureServer => "RECONFIGURE_SERVER",
            OpKind::AddDisk => "ADD_DISK",
            OpKind::ExpandDisk => "EXPAND_DISK",
            OpKind::ChangeDiskSpeed => "CHANGE_DISK_SPEED",
            OpKind::AddNic => "ADD_NIC",
            OpKind::RemoveNic => "REMOVE_NIC",
            OpKind::ExpandVlan => "EXPAND_VLAN",
            OpKind::UpdateVmwareTools => "UPDATE_VMWARE_TOOLS",
        }
    }
}

/// How long an operation lasts, in milliseconds: asked by a transaction when a model starts an
/// operation. The latency profile (`Latency`) answers; the models know nothing more of time.
pub trait Durations: Send + Sync {
    /// Milliseconds `op` lasts; `then_start` adds the start of a server deployed with `start=true`.
    fn duration_ms(&self, op: OpKind, then_start: bool) -> i64;
}

/// Every operation completes at once (tests of the models).
#[cfg(test)]
#[derive(Debug, Clone, Copy, Default)]
pub struct Immediate;

#[cfg(test)]
impl Durations for Immediate {
    fn duration_ms(&self, _op: OpKind, _then_start: bool) -> i64 {
        0
    }
}
