//! A node of the location with its settings expanded ([`ExpandedNode`]): what the bootstrap, the
//! checks and the access details all start from.

use std::net::{IpAddr, SocketAddr};

use super::facts::NodeFacts;

/// One node of the location with its expanded settings.
#[derive(Debug, Clone)]
pub struct ExpandedNode {
    /// What the cloud says about it.
    pub facts: NodeFacts,
    /// Where its sshd answers: public IPv4 (NAT), else private, port 22.
    pub address: Option<SocketAddr>,
    /// Its cloud-config with every token expanded (`Null` when none), or why it could not be.
    pub cloud_config: Result<serde_yaml::Value, String>,
}

/// The address to reach a node's sshd: its public IPv4, else its private one.
pub fn ssh_address(n: &NodeFacts) -> Option<SocketAddr> {
    n.public_ipv4
        .as_deref()
        .or(n.private_ipv4.as_deref())
        .and_then(|ip| ip.trim().parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 22))
}
