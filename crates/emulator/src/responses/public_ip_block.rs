//! Public IPv4 blocks on the wire: list, get, add, remove; and the reserved public addresses.

use super::body::Fields;
use super::{Ctx, Out, list, matches, time};
use crate::errors::{ApiError, ApiResult};
use crate::models::public_ip_block::{self, PublicIpBlock};

fn render(o: &mut Out, b: &PublicIpBlock, root: bool) {
    if root {
        o.root("publicIpBlock");
    } else {
        o.open("publicIpBlock");
    }
    o.attr_s("id", &b.id);
    o.attr_s("datacenterId", &b.datacenter_id);
    o.text_s("networkDomainId", &b.domain_id);
    o.text_s("baseIp", &b.base_ip.to_string());
    o.text_i("size", b.size as i64);
    o.text_s("createTime", &time(b.create_ms));
    o.text_s("state", b.state.as_str());
    o.close();
}

/// `GET network/publicIpBlock` (filters networkDomainId, datacenterId, id).
pub fn list_blocks(ctx: &Ctx<'_>) -> ApiResult<String> {
    let st = ctx.core.read();
    let (dom, dc, id) = (ctx.q("networkDomainId"), ctx.q("datacenterId"), ctx.q("id"));
    let mut items: Vec<&PublicIpBlock> = st
        .ip_blocks
        .values()
        .filter(|b| {
            matches(dom, &b.domain_id) && matches(dc, &b.datacenter_id) && matches(id, &b.id)
        })
        .collect();
    items.sort_by_key(|b| b.base_ip);
    list(ctx, "publicIpBlocks", "publicIpBlock", &items, |o, b| {
        render(o, b, false)
    })
}

/// `GET network/publicIpBlock/{id}`.
pub fn get_block(ctx: &Ctx<'_>, id: &str) -> ApiResult<String> {
    let st = ctx.core.read();
    let b = st
        .ip_blocks
        .get(id)
        .ok_or_else(|| ApiError::not_found("Public IP Block", id))?;
    let mut o = Out::new(ctx.fmt, 512);
    render(&mut o, b, true);
    Ok(o.finish())
}

/// `GET network/reservedPublicIpv4Address?networkDomainId=`: addresses used by NAT rules.
pub fn list_reserved(ctx: &Ctx<'_>) -> ApiResult<String> {
    let st = ctx.core.read();
    let dom = ctx.q("networkDomainId");
    let mut items: Vec<(String, String, String, String)> = st
        .nat_rules
        .values()
        .filter(|r| matches(dom, &r.domain_id))
        .map(|r| {
            let block = st
                .ip_blocks
                .values()
                .find(|b| b.contains(r.external))
                .map(|b| b.id.clone())
                .unwrap_or_default();
            (
                r.external.to_string(),
                r.datacenter_id.clone(),
                block,
                r.domain_id.clone(),
            )
        })
        .collect();
    items.sort();
    list(
        ctx,
        "reservedPublicIpv4Addresses",
        "ip",
        &items,
        |o, (ip, dc, block, dom)| {
            o.open("ip");
            o.attr_s("datacenterId", dc);
            o.attr_s("ipBlockId", block);
            o.attr_s("networkDomainId", dom);
            o.inner_text(ip);
            o.close();
        },
    )
}

/// `POST network/addPublicIpBlock`.
pub async fn add(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("addPublicIpBlock")?;
    let dom = Fields::new(&m).str_req("networkDomainId")?;
    // Addresses another emulator's local nodes already listen on are skipped.
    let busy = public_ip_block::listening_on_host();
    let id = ctx
        .core
        .change(|tx| public_ip_block::add_avoiding(tx, &dom, &busy))
        .await?;
    Ok(ctx.ok(
        "OK",
        "Public IPv4 Address Block has been added successfully.",
        &[("ipBlockId", &id)],
    ))
}

/// `POST network/removePublicIpBlock`.
pub async fn remove(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("removePublicIpBlock")?;
    let id = Fields::new(&m).id()?;
    ctx.core
        .change(|tx| public_ip_block::remove(tx, &id))
        .await?;
    Ok(ctx.ok(
        "OK",
        &format!("Public IPv4 Address Block {id} has been removed successfully."),
        &[],
    ))
}
