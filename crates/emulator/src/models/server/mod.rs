//! Servers: deploy (asynchronous), the power actions, delete and clean (asynchronous), monitoring
//! (synchronous), hardware changes (staged while PENDING_CHANGE). The data in `data`, the
//! transitions (and the backend's view of a server) in `rules`.

pub mod data;
pub mod rules;

pub use data::{
    DeployServer, Disk, HardwareChange, Monitoring, Nic, NicRequest, Reconfigure, Server,
};
pub use rules::{
    action, add_disk, add_nic, change_disk_speed, deploy, edit, expand_disk, monitoring, nic_spec,
    reconfigure, remove_nic, update_vmware_tools,
};
