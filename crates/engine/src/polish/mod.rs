//! The polishers: what runs once the cloud matches the plan. `facts` (what is known of each node),
//! `prepare` (the SSH bootstrap of the running nodes, with every cloud-config token expanded),
//! `checks` (Redis replication after the bootstrap), `sentinel` (Redis Sentinel: its settings,
//! what the Sentinels agree on, the cluster as `information` shows it), `access` (how to reach each
//! node), `render` (information, inventory, ansible and ping outputs), `balancers` (each listener's address for
//! information), `vmtools` (the VMware tools upgrade before prepare) and `ping` (reachability of
//! the SSH ports).

pub mod access;
pub mod balancers;
pub mod checks;
mod expanded;
pub mod facts;
mod ping;
pub mod prepare;
mod render;
pub mod sentinel;
mod vmtools;

pub use balancers::{ListenerFacts, listener_facts};
pub use expanded::ExpandedNode;
pub use facts::{NicFacts, NodeFacts, node_facts};
pub use ping::ping_all;
pub use render::{login, render};
pub use vmtools::upgrade as upgrade_vm_tools;
