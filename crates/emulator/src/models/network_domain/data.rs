//! A network domain's data: the stored domain and what a deploy asks for.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::models::common::{Pending, ResourceState};

/// A network domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkDomain {
    /// Id.
    pub id: String,
    /// Datacenter id.
    pub datacenter_id: String,
    /// Name, unique in the datacenter.
    pub name: String,
    /// Description.
    pub description: String,
    /// `ESSENTIALS` or `ADVANCED`.
    pub service_type: String,
    /// Source-NAT address (in 127.76.0.0/16).
    pub snat_ipv4: Ipv4Addr,
    /// Creation time (ms).
    pub create_ms: i64,
    /// State.
    pub state: ResourceState,
    /// Operation under way.
    pub pending: Option<Pending>,
}

/// What a deploy asks for.
#[derive(Debug, Clone)]
pub struct DeployDomain {
    /// Datacenter id.
    pub datacenter_id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Service plan.
    pub service_type: String,
}
