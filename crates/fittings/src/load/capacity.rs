//! Capacity checks made once every location is loaded, before any API call: the addresses a VLAN
//! must hand out (the primary NIC of each of its nodes, the extra NICs other nodes attach to it,
//! the addresses the plan reserves on it) fit its subnet once the platform's own addresses are
//! taken out; and the internet nodes of a network domain fit its `ipv4: N` quota.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use crate::error::LoadError;
use crate::model::{Blueprint, Glue, Ipv4Quota, Location};

/// Addresses of every VLAN the platform keeps for itself: the network address, the gateway (base+1
/// with LOW addressing, broadcast-1 with HIGH) and the broadcast address.
pub const PLATFORM_ADDRESSES: u64 = 3;

/// How many addresses of a VLAN of prefix length `prefix` servers and reservations can use.
pub fn usable_addresses(prefix: u8) -> u64 {
    (1u64 << (32 - u32::from(prefix.min(32)))).saturating_sub(PLATFORM_ADDRESSES)
}

/// What a plan asks of one VLAN of a location.
#[derive(Default)]
struct VlanDemand<'a> {
    /// The first blueprint that declares the VLAN (where an error points).
    first: Option<&'a Blueprint>,
    /// Primary NICs: one per node of the blueprints on the VLAN.
    primary: u64,
    /// Extra NICs that nodes of other blueprints attach to it.
    extra: u64,
    /// Addresses reserved on it (each once, whichever blueprint lists it).
    reserved: BTreeSet<Ipv4Addr>,
}

/// Refuses a plan whose nodes cannot fit a VLAN's subnet (exit 2 with the blueprint's position and
/// the numbers).
pub(super) fn check_vlan_capacity(locations: &[Location]) -> Result<(), LoadError> {
    for loc in locations {
        let mut vlans: BTreeMap<(&str, &str), VlanDemand<'_>> = BTreeMap::new();
        let local = loc
            .blueprints
            .iter()
            .filter(|b| b.ethernet.name.location.is_none());
        for b in local {
            let v = vlans
                .entry((b.domain.name.as_str(), b.ethernet.name.name.as_str()))
                .or_default();
            v.first.get_or_insert(b);
            v.primary += b.nodes.len() as u64;
            v.reserved.extend(b.ethernet.reserved.iter().copied());
        }
        for b in &loc.blueprints {
            for glue in b.nodes.iter().flat_map(|n| &n.glue) {
                let Glue::Extra { network, .. } = glue else {
                    continue;
                };
                let here = network
                    .location
                    .as_deref()
                    .is_none_or(|l| l == loc.location_id);
                if let (true, Some(v)) = (
                    here,
                    vlans.get_mut(&(b.domain.name.as_str(), network.name.as_str())),
                ) {
                    v.extra += 1;
                }
            }
        }
        for ((domain, vlan), v) in &vlans {
            let Some(b) = v.first else { continue };
            let needed = v.primary + v.extra + v.reserved.len() as u64;
            let subnet = b.ethernet.subnet;
            let available = usable_addresses(subnet.prefix_len());
            if needed > available {
                return Err(LoadError::at(
                    b.pos.clone(),
                    format!(
                        "VLAN '{vlan}' of network domain '{domain}' ({subnet}) cannot hold what the plan puts on it: needed {needed} addresses ({} node(s), {} extra NIC(s), {} reserved), available {available} ({} addresses less the network, gateway and broadcast addresses); use a larger subnet or fewer nodes",
                        v.primary,
                        v.extra,
                        v.reserved.len(),
                        available + PLATFORM_ADDRESSES,
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Refuses a plan whose internet nodes and load balancer listeners (those without a fixed
/// address) in a network domain need more public IPv4 addresses than the domain's `ipv4: N` quota
/// allows (`auto` and `transient` have no fixed limit).
pub(super) fn check_public_ipv4(locations: &[Location]) -> Result<(), LoadError> {
    for loc in locations {
        let mut domains: BTreeMap<&str, (u64, Option<&Blueprint>)> = BTreeMap::new();
        for b in &loc.blueprints {
            let internet = b
                .nodes
                .iter()
                .filter(|n| n.glue.iter().any(|g| matches!(g, Glue::Internet { .. })))
                .count() as u64
                + b.balancers.iter().filter(|l| l.address.is_none()).count() as u64;
            let d = domains.entry(b.domain.name.as_str()).or_default();
            d.0 += internet;
            if internet > 0 && d.1.is_none() {
                d.1 = Some(b);
            }
        }
        for (domain, (needed, first)) in domains {
            let Some(b) = first else { continue };
            // The quota is the one of the blueprint that defines the domain (basement blueprints
            // first, then in plan order), as when the domain is built.
            let mut order: Vec<&Blueprint> = loc.blueprints.iter().collect();
            order.sort_by_key(|x| !loc.basement.contains(&x.name));
            let limit = order
                .iter()
                .find(|x| x.domain.name == domain)
                .and_then(|x| match x.domain.ipv4 {
                    Ipv4Quota::Count(n) => Some(u64::from(n)),
                    Ipv4Quota::Auto | Ipv4Quota::Transient => None,
                });
            if let Some(available) = limit
                && needed > available
            {
                return Err(LoadError::at(
                    b.pos.clone(),
                    format!(
                        "network domain '{domain}' needs {needed} public IPv4 addresses (one per node with 'internet' glue and per load balancer listener without an address), but its quota 'ipv4: {available}' allows {available}: raise 'ipv4' (up to 128, or auto) or expose fewer nodes and listeners"
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usable_addresses_leave_out_network_gateway_and_broadcast() {
        assert_eq!(usable_addresses(24), 253);
        assert_eq!(usable_addresses(29), 5);
        assert_eq!(usable_addresses(16), 65533);
    }
}
