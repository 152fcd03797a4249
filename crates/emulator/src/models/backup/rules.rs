//! Backup rules (synchronous, as the MCP 1.0 API answers SUCCESS): enable with a plan, change the
//! plan, disable (the clients go too), add and remove clients, cancel a client's job. Refusals carry
//! the MCP 1.0 reason codes the fixtures show (`BackupError`).

use super::data::{
    Backup, BackupClient, CLIENT_TYPES, PLANS, SCHEDULE_POLICIES, STORAGE_POLICIES, TRIGGERS,
};
use crate::models::common::new_id;
use crate::models::server::data::Server;
use crate::models::state::{Resource, State, Tx};

/// A refusal of the backup API: its `REASON_n` code and detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupError {
    /// `REASON_543`...
    pub reason: &'static str,
    /// The detail.
    pub detail: String,
}

/// Result of a backup rule.
pub type BackupResult<T> = Result<T, BackupError>;

fn err(reason: &'static str, detail: impl Into<String>) -> BackupError {
    BackupError {
        reason,
        detail: detail.into(),
    }
}

/// Server not found (REASON_395).
pub fn no_server(id: &str) -> BackupError {
    err("REASON_395", format!("Server {id} not found"))
}

fn server(st: &State, id: &str) -> BackupResult<Server> {
    let s = st.servers.get(id).ok_or_else(|| no_server(id))?;
    if s.state.is_pending() {
        return Err(err(
            "REASON_392",
            format!(
                "Server {id} is busy ({}); try again later",
                s.state.as_str()
            ),
        ));
    }
    Ok(s.clone())
}

/// The server's backup, or REASON_543 when it is not enabled.
pub fn backup_of<'s>(st: &'s State, id: &str) -> BackupResult<(&'s Server, &'s Backup)> {
    let s = st.servers.get(id).ok_or_else(|| no_server(id))?;
    let b = s.backup.as_deref().ok_or_else(|| {
        err(
            "REASON_543",
            format!("Server {id} has not been provisioned for backup"),
        )
    })?;
    Ok((s, b))
}

fn plan(p: &str) -> BackupResult<&'static str> {
    PLANS
        .iter()
        .find(|x| x.eq_ignore_ascii_case(p.trim()))
        .copied()
        .ok_or_else(|| {
            err(
                "REASON_1",
                format!("servicePlan '{p}' is not one of {}", PLANS.join(", ")),
            )
        })
}

/// Enables backup with a plan; returns the asset id.
pub fn enable(tx: &mut Tx<'_>, id: &str, service_plan: &str) -> BackupResult<String> {
    let mut s = server(tx.st(), id)?;
    let plan = plan(service_plan)?;
    if s.backup.is_some() {
        return Err(err(
            "REASON_550",
            "Cloud backup for this server is already enabled or being enabled (state: NORMAL).",
        ));
    }
    let asset_id = new_id();
    s.backup = Some(Box::new(Backup {
        asset_id: asset_id.clone(),
        service_plan: plan.to_string(),
        clients: Vec::new(),
    }));
    tx.put(Resource::Server(s));
    Ok(asset_id)
}

/// Changes the plan.
pub fn modify(tx: &mut Tx<'_>, id: &str, service_plan: &str) -> BackupResult<()> {
    backup_of(tx.st(), id)?;
    let plan = plan(service_plan)?;
    let mut s = server(tx.st(), id)?;
    if let Some(b) = s.backup.as_mut() {
        b.service_plan = plan.to_string();
    }
    tx.put(Resource::Server(s));
    Ok(())
}

/// Disables backup (its clients go with it).
pub fn disable(tx: &mut Tx<'_>, id: &str) -> BackupResult<()> {
    backup_of(tx.st(), id)?;
    let mut s = server(tx.st(), id)?;
    s.backup = None;
    tx.put(Resource::Server(s));
    Ok(())
}

/// Whether the server runs Windows (its image's OS family).
fn windows(s: &Server) -> bool {
    crate::models::catalogue::image(&s.image_id).is_some_and(|i| i.family == "WINDOWS")
}

/// The client types available to the server under its plan: (type, is file system, description).
pub fn client_types(st: &State, id: &str) -> BackupResult<Vec<(&'static str, bool, &'static str)>> {
    let (s, b) = backup_of(st, id)?;
    let level = PLANS.iter().position(|p| *p == b.service_plan).unwrap_or(0);
    let win = windows(s);
    Ok(CLIENT_TYPES
        .iter()
        .filter(|t| t.3 <= level && t.4.is_none_or(|w| w == win))
        .map(|t| (t.0, t.1, t.2))
        .collect())
}

/// What addBackupClient carries.
#[derive(Debug, Clone, Default)]
pub struct ClientRequest {
    /// Client type.
    pub client_type: String,
    /// Storage policy name.
    pub storage_policy: String,
    /// Schedule policy name.
    pub schedule_policy: String,
    /// Alerting trigger and addresses.
    pub alerting: Option<(String, Vec<String>)>,
}

/// Adds a client; returns its id and download URL.
pub fn add_client(tx: &mut Tx<'_>, id: &str, r: ClientRequest) -> BackupResult<(String, String)> {
    let types = client_types(tx.st(), id)?;
    let mut s = server(tx.st(), id)?;
    if !types.iter().any(|t| t.0 == r.client_type) {
        return Err(err(
            "REASON_1",
            format!(
                "client type '{}' is not available for this server",
                r.client_type
            ),
        ));
    }
    if !STORAGE_POLICIES.iter().any(|p| p.0 == r.storage_policy) {
        return Err(err(
            "REASON_1",
            format!("unknown storage policy '{}'", r.storage_policy),
        ));
    }
    if !SCHEDULE_POLICIES.iter().any(|p| p.0 == r.schedule_policy) {
        return Err(err(
            "REASON_1",
            format!("unknown schedule policy '{}'", r.schedule_policy),
        ));
    }
    if let Some((t, _)) = &r.alerting
        && !TRIGGERS.contains(&t.as_str())
    {
        return Err(err(
            "REASON_1",
            format!(
                "alerting trigger '{t}' is not one of {}",
                TRIGGERS.join(", ")
            ),
        ));
    }
    let b = s.backup.as_mut().ok_or_else(|| no_server(id))?;
    if b.clients.iter().any(|c| c.client_type == r.client_type) {
        return Err(err(
            "REASON_550",
            format!(
                "A backup client of type {} already exists on this server",
                r.client_type
            ),
        ));
    }
    let cid = new_id();
    let url = format!(
        "https://backups.emulator.invalid/PCS/BackupClientInstallerDownload/{}",
        cid.replace('-', "")
    );
    b.clients.push(BackupClient {
        id: cid.clone(),
        client_type: r.client_type,
        storage_policy: r.storage_policy,
        schedule_policy: r.schedule_policy,
        alerting: r.alerting,
        download_url: url.clone(),
    });
    tx.put(Resource::Server(s));
    Ok((cid, url))
}

/// Removes a client.
pub fn remove_client(tx: &mut Tx<'_>, id: &str, client_id: &str) -> BackupResult<()> {
    backup_of(tx.st(), id)?;
    let mut s = server(tx.st(), id)?;
    let b = s.backup.as_mut().ok_or_else(|| no_server(id))?;
    let before = b.clients.len();
    b.clients.retain(|c| c.id != client_id);
    if b.clients.len() == before {
        return Err(err(
            "REASON_395",
            format!("Backup client {client_id} not found"),
        ));
    }
    tx.put(Resource::Server(s));
    Ok(())
}

/// Cancels a client's running job: no job ever runs in the emulator, so an existing client answers
/// REASON_547 as the API does for an idle client.
pub fn cancel_job(st: &State, id: &str, client_id: &str) -> BackupResult<()> {
    let (_, b) = backup_of(st, id)?;
    if !b.clients.iter().any(|c| c.id == client_id) {
        return Err(err(
            "REASON_395",
            format!("Backup client {client_id} not found"),
        ));
    }
    Err(err(
        "REASON_547",
        "No backup job currently running on client",
    ))
}
