//! Firewall rules, applied: a rule opening a node's port on its public address; a rule accepting a
//! VLAN's traffic (ranges of this domain's VLANs, or of a VLAN of another location looked up when
//! the step runs); disabling a default rule; deleting a rule. Creates observe by name before
//! creating again.

use cloud::{
    CloudClient, CloudResult, FirewallIp, FirewallPort, FirewallScope, NewFirewallRule, Placement,
};

use super::context::{ExecContext, missing};
use super::converge::{gone_ok, observe_or_create};

/// Creates the rule `req` in domain `domain_id` unless an earlier attempt did.
async fn create_rule(c: &CloudClient, domain_id: &str, req: &NewFirewallRule) -> CloudResult<()> {
    let name = req.name.as_str();
    observe_or_create(
        name,
        || async move {
            let rules = c.list_firewall_rules(domain_id).await?;
            Ok(rules.into_iter().find(|r| r.name == name).map(|r| r.id))
        },
        || c.create_firewall_rule(req),
    )
    .await
    .map(drop)
}

/// CreateFirewallRule: opens `protocol` ports `begin..=end` of the public address of `node`.
pub(super) async fn create_port_rule(
    ctx: &ExecContext,
    domain: &str,
    node: &str,
    rule: &str,
    protocol: &str,
    ports: (Option<u16>, Option<u16>),
) -> CloudResult<()> {
    let domain_id = ctx.domain_id(domain)?;
    let external = ctx
        .reg()
        .domain(domain)
        .and_then(|d| d.public_ips.get(node))
        .cloned()
        .ok_or_else(|| missing(format!("public address of {node}")))?;
    let (begin, end) = ports;
    let req = NewFirewallRule {
        network_domain_id: domain_id.clone(),
        name: rule.to_string(),
        action: "ACCEPT_DECISIVELY".into(),
        ip_version: "IPV4".into(),
        protocol: protocol.to_string(),
        source: FirewallScope::default(),
        destination: FirewallScope {
            ip: Some(FirewallIp {
                address: external,
                prefix_size: None,
            }),
            port: begin.map(|b| FirewallPort { begin: b, end }),
            ..FirewallScope::default()
        },
        enabled: true,
        placement: Placement::Last,
    };
    create_rule(&ctx.client, &domain_id, &req).await
}

/// What a CreateAcceptRule step asks for.
pub(super) struct Accept<'a> {
    /// Domain name.
    pub domain: &'a str,
    /// Rule name.
    pub rule: &'a str,
    /// Source VLAN name.
    pub from_vlan: &'a str,
    /// Destination VLAN name.
    pub to_vlan: &'a str,
    /// IPv6 ranges instead of IPv4.
    pub ipv6: bool,
    /// Location of a source VLAN in another location.
    pub from_location: Option<&'a str>,
    /// Region of that location.
    pub from_region: Option<&'a str>,
}

/// The range of this domain's VLAN `v` (IPv6 read from the API, IPv4 from the registry).
async fn local_range(
    ctx: &ExecContext,
    domain: &str,
    v: &str,
    ipv6: bool,
) -> CloudResult<FirewallIp> {
    let facts = ctx.vlan(domain, v)?;
    if !ipv6 {
        return Ok(FirewallIp {
            address: facts.base,
            prefix_size: Some(facts.prefix),
        });
    }
    let vlan = ctx
        .client
        .get_vlan(&facts.id)
        .await?
        .ok_or_else(|| missing(format!("VLAN {v}")))?;
    let r = vlan
        .ipv6_range
        .ok_or_else(|| missing(format!("IPv6 range of VLAN {v}")))?;
    Ok(FirewallIp::from(r))
}

/// CreateAcceptRule: accepts all traffic from one VLAN to another. A source VLAN of another
/// location that does not exist leaves the rule out (a line says so).
pub(super) async fn create_accept_rule(ctx: &ExecContext, a: Accept<'_>) -> CloudResult<()> {
    let domain_id = ctx.domain_id(a.domain)?;
    let from = match a.from_location {
        Some(loc) => match ctx
            .remotes
            .vlan_ipv6(loc, a.from_region, a.from_vlan)
            .await?
        {
            Some(r) => r,
            None => {
                ctx.progress.line(
                    &ctx.location_id,
                    &format!(
                        "{} not created: no VLAN {} in {loc} (deploy it first, then run again)",
                        a.rule, a.from_vlan
                    ),
                );
                return Ok(());
            }
        },
        None => local_range(ctx, a.domain, a.from_vlan, a.ipv6).await?,
    };
    let to = local_range(ctx, a.domain, a.to_vlan, a.ipv6).await?;
    let req = NewFirewallRule {
        network_domain_id: domain_id.clone(),
        name: a.rule.to_string(),
        action: "ACCEPT_DECISIVELY".into(),
        ip_version: if a.ipv6 { "IPV6" } else { "IPV4" }.into(),
        protocol: "IP".into(),
        source: FirewallScope {
            ip: Some(from),
            ..FirewallScope::default()
        },
        destination: FirewallScope {
            ip: Some(to),
            ..FirewallScope::default()
        },
        enabled: true,
        placement: Placement::Last,
    };
    create_rule(&ctx.client, &domain_id, &req).await
}

/// DisableDefaultRule: disables the rule when it is enabled; an API that does not let it change
/// keeps it (a line says so).
pub(super) async fn disable_default_rule(
    ctx: &ExecContext,
    domain: &str,
    rule: &str,
) -> CloudResult<()> {
    let c = &ctx.client;
    let domain_id = ctx.domain_id(domain)?;
    let rules = c.list_firewall_rules(&domain_id).await?;
    match rules.into_iter().find(|r| r.name == rule) {
        Some(r) if r.enabled => match c.edit_firewall_rule(&r.id, false).await {
            Err(e) if e.has_code(cloud::ErrorCode::OperationNotSupported) => {
                ctx.progress.line(
                    &ctx.location_id,
                    &format!("{rule} kept: the API does not let it change ({e})"),
                );
                Ok(())
            }
            other => other,
        },
        _ => Ok(()),
    }
}

/// DeleteFirewallRule: deletes the rule (done when gone already).
pub(super) async fn delete(ctx: &ExecContext, id: &str) -> CloudResult<()> {
    gone_ok(ctx.client.delete_firewall_rule(id).await)
}
