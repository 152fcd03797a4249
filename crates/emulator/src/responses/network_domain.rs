//! Network domains on the wire: list, get, deploy, edit, delete.

use super::body::Fields;
use super::{Ctx, Out, list, matches, time};
use crate::errors::ApiResult;
use crate::models::network_domain::{self, DeployDomain, NetworkDomain};

fn render(o: &mut Out, d: &NetworkDomain, root: bool) {
    if root {
        o.root("networkDomain");
    } else {
        o.open("networkDomain");
    }
    o.attr_s("id", &d.id);
    o.attr_s("datacenterId", &d.datacenter_id);
    o.text_s("name", &d.name);
    o.text_s("description", &d.description);
    o.text_s("type", &d.service_type);
    o.text_s("snatIpv4Address", &d.snat_ipv4.to_string());
    o.text_s("createTime", &time(d.create_ms));
    o.text_s("state", d.state.as_str());
    o.close();
}

/// `GET network/networkDomain` (filters id, datacenterId, name, type, state).
pub fn list_domains(ctx: &Ctx<'_>) -> ApiResult<String> {
    let st = ctx.core.read();
    let (id, dc, name, typ, state) = (
        ctx.q("id"),
        ctx.q("datacenterId"),
        ctx.q("name"),
        ctx.q("type"),
        ctx.q("state"),
    );
    let items: Vec<&NetworkDomain> = st
        .domains
        .values()
        .filter(|d| {
            matches(id, &d.id)
                && matches(dc, &d.datacenter_id)
                && matches(name, &d.name)
                && matches(typ, &d.service_type)
                && matches(state, d.state.as_str())
        })
        .collect();
    list(ctx, "networkDomains", "networkDomain", &items, |o, d| {
        render(o, d, false)
    })
}

/// `GET network/networkDomain/{id}`.
pub fn get_domain(ctx: &Ctx<'_>, id: &str) -> ApiResult<String> {
    let st = ctx.core.read();
    let d = st.domain(id)?;
    let mut o = Out::new(ctx.fmt, 512);
    render(&mut o, d, true);
    Ok(o.finish())
}

/// `POST network/deployNetworkDomain`.
pub async fn deploy(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("deployNetworkDomain")?;
    let f = Fields::new(&m);
    let req = DeployDomain {
        datacenter_id: f.str_req("datacenterId")?,
        name: f.str_req("name")?,
        description: f.str_opt("description")?.unwrap_or_default(),
        service_type: f.str_req("type")?,
    };
    let name = req.name.clone();
    let id = ctx
        .core
        .change(|tx| network_domain::deploy(tx, req))
        .await?;
    Ok(ctx.accepted(
        &format!("deploy Network Domain '{name}'"),
        &[("networkDomainId", &id)],
    ))
}

/// `POST network/editNetworkDomain`.
pub async fn edit(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("editNetworkDomain")?;
    let f = Fields::new(&m);
    let id = f.id()?;
    let (name, desc, typ) = (
        f.str_opt("name")?,
        f.str_opt("description")?,
        f.str_opt("type")?,
    );
    ctx.core
        .change(|tx| network_domain::edit(tx, &id, name, desc, typ))
        .await?;
    Ok(ctx.ok(
        "OK",
        &format!("Network Domain '{id}' was edited successfully."),
        &[],
    ))
}

/// `POST network/deleteNetworkDomain`.
pub async fn delete(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("deleteNetworkDomain")?;
    let id = Fields::new(&m).id()?;
    ctx.core
        .change(|tx| network_domain::delete(tx, &id))
        .await?;
    Ok(ctx.accepted(&format!("delete Network Domain '{id}'"), &[]))
}
