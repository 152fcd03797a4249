//! NAT rules on the wire: list, get, create, delete.

use super::body::Fields;
use super::{Ctx, Out, list, matches, time};
use crate::errors::{ApiError, ApiResult};
use crate::models::nat_rule::{self, NatRule};

fn render(o: &mut Out, r: &NatRule, root: bool) {
    if root {
        o.root("natRule");
    } else {
        o.open("natRule");
    }
    o.attr_s("id", &r.id);
    o.attr_s("datacenterId", &r.datacenter_id);
    o.text_s("networkDomainId", &r.domain_id);
    o.text_s("internalIp", &r.internal.to_string());
    o.text_s("externalIp", &r.external.to_string());
    o.text_s("createTime", &time(r.create_ms));
    o.text_s("state", r.state.as_str());
    o.close();
}

/// `GET network/natRule` (filters networkDomainId, internalIp, externalIp, id).
pub fn list_rules(ctx: &Ctx<'_>) -> ApiResult<String> {
    let st = ctx.core.read();
    let (dom, int, ext, id) = (
        ctx.q("networkDomainId"),
        ctx.q("internalIp"),
        ctx.q("externalIp"),
        ctx.q("id"),
    );
    let mut items: Vec<&NatRule> = st
        .nat_rules
        .values()
        .filter(|r| {
            matches(dom, &r.domain_id)
                && matches(int, &r.internal.to_string())
                && matches(ext, &r.external.to_string())
                && matches(id, &r.id)
        })
        .collect();
    items.sort_by_key(|r| (r.create_ms, r.external));
    list(ctx, "natRules", "natRule", &items, |o, r| {
        render(o, r, false)
    })
}

/// `GET network/natRule/{id}`.
pub fn get_rule(ctx: &Ctx<'_>, id: &str) -> ApiResult<String> {
    let st = ctx.core.read();
    let r = st
        .nat_rules
        .get(id)
        .ok_or_else(|| ApiError::not_found("NAT rule", id))?;
    let mut o = Out::new(ctx.fmt, 512);
    render(&mut o, r, true);
    Ok(o.finish())
}

/// `POST network/createNatRule`.
pub async fn create(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("createNatRule")?;
    let f = Fields::new(&m);
    let dom = f.str_req("networkDomainId")?;
    let internal = f.str_req("internalIp")?;
    let external = f.str_opt("externalIp")?.filter(|e| !e.trim().is_empty());
    let id = ctx
        .core
        .change(|tx| nat_rule::create(tx, &dom, &internal, external.as_deref()))
        .await?;
    Ok(ctx.ok(
        "OK",
        "NAT Rule has been created successfully.",
        &[("natRuleId", &id)],
    ))
}

/// `POST network/deleteNatRule`.
pub async fn delete(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("deleteNatRule")?;
    let id = Fields::new(&m).id()?;
    ctx.core.change(|tx| nat_rule::delete(tx, &id)).await?;
    Ok(ctx.ok(
        "OK",
        &format!("NAT Rule {id} has been deleted successfully."),
        &[],
    ))
}
