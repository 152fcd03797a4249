//! Load balancer rules (all synchronous, as the API answers `OK`): pools, VIP nodes, pool members
//! and virtual listeners with their checks (names unique in the domain, values from the catalogue,
//! HAS_DEPENDENCY for a pool with members or listeners and a node with members), and the listener
//! address: a free public address of the domain or a free host address of one of its VLANs.

use std::net::Ipv4Addr;

use super::data::{
    ALL_COMPAT, HEALTH_MONITORS, IRULES, PERSISTENCE_PROFILES, Pool, PoolMember, VipNode,
    VirtualListener,
};
use crate::errors::{ApiError, ApiResult, Code};
use crate::models::common::{Kind, ResourceState, check_description, check_name, new_id};
use crate::models::public_ip_block::rules::free_addresses;
use crate::models::state::{Resource, State, Tx};
use crate::models::vlan::rules::nic_addresses;

fn one_of(field: &str, v: &str, allowed: &[&str]) -> ApiResult<String> {
    let up = v.trim().to_ascii_uppercase();
    if allowed.contains(&up.as_str()) {
        Ok(up)
    } else {
        Err(ApiError::invalid(
            field,
            format!("'{v}' is not one of {}", allowed.join(", ")),
        ))
    }
}

fn not_unique(what: &str, name: &str) -> ApiError {
    ApiError::new(
        Code::NameNotUnique,
        format!("A {what} named '{name}' already exists in this Network Domain."),
    )
}

/// The load balance methods a pool may use.
pub const METHODS: &[&str] = &[
    "ROUND_ROBIN",
    "LEAST_CONNECTIONS_MEMBER",
    "LEAST_CONNECTIONS_NODE",
    "OBSERVED_MEMBER",
    "OBSERVED_NODE",
    "PREDICTIVE_MEMBER",
    "PREDICTIVE_NODE",
];
const STATUSES: &[&str] = &["ENABLED", "DISABLED", "FORCED_OFFLINE"];

/// What createPool and editPool carry (absent: default on create, unchanged on edit).
#[derive(Debug, Clone, Default)]
pub struct PoolRequest {
    /// Network domain (create only).
    pub domain_id: String,
    /// Name (create only).
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Load balance method.
    pub method: Option<String>,
    /// Health monitor ids (`Some(empty)` clears).
    pub monitors: Option<Vec<String>>,
    /// Service down action.
    pub service_down_action: Option<String>,
    /// Slow ramp time.
    pub slow_ramp_time: Option<u32>,
}

fn apply_pool(p: &mut Pool, r: PoolRequest) -> ApiResult<()> {
    if let Some(d) = r.description {
        check_description("description", &d)?;
        p.description = d;
    }
    if let Some(m) = r.method {
        p.load_balance_method = one_of("loadBalanceMethod", &m, METHODS)?;
    }
    if let Some(ms) = r.monitors {
        if ms.len() > 2 {
            return Err(ApiError::invalid(
                "healthMonitorId",
                "a pool has at most two health monitors",
            ));
        }
        for m in &ms {
            if !HEALTH_MONITORS.iter().any(|h| h.0 == m && h.3) {
                return Err(ApiError::invalid(
                    "healthMonitorId",
                    format!("'{m}' is not a pool-compatible default health monitor"),
                ));
            }
        }
        p.health_monitors = ms;
    }
    if let Some(a) = r.service_down_action {
        p.service_down_action = one_of("serviceDownAction", &a, &["NONE", "DROP", "RESELECT"])?;
    }
    if let Some(t) = r.slow_ramp_time {
        p.slow_ramp_time = t;
    }
    Ok(())
}

/// Creates a pool; returns its id.
pub fn create_pool(tx: &mut Tx<'_>, r: PoolRequest) -> ApiResult<String> {
    check_name("name", &r.name)?;
    let dc = tx.st().domain_ready(&r.domain_id)?.datacenter_id.clone();
    if tx
        .st()
        .vip_pools
        .values()
        .any(|p| p.domain_id == r.domain_id && p.name == r.name)
    {
        return Err(not_unique("Pool", &r.name));
    }
    let mut p = Pool {
        id: new_id(),
        domain_id: r.domain_id.clone(),
        datacenter_id: dc,
        name: r.name.clone(),
        description: String::new(),
        load_balance_method: "ROUND_ROBIN".into(),
        health_monitors: Vec::new(),
        service_down_action: "NONE".into(),
        slow_ramp_time: 10,
        create_ms: tx.now,
        state: ResourceState::Normal,
    };
    apply_pool(&mut p, r)?;
    let id = p.id.clone();
    tx.public_changed(&p.domain_id);
    tx.put(Resource::Pool(p));
    Ok(id)
}

/// Edits a pool; returns its name.
pub fn edit_pool(tx: &mut Tx<'_>, id: &str, r: PoolRequest) -> ApiResult<String> {
    let mut p = pool(tx.st(), id)?.clone();
    apply_pool(&mut p, r)?;
    let name = p.name.clone();
    tx.public_changed(&p.domain_id);
    tx.put(Resource::Pool(p));
    Ok(name)
}

/// Deletes a pool; HAS_DEPENDENCY while it has members or a listener uses it.
pub fn delete_pool(tx: &mut Tx<'_>, id: &str) -> ApiResult<()> {
    let p = pool(tx.st(), id)?;
    let domain = p.domain_id.clone();
    let st = tx.st();
    let members = st.pool_members.values().filter(|m| m.pool_id == id).count();
    if members > 0 {
        return Err(ApiError::new(
            Code::HasDependency,
            format!("Pool {id} cannot be deleted: it has {members} member(s)."),
        ));
    }
    if let Some(l) = st
        .listeners
        .values()
        .find(|l| l.pool_id.as_deref() == Some(id) || l.client_clone_pool_id.as_deref() == Some(id))
    {
        return Err(ApiError::new(
            Code::HasDependency,
            format!(
                "Pool {id} cannot be deleted: Virtual Listener '{}' uses it.",
                l.name
            ),
        ));
    }
    tx.del(Kind::Pool, id);
    tx.public_changed(&domain);
    Ok(())
}

/// The pool `id`, or RESOURCE_NOT_FOUND.
pub fn pool<'s>(st: &'s State, id: &str) -> ApiResult<&'s Pool> {
    st.vip_pools
        .get(id)
        .ok_or_else(|| ApiError::not_found("Pool", id))
}

/// What createNode and editNode carry (absent: default on create, unchanged on edit).
#[derive(Debug, Clone, Default)]
pub struct NodeRequest {
    /// Network domain (create only).
    pub domain_id: String,
    /// Name (create only).
    pub name: String,
    /// Address (create only).
    pub ipv4: String,
    /// Description.
    pub description: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Health monitor (`Some(None)` removes it).
    pub monitor: Option<Option<String>>,
    /// Connection limit.
    pub connection_limit: Option<u32>,
    /// Connection rate limit.
    pub connection_rate_limit: Option<u32>,
}

fn apply_node(n: &mut VipNode, r: NodeRequest) -> ApiResult<()> {
    if let Some(d) = r.description {
        check_description("description", &d)?;
        n.description = d;
    }
    if let Some(s) = r.status {
        n.status = one_of("status", &s, STATUSES)?;
    }
    if let Some(m) = r.monitor {
        if let Some(m) = &m
            && !HEALTH_MONITORS.iter().any(|h| h.0 == m && h.2)
        {
            return Err(ApiError::invalid(
                "healthMonitorId",
                format!("'{m}' is not a node-compatible default health monitor"),
            ));
        }
        n.health_monitor = m;
    }
    if let Some(c) = r.connection_limit {
        n.connection_limit = c;
    }
    if let Some(c) = r.connection_rate_limit {
        n.connection_rate_limit = c;
    }
    Ok(())
}

/// Creates a VIP node; returns its id.
pub fn create_node(tx: &mut Tx<'_>, r: NodeRequest) -> ApiResult<String> {
    check_name("name", &r.name)?;
    let ipv4: Ipv4Addr = r.ipv4.trim().parse().map_err(|_| {
        ApiError::invalid(
            "ipv4Address",
            format!("'{}' is not an IPv4 address", r.ipv4),
        )
    })?;
    let dc = tx.st().domain_ready(&r.domain_id)?.datacenter_id.clone();
    let st = tx.st();
    let same_domain = || st.vip_nodes.values().filter(|n| n.domain_id == r.domain_id);
    if same_domain().any(|n| n.name == r.name) {
        return Err(not_unique("Node", &r.name));
    }
    if let Some(n) = same_domain().find(|n| n.ipv4 == ipv4) {
        return Err(ApiError::new(
            Code::IpAddressNotUnique,
            format!("Node '{}' already has the address {ipv4}.", n.name),
        ));
    }
    let mut n = VipNode {
        id: new_id(),
        domain_id: r.domain_id.clone(),
        datacenter_id: dc,
        name: r.name.clone(),
        description: String::new(),
        ipv4,
        status: "ENABLED".into(),
        health_monitor: None,
        connection_limit: 100_000,
        connection_rate_limit: 4000,
        create_ms: tx.now,
        state: ResourceState::Normal,
    };
    apply_node(&mut n, r)?;
    let id = n.id.clone();
    tx.put(Resource::VipNode(n));
    Ok(id)
}

/// Edits a VIP node; returns its name.
pub fn edit_node(tx: &mut Tx<'_>, id: &str, r: NodeRequest) -> ApiResult<String> {
    let mut n = node(tx.st(), id)?.clone();
    apply_node(&mut n, r)?;
    let name = n.name.clone();
    tx.public_changed(&n.domain_id);
    tx.put(Resource::VipNode(n));
    Ok(name)
}

/// Deletes a VIP node; HAS_DEPENDENCY while pool members use it.
pub fn delete_node(tx: &mut Tx<'_>, id: &str) -> ApiResult<()> {
    node(tx.st(), id)?;
    let n = tx
        .st()
        .pool_members
        .values()
        .filter(|m| m.node_id == id)
        .count();
    if n > 0 {
        return Err(ApiError::new(
            Code::HasDependency,
            format!("Node {id} cannot be deleted: it is a member of {n} pool(s)."),
        ));
    }
    tx.del(Kind::VipNode, id);
    Ok(())
}

/// The VIP node `id`, or RESOURCE_NOT_FOUND.
pub fn node<'s>(st: &'s State, id: &str) -> ApiResult<&'s VipNode> {
    st.vip_nodes
        .get(id)
        .ok_or_else(|| ApiError::not_found("Node", id))
}

/// Adds node `node_id` (port `port`) to pool `pool_id`; returns the member id and the node name.
pub fn add_member(
    tx: &mut Tx<'_>,
    pool_id: &str,
    node_id: &str,
    port: Option<u16>,
    status: Option<String>,
) -> ApiResult<(String, String)> {
    let p = pool(tx.st(), pool_id)?;
    let n = node(tx.st(), node_id)?;
    if p.domain_id != n.domain_id {
        return Err(ApiError::invalid(
            "nodeId",
            format!("Node {node_id} is not in the Network Domain of Pool {pool_id}"),
        ));
    }
    let (domain, dc, node_name) = (p.domain_id.clone(), p.datacenter_id.clone(), n.name.clone());
    if tx
        .st()
        .pool_members
        .values()
        .any(|m| m.pool_id == pool_id && m.node_id == node_id && m.port == port)
    {
        return Err(ApiError::new(
            Code::NameNotUnique,
            format!("Node {node_id} is already a member of Pool {pool_id} on that port."),
        ));
    }
    let status = match status {
        Some(s) => one_of("status", &s, STATUSES)?,
        None => "ENABLED".into(),
    };
    let id = new_id();
    tx.put(Resource::PoolMember(PoolMember {
        id: id.clone(),
        domain_id: domain.clone(),
        datacenter_id: dc,
        pool_id: pool_id.to_string(),
        node_id: node_id.to_string(),
        port,
        status,
        create_ms: tx.now,
        state: ResourceState::Normal,
    }));
    tx.public_changed(&domain);
    Ok((id, node_name))
}

/// Changes a member's status; returns `ip:port` for the message.
pub fn edit_member(tx: &mut Tx<'_>, id: &str, status: &str) -> ApiResult<String> {
    let mut m = member(tx.st(), id)?.clone();
    m.status = one_of("status", status, STATUSES)?;
    let label = member_label(tx.st(), &m);
    tx.public_changed(&m.domain_id);
    tx.put(Resource::PoolMember(m));
    Ok(label)
}

/// Removes a member from its pool.
pub fn remove_member(tx: &mut Tx<'_>, id: &str) -> ApiResult<()> {
    let domain = member(tx.st(), id)?.domain_id.clone();
    tx.del(Kind::PoolMember, id);
    tx.public_changed(&domain);
    Ok(())
}

/// The pool member `id`, or RESOURCE_NOT_FOUND.
pub fn member<'s>(st: &'s State, id: &str) -> ApiResult<&'s PoolMember> {
    st.pool_members
        .get(id)
        .ok_or_else(|| ApiError::not_found("Pool Member", id))
}

/// `10.0.3.13:9888` (or the bare address without a port).
pub fn member_label(st: &State, m: &PoolMember) -> String {
    let ip = st
        .vip_nodes
        .get(&m.node_id)
        .map(|n| n.ipv4.to_string())
        .unwrap_or_default();
    match m.port {
        Some(p) => format!("{ip}:{p}"),
        None => ip,
    }
}

/// What createVirtualListener carries.
#[derive(Debug, Clone, Default)]
pub struct ListenerRequest {
    /// Network domain.
    pub domain_id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Type.
    pub listener_type: String,
    /// Protocol.
    pub protocol: String,
    /// Requested address.
    pub ip: Option<String>,
    /// Port.
    pub port: Option<u16>,
    /// Enabled.
    pub enabled: bool,
    /// Connection limit.
    pub connection_limit: u32,
    /// Connection rate limit.
    pub connection_rate_limit: u32,
    /// Source port preservation.
    pub source_port_preservation: String,
    /// Pool.
    pub pool_id: Option<String>,
    /// Client clone pool.
    pub client_clone_pool_id: Option<String>,
    /// Persistence profile.
    pub persistence_profile_id: Option<String>,
    /// Fallback persistence profile.
    pub fallback_persistence_profile_id: Option<String>,
    /// iRules.
    pub irule_ids: Vec<String>,
}

fn check_profile(
    field: &str,
    id: &Option<String>,
    from: &[super::data::Profile],
    t: &str,
    proto: &str,
) -> ApiResult<()> {
    if let Some(id) = id {
        let ok = from.iter().any(|p| p.0 == id && p.3.contains(&(t, proto)));
        if !ok {
            return Err(ApiError::invalid(
                field,
                format!("'{id}' is not a default profile compatible with {t} {proto}"),
            ));
        }
    }
    Ok(())
}

fn check_listener(st: &State, r: &ListenerRequest) -> ApiResult<(String, String)> {
    check_name("name", &r.name)?;
    let tp = check_listener_values(st, r)?;
    if st
        .listeners
        .values()
        .any(|l| l.domain_id == r.domain_id && l.name == r.name)
    {
        return Err(not_unique("Virtual Listener", &r.name));
    }
    Ok(tp)
}

/// The checks of a listener's values (not its name): returns its type and protocol.
fn check_listener_values(st: &State, r: &ListenerRequest) -> ApiResult<(String, String)> {
    check_description("description", &r.description)?;
    let t = one_of(
        "type",
        &r.listener_type,
        &["STANDARD", "PERFORMANCE_LAYER_4"],
    )?;
    let proto = one_of("protocol", &r.protocol, &["ANY", "TCP", "UDP", "HTTP"])?;
    if !ALL_COMPAT.contains(&(t.as_str(), proto.as_str())) {
        return Err(ApiError::invalid(
            "protocol",
            format!("{proto} is not available for a {t} listener"),
        ));
    }
    one_of(
        "sourcePortPreservation",
        &r.source_port_preservation,
        &["PRESERVE", "PRESERVE_STRICT", "CHANGE"],
    )?;
    for (field, id) in [
        ("poolId", &r.pool_id),
        ("clientClonePoolId", &r.client_clone_pool_id),
    ] {
        if let Some(id) = id
            && pool(st, id)?.domain_id != r.domain_id
        {
            return Err(ApiError::invalid(
                field,
                format!("Pool {id} is not in Network Domain {}", r.domain_id),
            ));
        }
    }
    let pp = &r.persistence_profile_id;
    check_profile("persistenceProfileId", pp, PERSISTENCE_PROFILES, &t, &proto)?;
    let fb = &r.fallback_persistence_profile_id;
    check_profile(
        "fallbackPersistenceProfileId",
        fb,
        PERSISTENCE_PROFILES,
        &t,
        &proto,
    )?;
    for i in &r.irule_ids {
        check_profile("iruleId", &Some(i.clone()), IRULES, &t, &proto)?;
    }
    Ok((t, proto))
}

/// Creates a virtual listener; returns its id and address.
pub fn create_listener(tx: &mut Tx<'_>, r: ListenerRequest) -> ApiResult<(String, Ipv4Addr)> {
    let dc = tx.st().domain_ready(&r.domain_id)?.datacenter_id.clone();
    let (t, proto) = check_listener(tx.st(), &r)?;
    let ip = listener_address(tx.st(), &r.domain_id, r.ip.as_deref(), r.port)?;
    let l = VirtualListener {
        id: new_id(),
        domain_id: r.domain_id.clone(),
        datacenter_id: dc,
        name: r.name,
        description: r.description,
        listener_type: t,
        protocol: proto,
        ip,
        port: r.port,
        enabled: r.enabled,
        connection_limit: r.connection_limit,
        connection_rate_limit: r.connection_rate_limit,
        source_port_preservation: r.source_port_preservation.to_ascii_uppercase(),
        pool_id: r.pool_id,
        client_clone_pool_id: r.client_clone_pool_id,
        persistence_profile_id: r.persistence_profile_id,
        fallback_persistence_profile_id: r.fallback_persistence_profile_id,
        irule_ids: r.irule_ids,
        create_ms: tx.now,
        state: ResourceState::Normal,
    };
    let id = l.id.clone();
    tx.put(Resource::Listener(l));
    tx.public_changed(&r.domain_id);
    Ok((id, ip))
}

/// What editVirtualListener carries (absent: unchanged; `Some(None)`: cleared).
#[derive(Debug, Clone, Default)]
pub struct ListenerEdit {
    /// Description.
    pub description: Option<String>,
    /// Enabled.
    pub enabled: Option<bool>,
    /// Connection limit.
    pub connection_limit: Option<u32>,
    /// Connection rate limit.
    pub connection_rate_limit: Option<u32>,
    /// Source port preservation.
    pub source_port_preservation: Option<String>,
    /// Pool.
    pub pool_id: Option<Option<String>>,
    /// Client clone pool.
    pub client_clone_pool_id: Option<Option<String>>,
    /// Persistence profile.
    pub persistence_profile_id: Option<Option<String>>,
    /// Fallback persistence profile.
    pub fallback_persistence_profile_id: Option<Option<String>>,
    /// iRules (replaced when given).
    pub irule_ids: Option<Vec<String>>,
}

/// Edits a virtual listener (its address, port, type and protocol stay); returns its name.
pub fn edit_listener(tx: &mut Tx<'_>, id: &str, e: ListenerEdit) -> ApiResult<String> {
    let mut l = tx
        .st()
        .listeners
        .get(id)
        .ok_or_else(|| ApiError::not_found("Virtual Listener", id))?
        .clone();
    let set = |v: &mut Option<String>, x: Option<Option<String>>| {
        if let Some(x) = x {
            *v = x;
        }
    };
    l.description = e.description.unwrap_or(l.description);
    l.enabled = e.enabled.unwrap_or(l.enabled);
    l.connection_limit = e.connection_limit.unwrap_or(l.connection_limit);
    l.connection_rate_limit = e.connection_rate_limit.unwrap_or(l.connection_rate_limit);
    let spp = e
        .source_port_preservation
        .unwrap_or(l.source_port_preservation.clone());
    set(&mut l.pool_id, e.pool_id);
    set(&mut l.client_clone_pool_id, e.client_clone_pool_id);
    set(&mut l.persistence_profile_id, e.persistence_profile_id);
    set(
        &mut l.fallback_persistence_profile_id,
        e.fallback_persistence_profile_id,
    );
    l.irule_ids = e.irule_ids.unwrap_or(l.irule_ids);
    let check = ListenerRequest {
        domain_id: l.domain_id.clone(),
        name: l.name.clone(),
        description: l.description.clone(),
        listener_type: l.listener_type.clone(),
        protocol: l.protocol.clone(),
        source_port_preservation: spp.clone(),
        pool_id: l.pool_id.clone(),
        client_clone_pool_id: l.client_clone_pool_id.clone(),
        persistence_profile_id: l.persistence_profile_id.clone(),
        fallback_persistence_profile_id: l.fallback_persistence_profile_id.clone(),
        irule_ids: l.irule_ids.clone(),
        ..ListenerRequest::default()
    };
    check_listener_values(tx.st(), &check)?;
    l.source_port_preservation = spp.to_ascii_uppercase();
    let name = l.name.clone();
    tx.public_changed(&l.domain_id);
    tx.put(Resource::Listener(l));
    Ok(name)
}

/// Deletes a virtual listener.
pub fn delete_listener(tx: &mut Tx<'_>, id: &str) -> ApiResult<()> {
    let l = tx
        .st()
        .listeners
        .get(id)
        .ok_or_else(|| ApiError::not_found("Virtual Listener", id))?;
    let domain = l.domain_id.clone();
    tx.del(Kind::Listener, id);
    tx.public_changed(&domain);
    Ok(())
}

/// The address of a new listener: the requested one (a public address of the domain no NAT rule
/// uses and no listener uses on the same port, or a free host address of a VLAN of the domain),
/// else the domain's next free public address.
fn listener_address(
    st: &State,
    domain: &str,
    requested: Option<&str>,
    port: Option<u16>,
) -> ApiResult<Ipv4Addr> {
    let Some(req) = requested.map(str::trim).filter(|s| !s.is_empty()) else {
        return free_addresses(st, domain).first().copied().ok_or_else(|| {
            ApiError::new(
                Code::NoIpAddressAvailable,
                format!("No public IPv4 address is available in Network Domain {domain}."),
            )
        });
    };
    let ip: Ipv4Addr = req.parse().map_err(|_| {
        ApiError::invalid(
            "listenerIpAddress",
            format!("'{req}' is not an IPv4 address"),
        )
    })?;
    let taken = || {
        ApiError::new(
            Code::IpAddressNotUnique,
            format!("listenerIpAddress {ip} is already in use."),
        )
    };
    if st
        .listeners
        .values()
        .any(|l| l.ip == ip && (l.port == port || l.port.is_none() || port.is_none()))
        || st.nat_rules.values().any(|n| n.external == ip)
    {
        return Err(taken());
    }
    let public = st
        .ip_blocks
        .values()
        .any(|b| b.domain_id == domain && b.contains(ip));
    if public {
        return Ok(ip);
    }
    let vlan = st
        .vlans
        .values()
        .find(|v| v.domain_id == domain && v.is_host_address(ip));
    match vlan {
        Some(v) if nic_addresses(st, &v.id).contains(&ip) || v.reserved.contains_key(&ip) => {
            Err(taken())
        }
        Some(_) => Ok(ip),
        None => Err(ApiError::new(
            Code::IpAddressOutOfRange,
            format!(
                "{ip} is neither in a public IP block nor in a VLAN of Network Domain {domain}."
            ),
        )),
    }
}
