//! The kind-independent pieces of the models: resource states, pending operations, resource kinds,
//! jobs, ids, times and the name/description checks every resource shares. A leaf: it imports no
//! other model.

use serde::{Deserialize, Serialize};

use crate::errors::{ApiError, ApiResult};
use crate::ops::OpKind;

/// `createTime`-style rendering of a millisecond timestamp.
pub fn iso_time(ms: i64) -> String {
    use chrono::{Datelike, Timelike};
    let t = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.timestamp_subsec_millis()
    )
}

/// A fresh resource id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The `state` of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResourceState {
    /// Ready.
    Normal,
    /// Being deployed.
    PendingAdd,
    /// Being changed.
    PendingChange,
    /// Being deleted.
    PendingDelete,
    /// Deploy failed.
    FailedAdd,
    /// Change failed.
    FailedChange,
    /// Delete failed.
    FailedDelete,
}

impl ResourceState {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceState::Normal => "NORMAL",
            ResourceState::PendingAdd => "PENDING_ADD",
            ResourceState::PendingChange => "PENDING_CHANGE",
            ResourceState::PendingDelete => "PENDING_DELETE",
            ResourceState::FailedAdd => "FAILED_ADD",
            ResourceState::FailedChange => "FAILED_CHANGE",
            ResourceState::FailedDelete => "FAILED_DELETE",
        }
    }
    /// Whether an operation is under way.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            ResourceState::PendingAdd | ResourceState::PendingChange | ResourceState::PendingDelete
        )
    }
}

/// An operation under way on a resource, due at `due_ms` (and once its backend call returned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// What is under way.
    pub op: OpKind,
    /// Unique sequence number, so a stale completion is ignored.
    pub seq: u64,
    /// When it was requested.
    pub requested_ms: i64,
    /// When the profile latency is over.
    pub due_ms: i64,
}

/// Kinds of stored resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// Network domain.
    Domain,
    /// VLAN.
    Vlan,
    /// Public IPv4 block.
    IpBlock,
    /// NAT rule.
    Nat,
    /// Firewall rule.
    Firewall,
    /// Server.
    Server,
    /// Load balancer pool.
    Pool,
    /// Load balancer (VIP) node.
    VipNode,
    /// Pool member.
    PoolMember,
    /// Virtual listener.
    Listener,
    /// Tag key.
    TagKey,
    /// Tag applied to an asset.
    Tag,
    /// IP address list or port list.
    AddressList,
}

/// Work to start once a transaction is committed.
#[derive(Debug, Clone)]
pub struct Job {
    /// The resource kind.
    pub kind: Kind,
    /// The resource id.
    pub id: String,
    /// The pending operation.
    pub pending: Pending,
}

/// Validates a resource name: 1..=75 printable characters.
pub fn check_name(field: &str, name: &str) -> ApiResult<()> {
    if name.trim().is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    if name.chars().count() > 75 || name.chars().any(|c| c.is_control()) {
        return Err(ApiError::invalid(
            field,
            "must be at most 75 printable characters",
        ));
    }
    Ok(())
}

/// Validates a description: at most 255 characters.
pub fn check_description(field: &str, d: &str) -> ApiResult<()> {
    if d.chars().count() > 255 {
        return Err(ApiError::invalid(field, "must be at most 255 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_time_has_millisecond_precision() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_time(1_500_000_000_123), "2017-07-14T02:40:00.123Z");
    }
}
