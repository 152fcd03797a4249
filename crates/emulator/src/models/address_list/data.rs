//! IP address lists and port lists of a network domain (used by firewall rules): their entries and
//! the lists they include.

use serde::{Deserialize, Serialize};

use crate::models::common::ResourceState;

/// One entry of an IP address list: an address, a range (`end`) or a network (`prefix`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IpEntry {
    /// First (or only) address.
    pub begin: String,
    /// Last address of a range.
    pub end: Option<String>,
    /// Prefix size of a network.
    pub prefix: Option<u8>,
}

/// One entry of a port list: a port or a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortEntry {
    /// First (or only) port.
    pub begin: u16,
    /// Last port of a range.
    pub end: Option<u16>,
}

/// Which of the two list kinds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Entries {
    /// IP address list (`IPV4` or `IPV6`).
    Ip(String, Vec<IpEntry>),
    /// Port list.
    Port(Vec<PortEntry>),
}

/// An IP address list or a port list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddressList {
    /// Id.
    pub id: String,
    /// Network domain id.
    pub domain_id: String,
    /// Name, unique among the domain's lists of that kind.
    pub name: String,
    /// Description.
    pub description: String,
    /// The entries.
    pub entries: Entries,
    /// Ids of the lists included.
    pub children: Vec<String>,
    /// Creation time (ms).
    pub create_ms: i64,
    /// State.
    pub state: ResourceState,
}

impl AddressList {
    /// Whether this is a port list.
    pub fn is_port_list(&self) -> bool {
        matches!(self.entries, Entries::Port(_))
    }
    /// `IPV4`/`IPV6` for an IP address list.
    pub fn ip_version(&self) -> Option<&str> {
        match &self.entries {
            Entries::Ip(v, _) => Some(v),
            Entries::Port(_) => None,
        }
    }
}
