//! Tag data: tag keys (organisation-wide names) and tags (a key, maybe with a value, applied to an
//! asset: a server, network domain, VLAN or public IP block).

use serde::{Deserialize, Serialize};

/// A tag key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagKey {
    /// Id.
    pub id: String,
    /// Name, unique in the organisation.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Whether a tag must have a value.
    pub value_required: bool,
    /// Whether usage reports show it.
    pub display_on_report: bool,
}

/// A tag applied to an asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    /// `ASSET_ID/TAG_KEY_ID`: one tag per key and asset.
    pub id: String,
    /// `SERVER`, `NETWORK_DOMAIN`, `VLAN` or `PUBLIC_IP_BLOCK`.
    pub asset_type: String,
    /// The asset's id.
    pub asset_id: String,
    /// The tag key's id.
    pub tag_key_id: String,
    /// The value.
    pub value: Option<String>,
}

/// The asset types tags apply to.
pub const ASSET_TYPES: &[&str] = &["SERVER", "NETWORK_DOMAIN", "VLAN", "PUBLIC_IP_BLOCK"];
