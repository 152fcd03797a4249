//! Network domains and their public IP blocks, applied: create (observing before creating again),
//! wait, delete; add blocks (adopting those an earlier or a racing run added, keeping the oldest
//! blocks when runs race) and release one.

use std::collections::BTreeSet;

use cloud::{AsyncOp, CloudResult, NewNetworkDomain, PublicIpBlock, Wait};

use super::context::{ExecContext, missing};
use super::converge::{
    CREATE_ATTEMPTS, age_key, delete_with_dependency_retry, gone_ok, observe_or_create, wait_kind,
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

/// AddIpBlocks: adds `count` public IPv4 blocks to the domain, their addresses then free for NAT
/// rules and listeners.
///
/// Blocks have no name, and runs on other machines may add theirs at the same time: every run
/// keeps the domain's oldest blocks, as many as the plan needs (`block_targets`). The step lists the
/// domain's blocks, adds as many as the kept blocks it does not know yet fall short of `count` (a
/// block that an earlier run added and whose answer was lost, or a racing run's, is adopted
/// instead), and lists them again: the kept blocks it did not know are its own now; the others it
/// does not know (its adds beyond the kept ones, when a racing run's came first) are released once
/// the steps are over. Two listings however many blocks it adds (a listing before and after each
/// add was quadratic: 1,501 listings of up to 500 blocks for a 1,000-node plan).
pub(super) async fn add_ip_blocks(
    ctx: &ExecContext,
    domain: &str,
    count: usize,
) -> CloudResult<()> {
    let c = &ctx.client;
    let did = ctx.domain_id(domain)?;
    let pick = Pick::of(ctx, domain, count);
    let mut lost = None;
    for attempt in 0..CREATE_ATTEMPTS {
        let blocks = c.list_public_ip_blocks(&did).await?;
        let mine = pick.mine(&blocks, count);
        if mine.len() >= count {
            settle(ctx, domain, &pick, &blocks, &mine);
            return Ok(());
        }
        if attempt == 0 && !mine.is_empty() {
            tracing::info!(target: "engine", domain, blocks = mine.len(), "adopting public IP blocks added since the inventory");
        }
        if attempt + 1 == CREATE_ATTEMPTS {
            break;
        }
        for _ in mine.len()..count {
            match c.add_public_ip_block(&did).await {
                Ok(_) => {}
                Err(e) if e.is_ambiguous() => {
                    tracing::info!(target: "engine", domain, error = %e, "observing before adding a public IP block again");
                    lost = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
    }
    Err(lost.unwrap_or_else(|| missing(format!("{count} public IP blocks of {domain}"))))
}

/// Which blocks of a domain an AddIpBlocks step may take.
struct Pick {
    /// The domain's blocks this run knows already.
    known: BTreeSet<String>,
    /// Blocks this run removes (not ranked).
    doomed: BTreeSet<String>,
    /// How many blocks every run keeps.
    target: usize,
}

impl Pick {
    fn of(ctx: &ExecContext, domain: &str, count: usize) -> Pick {
        let r = ctx.reg();
        let known: BTreeSet<String> = r
            .domain(domain)
            .map(|d| d.blocks.clone())
            .unwrap_or_default();
        let doomed = r
            .doomed
            .iter()
            .filter_map(|d| match d {
                Doomed::Block(_, id, _) => Some(id.clone()),
                Doomed::Server(..) => None,
            })
            .collect();
        let target = r.block_targets.get(domain).copied();
        let target = target.unwrap_or(known.len() + count);
        Pick {
            known,
            doomed,
            target,
        }
    }

    /// The kept blocks this run does not know yet, `count` at most: its own.
    fn mine<'a>(&self, blocks: &'a [PublicIpBlock], count: usize) -> Vec<&'a PublicIpBlock> {
        let mut kept = self.kept(blocks);
        kept.retain(|b| !self.known.contains(&b.id));
        kept.truncate(count);
        kept
    }

    /// The blocks every run keeps: the `target` oldest of the domain (those this run removes
    /// aside).
    fn kept<'a>(&self, blocks: &'a [PublicIpBlock]) -> Vec<&'a PublicIpBlock> {
        let mut sorted: Vec<&PublicIpBlock> = blocks
            .iter()
            .filter(|b| !self.doomed.contains(&b.id))
            .collect();
        sorted.sort_by_key(|b| age_key(b.create_time.as_deref(), Some(&b.base_ip), &b.id));
        sorted.truncate(self.target);
        sorted
    }
}

/// Records `mine` as the domain's blocks (their addresses free), and the blocks this run does not
/// know that are not kept as to release after the steps.
fn settle(
    ctx: &ExecContext,
    domain: &str,
    pick: &Pick,
    blocks: &[PublicIpBlock],
    mine: &[&PublicIpBlock],
) {
    let kept: BTreeSet<&str> = pick.kept(blocks).iter().map(|b| b.id.as_str()).collect();
    let mut r = ctx.reg();
    if let Some(d) = r.domain_mut(domain) {
        for b in mine {
            d.blocks.insert(b.id.clone());
            d.free_ips
                .extend(b.addresses().into_iter().map(|a| a.to_string()));
        }
    }
    let spare = blocks.iter().filter(|b| {
        let id = b.id.as_str();
        !kept.contains(id) && !pick.known.contains(id) && !pick.doomed.contains(id)
    });
    for b in spare {
        tracing::info!(target: "engine", domain, spare = %b.id, "a public IP block beyond what the plan needs: releasing it after the steps");
        let doomed = Doomed::Block(
            domain.to_string(),
            b.id.clone(),
            b.base_ip.trim().to_string(),
        );
        r.doomed.push(doomed);
    }
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
