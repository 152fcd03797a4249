//! Tag rules (synchronous): tag keys (create with a unique name, edit with NO_CHANGE when nothing
//! changes, delete with their tags) and tags (apply, replacing the value of a key already applied;
//! remove), and the name and datacenter of a tagged asset.

use super::data::{ASSET_TYPES, Tag, TagKey};
use crate::errors::{ApiError, ApiResult, Code};
use crate::models::common::{Kind, check_description, check_name, new_id};
use crate::models::state::{Resource, State, Tx};

/// What createTagKey and editTagKey carry (absent: default on create, unchanged on edit).
#[derive(Debug, Clone, Default)]
pub struct TagKeyRequest {
    /// Name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Value required.
    pub value_required: Option<bool>,
    /// Display on report.
    pub display_on_report: Option<bool>,
}

fn name_taken(st: &State, name: &str, except: &str) -> bool {
    st.tag_keys
        .values()
        .any(|k| k.name == name && k.id != except)
}

fn apply(k: &mut TagKey, r: TagKeyRequest) -> ApiResult<()> {
    if let Some(n) = r.name {
        check_name("name", &n)?;
        k.name = n;
    }
    if let Some(d) = r.description {
        check_description("description", &d)?;
        k.description = Some(d);
    }
    if let Some(v) = r.value_required {
        k.value_required = v;
    }
    if let Some(v) = r.display_on_report {
        k.display_on_report = v;
    }
    Ok(())
}

/// Creates a tag key; returns its id.
pub fn create_key(tx: &mut Tx<'_>, r: TagKeyRequest) -> ApiResult<String> {
    let name = r.name.clone().unwrap_or_default();
    check_name("name", &name)?;
    if name_taken(tx.st(), &name, "") {
        return Err(ApiError::new(
            Code::NameNotUnique,
            format!("Another Tag Key named '{name}' already exists."),
        ));
    }
    let mut k = TagKey {
        id: new_id(),
        name,
        description: None,
        value_required: true,
        display_on_report: true,
    };
    apply(&mut k, r)?;
    let id = k.id.clone();
    tx.put(Resource::TagKey(k));
    Ok(id)
}

/// Edits a tag key; NO_CHANGE when nothing changes. Returns its name.
pub fn edit_key(tx: &mut Tx<'_>, id: &str, r: TagKeyRequest) -> ApiResult<String> {
    let before = key(tx.st(), id)?.clone();
    let mut k = before.clone();
    apply(&mut k, r)?;
    if k == before {
        return Err(ApiError::new(
            Code::NoChange,
            "At least one of name, description, valueRequired or displayOnReport must be changed from its current value.",
        ));
    }
    if name_taken(tx.st(), &k.name, id) {
        return Err(ApiError::new(
            Code::NameNotUnique,
            format!("Another Tag Key named '{}' already exists.", k.name),
        ));
    }
    let name = k.name.clone();
    tx.put(Resource::TagKey(k));
    Ok(name)
}

/// Deletes a tag key and every tag of it.
pub fn delete_key(tx: &mut Tx<'_>, id: &str) -> ApiResult<()> {
    key(tx.st(), id)
        .map_err(|_| ApiError::new(Code::ResourceNotFound, format!("Tag Key {id} not found.")))?;
    let tags: Vec<String> = tx
        .st()
        .tags
        .values()
        .filter(|t| t.tag_key_id == id)
        .map(|t| t.id.clone())
        .collect();
    for t in tags {
        tx.del(Kind::Tag, &t);
    }
    tx.del(Kind::TagKey, id);
    Ok(())
}

/// The tag key `id`, or RESOURCE_NOT_FOUND.
pub fn key<'s>(st: &'s State, id: &str) -> ApiResult<&'s TagKey> {
    st.tag_keys
        .get(id)
        .ok_or_else(|| ApiError::not_found("Tag Key", id))
}

/// The name and datacenter of asset (`asset_type`, `id`), if it exists.
pub fn asset(st: &State, asset_type: &str, id: &str) -> Option<(String, String)> {
    match asset_type {
        "SERVER" => st
            .servers
            .get(id)
            .map(|s| (s.name.clone(), s.datacenter_id.clone())),
        "NETWORK_DOMAIN" => st
            .domains
            .get(id)
            .map(|d| (d.name.clone(), d.datacenter_id.clone())),
        "VLAN" => st
            .vlans
            .get(id)
            .map(|v| (v.name.clone(), v.datacenter_id.clone())),
        "PUBLIC_IP_BLOCK" => st
            .ip_blocks
            .get(id)
            .map(|b| (b.base_ip.to_string(), b.datacenter_id.clone())),
        _ => None,
    }
}

fn check_asset(st: &State, asset_type: &str, id: &str) -> ApiResult<String> {
    let t = asset_type.trim().to_ascii_uppercase();
    if !ASSET_TYPES.contains(&t.as_str()) {
        return Err(ApiError::invalid(
            "assetType",
            format!("'{asset_type}' is not one of {}", ASSET_TYPES.join(", ")),
        ));
    }
    if asset(st, &t, id).is_none() {
        return Err(ApiError::not_found("Asset", id));
    }
    Ok(t)
}

/// A key named or identified in a request: `(name, id)`, one of them set.
pub type KeyRef = (Option<String>, Option<String>);

fn resolve<'s>(st: &'s State, r: &KeyRef) -> Option<&'s TagKey> {
    match r {
        (_, Some(id)) => st.tag_keys.get(id),
        (Some(n), None) => st.tag_keys.values().find(|k| &k.name == n),
        (None, None) => None,
    }
}

fn missing(refs: &[&KeyRef], what: &str) -> ApiError {
    let names: Vec<String> = refs
        .iter()
        .map(|(n, i)| n.clone().or(i.clone()).unwrap_or_default())
        .collect();
    ApiError::new(
        Code::ResourceNotFound,
        format!("Tag Key(s) ({}) {what}.", names.join(", ")),
    )
}

/// Applies tags (key, value) to an asset; a key already applied gets the new value.
pub fn apply_tags(
    tx: &mut Tx<'_>,
    asset_type: &str,
    asset_id: &str,
    tags: &[(KeyRef, Option<String>)],
) -> ApiResult<()> {
    let t = check_asset(tx.st(), asset_type, asset_id)?;
    let unknown: Vec<&KeyRef> = tags
        .iter()
        .map(|(r, _)| r)
        .filter(|r| resolve(tx.st(), r).is_none())
        .collect();
    if !unknown.is_empty() {
        return Err(missing(&unknown, "not found"));
    }
    let mut puts = Vec::new();
    for (r, value) in tags {
        let k = resolve(tx.st(), r).ok_or_else(|| missing(&[r], "not found"))?;
        if k.value_required && value.as_deref().is_none_or(|v| v.is_empty()) {
            return Err(ApiError::invalid(
                "tag.value",
                format!("Tag Key '{}' requires a value", k.name),
            ));
        }
        puts.push(Tag {
            id: format!("{asset_id}/{}", k.id),
            asset_type: t.clone(),
            asset_id: asset_id.to_string(),
            tag_key_id: k.id.clone(),
            value: value.clone(),
        });
    }
    for p in puts {
        tx.put(Resource::Tag(p));
    }
    Ok(())
}

/// Removes the tags of the given keys from an asset; RESOURCE_NOT_FOUND names keys not applied.
pub fn remove_tags(
    tx: &mut Tx<'_>,
    asset_type: &str,
    asset_id: &str,
    keys: &[KeyRef],
) -> ApiResult<()> {
    check_asset(tx.st(), asset_type, asset_id)?;
    let mut ids = Vec::new();
    let mut absent = Vec::new();
    for r in keys {
        match resolve(tx.st(), r).map(|k| format!("{asset_id}/{}", k.id)) {
            Some(id) if tx.st().tags.contains_key(&id) => ids.push(id),
            _ => absent.push(r),
        }
    }
    if !absent.is_empty() {
        return Err(missing(&absent, &format!("not applied to {asset_id}")));
    }
    for id in ids {
        tx.del(Kind::Tag, &id);
    }
    Ok(())
}
