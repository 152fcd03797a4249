//! Network domains and their public IP blocks, applied: create (observing before creating again),
//! wait, delete; add a block (adopting one an earlier run added) and release one.

use std::collections::BTreeSet;

use cloud::{AsyncOp, CloudResult, NewNetworkDomain, Wait};

use super::context::{ExecContext, missing};
use super::converge::{delete_with_dependency_retry, gone_ok, observe_or_create, wait_kind};

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
pub(super) async fn add_ip_block(ctx: &ExecContext, domain: &str) -> CloudResult<()> {
    let c = &ctx.client;
    let domain_id = ctx.domain_id(domain)?;
    let known: BTreeSet<String> = ctx
        .reg()
        .domain(domain)
        .map(|d| d.blocks.clone())
        .unwrap_or_default();
    let did = domain_id.as_str();
    let known_ref = &known;
    let observe = || async move {
        let blocks = c.list_public_ip_blocks(did).await?;
        Ok(blocks
            .into_iter()
            .find(|b| !known_ref.contains(&b.id))
            .map(|b| b.id))
    };
    // Blocks have no name: a block this run does not know of may be the add of an earlier run
    // (cancelled, or whose answer was lost) that landed after the inventory was read. Observe
    // before the first add too, and adopt such a block instead of adding one more.
    let id = match observe().await? {
        Some(id) => {
            tracing::info!(target: "engine", domain, block = %id, "adopting a public IP block added since the inventory");
            id
        }
        None => {
            observe_or_create("public IP block", observe, || c.add_public_ip_block(did))
                .await?
                .0
        }
    };
    let block = c
        .get_public_ip_block(&id)
        .await?
        .ok_or_else(|| missing(format!("public IP block {id}")))?;
    let mut r = ctx.reg();
    if let Some(d) = r.domain_mut(domain) {
        d.blocks.insert(id);
        d.free_ips
            .extend(block.addresses().into_iter().map(|a| a.to_string()));
    }
    Ok(())
}

/// RemoveIpBlock: releases a public IP block (done when it is gone already).
pub(super) async fn remove_ip_block(ctx: &ExecContext, id: &str) -> CloudResult<()> {
    gone_ok(ctx.client.remove_public_ip_block(id).await)
}
