//! VLANs, applied: create (observing before creating again) and wait, wait for one found pending,
//! delete and wait until gone.

use cloud::{AsyncOp, CloudResult, NewVlan, Wait};

use super::context::ExecContext;
use super::converge::{delete_with_dependency_retry, observe_or_create, wait_kind};
use super::registry::VlanFacts;

/// CreateVlan: deploys the VLAN (unless an earlier attempt did) and waits until it is NORMAL.
pub(super) async fn create(
    ctx: &ExecContext,
    domain: &str,
    vlan: &str,
    description: &str,
    base: &str,
    prefix: u8,
) -> CloudResult<()> {
    let c = &ctx.client;
    let domain_id = ctx.domain_id(domain)?;
    let req = NewVlan {
        network_domain_id: domain_id.clone(),
        name: vlan.to_string(),
        description: Some(description.to_string()),
        base_address: base.to_string(),
        prefix_size: prefix,
    };
    let did = domain_id.as_str();
    let (id, fresh) = observe_or_create(
        vlan,
        || async move {
            let found = c
                .list_vlans(&[("networkDomainId", did), ("name", vlan)])
                .await?;
            Ok(found.into_iter().find(|v| v.name == vlan).map(|v| v.id))
        },
        || c.deploy_vlan(&req),
    )
    .await?;
    if let Some(d) = ctx.reg().domain_mut(domain) {
        d.vlans.insert(
            vlan.to_string(),
            VlanFacts {
                id: id.clone(),
                base: base.to_string(),
                prefix,
            },
        );
    }
    c.wait_vlan(&id, wait_kind(AsyncOp::DeployVlan, fresh))
        .await
}

/// AwaitVlan: waits for a VLAN found pending.
pub(super) async fn await_vlan(ctx: &ExecContext, domain: &str, vlan: &str) -> CloudResult<()> {
    let id = ctx.vlan_id(domain, vlan)?;
    ctx.client
        .wait_vlan(&id, Wait::resume(AsyncOp::DeployVlan))
        .await
}

/// DeleteVlan: deletes the VLAN and waits until it is gone.
pub(super) async fn delete(ctx: &ExecContext, id: &str) -> CloudResult<()> {
    let c = &ctx.client;
    delete_with_dependency_retry(|| c.delete_vlan(id)).await?;
    c.wait_vlan(id, Wait::after(AsyncOp::DeleteVlan)).await
}
