//! Servers, applied: deploy (observing before deploying again, and keeping the oldest server when
//! another run deployed the same node at the same time), wait (fresh, found pending, being
//! deleted), start, stop (power off when a graceful shutdown is impossible), monitoring, delete,
//! and the deletion of a duplicate once it settles.

use cloud::{AsyncOp, CloudResult, CpuSpec, ErrorCode, NewServer, ResourceState, Server, Wait};

use super::context::ExecContext;
use super::converge::{age_key, gone_ok, observe_or_create};
use super::registry::Doomed;

/// What a DeployServer step asks for.
pub(super) struct Deploy<'a> {
    /// Domain name.
    pub domain: &'a str,
    /// VLAN name.
    pub vlan: &'a str,
    /// Node name.
    pub node: &'a str,
    /// Image id.
    pub image_id: &'a str,
    /// CPU (count, cores per socket, speed).
    pub cpu: Option<&'a (u32, u32, String)>,
    /// Memory.
    pub memory_gb: Option<u32>,
    /// Fixed private address.
    pub primary_ipv4: Option<&'a String>,
    /// Description.
    pub description: &'a str,
    /// Start once deployed.
    pub start: bool,
}

/// DeployServer: deploys the server (unless an earlier attempt did) and records its id and
/// private address (the wait is the AwaitServer step after it).
pub(super) async fn deploy(ctx: &ExecContext, d: Deploy<'_>) -> CloudResult<()> {
    let c = &ctx.client;
    let domain_id = ctx.domain_id(d.domain)?;
    let vid = ctx.vlan_id(d.domain, d.vlan)?;
    let req = NewServer {
        name: d.node.to_string(),
        description: d.description.to_string(),
        image_id: d.image_id.to_string(),
        start: d.start,
        administrator_password: ctx.admin_password.clone(),
        cpu: d.cpu.map(|(count, cores, speed)| CpuSpec {
            count: *count,
            cores_per_socket: *cores,
            speed: speed.clone(),
        }),
        memory_gb: d.memory_gb,
        network_domain_id: domain_id.clone(),
        primary_vlan_id: if d.primary_ipv4.is_some() {
            None
        } else {
            Some(vid)
        },
        primary_ipv4: d.primary_ipv4.cloned(),
    };
    let did = domain_id.as_str();
    let node = d.node;
    let (mine, created) = observe_or_create(
        node,
        || async move {
            let found = c
                .list_servers(&[("networkDomainId", did), ("name", node)])
                .await?;
            Ok(oldest(&found, node).map(|s| s.id.clone()))
        },
        || c.deploy_server(&req),
    )
    .await?;
    let accepted = created.then(std::time::Instant::now);
    let (id, ip) = keep_oldest(ctx, &d, mine.clone()).await?;
    let adopted = id != mine;
    ctx.set_server(d.domain, node, |f| {
        f.id = id.clone();
        f.private_ipv4 = ip;
        f.started = false;
        f.adopted = adopted;
        f.accepted = accepted;
    });
    Ok(())
}

/// After a deploy (or finding the node's server): the server every run keeps, and its private
/// address. The API does not keep names unique: a run on another machine may have deployed this
/// node at the same time. Every run keeps the oldest; the others seen with its name go once the
/// steps are over: this run's own one when it is not the oldest, and any other (this run's own
/// too when the answer to its deploy was lost, or a racing run's whose creator removes it as
/// well). The listing also gives the private address, in place of a get of the new server.
async fn keep_oldest(
    ctx: &ExecContext,
    d: &Deploy<'_>,
    mine: String,
) -> CloudResult<(String, Option<String>)> {
    let (c, node) = (&ctx.client, d.node);
    // The domain's listing begun after the deploy answered, shared by the servers deployed
    // together, holds every server of this name that any run made before it.
    let same: Vec<Server> = ctx.servers_named_now(d.domain, node).await?;
    let id = oldest(&same, node).map_or(mine, |k| k.id.clone());
    for s in same
        .iter()
        .filter(|s| s.name == node && s.id != id && !being_deleted(s))
    {
        tracing::info!(target: "engine", node, kept = %id, duplicate = %s.id, "another server has this node's name: keeping the oldest");
        let doomed = Doomed::Server(
            d.domain.to_string(),
            node.to_string(),
            s.id.clone(),
            id.clone(),
        );
        let mut r = ctx.reg();
        if !r.doomed.contains(&doomed) {
            r.doomed.push(doomed);
        }
    }
    let ip = match (d.primary_ipv4, same.iter().find(|s| s.id == id)) {
        (Some(ip), _) => Some(ip.clone()),
        (None, Some(s)) => s.private_ipv4().map(str::to_string),
        (None, None) => c
            .get_server(&id)
            .await?
            .and_then(|s| s.private_ipv4().map(str::to_string)),
    };
    Ok((id, ip))
}

/// True for a server on its way out (PENDING_DELETE, or a DELETE_SERVER in progress).
fn being_deleted(s: &Server) -> bool {
    s.state == ResourceState::PendingDelete || s.pending_action() == Some("DELETE_SERVER")
}

/// The server of name `node` that every run keeps: the oldest of those not being deleted.
pub(super) fn oldest<'a>(servers: &'a [Server], node: &str) -> Option<&'a Server> {
    servers
        .iter()
        .filter(|s| s.name == node && !being_deleted(s))
        .min_by_key(|s| age_key(s.create_time.as_deref(), s.private_ipv4(), &s.id))
}

/// AwaitServer: waits until the server is NORMAL (just deployed when `fresh`, else found pending),
/// or gone when found `deleting`.
pub(super) async fn await_server(
    ctx: &ExecContext,
    domain: &str,
    node: &str,
    fresh: bool,
    started: bool,
    deleting: bool,
) -> CloudResult<()> {
    let facts = ctx.server(domain, node)?;
    if deleting {
        let w = Wait::resume(AsyncOp::DeleteServer);
        ctx.wait_server(domain, &facts.id, w, None).await?;
        return Ok(());
    }
    // A server another run deployed is waited for as found: it may be further along, or have been
    // deployed with another power state (started below when this run deploys started).
    let fresh = fresh && !facts.adopted;
    let op = AsyncOp::DeployServer { started };
    let w = if fresh {
        Wait::after(op).accepted_at(facts.accepted)
    } else {
        Wait::resume(op)
    };
    let want = if fresh { Some(started) } else { None };
    let seen = ctx.wait_server(domain, &facts.id, w, want).await?;
    ctx.set_server(domain, node, |f| {
        if let Some(s) = &seen {
            f.started = s.started;
            if f.private_ipv4.is_none() {
                f.private_ipv4 = s.private_ipv4().map(str::to_string);
            }
        }
    });
    if facts.adopted && started {
        start(ctx, domain, node).await?;
    }
    Ok(())
}

/// StartServer: starts the server if it is stopped, and waits.
pub(super) async fn start(ctx: &ExecContext, domain: &str, node: &str) -> CloudResult<()> {
    let c = &ctx.client;
    let facts = ctx.server(domain, node)?;
    if facts.started {
        return Ok(());
    }
    match c.start_server(&facts.id).await {
        Ok(()) => {}
        Err(e) if e.has_code(ErrorCode::ServerStarted) => {}
        Err(e) => {
            let s = c.get_server(&facts.id).await?;
            if !s.is_some_and(|s| s.started || s.pending_action() == Some("START_SERVER")) {
                return Err(e);
            }
        }
    }
    let w = Wait::after(AsyncOp::StartServer);
    ctx.wait_server(domain, &facts.id, w, Some(true)).await?;
    ctx.set_server(domain, node, |f| f.started = true);
    Ok(())
}

/// StopServer: shuts the server down if it runs (powers it off when the guest cannot shut down),
/// and waits.
pub(super) async fn stop(ctx: &ExecContext, domain: &str, node: &str) -> CloudResult<()> {
    let c = &ctx.client;
    let facts = ctx.server(domain, node)?;
    if !facts.started {
        return Ok(());
    }
    let mut op = AsyncOp::ShutdownServer;
    match c.shutdown_server(&facts.id).await {
        Ok(()) => {}
        Err(e) if e.has_code(ErrorCode::ServerStopped) => {}
        Err(e)
            if matches!(
                e.api_code(),
                Some(
                    ErrorCode::VmwareToolsInvalidStatus
                        | ErrorCode::VmToolsInvalidStatus
                        | ErrorCode::OperationNotSupported
                )
            ) =>
        {
            op = AsyncOp::PowerOffServer;
            match c.power_off_server(&facts.id).await {
                Ok(()) => {}
                Err(e) if e.has_code(ErrorCode::ServerStopped) => {}
                Err(e) => return Err(e),
            }
        }
        Err(e) => {
            let s = c.get_server(&facts.id).await?;
            let stopping = s.is_some_and(|s| {
                !s.started
                    || matches!(
                        s.pending_action(),
                        Some("SHUTDOWN_SERVER" | "POWER_OFF_SERVER")
                    )
            });
            if !stopping {
                return Err(e);
            }
        }
    }
    ctx.wait_server(domain, &facts.id, Wait::after(op), Some(false))
        .await?;
    ctx.set_server(domain, node, |f| f.started = false);
    Ok(())
}

/// EnableMonitoring: enables monitoring with `plan`, or changes its plan (`change`).
pub(super) async fn monitoring(
    ctx: &ExecContext,
    domain: &str,
    node: &str,
    plan: &str,
    change: bool,
) -> CloudResult<()> {
    let c = &ctx.client;
    let facts = ctx.server(domain, node)?;
    let r = if change {
        c.change_server_monitoring_plan(&facts.id, plan).await
    } else {
        c.enable_server_monitoring(&facts.id, plan).await
    };
    match r {
        Err(e) if e.has_code(ErrorCode::NoChange) => Ok(()),
        other => other,
    }
}

/// DeleteServer: deletes the server (powering it off first if it was started meanwhile) and waits
/// until it is gone.
pub(super) async fn delete(ctx: &ExecContext, domain: &str, id: &str) -> CloudResult<()> {
    let c = &ctx.client;
    match c.delete_server(id).await {
        Ok(()) => {}
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) if e.has_code(ErrorCode::ServerStarted) => {
            gone_ok(c.power_off_server(id).await)?;
            let w = Wait::after(AsyncOp::PowerOffServer);
            ctx.wait_server(domain, id, w, Some(false)).await?;
            gone_ok(c.delete_server(id).await)?;
        }
        Err(e) => return Err(e),
    }
    ctx.wait_server(domain, id, Wait::after(AsyncOp::DeleteServer), None)
        .await
        .map(drop)
}

/// DeleteDuplicateServer: waits until the duplicate settles (it may be deploying, or busy with
/// another operation), then deletes it like any server. Done when it is gone meanwhile (another
/// run removed it).
pub(super) async fn delete_duplicate(ctx: &ExecContext, domain: &str, id: &str) -> CloudResult<()> {
    let settle = Wait::resume(AsyncOp::DeployServer { started: false });
    if let Err(e) = ctx.wait_server(domain, id, settle, None).await {
        if ctx.client.get_server(id).await?.is_none() {
            return Ok(());
        }
        return Err(e);
    }
    delete(ctx, domain, id).await
}
