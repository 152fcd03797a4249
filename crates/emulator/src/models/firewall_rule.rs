//! Firewall rules: the CCDEFAULT.* rules every domain starts with, client rules created (answer OK,
//! PENDING_ADD for a moment), edited (enabled) and deleted, kept in evaluation order per domain.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::{Kind, Pending, Resource, ResourceState, State, Tx};
use crate::backend::FirewallRuleSpec;
use crate::errors::{ApiError, ApiResult, Code};
use crate::ops::OpKind;

/// An address side of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Scope {
    /// `None` or `Some("ANY")` for any address; else an IP address.
    pub address: Option<String>,
    /// Prefix size when the address is a network.
    pub prefix: Option<u8>,
    /// An IP address list id instead of an address.
    pub ip_address_list_id: Option<String>,
    /// Port range (`end` `None` for a single port).
    pub port: Option<(u16, Option<u16>)>,
    /// A port list id instead of a port.
    pub port_list_id: Option<String>,
}

impl Scope {
    fn any() -> Scope {
        Scope {
            address: Some("ANY".into()),
            ..Scope::default()
        }
    }
    fn any_port(port: u16) -> Scope {
        Scope {
            address: Some("ANY".into()),
            port: Some((port, None)),
            ..Scope::default()
        }
    }
}

/// A firewall rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirewallRule {
    /// Id.
    pub id: String,
    /// Network domain id.
    pub domain_id: String,
    /// Datacenter id.
    pub datacenter_id: String,
    /// `DEFAULT_RULE` or `CLIENT_RULE`.
    pub rule_type: String,
    /// Name, unique in the domain.
    pub name: String,
    /// `ACCEPT_DECISIVELY` or `DROP`.
    pub action: String,
    /// `IPV4` or `IPV6`.
    pub ip_version: String,
    /// `IP`, `TCP`, `UDP` or `ICMP`.
    pub protocol: String,
    /// Source.
    pub source: Scope,
    /// Destination.
    pub destination: Scope,
    /// Enabled.
    pub enabled: bool,
    /// Creation time (ms).
    pub create_ms: i64,
    /// State.
    pub state: ResourceState,
    /// Operation under way.
    pub pending: Option<Pending>,
}

impl FirewallRule {
    /// Whether this is one of the CCDEFAULT.* rules.
    pub fn is_default(&self) -> bool {
        self.rule_type == "DEFAULT_RULE"
    }

    /// The backend's view of an IPv4 rule (`None` for IPv6 rules).
    pub fn spec(&self) -> Option<FirewallRuleSpec> {
        if self.ip_version != "IPV4" {
            return None;
        }
        let d = &self.destination;
        let dest_ip = d
            .address
            .as_deref()
            .filter(|a| *a != "ANY")
            .and_then(|a| a.parse::<Ipv4Addr>().ok());
        Some(FirewallRuleSpec {
            id: self.id.clone(),
            accept: self.action == "ACCEPT_DECISIVELY",
            enabled: self.enabled,
            protocol: self.protocol.clone(),
            dest_ip,
            dest_prefix: if dest_ip.is_some() { d.prefix } else { None },
            dest_ports: d.port.map(|(b, e)| (b, e.unwrap_or(b))),
        })
    }
}

/// The IPv4 rules of a domain in evaluation order, for the backend.
pub fn specs(st: &State, domain_id: &str) -> Vec<FirewallRuleSpec> {
    let Some(d) = st.domains.get(domain_id) else {
        return Vec::new();
    };
    d.firewall_order
        .iter()
        .filter_map(|id| st.firewall_rules.get(id))
        .filter_map(|r| r.spec())
        .collect()
}

/// The CCDEFAULT.* rules of a new domain.
pub fn default_rules(domain_id: &str, dc: &str, now: i64) -> Vec<FirewallRule> {
    let rule = |name: &str, ipv: &str, protocol: &str, dest: Scope| FirewallRule {
        id: super::new_id(),
        domain_id: domain_id.to_string(),
        datacenter_id: dc.to_string(),
        rule_type: "DEFAULT_RULE".into(),
        name: name.into(),
        action: "DROP".into(),
        ip_version: ipv.into(),
        protocol: protocol.into(),
        source: Scope::any(),
        destination: dest,
        enabled: true,
        create_ms: now,
        state: ResourceState::Normal,
        pending: None,
    };
    vec![
        rule(
            "CCDEFAULT.BlockOutboundMailIPv4",
            "IPV4",
            "TCP",
            Scope::any_port(25),
        ),
        rule(
            "CCDEFAULT.BlockOutboundMailIPv4Secure",
            "IPV4",
            "TCP",
            Scope::any_port(587),
        ),
        rule(
            "CCDEFAULT.BlockOutboundMailIPv6",
            "IPV6",
            "TCP",
            Scope::any_port(25),
        ),
        rule(
            "CCDEFAULT.BlockOutboundMailIPv6Secure",
            "IPV6",
            "TCP",
            Scope::any_port(587),
        ),
        rule(
            "CCDEFAULT.DenyExternalInboundIPv6",
            "IPV6",
            "IP",
            Scope::any(),
        ),
    ]
}

/// Where a new rule goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// First client rule.
    First,
    /// Last rule.
    Last,
    /// Before the named rule.
    Before(String),
    /// After the named rule.
    After(String),
}

/// What a create asks for.
#[derive(Debug, Clone)]
pub struct CreateRule {
    /// Network domain id.
    pub domain_id: String,
    /// Name.
    pub name: String,
    /// Action.
    pub action: String,
    /// IP version.
    pub ip_version: String,
    /// Protocol.
    pub protocol: String,
    /// Source.
    pub source: Scope,
    /// Destination.
    pub destination: Scope,
    /// Enabled.
    pub enabled: bool,
    /// Placement.
    pub placement: Placement,
}

fn check_scope(field: &str, s: &Scope, ipv4: bool, protocol: &str) -> ApiResult<()> {
    if let Some(a) = s.address.as_deref().filter(|a| *a != "ANY") {
        let ok = if ipv4 {
            a.parse::<Ipv4Addr>().is_ok()
        } else {
            a.parse::<std::net::Ipv6Addr>().is_ok()
        };
        if !ok {
            return Err(ApiError::invalid(
                &format!("{field}.ip.address"),
                format!("'{a}' is not an address of this IP version"),
            ));
        }
        let max = if ipv4 { 32 } else { 128 };
        if s.prefix.is_some_and(|p| p > max) {
            return Err(ApiError::invalid(
                &format!("{field}.ip.prefixSize"),
                format!("must be at most {max}"),
            ));
        }
    }
    if let Some((b, e)) = s.port {
        if protocol != "TCP" && protocol != "UDP" {
            return Err(ApiError::invalid(
                &format!("{field}.port"),
                format!("ports need protocol TCP or UDP, not {protocol}"),
            ));
        }
        if b == 0 || e.is_some_and(|e| e < b) {
            return Err(ApiError::invalid(
                &format!("{field}.port"),
                "must be 1..65535 with end >= begin",
            ));
        }
    }
    Ok(())
}

fn busy(r: &FirewallRule) -> ApiResult<()> {
    if r.state.is_pending() {
        return Err(ApiError::busy(format!(
            "Firewall Rule '{}' is busy ({}).",
            r.name,
            r.state.as_str()
        )));
    }
    Ok(())
}

/// Creates a client rule; returns its id.
pub fn create(tx: &mut Tx<'_>, req: CreateRule) -> ApiResult<String> {
    let name_ok = !req.name.is_empty()
        && req.name.len() <= 60
        && req
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !name_ok {
        return Err(ApiError::invalid(
            "name",
            "must be 1..60 letters, digits, '.', '_' or '-'",
        ));
    }
    if req.name.to_ascii_uppercase().starts_with("CCDEFAULT.") {
        return Err(ApiError::invalid(
            "name",
            "the CCDEFAULT. prefix is reserved",
        ));
    }
    let action = req.action.to_ascii_uppercase();
    if action != "ACCEPT_DECISIVELY" && action != "DROP" {
        return Err(ApiError::invalid(
            "action",
            format!("'{}' is not ACCEPT_DECISIVELY or DROP", req.action),
        ));
    }
    let ip_version = req.ip_version.to_ascii_uppercase();
    if ip_version != "IPV4" && ip_version != "IPV6" {
        return Err(ApiError::invalid(
            "ipVersion",
            format!("'{}' is not IPV4 or IPV6", req.ip_version),
        ));
    }
    let protocol = req.protocol.to_ascii_uppercase();
    if !["IP", "TCP", "UDP", "ICMP"].contains(&protocol.as_str()) {
        return Err(ApiError::invalid(
            "protocol",
            format!("'{}' is not IP, TCP, UDP or ICMP", req.protocol),
        ));
    }
    check_scope("source", &req.source, ip_version == "IPV4", &protocol)?;
    check_scope(
        "destination",
        &req.destination,
        ip_version == "IPV4",
        &protocol,
    )?;
    let d = tx.st().domain_ready(&req.domain_id)?.clone();
    let st = tx.st();
    let rules: Vec<&FirewallRule> = d
        .firewall_order
        .iter()
        .filter_map(|id| st.firewall_rules.get(id))
        .collect();
    if rules.iter().any(|r| r.name == req.name) {
        return Err(ApiError::new(
            Code::NameNotUnique,
            format!(
                "A Firewall Rule named '{}' already exists in this Network Domain.",
                req.name
            ),
        ));
    }
    let first_client = rules
        .iter()
        .position(|r| !r.is_default())
        .unwrap_or(rules.len());
    let find = |name: &str| {
        rules.iter().position(|r| r.name == name).ok_or_else(|| {
            ApiError::invalid(
                "placement.relativeToRule",
                format!("no rule named '{name}' in this Network Domain"),
            )
        })
    };
    let at = match &req.placement {
        Placement::First => first_client,
        Placement::Last => rules.len(),
        Placement::Before(n) => find(n)?.max(first_client),
        Placement::After(n) => (find(n)? + 1).max(first_client),
    };
    let id = super::new_id();
    let pending = tx.pending(Kind::Firewall, &id, OpKind::CreateFirewallRule);
    let mut d = d;
    d.firewall_order.insert(at, id.clone());
    tx.put(Resource::Firewall(FirewallRule {
        id: id.clone(),
        domain_id: req.domain_id.clone(),
        datacenter_id: d.datacenter_id.clone(),
        rule_type: "CLIENT_RULE".into(),
        name: req.name,
        action,
        ip_version,
        protocol,
        source: req.source,
        destination: req.destination,
        enabled: req.enabled,
        create_ms: tx.now,
        state: ResourceState::PendingAdd,
        pending: Some(pending),
    }));
    tx.put(Resource::Domain(d));
    tx.public_changed(&req.domain_id);
    Ok(id)
}

/// Enables or disables a rule. Default rules (`CCDEFAULT.*`) can be switched too, as the original
/// plumbery does with `CCDEFAULT.DenyExternalInboundIPv6`; they cannot be deleted.
pub fn edit(tx: &mut Tx<'_>, id: &str, enabled: bool) -> ApiResult<()> {
    let mut r = tx
        .st()
        .firewall_rules
        .get(id)
        .ok_or_else(|| ApiError::not_found("Firewall Rule", id))?
        .clone();
    busy(&r)?;
    tx.st().domain_ready(&r.domain_id)?;
    r.enabled = enabled;
    let domain_id = r.domain_id.clone();
    tx.put(Resource::Firewall(r));
    tx.public_changed(&domain_id);
    Ok(())
}

/// Deletes a client rule.
pub fn delete(tx: &mut Tx<'_>, id: &str) -> ApiResult<()> {
    let r = tx
        .st()
        .firewall_rules
        .get(id)
        .ok_or_else(|| ApiError::not_found("Firewall Rule", id))?
        .clone();
    if r.is_default() {
        return Err(ApiError::new(
            Code::OperationNotSupported,
            format!("Default rule '{}' cannot be deleted.", r.name),
        ));
    }
    busy(&r)?;
    let mut d = tx.st().domain_ready(&r.domain_id)?.clone();
    d.firewall_order.retain(|x| x != id);
    tx.del(Kind::Firewall, id);
    tx.put(Resource::Domain(d));
    tx.public_changed(&r.domain_id);
    Ok(())
}

/// Ends a new rule's PENDING_ADD.
pub fn complete(tx: &mut Tx<'_>, id: &str, seq: u64, _outcome: Result<(), String>) {
    let Some(r) = tx.st().firewall_rules.get(id) else {
        return;
    };
    if r.pending.is_none_or(|p| p.seq != seq) {
        return;
    }
    let mut r = r.clone();
    r.pending = None;
    r.state = ResourceState::Normal;
    tx.put(Resource::Firewall(r));
}
