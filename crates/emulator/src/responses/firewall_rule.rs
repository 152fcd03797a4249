//! Firewall rules on the wire: list (in evaluation order), get, create, edit, delete.

use super::body::Fields;
use super::{Ctx, Out, list, matches};
use crate::errors::{ApiError, ApiResult};
use crate::models::firewall_rule::{self, CreateRule, FirewallRule, Placement, Scope};

fn scope(o: &mut Out, name: &'static str, s: &Scope) {
    o.open(name);
    if let Some(l) = &s.ip_address_list_id {
        o.text_s("ipAddressListId", l);
    } else {
        o.open("ip");
        o.attr_s("address", s.address.as_deref().unwrap_or("ANY"));
        if let Some(p) = s.prefix {
            o.attr_i("prefixSize", p as i64);
        }
        o.close();
    }
    if let Some(l) = &s.port_list_id {
        o.text_s("portListId", l);
    } else if let Some((b, e)) = s.port {
        o.open("port");
        o.attr_i("begin", b as i64);
        if let Some(e) = e {
            o.attr_i("end", e as i64);
        }
        o.close();
    }
    o.close();
}

fn render(o: &mut Out, r: &FirewallRule, root: bool) {
    if root {
        o.root("firewallRule");
    } else {
        o.open("firewallRule");
    }
    o.attr_s("id", &r.id);
    o.attr_s("datacenterId", &r.datacenter_id);
    o.attr_s("ruleType", &r.rule_type);
    o.text_s("networkDomainId", &r.domain_id);
    o.text_s("name", &r.name);
    o.text_s("action", &r.action);
    o.text_s("ipVersion", &r.ip_version);
    o.text_s("protocol", &r.protocol);
    scope(o, "source", &r.source);
    scope(o, "destination", &r.destination);
    o.text_b("enabled", r.enabled);
    o.text_s("state", r.state.as_str());
    o.close();
}

/// `GET network/firewallRule` (filters networkDomainId, name, state, id), in evaluation order.
pub fn list_rules(ctx: &Ctx<'_>) -> ApiResult<String> {
    let st = ctx.core.read();
    let (dom, name, state, id) = (
        ctx.q("networkDomainId"),
        ctx.q("name"),
        ctx.q("state"),
        ctx.q("id"),
    );
    let items: Vec<&FirewallRule> = st
        .domains
        .values()
        .filter(|d| matches(dom, &d.id))
        .flat_map(|d| firewall_rule::ordered(&st, &d.id))
        .filter(|r| {
            matches(name, &r.name) && matches(state, r.state.as_str()) && matches(id, &r.id)
        })
        .collect();
    list(ctx, "firewallRules", "firewallRule", &items, |o, r| {
        render(o, r, false)
    })
}

/// `GET network/firewallRule/{id}`.
pub fn get_rule(ctx: &Ctx<'_>, id: &str) -> ApiResult<String> {
    let st = ctx.core.read();
    let r = st
        .firewall_rules
        .get(id)
        .ok_or_else(|| ApiError::not_found("Firewall Rule", id))?;
    let mut o = Out::new(ctx.fmt, 1024);
    render(&mut o, r, true);
    Ok(o.finish())
}

fn parse_scope(f: Option<Fields<'_>>, field: &str) -> ApiResult<Scope> {
    let Some(f) = f else {
        return Ok(Scope {
            address: Some("ANY".into()),
            ..Scope::default()
        });
    };
    let mut s = Scope::default();
    if let Some(ip) = f.obj_opt("ip")? {
        let a = ip.str_req("address")?;
        s.address = Some(if a.eq_ignore_ascii_case("any") {
            "ANY".into()
        } else {
            a
        });
        s.prefix = ip.int_opt("prefixSize", 0, 128)?.map(|p| p as u8);
    } else if let Some(l) = f.str_opt("ipAddressListId")? {
        s.ip_address_list_id = Some(l);
    } else {
        s.address = Some("ANY".into());
    }
    if let Some(p) = f.obj_opt("port")? {
        let b = p.int_req("begin", 1, 65535)? as u16;
        let e = p.int_opt("end", 1, 65535)?.map(|e| e as u16);
        if e.is_some_and(|e| e < b) {
            return Err(ApiError::invalid(
                &format!("{field}.port.end"),
                "must not be below begin",
            ));
        }
        s.port = Some((b, e));
    } else if let Some(l) = f.str_opt("portListId")? {
        s.port_list_id = Some(l);
    }
    Ok(s)
}

/// `POST network/createFirewallRule`.
pub async fn create(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("createFirewallRule")?;
    let f = Fields::new(&m);
    let pl = f.obj_req("placement")?;
    let position = pl.str_req("position")?.to_ascii_uppercase();
    let placement = match position.as_str() {
        "FIRST" => Placement::First,
        "LAST" => Placement::Last,
        "BEFORE" => Placement::Before(pl.str_req("relativeToRule")?),
        "AFTER" => Placement::After(pl.str_req("relativeToRule")?),
        _ => {
            return Err(ApiError::invalid(
                "placement.position",
                format!("'{position}' is not FIRST, LAST, BEFORE or AFTER"),
            ));
        }
    };
    let req = CreateRule {
        domain_id: f.str_req("networkDomainId")?,
        name: f.str_req("name")?,
        action: f.str_req("action")?,
        ip_version: f.str_req("ipVersion")?,
        protocol: f.str_req("protocol")?,
        source: parse_scope(f.obj_opt("source")?, "source")?,
        destination: parse_scope(f.obj_opt("destination")?, "destination")?,
        enabled: f.bool_req("enabled")?,
        placement,
    };
    let name = req.name.clone();
    let id = ctx.core.change(|tx| firewall_rule::create(tx, req)).await?;
    Ok(ctx.ok(
        "OK",
        &format!("Request create Firewall Rule '{name}' successful"),
        &[("firewallRuleId", &id)],
    ))
}

/// `POST network/editFirewallRule`.
pub async fn edit(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("editFirewallRule")?;
    let f = Fields::new(&m);
    let id = f.id()?;
    let enabled = f.bool_req("enabled")?;
    ctx.core
        .change(|tx| firewall_rule::edit(tx, &id, enabled))
        .await?;
    Ok(ctx.ok(
        "OK",
        &format!("Firewall Rule {id} has been edited successfully."),
        &[],
    ))
}

/// `POST network/deleteFirewallRule`.
pub async fn delete(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("deleteFirewallRule")?;
    let id = Fields::new(&m).id()?;
    ctx.core.change(|tx| firewall_rule::delete(tx, &id)).await?;
    Ok(ctx.ok(
        "OK",
        &format!("Firewall Rule {id} has been deleted successfully."),
        &[],
    ))
}
