//! Hardware changes of a server (reconfigureServer, addDisk, expandDisk, changeDiskSpeed): each is
//! sent once, then the server is polled directly until NORMAL. A change refused after its lost
//! answer was sent again is checked against the server before it counts as a failure.

use cloud::{AsyncOp, CloudClient, CloudResult, Reconfigure, Server, Wait};

use super::context::{ExecContext, missing};

/// ReconfigureServer: brings the server of `node` to `req`.
pub(super) async fn reconfigure_step(
    ctx: &ExecContext,
    domain: &str,
    node: &str,
    req: &Reconfigure,
) -> CloudResult<()> {
    let facts = ctx.server(domain, node)?;
    reconfigure(&ctx.client, &facts.id, req).await
}

/// SetDisk: brings the disk at `scsi_id` of the server of `node` to `size_gb` and `speed`.
pub(super) async fn set_disk_step(
    ctx: &ExecContext,
    domain: &str,
    node: &str,
    scsi_id: u32,
    size_gb: u32,
    speed: &str,
) -> CloudResult<()> {
    let facts = ctx.server(domain, node)?;
    set_disk(&ctx.client, &facts.id, scsi_id, size_gb, speed).await
}

/// Brings the CPU count, memory, cores per socket and CPU speed of server `id` to what `req` asks
/// (the fields it leaves out stay).
async fn reconfigure(c: &CloudClient, id: &str, req: &Reconfigure) -> CloudResult<()> {
    hardware_change(
        c,
        id,
        AsyncOp::ReconfigureServer,
        || c.reconfigure_server(id, req),
        |s| {
            let cpu = s.cpu.as_ref();
            req.cpu_count
                .is_none_or(|n| cpu.map(|x| x.count) == Some(n))
                && req.memory_gb.is_none_or(|m| s.memory_gb == Some(m))
                && req
                    .cores_per_socket
                    .is_none_or(|c| cpu.and_then(|x| x.cores_per_socket) == Some(c))
                && req.cpu_speed.as_deref().is_none_or(|want| {
                    cpu.and_then(|x| x.speed.as_deref())
                        .is_some_and(|h| h.eq_ignore_ascii_case(want))
                })
        },
    )
    .await
}

/// Sends a hardware change of server `id` and waits for NORMAL. The client sends a change again
/// when its answer was lost; the second send may then be refused because the first one was applied
/// (addDisk: "SCSI id in use"). So a refusal is not a failure until the server, once NORMAL, is
/// looked at: when `done` holds for it, the change is there.
async fn hardware_change<F, Fut, D>(
    c: &CloudClient,
    id: &str,
    op: AsyncOp,
    send: F,
    done: D,
) -> CloudResult<()>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = CloudResult<()>>,
    D: Fn(&Server) -> bool,
{
    match send().await {
        Ok(()) => c.wait_server(id, Wait::after(op), None).await,
        Err(e) if e.has_code(cloud::ErrorCode::NoChange) => Ok(()),
        Err(e) if e.code().is_some() && !e.is_not_found() => {
            c.wait_server(id, Wait::resume(op), None).await?;
            match c.get_server(id).await? {
                Some(s) if done(&s) => Ok(()),
                _ => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// True when server `s` has a disk at `scsi_id` of at least `size_gb`.
fn disk_at_least(s: &Server, scsi_id: u32, size_gb: u32) -> bool {
    s.disk
        .iter()
        .any(|d| d.scsi_id == Some(scsi_id) && d.size_gb.is_some_and(|g| g >= size_gb))
}

/// True when server `s` has a disk at `scsi_id` of speed `speed`.
fn disk_speed(s: &Server, scsi_id: u32, speed: &str) -> bool {
    s.disk.iter().any(|d| {
        d.scsi_id == Some(scsi_id)
            && d.speed
                .as_deref()
                .is_some_and(|have| have.eq_ignore_ascii_case(speed))
    })
}

/// Brings the disk at `scsi_id` of server `id` to `size_gb` (grow only) and `speed`.
async fn set_disk(
    c: &CloudClient,
    id: &str,
    scsi_id: u32,
    size_gb: u32,
    speed: &str,
) -> CloudResult<()> {
    let s = c
        .get_server(id)
        .await?
        .ok_or_else(|| missing(format!("server {id}")))?;
    let disk = s.disk.iter().find(|d| d.scsi_id == Some(scsi_id));
    let Some(disk) = disk else {
        let add = async {
            c.add_disk(id, size_gb, speed, Some(scsi_id))
                .await
                .map(drop)
        };
        return hardware_change(
            c,
            id,
            AsyncOp::ChangeDisk,
            || add,
            |s| disk_at_least(s, scsi_id, size_gb),
        )
        .await;
    };
    let disk_id = disk.id.clone().unwrap_or_default();
    if disk.size_gb.is_some_and(|have| have < size_gb) {
        hardware_change(
            c,
            id,
            AsyncOp::ChangeDisk,
            || c.expand_disk(&disk_id, size_gb),
            |s| disk_at_least(s, scsi_id, size_gb),
        )
        .await?;
    }
    if disk
        .speed
        .as_deref()
        .is_some_and(|have| !have.eq_ignore_ascii_case(speed))
    {
        hardware_change(
            c,
            id,
            AsyncOp::ChangeDisk,
            || c.change_disk_speed(&disk_id, speed),
            |s| disk_speed(s, scsi_id, speed),
        )
        .await?;
    }
    Ok(())
}
