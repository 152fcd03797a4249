//! VLANs on the wire: list, get, deploy (≤2.8 `privateIpv4BaseAddress` and ≥2.9
//! `privateIpv4NetworkAddress` with attached/detached forms), edit, delete, and reserved private
//! IPv4 addresses (reserve, unreserve, list).

use super::body::Fields;
use super::{Ctx, Out, list, matches, time};
use crate::errors::{ApiError, ApiResult};
use crate::models::State;
use crate::models::vlan::{self, DeployVlan, Gateway, Vlan};

fn render(o: &mut Out, st: &State, v: &Vlan, minor: u32, root: bool) {
    if root {
        o.root("vlan");
    } else {
        o.open("vlan");
    }
    o.attr_s("id", &v.id);
    o.attr_s("datacenterId", &v.datacenter_id);
    o.open("networkDomain");
    o.attr_s("id", &v.domain_id);
    o.attr_s(
        "name",
        st.domains
            .get(&v.domain_id)
            .map(|d| d.name.as_str())
            .unwrap_or(""),
    );
    o.close();
    o.text_s("name", &v.name);
    o.text_s("description", &v.description);
    o.open("privateIpv4Range");
    o.attr_s("address", &v.network.network().to_string());
    o.attr_i("prefixSize", v.network.prefix_len() as i64);
    o.close();
    o.text_s("ipv4GatewayAddress", &v.gateway.to_string());
    o.open("ipv6Range");
    o.attr_s("address", &v.ipv6_range());
    o.attr_i("prefixSize", 64);
    o.close();
    o.text_s("ipv6GatewayAddress", &v.ipv6_gateway());
    o.text_s("createTime", &time(v.create_ms));
    o.text_s("state", v.state.as_str());
    if let Some(g) = v.gateway_addressing.as_ref().filter(|_| minor >= 9) {
        o.text_s("gatewayAddressing", g);
    }
    o.close();
}

/// `GET network/vlan` (filters id, datacenterId, networkDomainId, name, privateIpv4Address, state, attached).
pub fn list_vlans(ctx: &Ctx<'_>) -> ApiResult<String> {
    let st = ctx.core.read();
    let ipv6 = ctx.q("ipv6Address");
    let (id, dc, dom, name, addr, state, attached) = (
        ctx.q("id"),
        ctx.q("datacenterId"),
        ctx.q("networkDomainId"),
        ctx.q("name"),
        ctx.q("privateIpv4Address"),
        ctx.q("state"),
        ctx.q("attached"),
    );
    let items: Vec<&Vlan> = st
        .vlans
        .values()
        .filter(|v| {
            matches(id, &v.id)
                && matches(dc, &v.datacenter_id)
                && matches(dom, &v.domain_id)
                && matches(name, &v.name)
                && matches(addr, &v.network.network().to_string())
                && matches(state, v.state.as_str())
                && matches(attached, if v.attached() { "true" } else { "false" })
                && matches(ipv6, &v.ipv6_range())
        })
        .collect();
    list(ctx, "vlans", "vlan", &items, |o, v| {
        render(o, &st, v, ctx.minor, false)
    })
}

/// `GET network/vlan/{id}`.
pub fn get_vlan(ctx: &Ctx<'_>, id: &str) -> ApiResult<String> {
    let st = ctx.core.read();
    let v = st.vlan(id)?;
    let mut o = Out::new(ctx.fmt, 1024);
    render(&mut o, &st, v, ctx.minor, true);
    Ok(o.finish())
}

/// `POST network/deployVlan`.
pub async fn deploy(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("deployVlan")?;
    let f = Fields::new(&m);
    let domain_id = f.str_req("networkDomainId")?;
    let name = f.str_req("name")?;
    let description = f.str_opt("description")?.unwrap_or_default();
    let (base_field, base) = match (
        f.str_opt("privateIpv4BaseAddress")?,
        f.str_opt("privateIpv4NetworkAddress")?,
    ) {
        (Some(b), None) => ("privateIpv4BaseAddress", b),
        (None, Some(b)) => ("privateIpv4NetworkAddress", b),
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "privateIpv4NetworkAddress",
                "give one of privateIpv4BaseAddress and privateIpv4NetworkAddress",
            ));
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "privateIpv4NetworkAddress",
                "is required",
            ));
        }
    };
    let base = base
        .trim()
        .parse()
        .map_err(|_| ApiError::invalid(base_field, format!("'{base}' is not an IPv4 address")))?;
    let prefix = f.int_opt("privateIpv4PrefixSize", 0, 32)?.unwrap_or(24) as u8;
    let gateway = match (f.obj_opt("attachedVlan")?, f.obj_opt("detachedVlan")?) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "attachedVlan",
                "give one of attachedVlan and detachedVlan",
            ));
        }
        (None, Some(d)) => {
            let g = d.str_req("ipv4GatewayAddress")?;
            Gateway::Detached(g.trim().parse().map_err(|_| {
                ApiError::invalid(
                    "detachedVlan.ipv4GatewayAddress",
                    format!("'{g}' is not an IPv4 address"),
                )
            })?)
        }
        (Some(a), None) => match a
            .str_opt("gatewayAddressing")?
            .map(|s| s.to_ascii_uppercase())
            .as_deref()
        {
            None | Some("LOW") => Gateway::Attached { high: false },
            Some("HIGH") => Gateway::Attached { high: true },
            Some(o) => {
                return Err(ApiError::invalid(
                    "attachedVlan.gatewayAddressing",
                    format!("'{o}' is not LOW or HIGH"),
                ));
            }
        },
        (None, None) => Gateway::Attached { high: false },
    };
    let req = DeployVlan {
        domain_id,
        name: name.clone(),
        description,
        base,
        prefix,
        gateway,
        base_field,
    };
    let id = ctx.core.change(|tx| vlan::deploy(tx, req)).await?;
    Ok(ctx.accepted(&format!("deploy VLAN '{name}'"), &[("vlanId", &id)]))
}

/// `POST network/editVlan`.
pub async fn edit(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("editVlan")?;
    let f = Fields::new(&m);
    let id = f.id()?;
    let (name, desc) = (f.str_opt("name")?, f.str_opt("description")?);
    ctx.core
        .change(|tx| vlan::edit(tx, &id, name, desc))
        .await?;
    Ok(ctx.ok("OK", &format!("VLAN '{id}' was edited successfully."), &[]))
}

/// `POST network/deleteVlan`.
pub async fn delete(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("deleteVlan")?;
    let id = Fields::new(&m).id()?;
    ctx.core.change(|tx| vlan::delete(tx, &id)).await?;
    Ok(ctx.accepted(&format!("delete VLAN '{id}'"), &[]))
}

/// The `vlanId` and `ipAddress` of a reserve/unreserve body.
fn reservation(f: &Fields<'_>) -> ApiResult<(String, std::net::Ipv4Addr)> {
    let id = f.str_req("vlanId")?;
    let ip = f.str_req("ipAddress")?;
    let addr = ip
        .trim()
        .parse()
        .map_err(|_| ApiError::invalid("ipAddress", format!("'{ip}' is not an IPv4 address")))?;
    Ok((id.trim().to_string(), addr))
}

/// `POST network/reservePrivateIpv4Address` (synchronous).
pub async fn reserve(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("reservePrivateIpv4Address")?;
    let f = Fields::new(&m);
    let (id, ip) = reservation(&f)?;
    let description = f.str_opt("description")?.unwrap_or_default();
    ctx.core
        .change(|tx| vlan::reserve(tx, &id, ip, description))
        .await?;
    Ok(ctx.ok(
        "OK",
        &format!("Private IPv4 address {ip} has been reserved on VLAN {id}."),
        &[],
    ))
}

/// `POST network/unreservePrivateIpv4Address` (synchronous).
pub async fn unreserve(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("unreservePrivateIpv4Address")?;
    let (id, ip) = reservation(&Fields::new(&m))?;
    ctx.core.change(|tx| vlan::unreserve(tx, &id, ip)).await?;
    Ok(ctx.ok(
        "OK",
        &format!("Private IPv4 address {ip} has been unreserved on VLAN {id}."),
        &[],
    ))
}

/// `GET network/reservedPrivateIpv4Address` (filters vlanId, datacenterId, networkDomainId,
/// ipAddress): one `<ipv4>` with `ipAddress`, `vlanId`, `datacenterId`, `description` per
/// address, by VLAN id then address.
pub fn list_reserved(ctx: &Ctx<'_>) -> ApiResult<String> {
    let st = ctx.core.read();
    let (vlan_id, dc, dom, ip) = (
        ctx.q("vlanId"),
        ctx.q("datacenterId"),
        ctx.q("networkDomainId"),
        ctx.q("ipAddress"),
    );
    let items: Vec<(String, &Vlan, &String)> = st
        .vlans
        .values()
        .filter(|v| matches(vlan_id, &v.id) && matches(dc, &v.datacenter_id))
        .filter(|v| matches(dom, &v.domain_id))
        .flat_map(|v| v.reserved.iter().map(move |(a, d)| (a.to_string(), v, d)))
        .filter(|(a, _, _)| matches(ip, a))
        .collect();
    list(
        ctx,
        "reservedPrivateIpv4Addresses",
        "ipv4",
        &items,
        |o, (a, v, d)| {
            o.open("ipv4");
            o.text_s("ipAddress", a);
            o.text_s("vlanId", &v.id);
            o.text_s("datacenterId", &v.datacenter_id);
            o.text_s("description", d);
            o.close();
        },
    )
}

/// `POST network/expandVlan` (`<expandVlan id="..."><privateIpv4PrefixSize>N</...>`): asynchronous.
pub async fn expand(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("expandVlan")?;
    let f = Fields::new(&m);
    let id = f.id()?;
    let prefix = f.int_req("privateIpv4PrefixSize", 0, 32)? as u8;
    let name = ctx.core.change(|tx| vlan::expand(tx, &id, prefix)).await?;
    Ok(ctx.accepted(&format!("expand VLAN '{name}'"), &[]))
}
