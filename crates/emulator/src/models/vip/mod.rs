//! Load balancing (the `networkDomainVip` family): pools, VIP nodes, pool members, virtual
//! listeners (all synchronous) and the default health monitors, persistence profiles and iRules.
//! The data in `data`, the transitions in `rules`.

pub mod data;
pub mod rules;

pub use data::{Pool, PoolMember, VipNode, VirtualListener};
pub use rules::*;
