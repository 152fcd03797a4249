//! Firewall rule rules: client rules created (answer OK, PENDING_ADD for a moment), edited (enabled)
//! and deleted, kept in evaluation order per domain, and a domain's rules for the backend.

use std::net::Ipv4Addr;

use super::data::{CreateRule, FirewallRule, ORDER_GAP, Placement, Scope};
use crate::backend::FirewallRuleSpec;
use crate::errors::{ApiError, ApiResult, Code};
use crate::models::common::{Kind, ResourceState, new_id};
use crate::models::state::{Resource, State, Tx};
use crate::ops::OpKind;

/// The rules of a domain in evaluation order.
pub fn ordered<'a>(st: &'a State, domain_id: &str) -> Vec<&'a FirewallRule> {
    let mut rules: Vec<&FirewallRule> = st
        .firewall_rules
        .values()
        .filter(|r| r.domain_id == domain_id)
        .collect();
    rules.sort_by_key(|r| (r.order, r.create_ms));
    rules
}

/// The IPv4 rules of a domain in evaluation order, for the backend.
pub fn specs(st: &State, domain_id: &str) -> Vec<FirewallRuleSpec> {
    ordered(st, domain_id)
        .into_iter()
        .filter_map(|r| r.spec())
        .collect()
}

/// An order key between `before` and `after` (the keys of the rules a new one goes between),
/// `None` when they leave no room.
fn key_between(before: Option<i64>, after: Option<i64>) -> Option<i64> {
    match (before, after) {
        (None, None) => Some(ORDER_GAP),
        (Some(b), None) => b.checked_add(ORDER_GAP),
        (None, Some(a)) => a.checked_sub(ORDER_GAP),
        (Some(b), Some(a)) if a - b >= 2 => Some(b + (a - b) / 2),
        _ => None,
    }
}

/// Spreads the keys of a domain's `rules` (in evaluation order) `ORDER_GAP` apart again, when
/// rules placed between the same two used up the room between them.
fn renumber(tx: &mut Tx<'_>, rules: &[String]) {
    for (i, id) in rules.iter().enumerate() {
        if let Some(r) = tx.st().firewall_rules.get(id) {
            let mut r = r.clone();
            r.order = (i as i64 + 1) * ORDER_GAP;
            tx.put(Resource::Firewall(r));
        }
    }
}

/// The order key of a new rule placed at index `at` of the domain's rules (ids in evaluation
/// order), renumbering the rules when there is no room there.
fn order_at(tx: &mut Tx<'_>, rules: &[String], at: usize) -> i64 {
    let key = |tx: &Tx<'_>, i: Option<usize>| {
        i.and_then(|i| rules.get(i))
            .and_then(|id| tx.st().firewall_rules.get(id))
            .map(|r| r.order)
    };
    let between = |tx: &Tx<'_>| key_between(key(tx, at.checked_sub(1)), key(tx, Some(at)));
    if let Some(k) = between(tx) {
        return k;
    }
    renumber(tx, rules);
    between(tx).expect("renumbered keys leave room between every two rules")
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

/// Refuses a client rule name that is not 1..60 letters, digits, '.', '_' or '-', or is reserved.
fn check_rule_name(name: &str) -> ApiResult<()> {
    let name_ok = !name.is_empty()
        && name.len() <= 60
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !name_ok {
        return Err(ApiError::invalid(
            "name",
            "must be 1..60 letters, digits, '.', '_' or '-'",
        ));
    }
    if name.to_ascii_uppercase().starts_with("CCDEFAULT.") {
        return Err(ApiError::invalid(
            "name",
            "the CCDEFAULT. prefix is reserved",
        ));
    }
    Ok(())
}

/// `value` in upper case when it is one of `choices` (named `said` in the message), else refused.
fn one_of(field: &str, value: &str, choices: &[&str], said: &str) -> ApiResult<String> {
    let upper = value.to_ascii_uppercase();
    if !choices.contains(&upper.as_str()) {
        return Err(ApiError::invalid(field, format!("'{value}' is not {said}")));
    }
    Ok(upper)
}

/// The ids of the domain's rules in evaluation order and the index where the new rule goes;
/// refused when its name is taken or the rule it is placed relative to is missing.
fn insertion_point(st: &State, req: &CreateRule) -> ApiResult<(Vec<String>, usize)> {
    let rules = ordered(st, &req.domain_id);
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
    let ids: Vec<String> = rules.iter().map(|r| r.id.clone()).collect();
    Ok((ids, at))
}

/// Creates a client rule; returns its id.
pub fn create(tx: &mut Tx<'_>, req: CreateRule) -> ApiResult<String> {
    check_rule_name(&req.name)?;
    let action = one_of(
        "action",
        &req.action,
        &["ACCEPT_DECISIVELY", "DROP"],
        "ACCEPT_DECISIVELY or DROP",
    )?;
    let ip_version = one_of(
        "ipVersion",
        &req.ip_version,
        &["IPV4", "IPV6"],
        "IPV4 or IPV6",
    )?;
    let protocol = one_of(
        "protocol",
        &req.protocol,
        &["IP", "TCP", "UDP", "ICMP"],
        "IP, TCP, UDP or ICMP",
    )?;
    check_scope("source", &req.source, ip_version == "IPV4", &protocol)?;
    check_scope(
        "destination",
        &req.destination,
        ip_version == "IPV4",
        &protocol,
    )?;
    let datacenter_id = tx.st().domain_ready(&req.domain_id)?.datacenter_id.clone();
    let (ids, at) = insertion_point(tx.st(), &req)?;
    let order = order_at(tx, &ids, at);
    let id = new_id();
    let pending = tx.pending(Kind::Firewall, &id, OpKind::CreateFirewallRule);
    tx.put(Resource::Firewall(FirewallRule {
        id: id.clone(),
        domain_id: req.domain_id.clone(),
        datacenter_id,
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
        order,
    }));
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
    tx.st().domain_ready(&r.domain_id)?;
    tx.del(Kind::Firewall, id);
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
