//! Public IPv4 block rules: add (from this emulator's part of 127.77.0.0/16, avoiding addresses
//! busy on this host) and remove (refused while NAT rules use the block), both synchronous, and the
//! free public addresses of a domain.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use super::data::{BLOCK_SIZE, PUBLIC_BASE, PublicIpBlock, SLOTS, start_slot};
use crate::errors::{ApiError, ApiResult, Code};
use crate::models::common::{Kind, ResourceState, new_id};
use crate::models::state::{Resource, State, Tx};

/// The public addresses of domain `domain_id` used by neither a NAT rule nor a virtual listener,
/// in order.
pub fn free_addresses(st: &State, domain_id: &str) -> Vec<Ipv4Addr> {
    let used: HashSet<Ipv4Addr> = st
        .nat_rules
        .values()
        .map(|r| r.external)
        .chain(st.listeners.values().map(|l| l.ip))
        .collect();
    let mut blocks: Vec<&PublicIpBlock> = st
        .ip_blocks
        .values()
        .filter(|b| b.domain_id == domain_id)
        .collect();
    blocks.sort_by_key(|b| (b.create_ms, b.base_ip));
    blocks
        .iter()
        .flat_map(|b| b.addresses())
        .filter(|a| !used.contains(a))
        .collect()
}

/// Adds a block to a domain whose addresses are neither in this emulator's blocks nor in `busy`
/// (addresses in use on this host, e.g. by another emulator's listeners); returns its id.
pub fn add_avoiding(
    tx: &mut Tx<'_>,
    domain_id: &str,
    busy: &HashSet<Ipv4Addr>,
) -> ApiResult<String> {
    let d = tx.st().domain_ready(domain_id)?;
    let dc = d.datacenter_id.clone();
    let used: HashSet<Ipv4Addr> = tx.st().ip_blocks.values().map(|b| b.base_ip).collect();
    let start = start_slot(&tx.st().org_id);
    let base = (0..SLOTS - 1)
        .map(|i| 1 + (start - 1 + i) % (SLOTS - 1))
        .map(|k| Ipv4Addr::from(u32::from(PUBLIC_BASE) + k * BLOCK_SIZE))
        .find(|a| {
            !used.contains(a)
                && (0..BLOCK_SIZE).all(|i| !busy.contains(&Ipv4Addr::from(u32::from(*a) + i)))
        })
        .ok_or_else(|| ApiError::new(Code::OutOfResources, "No public IPv4 block is available."))?;
    let id = new_id();
    let b = PublicIpBlock {
        id: id.clone(),
        domain_id: domain_id.to_string(),
        datacenter_id: dc,
        base_ip: base,
        size: BLOCK_SIZE,
        create_ms: tx.now,
        state: ResourceState::Normal,
    };
    tx.put(Resource::IpBlock(b));
    Ok(id)
}

/// Removes a block; refused while NAT rules or virtual listeners use its addresses.
pub fn remove(tx: &mut Tx<'_>, id: &str) -> ApiResult<()> {
    let b = tx
        .st()
        .ip_blocks
        .get(id)
        .ok_or_else(|| ApiError::not_found("Public IP Block", id))?;
    tx.st().domain_ready(&b.domain_id)?;
    let n = tx
        .st()
        .nat_rules
        .values()
        .filter(|r| b.contains(r.external))
        .count();
    let l = tx
        .st()
        .listeners
        .values()
        .filter(|l| b.contains(l.ip))
        .count();
    if n + l > 0 {
        return Err(ApiError::new(
            Code::HasDependency,
            format!("Public IP Block {id} is used by {n} NAT rule(s) and {l} virtual listener(s)."),
        ));
    }
    tx.del(Kind::IpBlock, id);
    Ok(())
}
