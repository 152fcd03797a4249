//! A NAT rule's data: a public address of the domain's blocks leading to a private address in one
//! of its VLANs.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::models::common::ResourceState;

/// A NAT rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NatRule {
    /// Id.
    pub id: String,
    /// Network domain id.
    pub domain_id: String,
    /// Datacenter id.
    pub datacenter_id: String,
    /// Private address.
    pub internal: Ipv4Addr,
    /// Public address (127.77.x.y).
    pub external: Ipv4Addr,
    /// Creation time (ms).
    pub create_ms: i64,
    /// State.
    pub state: ResourceState,
}
