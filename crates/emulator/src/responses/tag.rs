//! Tags on the wire (`tag/...`): tag keys (list, get, create, edit, delete) and tags (apply,
//! remove, list), in the shapes of the libcloud fixtures.

use super::body::Fields;
use super::{Ctx, Out, list, matches};
use crate::errors::ApiResult;
use crate::models::tag::{self, KeyRef, Tag, TagKey, TagKeyRequest};

fn render_key(o: &mut Out, k: &TagKey, root: bool) {
    if root {
        o.root("tagKey");
    } else {
        o.open("tagKey");
    }
    o.attr_s("id", &k.id);
    o.text_s("name", &k.name);
    if let Some(d) = &k.description {
        o.text_s("description", d);
    }
    o.text_b("valueRequired", k.value_required);
    o.text_b("displayOnReport", k.display_on_report);
    o.close();
}

fn flag(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// `GET tag/tagKey` (filters id, name, valueRequired, displayOnReport).
pub fn list_keys(ctx: &Ctx<'_>) -> ApiResult<String> {
    let st = ctx.core.read();
    let mut items: Vec<&TagKey> = st
        .tag_keys
        .values()
        .filter(|k| {
            matches(ctx.q("id"), &k.id)
                && matches(ctx.q("name"), &k.name)
                && matches(ctx.q("valueRequired"), flag(k.value_required))
                && matches(ctx.q("displayOnReport"), flag(k.display_on_report))
        })
        .collect();
    items.sort_by(|a, b| a.name.cmp(&b.name));
    list(ctx, "tagKeys", "tagKey", &items, |o, k| {
        render_key(o, k, false)
    })
}

/// `GET tag/tagKey/{id}`.
pub fn get_key(ctx: &Ctx<'_>, id: &str) -> ApiResult<String> {
    let st = ctx.core.read();
    let mut o = Out::new(ctx.fmt, 512);
    render_key(&mut o, tag::key(&st, id)?, true);
    Ok(o.finish())
}

/// `GET tag/tag` (filters assetId, assetType, datacenterId, tagKeyName, tagKeyId, value,
/// valueRequired, displayOnReport).
pub fn list_tags(ctx: &Ctx<'_>) -> ApiResult<String> {
    let st = ctx.core.read();
    let mut items: Vec<(&Tag, &TagKey, String, String)> = st
        .tags
        .values()
        .filter_map(|t| {
            let k = st.tag_keys.get(&t.tag_key_id)?;
            let (name, dc) = tag::asset(&st, &t.asset_type, &t.asset_id)?;
            Some((t, k, name, dc))
        })
        .filter(|(t, k, _, dc)| {
            matches(ctx.q("assetId"), &t.asset_id)
                && matches(ctx.q("assetType"), &t.asset_type)
                && matches(ctx.q("datacenterId"), dc)
                && matches(ctx.q("tagKeyName"), &k.name)
                && matches(ctx.q("tagKeyId"), &k.id)
                && matches(ctx.q("value"), t.value.as_deref().unwrap_or(""))
                && matches(ctx.q("valueRequired"), flag(k.value_required))
                && matches(ctx.q("displayOnReport"), flag(k.display_on_report))
        })
        .collect();
    items.sort_by(|a, b| (&a.0.asset_id, &a.1.name).cmp(&(&b.0.asset_id, &b.1.name)));
    list(ctx, "tags", "tag", &items, |o, (t, k, name, dc)| {
        o.open("tag");
        o.text_s("assetType", &t.asset_type);
        o.text_s("assetId", &t.asset_id);
        o.text_s("assetName", name);
        o.text_s("datacenterId", dc);
        o.text_s("tagKeyId", &k.id);
        o.text_s("tagKeyName", &k.name);
        if let Some(v) = &t.value {
            o.text_s("value", v);
        }
        o.text_b("displayOnReport", k.display_on_report);
        o.text_b("valueRequired", k.value_required);
        o.close();
    })
}

fn key_request(f: &Fields<'_>) -> ApiResult<TagKeyRequest> {
    Ok(TagKeyRequest {
        name: f.str_opt("name")?,
        description: f.str_opt("description")?,
        value_required: f.bool_opt("valueRequired")?,
        display_on_report: f.bool_opt("displayOnReport")?,
    })
}

/// `POST tag/createTagKey`.
pub async fn create_key(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("createTagKey")?;
    let f = Fields::new(&m);
    let name = f.str_req("name")?;
    let r = key_request(&f)?;
    let id = ctx.core.change(|tx| tag::create_key(tx, r)).await?;
    let msg = format!("Tag Key '{name}' has been created.");
    Ok(ctx.ok("OK", &msg, &[("tagKeyId", &id)]))
}

/// `POST tag/editTagKey`.
pub async fn edit_key(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("editTagKey")?;
    let f = Fields::new(&m);
    let id = f.id()?;
    let r = key_request(&f)?;
    let name = ctx.core.change(|tx| tag::edit_key(tx, &id, r)).await?;
    Ok(ctx.ok("OK", &format!("Tag Key '{name}' has been edited."), &[]))
}

/// `POST tag/deleteTagKey`.
pub async fn delete_key(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("deleteTagKey")?;
    let id = Fields::new(&m).id()?;
    ctx.core.change(|tx| tag::delete_key(tx, &id)).await?;
    let msg = format!("Tag Key (Id:{id}) has been deleted.");
    Ok(ctx.ok("OK", &msg, &[]))
}

fn key_ref(f: &Fields<'_>) -> ApiResult<KeyRef> {
    Ok((f.str_opt("tagKeyName")?, f.str_opt("tagKeyId")?))
}

/// `POST tag/applyTags` (`tag` items by `tagKeyName` or `tagKeyId`, with `value`).
pub async fn apply(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("applyTags")?;
    let f = Fields::new(&m);
    let (t, a) = (f.str_req("assetType")?, f.str_req("assetId")?);
    let mut tags = Vec::new();
    for item in f.list("tag")?.into_iter().chain(f.list("tagById")?) {
        tags.push((key_ref(&item)?, item.str_opt("value")?));
    }
    if tags.is_empty() {
        return Err(crate::errors::ApiError::invalid(
            "tag",
            "at least one tag is required",
        ));
    }
    ctx.core
        .change(|tx| tag::apply_tags(tx, &t, &a, &tags))
        .await?;
    Ok(ctx.ok("OK", "Tag(s) successfully applied.", &[]))
}

/// `POST tag/removeTags` (`tagKeyName` or `tagKeyId`, repeated).
pub async fn remove(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("removeTags")?;
    let f = Fields::new(&m);
    let (t, a) = (f.str_req("assetType")?, f.str_req("assetId")?);
    let keys: Vec<KeyRef> = f
        .strs("tagKeyName")?
        .into_iter()
        .map(|n| (Some(n), None))
        .chain(f.strs("tagKeyId")?.into_iter().map(|i| (None, Some(i))))
        .collect();
    if keys.is_empty() {
        return Err(crate::errors::ApiError::invalid(
            "tagKeyName",
            "is required",
        ));
    }
    ctx.core
        .change(|tx| tag::remove_tags(tx, &t, &a, &keys))
        .await?;
    Ok(ctx.ok("OK", "Tag(s) successfully removed.", &[]))
}
