//! Secondary NICs, applied: an AttachNic step adds the NIC (never twice, see `cloud::nics`) and
//! waits until the server is NORMAL again. (Which NICs to attach is `plan`'s.)

use cloud::{AsyncOp, CloudResult, NicTarget, Wait};

use super::context::ExecContext;

/// AttachNic: attaches a NIC on `vlan` (at `address`, else any free address) to the server of
/// `node`.
pub(super) async fn attach(
    ctx: &ExecContext,
    domain: &str,
    node: &str,
    vlan: &str,
    address: Option<&str>,
) -> CloudResult<()> {
    let server_id = ctx.server_id(domain, node)?;
    let target = match address {
        Some(a) => NicTarget::Ipv4(a.to_string()),
        None => NicTarget::Vlan(ctx.vlan_id(domain, vlan)?),
    };
    let c = &ctx.client;
    c.add_nic(&server_id, &target).await?;
    c.wait_server(&server_id, Wait::after(AsyncOp::ChangeNic), None)
        .await
}
