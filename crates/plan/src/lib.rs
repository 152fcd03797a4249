//! The plan of a run, pure and synchronous: what a location of a fittings plan wants, what the cloud
//! holds (as plain data), and the steps that make the one match the other. No I/O, no runtime, no
//! API client: safe mode (`-s`) prints these steps ([`PlannedStep::would`]), and every diff rule is
//! tested here on values.
//!
//! The main types:
//! - [`Desired`] (from [`desired`]): the domains, VLANs and nodes one location asks for, after the
//!   blueprint filter;
//! - [`Inventory`]: what the location holds for them, observed by the engine and converted into
//!   these plain types ([`Server`], [`Vlan`], [`NatRule`], ...);
//! - [`diff`]: for a [`Phase`] (build, start, stop, destroy), the [`Diff`]: a [`StepPlan`] (a DAG
//!   of [`Step`]s) and notes on what is left alone and why.
//!
//! The diff is cut per resource kind (network domain, VLAN, reserved addresses, public IP blocks,
//! server, hardware, NICs, NAT, firewall); the engine applies each [`Step`] with one file per kind.

mod desired;
mod diff;
mod inventory;
mod phase;
mod steps;

pub use desired::{
    Desired, RemoteAccept, WantBackup, WantBackupClient, WantBalancer, WantDomain, WantListener,
    WantNic, WantNode, WantPort, WantVlan, accept_rule_name, balance_method, desired, hashtags,
};
pub use diff::outcome::Diff;
pub use diff::{diff, pick_image};
pub use inventory::{
    BackupClient, Cpu, Disk, Domain, DomainInventory, FirewallRule, Image, Inventory, IpBlock,
    Listener, NatRule, Nic, PoolMember, ReservedIpv4, Server, ServerBackup, State, VipNode,
    VipPool, Vlan,
};
pub use phase::Phase;
pub use steps::{PlannedStep, Step, StepPlan};
