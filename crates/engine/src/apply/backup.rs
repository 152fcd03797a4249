//! Cloud backup, applied: enabling (or changing the plan) and waiting until the backup is NORMAL,
//! adding a client of the type the plan names (matched among the types the server is offered),
//! disabling before the server is deleted. Enabling and adding observe (the details) before they
//! send again after a lost answer.

use cloud::{AsyncOp, CloudError, CloudResult, NewBackupClient, Probe, Wait, is_no_backup};

use super::context::ExecContext;
use super::converge::observe_or_create;

/// Waits until the backup of server `id` is NORMAL (`gone`: until the server has none).
async fn wait_backup(ctx: &ExecContext, id: &str, gone: bool) -> CloudResult<()> {
    let c = &ctx.client;
    c.wait_until(
        &format!("backup of server {id}"),
        Wait::after(AsyncOp::Quick),
        || async move {
            Ok(match (c.get_backup_details(id).await?, gone) {
                (None, true) => Probe::Done,
                (None, false) => Probe::Pending("not enabled".into()),
                (Some(_), true) => Probe::Pending("enabled".into()),
                (Some(d), false) if d.state.is_pending() => Probe::Pending(d.state.to_string()),
                (Some(_), false) => Probe::Done,
            })
        },
    )
    .await
}

/// EnableBackup: enables backup with `plan` (already enabled is fine), or changes its plan.
pub(super) async fn enable(
    ctx: &ExecContext,
    domain: &str,
    node: &str,
    plan: &str,
    change: bool,
) -> CloudResult<()> {
    let c = &ctx.client;
    let id = ctx.server_id(domain, node)?;
    if change {
        c.modify_backup(&id, plan).await?;
        return wait_backup(ctx, &id, false).await;
    }
    let sid = id.as_str();
    observe_or_create(
        &format!("backup of {node}"),
        || async move { Ok(c.get_backup_details(sid).await?.map(|d| d.asset_id)) },
        || async move {
            match c.enable_backup(sid, plan).await {
                // REASON_550: already enabled or being enabled (an earlier run, a lost answer).
                Err(e) if e.code() == Some("REASON_550") => Ok(String::new()),
                other => other,
            }
        },
    )
    .await?;
    wait_backup(ctx, &id, false).await
}

/// What an AddBackupClient step asks for.
pub(super) struct Client<'a> {
    /// Domain name.
    pub domain: &'a str,
    /// Node name.
    pub node: &'a str,
    /// The client as the plan names it.
    pub want: plan::WantBackupClient,
}

/// AddBackupClient: adds a client of the first offered type the plan's `type` matches.
pub(super) async fn add_client(ctx: &ExecContext, a: Client<'_>) -> CloudResult<()> {
    let c = &ctx.client;
    let id = ctx.server_id(a.domain, a.node)?;
    let types = c.list_backup_client_types(&id).await?;
    let Some(t) = types.iter().find(|t| {
        a.want
            .matches(&t.client_type, &t.description, t.is_file_system)
    }) else {
        let offered: Vec<&str> = types.iter().map(|t| t.client_type.as_str()).collect();
        return Err(CloudError::Config(format!(
            "no backup client type of {} matches '{}' (offered: {})",
            a.node,
            a.want.kind,
            offered.join(", ")
        )));
    };
    let req = NewBackupClient {
        client_type: t.client_type.clone(),
        storage_policy: a.want.storage_policy.clone(),
        schedule_policy: a.want.schedule_policy.clone(),
        trigger: a.want.trigger.clone(),
        email: a.want.email.clone(),
    };
    let (sid, ty) = (id.as_str(), t.client_type.as_str());
    observe_or_create(
        &format!("{ty} backup client of {}", a.node),
        || async move {
            let d = c.get_backup_details(sid).await?;
            Ok(
                d.and_then(|d| d.clients.into_iter().find(|x| x.client_type == ty))
                    .map(|x| x.id),
            )
        },
        || async { Ok(c.add_backup_client(sid, &req).await?.unwrap_or_default()) },
    )
    .await
    .map(drop)
}

/// DisableBackup: disables the backup of server `id` (none is fine) and waits until it is gone.
pub(super) async fn disable(ctx: &ExecContext, id: &str) -> CloudResult<()> {
    match ctx.client.disable_backup(id).await {
        Err(e) if is_no_backup(&e) => return Ok(()),
        other => other?,
    }
    wait_backup(ctx, id, true).await
}
