//! Network domain rules: deploy (asynchronous), edit, delete (asynchronous, refused while anything
//! depends on the domain); every new domain gets the CCDEFAULT.* firewall rules.

use std::net::Ipv4Addr;

use super::data::{DeployDomain, NetworkDomain};
use crate::errors::{ApiError, ApiResult, Code};
use crate::models::catalogue;
use crate::models::common::{Kind, ResourceState, check_description, check_name, new_id};
use crate::models::firewall_rule::data::default_rules;
use crate::models::state::{Resource, Tx};
use crate::ops::OpKind;

fn check_type(t: &str) -> ApiResult<String> {
    let up = t.to_ascii_uppercase();
    if up == "ESSENTIALS" || up == "ADVANCED" {
        Ok(up)
    } else {
        Err(ApiError::invalid(
            "type",
            format!("'{t}' is not ESSENTIALS or ADVANCED"),
        ))
    }
}

fn name_taken(tx: &Tx<'_>, dc: &str, name: &str, except: &str) -> bool {
    tx.st()
        .domains
        .values()
        .any(|d| d.datacenter_id == dc && d.name == name && d.id != except)
}

/// Starts deploying a domain; returns its id.
pub fn deploy(tx: &mut Tx<'_>, req: DeployDomain) -> ApiResult<String> {
    if catalogue::datacenter(&req.datacenter_id).is_none() {
        return Err(ApiError::invalid(
            "datacenterId",
            format!("unknown datacenter '{}'", req.datacenter_id),
        ));
    }
    check_name("name", &req.name)?;
    check_description("description", &req.description)?;
    let service_type = check_type(&req.service_type)?;
    if name_taken(tx, &req.datacenter_id, &req.name, "") {
        return Err(ApiError::new(
            Code::NameNotUnique,
            format!(
                "A Network Domain named '{}' already exists in {}.",
                req.name, req.datacenter_id
            ),
        ));
    }
    let used: std::collections::HashSet<Ipv4Addr> =
        tx.st().domains.values().map(|d| d.snat_ipv4).collect();
    let snat = (1u32..65535)
        .map(|i| Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 76, 0, 0)) + i))
        .find(|a| !used.contains(a))
        .ok_or_else(|| ApiError::new(Code::OutOfResources, "no source-NAT address left"))?;
    let id = new_id();
    let pending = tx.pending(Kind::Domain, &id, OpKind::DeployNetworkDomain);
    let rules = default_rules(&id, &req.datacenter_id, tx.now);
    let domain = NetworkDomain {
        id: id.clone(),
        datacenter_id: req.datacenter_id,
        name: req.name,
        description: req.description,
        service_type,
        snat_ipv4: snat,
        create_ms: tx.now,
        state: ResourceState::PendingAdd,
        pending: Some(pending),
    };
    tx.put(Resource::Domain(domain));
    for r in rules {
        tx.put(Resource::Firewall(r));
    }
    Ok(id)
}

/// Edits name, description or type (synchronous).
pub fn edit(
    tx: &mut Tx<'_>,
    id: &str,
    name: Option<String>,
    description: Option<String>,
    service_type: Option<String>,
) -> ApiResult<()> {
    let mut d = tx.st().domain(id)?.clone();
    if d.state.is_pending() {
        return Err(ApiError::busy(format!(
            "Network Domain {id} is busy ({}).",
            d.state.as_str()
        )));
    }
    if let Some(n) = name {
        check_name("name", &n)?;
        if name_taken(tx, &d.datacenter_id, &n, id) {
            return Err(ApiError::new(
                Code::NameNotUnique,
                format!("A Network Domain named '{n}' already exists."),
            ));
        }
        d.name = n;
    }
    if let Some(desc) = description {
        check_description("description", &desc)?;
        d.description = desc;
    }
    if let Some(t) = service_type {
        d.service_type = check_type(&t)?;
    }
    tx.put(Resource::Domain(d));
    Ok(())
}

/// Starts deleting a domain; refused while it has VLANs, IP blocks, NAT or client firewall rules,
/// load balancer resources or address lists.
pub fn delete(tx: &mut Tx<'_>, id: &str) -> ApiResult<()> {
    let mut d = tx.st().domain(id)?.clone();
    if d.state.is_pending() {
        return Err(ApiError::busy(format!(
            "Network Domain {id} is busy ({}).",
            d.state.as_str()
        )));
    }
    let st = tx.st();
    let mut deps = Vec::new();
    let n = st.vlans.values().filter(|v| v.domain_id == id).count();
    if n > 0 {
        deps.push(format!("{n} VLAN(s)"));
    }
    let n = st.servers.values().filter(|s| s.domain_id == id).count();
    if n > 0 {
        deps.push(format!("{n} server(s)"));
    }
    let n = st.ip_blocks.values().filter(|b| b.domain_id == id).count();
    if n > 0 {
        deps.push(format!("{n} public IP block(s)"));
    }
    let n = st.nat_rules.values().filter(|r| r.domain_id == id).count();
    if n > 0 {
        deps.push(format!("{n} NAT rule(s)"));
    }
    let n = st
        .firewall_rules
        .values()
        .filter(|r| r.domain_id == id && !r.is_default())
        .count();
    if n > 0 {
        deps.push(format!("{n} firewall rule(s)"));
    }
    let lb = [
        (
            st.vip_pools.values().filter(|x| x.domain_id == id).count(),
            "pool(s)",
        ),
        (
            st.vip_nodes.values().filter(|x| x.domain_id == id).count(),
            "VIP node(s)",
        ),
        (
            st.listeners.values().filter(|x| x.domain_id == id).count(),
            "virtual listener(s)",
        ),
        (
            st.address_lists
                .values()
                .filter(|x| x.domain_id == id)
                .count(),
            "IP address/port list(s)",
        ),
    ];
    deps.extend(
        lb.iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, w)| format!("{n} {w}")),
    );
    if !deps.is_empty() {
        return Err(ApiError::new(
            Code::HasDependency,
            format!(
                "Network Domain {id} cannot be deleted: it still has {}.",
                deps.join(", ")
            ),
        ));
    }
    d.pending = Some(tx.pending(Kind::Domain, id, OpKind::DeleteNetworkDomain));
    d.state = ResourceState::PendingDelete;
    tx.put(Resource::Domain(d));
    Ok(())
}

/// Completes the pending operation `seq` on domain `id` with the backend outcome.
pub fn complete(tx: &mut Tx<'_>, id: &str, seq: u64, outcome: Result<(), String>) {
    let Some(d) = tx.st().domains.get(id) else {
        return;
    };
    let Some(p) = d.pending.filter(|p| p.seq == seq) else {
        return;
    };
    let mut d = d.clone();
    d.pending = None;
    match (p.op, outcome) {
        (OpKind::DeleteNetworkDomain, Ok(())) => {
            let rules: Vec<String> = crate::models::firewall_rule::ordered(tx.st(), id)
                .iter()
                .map(|r| r.id.clone())
                .collect();
            for r in rules {
                tx.del(Kind::Firewall, &r);
            }
            tx.del(Kind::Domain, id);
            return;
        }
        (OpKind::DeleteNetworkDomain, Err(_)) => d.state = ResourceState::FailedDelete,
        (_, Ok(())) => d.state = ResourceState::Normal,
        (_, Err(_)) => d.state = ResourceState::FailedAdd,
    }
    tx.put(Resource::Domain(d));
}
