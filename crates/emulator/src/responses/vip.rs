//! Load balancers on the wire (`networkDomainVip/...`): pools, VIP nodes, pool members, virtual
//! listeners (list, get, create, edit, delete) and the default health monitors, persistence
//! profiles and iRules, in the shapes of the libcloud fixtures.

use super::body::Fields;
use super::{Ctx, Out, list, matches, time};
use crate::errors::{ApiError, ApiResult};
use crate::models::State;
use crate::models::vip::data::{
    HEALTH_MONITORS, IRULES, PERSISTENCE_PROFILES, Profile, monitor_name, profile_name,
};
use crate::models::vip::{
    self, ListenerRequest, NodeRequest, Pool, PoolMember, PoolRequest, VipNode, VirtualListener,
};

fn begin(o: &mut Out, name: &'static str, root: bool, id: &str, dc: &str) {
    if root {
        o.root(name);
    } else {
        o.open(name);
    }
    o.attr_s("id", id);
    o.attr_s("datacenterId", dc);
}

fn monitors(o: &mut Out, ids: &[String]) {
    o.begin_list("healthMonitor");
    for m in ids {
        o.open("healthMonitor");
        o.attr_s("id", m);
        o.attr_s("name", monitor_name(m));
        o.close();
    }
    o.end_list();
}

fn render_pool(o: &mut Out, p: &Pool, root: bool) {
    begin(o, "pool", root, &p.id, &p.datacenter_id);
    o.text_s("networkDomainId", &p.domain_id);
    o.text_s("name", &p.name);
    o.text_s("description", &p.description);
    o.text_s("loadBalanceMethod", &p.load_balance_method);
    monitors(o, &p.health_monitors);
    o.text_s("serviceDownAction", &p.service_down_action);
    o.text_i("slowRampTime", p.slow_ramp_time.into());
    o.text_s("state", p.state.as_str());
    o.text_s("createTime", &time(p.create_ms));
    o.close();
}

fn render_node(o: &mut Out, n: &VipNode, root: bool) {
    begin(o, "node", root, &n.id, &n.datacenter_id);
    o.text_s("networkDomainId", &n.domain_id);
    o.text_s("name", &n.name);
    o.text_s("description", &n.description);
    o.text_s("ipv4Address", &n.ipv4.to_string());
    o.text_s("state", n.state.as_str());
    o.text_s("status", &n.status);
    if let Some(m) = &n.health_monitor {
        o.open("healthMonitor");
        o.attr_s("id", m);
        o.attr_s("name", monitor_name(m));
        o.close();
    }
    o.text_i("connectionLimit", n.connection_limit.into());
    o.text_i("connectionRateLimit", n.connection_rate_limit.into());
    o.text_s("createTime", &time(n.create_ms));
    o.close();
}

fn render_member(o: &mut Out, st: &State, m: &PoolMember, root: bool) {
    begin(o, "poolMember", root, &m.id, &m.datacenter_id);
    o.text_s("networkDomainId", &m.domain_id);
    o.open("pool");
    o.attr_s("id", &m.pool_id);
    o.attr_s("name", st.vip_pools.get(&m.pool_id).map_or("", |p| &p.name));
    o.close();
    o.open("node");
    o.attr_s("id", &m.node_id);
    if let Some(n) = st.vip_nodes.get(&m.node_id) {
        o.attr_s("name", &n.name);
        o.attr_s("ipAddress", &n.ipv4.to_string());
        o.attr_s("status", &n.status);
    }
    o.close();
    if let Some(p) = m.port {
        o.text_i("port", p.into());
    }
    o.text_s("status", &m.status);
    o.text_s("state", m.state.as_str());
    o.text_s("createTime", &time(m.create_ms));
    o.close();
}

fn listener_pool(o: &mut Out, st: &State, name: &'static str, id: &Option<String>) {
    let Some(p) = id.as_ref().and_then(|id| st.vip_pools.get(id)) else {
        return;
    };
    o.open(name);
    o.attr_s("id", &p.id);
    o.attr_s("name", &p.name);
    o.text_s("loadBalanceMethod", &p.load_balance_method);
    o.text_s("serviceDownAction", &p.service_down_action);
    o.text_i("slowRampTime", p.slow_ramp_time.into());
    monitors(o, &p.health_monitors);
    o.close();
}

fn profile_ref(o: &mut Out, name: &'static str, id: &str) {
    o.open(name);
    o.attr_s("id", id);
    o.attr_s("name", profile_name(id));
    o.close();
}

fn render_listener(o: &mut Out, st: &State, l: &VirtualListener, root: bool) {
    begin(o, "virtualListener", root, &l.id, &l.datacenter_id);
    o.text_s("networkDomainId", &l.domain_id);
    o.text_s("name", &l.name);
    o.text_s("state", l.state.as_str());
    o.text_s("description", &l.description);
    o.text_s("createTime", &time(l.create_ms));
    o.text_s("type", &l.listener_type);
    o.text_s("protocol", &l.protocol);
    o.text_s("listenerIpAddress", &l.ip.to_string());
    if let Some(p) = l.port {
        o.text_i("port", p.into());
    }
    o.text_b("enabled", l.enabled);
    o.text_i("connectionLimit", l.connection_limit.into());
    o.text_i("connectionRateLimit", l.connection_rate_limit.into());
    o.text_s("sourcePortPreservation", &l.source_port_preservation);
    listener_pool(o, st, "pool", &l.pool_id);
    listener_pool(o, st, "clientClonePool", &l.client_clone_pool_id);
    if let Some(p) = &l.persistence_profile_id {
        profile_ref(o, "persistenceProfile", p);
    }
    if let Some(p) = &l.fallback_persistence_profile_id {
        profile_ref(o, "fallbackPersistenceProfile", p);
    }
    o.begin_list("irule");
    for i in &l.irule_ids {
        profile_ref(o, "irule", i);
    }
    o.end_list();
    o.close();
}

/// `GET networkDomainVip/pool` (filters networkDomainId, datacenterId, id, name, state,
/// loadBalanceMethod, serviceDownAction).
pub fn list_pools(ctx: &Ctx<'_>) -> ApiResult<String> {
    let st = ctx.core.read();
    let mut items: Vec<&Pool> = st
        .vip_pools
        .values()
        .filter(|p| {
            matches(ctx.q("networkDomainId"), &p.domain_id)
                && matches(ctx.q("datacenterId"), &p.datacenter_id)
                && matches(ctx.q("id"), &p.id)
                && matches(ctx.q("name"), &p.name)
                && matches(ctx.q("state"), p.state.as_str())
                && matches(ctx.q("loadBalanceMethod"), &p.load_balance_method)
                && matches(ctx.q("serviceDownAction"), &p.service_down_action)
        })
        .collect();
    items.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    list(ctx, "pools", "pool", &items, |o, p| {
        render_pool(o, p, false)
    })
}

/// `GET networkDomainVip/node` (filters networkDomainId, datacenterId, id, name, ipv4Address,
/// status, state).
pub fn list_nodes(ctx: &Ctx<'_>) -> ApiResult<String> {
    let st = ctx.core.read();
    let mut items: Vec<&VipNode> = st
        .vip_nodes
        .values()
        .filter(|n| {
            matches(ctx.q("networkDomainId"), &n.domain_id)
                && matches(ctx.q("datacenterId"), &n.datacenter_id)
                && matches(ctx.q("id"), &n.id)
                && matches(ctx.q("name"), &n.name)
                && matches(ctx.q("ipv4Address"), &n.ipv4.to_string())
                && matches(ctx.q("status"), &n.status)
                && matches(ctx.q("state"), n.state.as_str())
        })
        .collect();
    items.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    list(ctx, "nodes", "node", &items, |o, n| {
        render_node(o, n, false)
    })
}

/// `GET networkDomainVip/poolMember` (filters poolId, nodeId, networkDomainId, datacenterId, id,
/// status, state, port).
pub fn list_members(ctx: &Ctx<'_>) -> ApiResult<String> {
    let st = ctx.core.read();
    let mut items: Vec<&PoolMember> = st
        .pool_members
        .values()
        .filter(|m| {
            matches(ctx.q("poolId"), &m.pool_id)
                && matches(ctx.q("nodeId"), &m.node_id)
                && matches(ctx.q("networkDomainId"), &m.domain_id)
                && matches(ctx.q("datacenterId"), &m.datacenter_id)
                && matches(ctx.q("id"), &m.id)
                && matches(ctx.q("status"), &m.status)
                && matches(ctx.q("state"), m.state.as_str())
                && matches(
                    ctx.q("port"),
                    &m.port.map(|p| p.to_string()).unwrap_or_default(),
                )
        })
        .collect();
    items.sort_by_key(|m| (m.create_ms, m.id.clone()));
    let st2 = &*st;
    list(ctx, "poolMembers", "poolMember", &items, |o, m| {
        render_member(o, st2, m, false)
    })
}

/// `GET networkDomainVip/virtualListener` (filters networkDomainId, datacenterId, id, name, type,
/// protocol, listenerIpAddress, port, enabled, state).
pub fn list_listeners(ctx: &Ctx<'_>) -> ApiResult<String> {
    let st = ctx.core.read();
    let mut items: Vec<&VirtualListener> = st
        .listeners
        .values()
        .filter(|l| {
            matches(ctx.q("networkDomainId"), &l.domain_id)
                && matches(ctx.q("datacenterId"), &l.datacenter_id)
                && matches(ctx.q("id"), &l.id)
                && matches(ctx.q("name"), &l.name)
                && matches(ctx.q("type"), &l.listener_type)
                && matches(ctx.q("protocol"), &l.protocol)
                && matches(ctx.q("listenerIpAddress"), &l.ip.to_string())
                && matches(
                    ctx.q("port"),
                    &l.port.map(|p| p.to_string()).unwrap_or_default(),
                )
                && matches(ctx.q("enabled"), if l.enabled { "true" } else { "false" })
                && matches(ctx.q("state"), l.state.as_str())
        })
        .collect();
    items.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    let st2 = &*st;
    list(
        ctx,
        "virtualListeners",
        "virtualListener",
        &items,
        |o, l| render_listener(o, st2, l, false),
    )
}

/// `GET networkDomainVip/{pool,node,poolMember,virtualListener}/{id}`.
pub fn get(ctx: &Ctx<'_>, what: &str, id: &str) -> ApiResult<String> {
    let st = ctx.core.read();
    let mut o = Out::new(ctx.fmt, 2048);
    match what {
        "pool" => render_pool(&mut o, vip::pool(&st, id)?, true),
        "node" => render_node(&mut o, vip::node(&st, id)?, true),
        "poolMember" => render_member(&mut o, &st, vip::member(&st, id)?, true),
        _ => {
            let l = st
                .listeners
                .get(id)
                .ok_or_else(|| ApiError::not_found("Virtual Listener", id))?;
            render_listener(&mut o, &st, l, true);
        }
    }
    Ok(o.finish())
}

fn catalogue_domain(ctx: &Ctx<'_>) -> ApiResult<()> {
    let d = ctx
        .q("networkDomainId")
        .ok_or_else(|| ApiError::invalid("networkDomainId", "is required"))?;
    ctx.core.read().domain(d).map(|_| ())
}

fn compat(o: &mut Out, c: &[(&str, &str)]) {
    o.begin_list("virtualListenerCompatibility");
    for (t, p) in c {
        o.open("virtualListenerCompatibility");
        o.attr_s("type", t);
        o.attr_s("protocol", p);
        o.close();
    }
    o.end_list();
}

/// `GET networkDomainVip/defaultHealthMonitor?networkDomainId=`.
pub fn default_monitors(ctx: &Ctx<'_>) -> ApiResult<String> {
    catalogue_domain(ctx)?;
    list(
        ctx,
        "defaultHealthMonitors",
        "defaultHealthMonitor",
        HEALTH_MONITORS,
        |o, m| {
            o.open("defaultHealthMonitor");
            o.attr_s("id", m.0);
            o.text_s("name", m.1);
            o.text_b("nodeCompatible", m.2);
            o.text_b("poolCompatible", m.3);
            o.close();
        },
    )
}

/// `GET networkDomainVip/defaultPersistenceProfile?networkDomainId=`.
pub fn default_profiles(ctx: &Ctx<'_>) -> ApiResult<String> {
    catalogue_domain(ctx)?;
    let render = |o: &mut Out, p: &Profile| {
        o.open("defaultPersistenceProfile");
        o.attr_s("id", p.0);
        o.attr_b("fallbackCompatible", p.2);
        o.text_s("name", p.1);
        compat(o, p.3);
        o.close();
    };
    list(
        ctx,
        "defaultPersistenceProfiles",
        "defaultPersistenceProfile",
        PERSISTENCE_PROFILES,
        render,
    )
}

/// `GET networkDomainVip/defaultIrule?networkDomainId=`.
pub fn default_irules(ctx: &Ctx<'_>) -> ApiResult<String> {
    catalogue_domain(ctx)?;
    list(ctx, "defaultIrules", "defaultIrule", IRULES, |o, p| {
        o.open("defaultIrule");
        o.open("irule");
        o.attr_s("id", p.0);
        o.attr_s("name", p.1);
        o.close();
        compat(o, p.3);
        o.close();
    })
}

fn u32_opt(f: &Fields<'_>, name: &str, min: i64, max: i64) -> ApiResult<Option<u32>> {
    Ok(f.int_opt(name, min, max)?.map(|v| v as u32))
}

fn pool_request(f: &Fields<'_>, create: bool) -> ApiResult<PoolRequest> {
    let monitors = f.strs("healthMonitorId")?;
    Ok(PoolRequest {
        domain_id: f.str_req_if(create, "networkDomainId")?,
        name: f.str_req_if(create, "name")?,
        description: f.str_opt("description")?,
        method: f.str_opt("loadBalanceMethod")?,
        monitors: (create || f.has("healthMonitorId")).then_some(monitors),
        service_down_action: f.str_opt("serviceDownAction")?,
        slow_ramp_time: u32_opt(f, "slowRampTime", 0, 120)?,
    })
}

/// `POST networkDomainVip/createPool`.
pub async fn create_pool(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("createPool")?;
    let r = pool_request(&Fields::new(&m), true)?;
    let name = r.name.clone();
    let id = ctx.core.change(|tx| vip::create_pool(tx, r)).await?;
    let msg = format!("Pool '{name}' has been created.");
    Ok(ctx.ok("OK", &msg, &[("poolId", &id), ("name", &name)]))
}

/// `POST networkDomainVip/editPool`.
pub async fn edit_pool(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("editPool")?;
    let f = Fields::new(&m);
    let id = f.id()?;
    let r = pool_request(&f, false)?;
    let name = ctx.core.change(|tx| vip::edit_pool(tx, &id, r)).await?;
    let msg = format!("Pool '{name}' has been updated.");
    Ok(ctx.ok("OK", &msg, &[("name", &name), ("poolId", &id)]))
}

/// `POST networkDomainVip/deletePool`.
pub async fn delete_pool(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("deletePool")?;
    let id = Fields::new(&m).id()?;
    ctx.core.change(|tx| vip::delete_pool(tx, &id)).await?;
    Ok(ctx.ok("OK", &format!("Pool (id:{id}) has been deleted."), &[]))
}

fn node_request(f: &Fields<'_>, create: bool) -> ApiResult<NodeRequest> {
    Ok(NodeRequest {
        domain_id: f.str_req_if(create, "networkDomainId")?,
        name: f.str_req_if(create, "name")?,
        ipv4: f.str_req_if(create, "ipv4Address")?,
        description: f.str_opt("description")?,
        status: f.str_opt("status")?,
        monitor: f.str_nil("healthMonitorId")?,
        connection_limit: u32_opt(f, "connectionLimit", 1, 100_000)?,
        connection_rate_limit: u32_opt(f, "connectionRateLimit", 1, 4000)?,
    })
}

/// `POST networkDomainVip/createNode`.
pub async fn create_node(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("createNode")?;
    let r = node_request(&Fields::new(&m), true)?;
    let name = r.name.clone();
    let id = ctx.core.change(|tx| vip::create_node(tx, r)).await?;
    let msg = format!("Node '{name}' has been created.");
    Ok(ctx.ok("OK", &msg, &[("nodeId", &id), ("name", &name)]))
}

/// `POST networkDomainVip/editNode`.
pub async fn edit_node(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("editNode")?;
    let f = Fields::new(&m);
    let id = f.id()?;
    let r = node_request(&f, false)?;
    let name = ctx.core.change(|tx| vip::edit_node(tx, &id, r)).await?;
    let msg = format!("Node '{name}' has been edited successfully.");
    Ok(ctx.ok("OK", &msg, &[("nodeId", &id)]))
}

/// `POST networkDomainVip/deleteNode`.
pub async fn delete_node(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("deleteNode")?;
    let id = Fields::new(&m).id()?;
    ctx.core.change(|tx| vip::delete_node(tx, &id)).await?;
    Ok(ctx.ok("OK", &format!("Node (id:{id}) has been deleted."), &[]))
}

/// `POST networkDomainVip/addPoolMember`.
pub async fn add_member(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("addPoolMember")?;
    let f = Fields::new(&m);
    let (pool, node) = (f.str_req("poolId")?, f.str_req("nodeId")?);
    let port = f.int_opt("port", 1, 65535)?.map(|p| p as u16);
    let status = f.str_opt("status")?;
    let (id, node_name) = ctx
        .core
        .change(|tx| vip::add_member(tx, &pool, &node, port, status))
        .await?;
    let label = {
        let st = ctx.core.read();
        st.pool_members
            .get(&id)
            .map(|m| vip::member_label(&st, m))
            .unwrap_or_default()
    };
    let msg = format!("Pool Member '{label}' has been added.");
    Ok(ctx.ok(
        "OK",
        &msg,
        &[("poolMemberId", &id), ("nodeName", &node_name)],
    ))
}

/// `POST networkDomainVip/editPoolMember`.
pub async fn edit_member(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("editPoolMember")?;
    let f = Fields::new(&m);
    let id = f.id()?;
    let status = f.str_req("status")?;
    let label = ctx
        .core
        .change(|tx| vip::edit_member(tx, &id, &status))
        .await?;
    let msg = format!("Pool Member ({label}) has been edited.");
    Ok(ctx.ok("OK", &msg, &[("poolMemberId", &id)]))
}

/// `POST networkDomainVip/removePoolMember`.
pub async fn remove_member(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("removePoolMember")?;
    let id = Fields::new(&m).id()?;
    ctx.core.change(|tx| vip::remove_member(tx, &id)).await?;
    Ok(ctx.ok(
        "OK",
        &format!("Pool Member (id:{id}) has been removed."),
        &[],
    ))
}

fn listener_request(f: &Fields<'_>) -> ApiResult<ListenerRequest> {
    Ok(ListenerRequest {
        domain_id: f.str_req("networkDomainId")?,
        name: f.str_req("name")?,
        description: f.str_opt("description")?.unwrap_or_default(),
        listener_type: f.str_opt("type")?.unwrap_or_else(|| "STANDARD".into()),
        protocol: f.str_opt("protocol")?.unwrap_or_else(|| "ANY".into()),
        ip: f.str_opt("listenerIpAddress")?,
        port: f.int_opt("port", 1, 65535)?.map(|p| p as u16),
        enabled: f.bool_opt("enabled")?.unwrap_or(true),
        connection_limit: u32_opt(f, "connectionLimit", 1, 100_000)?.unwrap_or(100_000),
        connection_rate_limit: u32_opt(f, "connectionRateLimit", 1, 4000)?.unwrap_or(4000),
        source_port_preservation: f
            .str_opt("sourcePortPreservation")?
            .unwrap_or_else(|| "PRESERVE".into()),
        pool_id: f.str_opt("poolId")?.filter(|s| !s.is_empty()),
        client_clone_pool_id: f.str_opt("clientClonePoolId")?.filter(|s| !s.is_empty()),
        persistence_profile_id: f.str_opt("persistenceProfileId")?.filter(|s| !s.is_empty()),
        fallback_persistence_profile_id: f
            .str_opt("fallbackPersistenceProfileId")?
            .filter(|s| !s.is_empty()),
        irule_ids: f.strs("iruleId")?,
    })
}

/// `POST networkDomainVip/createVirtualListener`.
pub async fn create_listener(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("createVirtualListener")?;
    let r = listener_request(&Fields::new(&m))?;
    let name = r.name.clone();
    let (id, ip) = ctx.core.change(|tx| vip::create_listener(tx, r)).await?;
    let ip = ip.to_string();
    let msg = format!("Virtual Listener '{name}' has been created on IP {ip}.");
    Ok(ctx.ok(
        "OK",
        &msg,
        &[
            ("virtualListenerId", &id),
            ("name", &name),
            ("listenerIpAddress", &ip),
        ],
    ))
}

/// `POST networkDomainVip/deleteVirtualListener`.
pub async fn delete_listener(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("deleteVirtualListener")?;
    let id = Fields::new(&m).id()?;
    ctx.core.change(|tx| vip::delete_listener(tx, &id)).await?;
    let msg = format!("Virtual Listener (id:{id}) has been deleted.");
    Ok(ctx.ok("OK", &msg, &[]))
}

/// `POST networkDomainVip/editVirtualListener` (address, port, type and protocol stay; a nil pool
/// or profile clears it; `iruleId`s replace the iRules).
pub async fn edit_listener(ctx: &Ctx<'_>) -> ApiResult<String> {
    let m = ctx.body("editVirtualListener")?;
    let f = Fields::new(&m);
    let id = f.id()?;
    let nil = |name: &str| -> ApiResult<Option<Option<String>>> {
        Ok(f.str_nil(name)?.map(|v| v.filter(|s| !s.is_empty())))
    };
    let e = vip::ListenerEdit {
        description: f.str_opt("description")?,
        enabled: f.bool_opt("enabled")?,
        connection_limit: u32_opt(&f, "connectionLimit", 1, 100_000)?,
        connection_rate_limit: u32_opt(&f, "connectionRateLimit", 1, 4000)?,
        source_port_preservation: f.str_opt("sourcePortPreservation")?,
        pool_id: nil("poolId")?,
        client_clone_pool_id: nil("clientClonePoolId")?,
        persistence_profile_id: nil("persistenceProfileId")?,
        fallback_persistence_profile_id: nil("fallbackPersistenceProfileId")?,
        irule_ids: f.has("iruleId").then(|| f.strs("iruleId")).transpose()?,
    };
    let name = ctx.core.change(|tx| vip::edit_listener(tx, &id, e)).await?;
    let msg = format!("Virtual Listener '{name}' has been edited.");
    Ok(ctx.ok("OK", &msg, &[("virtualListenerId", &id)]))
}
