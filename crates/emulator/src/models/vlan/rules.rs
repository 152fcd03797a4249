//! VLAN rules: deploy (asynchronous, both the ≤2.8 and ≥2.9 forms), edit, delete (asynchronous,
//! refused while servers use the VLAN or addresses are reserved on it), reserved private addresses
//! (reserve, unreserve: synchronous), and the addresses of a VLAN already taken.

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::data::{DeployVlan, Gateway, Vlan};
use crate::errors::{ApiError, ApiResult, Code};
use crate::models::common::{Kind, ResourceState, check_description, check_name, new_id};
use crate::models::state::{Resource, State, Tx};
use crate::ops::OpKind;

fn is_rfc1918(net: &Ipv4Net) -> bool {
    ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
        .iter()
        .any(|r| r.parse::<Ipv4Net>().is_ok_and(|r| r.contains(net)))
}

/// Addresses of `vlan_id` already given to server NICs (those being added included).
pub fn nic_addresses(st: &State, vlan_id: &str) -> HashSet<Ipv4Addr> {
    st.servers
        .values()
        .flat_map(|s| s.nics().chain(s.staged_nic()))
        .filter(|n| n.vlan_id == vlan_id)
        .map(|n| n.ipv4)
        .collect()
}

/// Addresses of `vlan_id` no allocation may hand out: those of server NICs, the reserved ones and
/// those of private virtual listeners.
pub fn used_addresses(st: &State, vlan_id: &str) -> HashSet<Ipv4Addr> {
    let mut used = nic_addresses(st, vlan_id);
    if let Some(v) = st.vlans.get(vlan_id) {
        used.extend(v.reserved.keys().copied());
        let listeners = st.listeners.values().filter(|l| l.domain_id == v.domain_id);
        used.extend(listeners.map(|l| l.ip).filter(|ip| v.network.contains(ip)));
    }
    used
}

/// The private IPv4 network a deploy asks for, checked: prefix size, base address, RFC 1918 range.
fn checked_network(req: &DeployVlan) -> ApiResult<Ipv4Net> {
    if !(16..=29).contains(&req.prefix) {
        return Err(ApiError::invalid(
            "privateIpv4PrefixSize",
            format!("{} is not within 16..29", req.prefix),
        ));
    }
    let network = Ipv4Net::new(req.base, req.prefix)
        .map_err(|e| ApiError::invalid("privateIpv4PrefixSize", e))?;
    if network.network() != req.base {
        return Err(ApiError::invalid(
            req.base_field,
            format!(
                "{} is not the base address of a /{} network",
                req.base, req.prefix
            ),
        ));
    }
    if !is_rfc1918(&network) {
        return Err(ApiError::invalid(
            req.base_field,
            format!("{network} is not in an RFC 1918 private range"),
        ));
    }
    Ok(network)
}

/// The gateway address of `network` for the deploy's gateway choice; a detached one must be a host.
fn gateway_address(gateway: &Gateway, network: &Ipv4Net) -> ApiResult<Ipv4Addr> {
    Ok(match *gateway {
        Gateway::Attached { high: false } => Ipv4Addr::from(u32::from(network.network()) + 1),
        Gateway::Attached { high: true } => Ipv4Addr::from(u32::from(network.broadcast()) - 1),
        Gateway::Detached(g) => {
            if !network.contains(&g) || g == network.network() || g == network.broadcast() {
                return Err(ApiError::invalid(
                    "detachedVlan.ipv4GatewayAddress",
                    format!("{g} is not a host address of {network}"),
                ));
            }
            g
        }
    })
}

/// Refuses a deploy while a VLAN of the domain is pending, or when one has its name or overlaps it.
fn check_domain_vlans(st: &State, req: &DeployVlan, network: &Ipv4Net) -> ApiResult<()> {
    for v in st.vlans.values().filter(|v| v.domain_id == req.domain_id) {
        if v.state.is_pending() {
            return Err(ApiError::busy(format!(
                "VLAN '{}' of Network Domain {} is {}; try again later.",
                v.name,
                req.domain_id,
                v.state.as_str()
            )));
        }
    }
    for v in st.vlans.values().filter(|v| v.domain_id == req.domain_id) {
        if v.name == req.name {
            return Err(ApiError::new(
                Code::NameNotUnique,
                format!(
                    "A VLAN named '{}' already exists in this Network Domain.",
                    req.name
                ),
            ));
        }
        if v.network.contains(&network.network()) || network.contains(&v.network.network()) {
            return Err(ApiError::new(
                Code::IpAddressNotUnique,
                format!("{network} overlaps VLAN '{}' ({}).", v.name, v.network),
            ));
        }
    }
    Ok(())
}

/// The IPv6 /64 prefix of a new VLAN, made from the first bytes of its id.
fn ipv6_prefix(id: &str) -> String {
    let u = uuid::Uuid::parse_str(id)
        .map(|u| *u.as_bytes())
        .unwrap_or_default();
    format!(
        "fd77:{:x}:{:x}:{:x}",
        u16::from_be_bytes([u[0], u[1]]),
        u16::from_be_bytes([u[2], u[3]]),
        u16::from_be_bytes([u[4], u[5]])
    )
}

/// Starts deploying a VLAN; returns its id.
pub fn deploy(tx: &mut Tx<'_>, req: DeployVlan) -> ApiResult<String> {
    check_name("name", &req.name)?;
    check_description("description", &req.description)?;
    let network = checked_network(&req)?;
    let gateway = gateway_address(&req.gateway, &network)?;
    let domain = tx.st().domain_ready(&req.domain_id)?;
    let datacenter_id = domain.datacenter_id.clone();
    check_domain_vlans(tx.st(), &req, &network)?;
    let id = new_id();
    let ipv6_prefix = ipv6_prefix(&id);
    let pending = tx.pending(Kind::Vlan, &id, OpKind::DeployVlan);
    let vlan = Vlan {
        id: id.clone(),
        domain_id: req.domain_id,
        datacenter_id,
        name: req.name,
        description: req.description,
        network,
        gateway,
        ipv6_prefix,
        gateway_addressing: match req.gateway {
            Gateway::Attached { high } => Some(if high { "HIGH" } else { "LOW" }.to_string()),
            Gateway::Detached(_) => None,
        },
        create_ms: tx.now,
        state: ResourceState::PendingAdd,
        pending: Some(pending),
        reserved: BTreeMap::new(),
        expanding_to: None,
    };
    tx.put(Resource::Vlan(vlan));
    Ok(id)
}

/// Edits name or description (synchronous).
pub fn edit(
    tx: &mut Tx<'_>,
    id: &str,
    name: Option<String>,
    description: Option<String>,
) -> ApiResult<()> {
    let mut v = tx.st().vlan(id)?.clone();
    if v.state.is_pending() {
        return Err(ApiError::busy(format!(
            "VLAN {id} is busy ({}).",
            v.state.as_str()
        )));
    }
    if let Some(n) = name {
        check_name("name", &n)?;
        if tx
            .st()
            .vlans
            .values()
            .any(|o| o.domain_id == v.domain_id && o.name == n && o.id != id)
        {
            return Err(ApiError::new(
                Code::NameNotUnique,
                format!("A VLAN named '{n}' already exists in this Network Domain."),
            ));
        }
        v.name = n;
    }
    if let Some(d) = description {
        check_description("description", &d)?;
        v.description = d;
    }
    tx.put(Resource::Vlan(v));
    Ok(())
}

/// Starts deleting a VLAN; refused while servers have a NIC (primary or additional, or one being
/// added) on it.
pub fn delete(tx: &mut Tx<'_>, id: &str) -> ApiResult<()> {
    let mut v = tx.st().vlan(id)?.clone();
    if v.state.is_pending() {
        return Err(ApiError::busy(format!(
            "VLAN {id} is busy ({}).",
            v.state.as_str()
        )));
    }
    let n = tx
        .st()
        .servers
        .values()
        .filter(|s| s.nics().chain(s.staged_nic()).any(|nic| nic.vlan_id == id))
        .count();
    if n > 0 {
        return Err(ApiError::new(
            Code::HasDependency,
            format!("VLAN {id} cannot be deleted: {n} server(s) use it."),
        ));
    }
    if let Some(l) = tx
        .st()
        .listeners
        .values()
        .find(|l| v.network.contains(&l.ip))
    {
        return Err(ApiError::new(
            Code::HasDependency,
            format!(
                "VLAN {id} cannot be deleted: Virtual Listener '{}' has its address {} there.",
                l.name, l.ip
            ),
        ));
    }
    if !v.reserved.is_empty() {
        return Err(ApiError::new(
            Code::HasDependency,
            format!(
                "VLAN {id} cannot be deleted: {} private IPv4 address(es) are reserved on it.",
                v.reserved.len()
            ),
        ));
    }
    v.pending = Some(tx.pending(Kind::Vlan, id, OpKind::DeleteVlan));
    v.state = ResourceState::PendingDelete;
    tx.put(Resource::Vlan(v));
    Ok(())
}

/// Reserves the private address `ip` of VLAN `id` (synchronous): it must be a host address of
/// the VLAN that no NIC uses and that is not reserved yet, and the VLAN must be NORMAL.
pub fn reserve(tx: &mut Tx<'_>, id: &str, ip: Ipv4Addr, description: String) -> ApiResult<()> {
    check_description("description", &description)?;
    let mut v = tx.st().vlan(id)?.clone();
    if v.state != ResourceState::Normal {
        return Err(ApiError::busy(format!(
            "VLAN {id} is {}; try again later.",
            v.state.as_str()
        )));
    }
    if !v.is_host_address(ip) {
        return Err(ApiError::new(
            Code::IpAddressOutOfRange,
            format!(
                "{ip} is not a host address of VLAN '{}' ({}, gateway {}).",
                v.name, v.network, v.gateway
            ),
        ));
    }
    if v.reserved.contains_key(&ip) {
        return Err(ApiError::new(
            Code::IpAddressNotUnique,
            format!("{ip} is already reserved on VLAN '{}'.", v.name),
        ));
    }
    if nic_addresses(tx.st(), id).contains(&ip) {
        return Err(ApiError::new(
            Code::IpAddressNotUnique,
            format!("{ip} is in use by a server on VLAN '{}'.", v.name),
        ));
    }
    v.reserved.insert(ip, description);
    tx.put(Resource::Vlan(v));
    Ok(())
}

/// Releases the reserved address `ip` of VLAN `id` (synchronous); RESOURCE_NOT_FOUND when it is
/// not reserved there.
pub fn unreserve(tx: &mut Tx<'_>, id: &str, ip: Ipv4Addr) -> ApiResult<()> {
    let mut v = tx.st().vlan(id)?.clone();
    if !v.reserved.contains_key(&ip) {
        return Err(ApiError::new(
            Code::ResourceNotFound,
            format!("{ip} is not reserved on VLAN '{}'.", v.name),
        ));
    }
    if v.state.is_pending() {
        return Err(ApiError::busy(format!(
            "VLAN {id} is busy ({}).",
            v.state.as_str()
        )));
    }
    v.reserved.remove(&ip);
    tx.put(Resource::Vlan(v));
    Ok(())
}

/// Completes the pending operation `seq` on VLAN `id`.
pub fn complete(tx: &mut Tx<'_>, id: &str, seq: u64, outcome: Result<(), String>) {
    let Some(v) = tx.st().vlans.get(id) else {
        return;
    };
    let Some(p) = v.pending.filter(|p| p.seq == seq) else {
        return;
    };
    let mut v = v.clone();
    v.pending = None;
    let expanding = v.expanding_to.take();
    match (p.op, outcome) {
        (OpKind::ExpandVlan, Ok(())) => {
            if let Some(n) = expanding.and_then(|x| Ipv4Net::new(v.network.network(), x).ok()) {
                v.network = n;
            }
            v.state = ResourceState::Normal;
        }
        (OpKind::ExpandVlan, Err(_)) => v.state = ResourceState::FailedChange,
        (OpKind::DeleteVlan, Ok(())) => {
            tx.del(Kind::Vlan, id);
            return;
        }
        (OpKind::DeleteVlan, Err(_)) => v.state = ResourceState::FailedDelete,
        (_, Ok(())) => v.state = ResourceState::Normal,
        (_, Err(_)) => v.state = ResourceState::FailedAdd,
    }
    tx.put(Resource::Vlan(v));
}

/// Starts expanding VLAN `id` to the larger network of prefix size `prefix` (same base address;
/// asynchronous: PENDING_CHANGE, the new range shows once NORMAL). The prefix must be smaller than
/// the current one and at least 16, and the larger network may not overlap another VLAN of the
/// domain.
pub fn expand(tx: &mut Tx<'_>, id: &str, prefix: u8) -> ApiResult<String> {
    let mut v = tx.st().vlan(id)?.clone();
    if v.state != ResourceState::Normal {
        return Err(ApiError::busy(format!(
            "VLAN {id} is {}; try again later.",
            v.state.as_str()
        )));
    }
    if prefix < 16 || prefix >= v.network.prefix_len() {
        return Err(ApiError::invalid(
            "privateIpv4PrefixSize",
            format!(
                "{prefix} must be within 16..{} (smaller than the current size)",
                v.network.prefix_len() - 1
            ),
        ));
    }
    let net = Ipv4Net::new(v.network.network(), prefix)
        .map_err(|e| ApiError::invalid("privateIpv4PrefixSize", e))?;
    if net.network() != v.network.network() {
        return Err(ApiError::invalid(
            "privateIpv4PrefixSize",
            format!(
                "{} is not the base address of a /{prefix} network",
                v.network.network()
            ),
        ));
    }
    if let Some(o) = tx.st().vlans.values().find(|o| {
        o.domain_id == v.domain_id
            && o.id != id
            && (o.network.contains(&net.network()) || net.contains(&o.network.network()))
    }) {
        return Err(ApiError::new(
            Code::IpAddressNotUnique,
            format!("{net} overlaps VLAN '{}' ({}).", o.name, o.network),
        ));
    }
    v.pending = Some(tx.pending(Kind::Vlan, id, OpKind::ExpandVlan));
    v.state = ResourceState::PendingChange;
    v.expanding_to = Some(prefix);
    let name = v.name.clone();
    tx.put(Resource::Vlan(v));
    Ok(name)
}
