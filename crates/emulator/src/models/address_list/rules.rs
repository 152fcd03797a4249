//! IP address list and port list rules (synchronous): create (names unique per domain and kind,
//! entries checked, children of the same domain and kind), edit (description, entries and children
//! replaced), delete (HAS_DEPENDENCY while a firewall rule or another list uses it).

use std::net::IpAddr;

use super::data::{AddressList, Entries};
use crate::errors::{ApiError, ApiResult, Code};
use crate::models::common::{Kind, ResourceState, check_description, check_name, new_id};
use crate::models::state::{Resource, State, Tx};

fn label(port: bool) -> &'static str {
    if port { "Port List" } else { "IP Address List" }
}

fn check_entries(e: &Entries) -> ApiResult<()> {
    match e {
        Entries::Ip(version, list) => {
            let v6 = match version.as_str() {
                "IPV4" => false,
                "IPV6" => true,
                v => {
                    return Err(ApiError::invalid(
                        "ipVersion",
                        format!("'{v}' is not IPV4 or IPV6"),
                    ));
                }
            };
            for x in list {
                for a in std::iter::once(&x.begin).chain(x.end.as_ref()) {
                    match a.trim().parse::<IpAddr>() {
                        Ok(ip) if ip.is_ipv6() == v6 => {}
                        _ => {
                            return Err(ApiError::invalid(
                                "ipAddress",
                                format!("'{a}' is not an {version} address"),
                            ));
                        }
                    }
                }
                if x.prefix.is_some_and(|p| p > if v6 { 128 } else { 32 }) {
                    return Err(ApiError::invalid("ipAddress.prefixSize", "out of range"));
                }
            }
        }
        Entries::Port(list) => {
            for p in list {
                if p.begin == 0 || p.end.is_some_and(|e| e < p.begin) {
                    return Err(ApiError::invalid(
                        "port",
                        format!("{}..{:?} is not a port range", p.begin, p.end),
                    ));
                }
            }
        }
    }
    Ok(())
}

fn check_children(st: &State, l: &AddressList) -> ApiResult<()> {
    let field = if l.is_port_list() {
        "childPortListId"
    } else {
        "childIpAddressListId"
    };
    for c in &l.children {
        let ok = st.address_lists.get(c).is_some_and(|x| {
            x.domain_id == l.domain_id
                && x.is_port_list() == l.is_port_list()
                && x.ip_version() == l.ip_version()
                && x.id != l.id
        });
        if !ok {
            return Err(ApiError::invalid(
                field,
                format!(
                    "{c} is not a {} of this Network Domain",
                    label(l.is_port_list())
                ),
            ));
        }
    }
    Ok(())
}

/// Creates a list; returns its id.
pub fn create(
    tx: &mut Tx<'_>,
    domain_id: &str,
    name: &str,
    description: &str,
    entries: Entries,
    children: Vec<String>,
) -> ApiResult<String> {
    check_name("name", name)?;
    check_description("description", description)?;
    tx.st().domain_ready(domain_id)?;
    check_entries(&entries)?;
    let l = AddressList {
        id: new_id(),
        domain_id: domain_id.to_string(),
        name: name.to_string(),
        description: description.to_string(),
        entries,
        children,
        create_ms: tx.now,
        state: ResourceState::Normal,
    };
    let port = l.is_port_list();
    if tx
        .st()
        .address_lists
        .values()
        .any(|x| x.domain_id == domain_id && x.name == name && x.is_port_list() == port)
    {
        return Err(ApiError::new(
            Code::NameNotUnique,
            format!(
                "A {} named '{name}' already exists in this Network Domain.",
                label(port)
            ),
        ));
    }
    if l.entries == Entries::Port(Vec::new()) && l.children.is_empty() {
        return Err(ApiError::invalid(
            "port",
            "at least one port or child list is required",
        ));
    }
    check_children(tx.st(), &l)?;
    let id = l.id.clone();
    tx.put(Resource::AddressList(l));
    Ok(id)
}

/// The list `id` of the kind asked for, or RESOURCE_NOT_FOUND.
pub fn get<'s>(st: &'s State, id: &str, port: bool) -> ApiResult<&'s AddressList> {
    st.address_lists
        .get(id)
        .filter(|l| l.is_port_list() == port)
        .ok_or_else(|| ApiError::not_found(label(port), id))
}

/// Replaces the description (when given), entries and children of a list; returns its name.
pub fn edit(
    tx: &mut Tx<'_>,
    id: &str,
    port: bool,
    description: Option<String>,
    entries: Option<Entries>,
    children: Vec<String>,
) -> ApiResult<String> {
    let mut l = get(tx.st(), id, port)?.clone();
    if let Some(d) = description {
        check_description("description", &d)?;
        l.description = d;
    }
    if let Some(e) = entries {
        let e = match (e, &l.entries) {
            (Entries::Ip(_, list), Entries::Ip(v, _)) => Entries::Ip(v.clone(), list),
            (e, _) => e,
        };
        check_entries(&e)?;
        l.entries = e;
    }
    l.children = children;
    check_children(tx.st(), &l)?;
    let name = l.name.clone();
    tx.put(Resource::AddressList(l));
    Ok(name)
}

/// Deletes a list; HAS_DEPENDENCY while a firewall rule or another list uses it.
pub fn delete(tx: &mut Tx<'_>, id: &str, port: bool) -> ApiResult<()> {
    get(tx.st(), id, port)?;
    let st = tx.st();
    let rules = st
        .firewall_rules
        .values()
        .filter(|r| {
            [&r.source, &r.destination].iter().any(|s| {
                s.ip_address_list_id.as_deref() == Some(id) || s.port_list_id.as_deref() == Some(id)
            })
        })
        .count();
    let parents = st
        .address_lists
        .values()
        .filter(|l| l.children.iter().any(|c| c == id))
        .count();
    if rules + parents > 0 {
        return Err(ApiError::new(
            Code::HasDependency,
            format!(
                "{} {id} is used by {rules} firewall rule(s) and {parents} other list(s).",
                label(port)
            ),
        ));
    }
    tx.del(Kind::AddressList, id);
    Ok(())
}
