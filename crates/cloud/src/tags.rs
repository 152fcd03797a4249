//! Tags (`tag/…`, shapes of the libcloud `tag_*` fixtures): tag keys (list, get, create, edit,
//! delete) and the tags applied to assets (servers, network domains, VLANs…: list, apply by key
//! name, remove). Tag keys belong to the organisation, not to a location.

use serde::{Deserialize, Serialize};

use super::error::{CloudError, CloudResult};
use super::transport::{CloudClient, Kind};
use super::wire::XmlBody;

/// A tag key (`tag/tagKey`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagKey {
    /// Id.
    #[serde(rename(deserialize = "@id"), alias = "id")]
    pub id: String,
    /// Name (unique in the organisation).
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// A value must be given when the key is applied.
    #[serde(default)]
    pub value_required: bool,
    /// Shown on usage reports.
    #[serde(default)]
    pub display_on_report: bool,
}

/// A tag applied to an asset (`tag/tag`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    /// SERVER, NETWORK_DOMAIN, VLAN, CUSTOMER_IMAGE, PUBLIC_IP_BLOCK, ACCOUNT.
    pub asset_type: String,
    /// Asset id.
    pub asset_id: String,
    /// Asset name.
    #[serde(default)]
    pub asset_name: Option<String>,
    /// Location of the asset.
    #[serde(default)]
    pub datacenter_id: Option<String>,
    /// Tag key id.
    pub tag_key_id: String,
    /// Tag key name.
    pub tag_key_name: String,
    /// Value, if any.
    #[serde(default)]
    pub value: Option<String>,
}

impl CloudClient {
    /// `GET tag/tagKey` with filters (`name`, `id`, …).
    pub async fn list_tag_keys(&self, filters: &[(&str, &str)]) -> CloudResult<Vec<TagKey>> {
        self.list_all("tagKey", "tag/tagKey", filters).await
    }

    /// `GET tag/tagKey/{id}`.
    pub async fn get_tag_key(&self, id: &str) -> CloudResult<Option<TagKey>> {
        self.get_one("tagKey", &format!("tag/tagKey/{id}")).await
    }

    /// `POST tag/createTagKey` (no value required, not on reports) → new id.
    pub async fn create_tag_key(&self, name: &str, description: &str) -> CloudResult<String> {
        let mut b = XmlBody::new("createTagKey", &[]);
        b.text("name", name)
            .text("description", description)
            .text("valueRequired", "false")
            .text("displayOnReport", "false");
        let r = self
            .post(Kind::Create, "createTagKey", "tag/createTagKey", b.finish())
            .await?;
        r.info("tagKeyId")
            .map(str::to_string)
            .ok_or_else(|| CloudError::Decode {
                what: r.operation.clone(),
                detail: "no info tagKeyId in the answer".into(),
            })
    }

    /// `POST tag/editTagKey` (name and/or description).
    pub async fn edit_tag_key(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> CloudResult<()> {
        let mut b = XmlBody::new("editTagKey", &[("id", id)]);
        b.opt_text("name", name)
            .opt_text("description", description);
        self.post(Kind::Change, "editTagKey", "tag/editTagKey", b.finish())
            .await
            .map(drop)
    }

    /// `POST tag/deleteTagKey` (its tags go with it).
    pub async fn delete_tag_key(&self, id: &str) -> CloudResult<()> {
        let body = XmlBody::empty_root("deleteTagKey", &[("id", id)]);
        self.post(Kind::Change, "deleteTagKey", "tag/deleteTagKey", body)
            .await
            .map(drop)
    }

    /// `GET tag/tag` with filters (`assetId`, `assetType`, `datacenterId`, `tagKeyName`, …).
    pub async fn list_tags(&self, filters: &[(&str, &str)]) -> CloudResult<Vec<Tag>> {
        self.list_all("tag", "tag/tag", filters).await
    }

    /// `POST tag/applyTags`: the keys (by name, each with an optional value) on one asset.
    pub async fn apply_tags(
        &self,
        asset_type: &str,
        asset_id: &str,
        tags: &[(&str, Option<&str>)],
    ) -> CloudResult<()> {
        let mut b = XmlBody::new("applyTags", &[]);
        b.text("assetType", asset_type).text("assetId", asset_id);
        for (key, value) in tags {
            b.open("tag", &[]);
            b.text("tagKeyName", key).opt_text("value", *value);
            b.close("tag");
        }
        self.post(Kind::Change, "applyTags", "tag/applyTags", b.finish())
            .await
            .map(drop)
    }

    /// `POST tag/removeTags`: the keys (by name) from one asset.
    pub async fn remove_tags(
        &self,
        asset_type: &str,
        asset_id: &str,
        keys: &[&str],
    ) -> CloudResult<()> {
        let mut b = XmlBody::new("removeTags", &[]);
        b.text("assetType", asset_type).text("assetId", asset_id);
        for k in keys {
            b.text("tagKeyName", k);
        }
        self.post(Kind::Change, "removeTags", "tag/removeTags", b.finish())
            .await
            .map(drop)
    }
}
