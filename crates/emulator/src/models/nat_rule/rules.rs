//! NAT rule rules: create and delete (synchronous; they change what the backend exposes), and the
//! public address of a private one.

use std::net::Ipv4Addr;

use super::data::NatRule;
use crate::errors::{ApiError, ApiResult, Code};
use crate::models::common::{Kind, ResourceState, new_id};
use crate::models::public_ip_block::rules::free_addresses;
use crate::models::state::{Resource, State, Tx};

fn parse_ip(field: &str, s: &str) -> ApiResult<Ipv4Addr> {
    s.trim()
        .parse()
        .map_err(|_| ApiError::invalid(field, format!("'{s}' is not an IPv4 address")))
}

/// Creates a NAT rule; `external` `None` takes the domain's next free public address.
pub fn create(
    tx: &mut Tx<'_>,
    domain_id: &str,
    internal: &str,
    external: Option<&str>,
) -> ApiResult<String> {
    let internal = parse_ip("internalIp", internal)?;
    let external = external.map(|e| parse_ip("externalIp", e)).transpose()?;
    let d = tx.st().domain_ready(domain_id)?;
    let dc = d.datacenter_id.clone();
    let st = tx.st();
    if !st
        .vlans
        .values()
        .any(|v| v.domain_id == domain_id && v.network.contains(&internal))
    {
        return Err(ApiError::invalid(
            "internalIp",
            format!("{internal} is not in a VLAN of Network Domain {domain_id}"),
        ));
    }
    if st
        .nat_rules
        .values()
        .any(|r| r.domain_id == domain_id && r.internal == internal)
    {
        return Err(ApiError::new(
            Code::IpAddressNotUnique,
            format!("internalIp {internal} already has a NAT rule."),
        ));
    }
    let external = match external {
        Some(e) => {
            if !st
                .ip_blocks
                .values()
                .any(|b| b.domain_id == domain_id && b.contains(e))
            {
                return Err(ApiError::invalid(
                    "externalIp",
                    format!("{e} is not in a public IP block of Network Domain {domain_id}"),
                ));
            }
            if st.nat_rules.values().any(|r| r.external == e)
                || st.listeners.values().any(|l| l.ip == e)
            {
                return Err(ApiError::new(
                    Code::IpAddressNotUnique,
                    format!("externalIp {e} is already used by a NAT rule."),
                ));
            }
            e
        }
        None => *free_addresses(st, domain_id).first().ok_or_else(|| {
            ApiError::new(
                Code::NoIpAddressAvailable,
                format!("No public IPv4 address is available in Network Domain {domain_id}."),
            )
        })?,
    };
    let id = new_id();
    tx.put(Resource::Nat(NatRule {
        id: id.clone(),
        domain_id: domain_id.to_string(),
        datacenter_id: dc,
        internal,
        external,
        create_ms: tx.now,
        state: ResourceState::Normal,
    }));
    tx.public_changed(domain_id);
    Ok(id)
}

/// Deletes a NAT rule.
pub fn delete(tx: &mut Tx<'_>, id: &str) -> ApiResult<()> {
    let r = tx
        .st()
        .nat_rules
        .get(id)
        .ok_or_else(|| ApiError::not_found("NAT rule", id))?;
    let domain_id = r.domain_id.clone();
    tx.st().domain_ready(&domain_id)?;
    tx.del(Kind::Nat, id);
    tx.public_changed(&domain_id);
    Ok(())
}

/// The public address (NAT external) of private address `ip`, if a NAT rule maps one.
pub fn public_of(st: &State, ip: Ipv4Addr) -> Option<Ipv4Addr> {
    st.nat_rules
        .values()
        .find(|r| r.internal == ip)
        .map(|r| r.external)
}
