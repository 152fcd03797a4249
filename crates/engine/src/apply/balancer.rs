//! Load balancers, applied: pools, VIP nodes (one per member server, named after its private
//! address), pool members and virtual listeners (on a free public address of the domain, taken
//! from the registry like a NAT rule's), each created after observing by name (by address for VIP
//! nodes, by node for members) so a lost answer never makes two; each waited for until NORMAL.
//! Deletes are done when the thing is gone already, and retried on HAS_DEPENDENCY right after their
//! children went.

use cloud::{CloudResult, ErrorCode};
use cloud::{NewVipNode, NewVipPool, NewVirtualListener, VipKind};

use super::context::{ExecContext, missing};
use super::converge::{delete_with_dependency_retry, gone_ok, observe_or_create};

/// The original's limits for VIP nodes and listeners.
const CONNECTION_LIMIT: u32 = 25_000;
const CONNECTION_RATE_LIMIT: u32 = 2_000;

/// CreatePool: creates the pool (no health monitor, service down action NONE, slow ramp 30 s, as
/// the original) and records its id.
pub(super) async fn create_pool(
    ctx: &ExecContext,
    domain: &str,
    pool: &str,
    method: &str,
    description: &str,
) -> CloudResult<()> {
    let c = &ctx.client;
    let did = ctx.domain_id(domain)?;
    let req = NewVipPool {
        network_domain_id: did.clone(),
        name: pool.to_string(),
        description: description.to_string(),
        load_balance_method: method.to_string(),
        health_monitor_ids: Vec::new(),
        service_down_action: "NONE".into(),
        slow_ramp_time: 30,
    };
    let did = did.as_str();
    let (id, _) = observe_or_create(
        pool,
        || async move {
            let all = c.list_vip_pools(did).await?;
            Ok(all.into_iter().find(|p| p.name == pool).map(|p| p.id))
        },
        || c.create_vip_pool(&req),
    )
    .await?;
    c.wait_vip(VipKind::Pool, &id, false).await?;
    if let Some(d) = ctx.reg().domain_mut(domain) {
        d.pools.insert(pool.to_string(), id);
    }
    Ok(())
}

/// The private address of a node's server.
fn private_ip(ctx: &ExecContext, domain: &str, node: &str) -> CloudResult<String> {
    ctx.server(domain, node)?
        .private_ipv4
        .ok_or_else(|| missing(format!("private address of {node}")))
}

/// CreateVipNode: creates the VIP node of `node`'s server (named after its private address, the
/// node's name as description) and records its id.
pub(super) async fn create_vip_node(
    ctx: &ExecContext,
    domain: &str,
    node: &str,
) -> CloudResult<()> {
    let c = &ctx.client;
    let did = ctx.domain_id(domain)?;
    let ip = private_ip(ctx, domain, node)?;
    let req = NewVipNode {
        network_domain_id: did.clone(),
        name: ip.clone(),
        description: format!("{node} #plumbery"),
        ipv4_address: ip.clone(),
        connection_limit: CONNECTION_LIMIT,
        connection_rate_limit: CONNECTION_RATE_LIMIT,
    };
    let (did, ip_ref) = (did.as_str(), ip.as_str());
    let (id, _) = observe_or_create(
        &ip,
        || async move {
            let all = c.list_vip_nodes(did).await?;
            Ok(all
                .into_iter()
                .find(|n| n.address().as_deref() == Some(ip_ref))
                .map(|n| n.id))
        },
        || c.create_vip_node(&req),
    )
    .await?;
    c.wait_vip(VipKind::Node, &id, false).await?;
    if let Some(d) = ctx.reg().domain_mut(domain) {
        d.vip_nodes.insert(ip, id);
    }
    Ok(())
}

/// AddPoolMember: puts the VIP node of `node` in `pool` (on the listener's port).
pub(super) async fn add_member(
    ctx: &ExecContext,
    domain: &str,
    pool: &str,
    node: &str,
) -> CloudResult<()> {
    let c = &ctx.client;
    let ip = private_ip(ctx, domain, node)?;
    let (pool_id, node_id) = {
        let r = ctx.reg();
        let d = r.domain(domain);
        (
            d.and_then(|d| d.pools.get(pool)).cloned(),
            d.and_then(|d| d.vip_nodes.get(&ip)).cloned(),
        )
    };
    let pool_id = pool_id.ok_or_else(|| missing(format!("pool {pool}")))?;
    let node_id = node_id.ok_or_else(|| missing(format!("VIP node of {node}")))?;
    let (p, n) = (pool_id.as_str(), node_id.as_str());
    let (id, _) = observe_or_create(
        &format!("member {ip} of {pool}"),
        || async move {
            let all = c.list_pool_members(&[("poolId", p)]).await?;
            Ok(all.into_iter().find(|m| m.node.id == n).map(|m| m.id))
        },
        || c.add_pool_member(p, n, None),
    )
    .await?;
    c.wait_vip(VipKind::PoolMember, &id, false).await
}

/// What a CreateListener step asks for.
pub(super) struct Listener<'a> {
    /// Domain name.
    pub domain: &'a str,
    /// Listener name.
    pub name: &'a str,
    /// Pool name.
    pub pool: &'a str,
    /// API protocol.
    pub protocol: &'a str,
    /// Port.
    pub port: u16,
    /// Fixed address.
    pub address: Option<&'a str>,
}

/// CreateListener: creates the listener on its fixed address or a free public address of the
/// domain (the API picks one when the registry knows none), waits for it, and records its address
/// (the firewall rule admitting it opens that address).
pub(super) async fn create_listener(ctx: &ExecContext, l: Listener<'_>) -> CloudResult<()> {
    let c = &ctx.client;
    let did = ctx.domain_id(l.domain)?;
    let pool_id = ctx
        .reg()
        .domain(l.domain)
        .and_then(|d| d.pools.get(l.pool).cloned())
        .ok_or_else(|| missing(format!("pool {}", l.pool)))?;
    let address = match l.address {
        Some(a) => Some(a.to_string()),
        None => ctx
            .reg()
            .domain_mut(l.domain)
            .and_then(|d| d.free_ips.pop_front()),
    };
    let req = NewVirtualListener {
        network_domain_id: did.clone(),
        name: l.name.to_string(),
        description: "#plumbery".into(),
        // HTTP is a layer 4 performance listener's protocol; TCP and UDP take the standard type.
        listener_type: if l.protocol == "HTTP" {
            "PERFORMANCE_LAYER_4".into()
        } else {
            "STANDARD".into()
        },
        protocol: l.protocol.to_string(),
        listener_ip_address: address,
        port: Some(l.port),
        connection_limit: CONNECTION_LIMIT,
        connection_rate_limit: CONNECTION_RATE_LIMIT,
        source_port_preservation: "PRESERVE".into(),
        pool_id,
    };
    let (did, name) = (did.as_str(), l.name);
    let (id, _) = observe_or_create(
        name,
        || async move {
            let all = c.list_virtual_listeners(did).await?;
            Ok(all.into_iter().find(|x| x.name == name).map(|x| x.id))
        },
        || async { c.create_virtual_listener(&req).await.map(|(id, _)| id) },
    )
    .await?;
    c.wait_vip(VipKind::VirtualListener, &id, false).await?;
    let seen = c
        .get_virtual_listener(&id)
        .await?
        .and_then(|x| x.address())
        .ok_or_else(|| missing(format!("address of listener {name}")))?;
    let mut r = ctx.reg();
    if let Some(d) = r.domain_mut(l.domain) {
        d.free_ips.retain(|a| *a != seen);
        d.public_ips.insert(name.to_string(), seen);
    }
    Ok(())
}

/// DeleteListener: deletes the listener and waits until it is gone.
pub(super) async fn delete_listener(
    ctx: &ExecContext,
    domain: &str,
    listener: &str,
    id: &str,
) -> CloudResult<()> {
    let c = &ctx.client;
    gone_ok(c.delete_virtual_listener(id).await)?;
    c.wait_vip(VipKind::VirtualListener, id, true).await?;
    if let Some(d) = ctx.reg().domain_mut(domain) {
        d.public_ips.remove(listener);
    }
    Ok(())
}

/// RemovePoolMember: takes a VIP node out of its pool and waits until it is out.
pub(super) async fn remove_member(ctx: &ExecContext, id: &str) -> CloudResult<()> {
    let c = &ctx.client;
    gone_ok(c.remove_pool_member(id).await)?;
    c.wait_vip(VipKind::PoolMember, id, true).await
}

/// DeletePool and DeleteVipNode: deletes the pool or VIP node (retried while its members or
/// listeners are still going) and waits until it is gone.
pub(super) async fn delete(ctx: &ExecContext, kind: VipKind, id: &str) -> CloudResult<()> {
    let c = &ctx.client;
    delete_with_dependency_retry(|| async {
        match kind {
            VipKind::Pool => c.delete_vip_pool(id).await,
            _ => c.delete_vip_node(id).await,
        }
    })
    .await?;
    match c.wait_vip(kind, id, true).await {
        Err(e) if e.has_code(ErrorCode::ResourceNotFound) => Ok(()),
        other => other,
    }
}
