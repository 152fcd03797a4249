//! Network domains and their public IP blocks, applied: create (observing before creating again),
//! wait, delete; add a block (adopting one an earlier or a racing run added, keeping the oldest
//! blocks when runs race) and release one.

use std::collections::BTreeSet;

use cloud::{AsyncOp, CloudResult, NewNetworkDomain, PublicIpBlock, Wait};

use super::context::{ExecContext, missing};
use super::converge::{
    age_key, delete_with_dependency_retry, gone_ok, observe_or_create, wait_kind,
};
use super::registry::Doomed;

/// CreateDomain: deploys the domain (unless an earlier attempt did) and waits until it is NORMAL.
pub(super) async fn create_domain(
    ctx: &ExecContext,
    domain: &str,
    description: &str,
    plan: &str,
) -> CloudResult<()> {
    let c = &ctx.client;
    let req = NewNetworkDomain {
        datacenter_id: ctx.location_id.clone(),
        name: domain.to_string(),
        description: Some(description.to_string()),
        plan: plan.to_string(),
    };
    let loc = ctx.location_id.as_str();
    let (id, fresh) = observe_or_create(
        domain,
        || async move {
            let found = c
                .list_network_domains(&[("datacenterId", loc), ("name", domain)])
                .await?;
            Ok(found.into_iter().find(|d| d.name == domain).map(|d| d.id))
        },
        || c.deploy_network_domain(&req),
    )
    .await?;
    ctx.reg().add_domain(domain, id.clone());
    let w = wait_kind(AsyncOp::DeployNetworkDomain, fresh);
    c.wait_network_domain(&id, w).await
}

/// AwaitDomain: waits for a domain found pending.
pub(super) async fn await_domain(ctx: &ExecContext, domain: &str) -> CloudResult<()> {
    let id = ctx.domain_id(domain)?;
    ctx.client
        .wait_network_domain(&id, Wait::resume(AsyncOp::DeployNetworkDomain))
        .await
}

/// DeleteDomain: deletes the domain and waits until it is gone.
pub(super) async fn delete_domain(ctx: &ExecContext, id: &str) -> CloudResult<()> {
    let c = &ctx.client;
    delete_with_dependency_retry(|| c.delete_network_domain(id)).await?;
    c.wait_network_domain(id, Wait::after(AsyncOp::DeleteNetworkDomain))
        .await
}

/// AddIpBlock: adds a public IPv4 block to the domain, its addresses then free for NAT rules.
///
/// Blocks have no name, and runs on other machines may add theirs at the same time: every run
/// keeps the domain's oldest blocks, as many as the plan needs (`block_targets`). A kept block this
/// run does not know of yet is adopted instead of adding one more (the add of an earlier run,
/// cancelled or whose answer was lost, or of a run racing this one); a block this run added that
/// is not among the kept ones is adopted away from and removed once the steps are over.
pub(super) async fn add_ip_block(ctx: &ExecContext, domain: &str) -> CloudResult<()> {
    let c = &ctx.client;
    let domain_id = ctx.domain_id(domain)?;
    let pick = Pick::of(ctx, domain);
    let blocks = c.list_public_ip_blocks(&domain_id).await?;
    let block = match pick.adoptable(&blocks) {
        Some(b) => {
            tracing::info!(target: "engine", domain, block = %b.id, "adopting a public IP block added since the inventory");
            b
        }
        None => add_new_block(ctx, domain, &domain_id, &pick).await?,
    };
    let mut r = ctx.reg();
    if let Some(d) = r.domain_mut(domain) {
        d.blocks.insert(block.id.clone());
        d.free_ips
            .extend(block.addresses().into_iter().map(|a| a.to_string()));
    }
    Ok(())
}

/// Which blocks of a domain an AddIpBlock step may take.
struct Pick {
    /// Blocks this run knows already (its own, and those it removes).
    known: BTreeSet<String>,
    /// How many blocks every run keeps.
    target: usize,
}

impl Pick {
    fn of(ctx: &ExecContext, domain: &str) -> Pick {
        let r = ctx.reg();
        let mut known: BTreeSet<String> = r
            .domain(domain)
            .map(|d| d.blocks.clone())
            .unwrap_or_default();
        known.extend(r.doomed.iter().filter_map(|d| match d {
            Doomed::Block(_, id, _) => Some(id.clone()),
            Doomed::Server(..) => None,
        }));
        let target = r.block_targets.get(domain).copied();
        let target = target.unwrap_or(known.len() + 1);
        Pick { known, target }
    }

    /// A kept block this run does not know of yet.
    fn adoptable(&self, blocks: &[PublicIpBlock]) -> Option<PublicIpBlock> {
        kept(blocks, self.target)
            .into_iter()
            .find(|b| !self.known.contains(&b.id))
            .cloned()
    }
}

/// Adds a block (observing before adding again). When this one is not among the kept ones (a
/// racing run's came first), adopts a kept one this run does not know of. Blocks this run does
/// not know of and that are not kept (this one then, or one whose add answer was lost) are
/// released once the steps are over.
async fn add_new_block(
    ctx: &ExecContext,
    domain: &str,
    did: &str,
    pick: &Pick,
) -> CloudResult<PublicIpBlock> {
    let c = &ctx.client;
    let observe = || async move {
        let blocks = c.list_public_ip_blocks(did).await?;
        Ok(pick.adoptable(&blocks).map(|b| b.id))
    };
    let (id, _) =
        observe_or_create("public IP block", observe, || c.add_public_ip_block(did)).await?;
    let blocks = c.list_public_ip_blocks(did).await?;
    let kept_ids: BTreeSet<&str> = kept(&blocks, pick.target)
        .iter()
        .map(|b| b.id.as_str())
        .collect();
    let mine = blocks.iter().find(|b| b.id == id).cloned();
    let chosen = match (kept_ids.contains(id.as_str()), pick.adoptable(&blocks)) {
        (false, Some(other)) => other,
        _ => match mine {
            Some(b) => b,
            None => c
                .get_public_ip_block(&id)
                .await?
                .ok_or_else(|| missing(format!("public IP block {id}")))?,
        },
    };
    let mut r = ctx.reg();
    for b in blocks.iter().filter(|b| {
        b.id != chosen.id && !kept_ids.contains(b.id.as_str()) && !pick.known.contains(&b.id)
    }) {
        tracing::info!(target: "engine", domain, kept = %chosen.id, duplicate = %b.id, "a public IP block beyond what the plan needs: releasing it after the steps");
        let doomed = Doomed::Block(
            domain.to_string(),
            b.id.clone(),
            b.base_ip.trim().to_string(),
        );
        if !r.doomed.contains(&doomed) {
            r.doomed.push(doomed);
        }
    }
    drop(r);
    Ok(chosen)
}

/// The blocks every run keeps: the `target` oldest of the domain.
fn kept(blocks: &[PublicIpBlock], target: usize) -> Vec<&PublicIpBlock> {
    let mut sorted: Vec<&PublicIpBlock> = blocks.iter().collect();
    sorted.sort_by_key(|b| age_key(b.create_time.as_deref(), Some(&b.base_ip), &b.id));
    sorted.truncate(target);
    sorted
}

/// RemoveIpBlock: releases a public IP block (done when it is gone already).
pub(super) async fn remove_ip_block(ctx: &ExecContext, id: &str) -> CloudResult<()> {
    gone_ok(ctx.client.remove_public_ip_block(id).await)
}

/// RemoveSpareIpBlock: releases a block found beyond what the plan needs (done when it is gone);
/// a block a NAT rule uses meanwhile (a racing run chose it after all) is kept.
pub(super) async fn remove_spare_ip_block(
    ctx: &ExecContext,
    domain: &str,
    id: &str,
) -> CloudResult<()> {
    match gone_ok(ctx.client.remove_public_ip_block(id).await) {
        Err(e) if e.has_code(cloud::ErrorCode::HasDependency) => {
            tracing::warn!(target: "engine", domain, block = %id, error = %e, "a NAT rule uses the spare public IP block: keeping it");
            if let Some(d) = ctx.reg().domain_mut(domain) {
                d.blocks.insert(id.to_string());
            }
            Ok(())
        }
        other => other,
    }
}
