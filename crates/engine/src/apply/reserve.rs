//! Reserved private IPv4 addresses, applied: reserve one on its VLAN, release one. The client
//! retries refusals and counts "already reserved on this VLAN" as done; an address found not
//! reserved on release is done too. (What the plan wants and the steps are `plan`'s.)

use cloud::CloudResult;

use super::context::ExecContext;

/// Description given to the addresses the engine reserves.
pub const DESCRIPTION: &str = "#plumbery";

/// ReservePrivateIpv4: reserves `ip` on VLAN `vlan` of `domain`.
pub(super) async fn reserve(
    ctx: &ExecContext,
    domain: &str,
    vlan: &str,
    ip: &str,
) -> CloudResult<()> {
    let id = ctx.vlan_id(domain, vlan)?;
    ctx.client
        .reserve_private_ipv4(&id, ip, Some(DESCRIPTION))
        .await
}

/// UnreservePrivateIpv4: releases `ip` of VLAN `vlan_id`.
pub(super) async fn unreserve(ctx: &ExecContext, vlan_id: &str, ip: &str) -> CloudResult<()> {
    match ctx.client.unreserve_private_ipv4(vlan_id, ip).await {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}
