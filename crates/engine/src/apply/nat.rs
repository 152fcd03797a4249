//! NAT rules, applied: a CreateNat step takes a free public address of the domain (observing by
//! internal address before creating again, so a lost answer never makes two rules); a DeleteNat
//! step deletes the rule.

use cloud::{CloudResult, ErrorCode};

use super::context::{ExecContext, missing};
use super::converge::{CREATE_ATTEMPTS, gone_ok};

/// Records `ext` as the public address of `node` (and no longer free).
fn record(ctx: &ExecContext, domain: &str, node: &str, ext: String, taken_from_pool: bool) {
    let mut r = ctx.reg();
    if let Some(d) = r.domain_mut(domain) {
        if taken_from_pool {
            d.free_ips.retain(|a| *a != ext);
        }
        d.public_ips.insert(node.to_string(), ext);
    }
}

/// CreateNat: NATs a free public address of the domain (or one the API picks) to the node's
/// private address.
pub(super) async fn create(ctx: &ExecContext, domain: &str, node: &str) -> CloudResult<()> {
    let c = &ctx.client;
    let domain_id = ctx.domain_id(domain)?;
    let facts = ctx.server(domain, node)?;
    let internal = facts
        .private_ipv4
        .clone()
        .ok_or_else(|| missing(format!("private address of {node}")))?;
    let did = domain_id.as_str();
    let internal_ref = internal.as_str();
    let find = || async move {
        let rules = c.list_nat_rules(did).await?;
        Ok(rules
            .into_iter()
            .find(|n| n.internal_ip.trim() == internal_ref))
    };
    let mut last = None;
    for attempt in 0..CREATE_ATTEMPTS {
        if attempt > 0
            && let Some(rule) = find().await?
        {
            record(ctx, domain, node, rule.external_ip.trim().to_string(), true);
            return Ok(());
        }
        let external = ctx
            .reg()
            .domain_mut(domain)
            .and_then(|d| d.free_ips.pop_front());
        match c.create_nat_rule(did, &internal, external.as_deref()).await {
            Ok(id) => {
                let ext = match external {
                    Some(e) => e,
                    None => c
                        .get_nat_rule(&id)
                        .await?
                        .map(|n| n.external_ip.trim().to_string())
                        .ok_or_else(|| missing(format!("NAT rule {id}")))?,
                };
                record(ctx, domain, node, ext, false);
                return Ok(());
            }
            Err(e) if e.is_ambiguous() => {
                // The address may be taken now or not: it goes back to the end of the pool, and the
                // observation above decides whether the rule exists.
                if let Some(ext) = external
                    && let Some(d) = ctx.reg().domain_mut(domain)
                {
                    d.free_ips.push_back(ext);
                }
                last = Some(e);
            }
            Err(e)
                if e.has_code(ErrorCode::IpAddressNotUnique)
                    || e.has_code(ErrorCode::ResourceAlreadyExists) =>
            {
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| missing(format!("NAT rule for {node}"))))
}

/// DeleteNat: deletes the rule (done when gone already); the node has no public address then.
pub(super) async fn delete(
    ctx: &ExecContext,
    domain: &str,
    node: &str,
    id: &str,
) -> CloudResult<()> {
    gone_ok(ctx.client.delete_nat_rule(id).await)?;
    if let Some(d) = ctx.reg().domain_mut(domain) {
        d.public_ips.remove(node);
    }
    Ok(())
}
