//! The MCP 1.0 ("OEC") calls real clients still make, under `/oec/0.9/{orgId}/server/{id}...`:
//! server edit (form body: name, description, cpuCount, memory in MB), disk `changeSize` and
//! `changeSpeed`, and the whole cloud backup family (enable, details, disable, modify plan, client
//! types, storage and schedule policies, add and remove clients, cancel a job). Answers are the
//! `Status` document of namespace `http://oec.api.opsource.net/schemas/general` (HTTP 400 with
//! `result` ERROR and a `REASON_n` code when refused) or the backup namespace's documents.

use std::sync::Arc;

use super::body::xml_to_value;
use crate::core::Core;
use crate::errors::{ApiError, Code};
use crate::models::backup::data::{SCHEDULE_POLICIES, STORAGE_POLICIES};
use crate::models::backup::{self, BackupError, ClientRequest};
use crate::models::server::{self, Reconfigure};

const GENERAL_NS: &str = "http://oec.api.opsource.net/schemas/general";
const BACKUP_NS: &str = "http://oec.api.opsource.net/schemas/backup";
const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";

/// An MCP 1.0 answer: HTTP status, result code (for logs and counters) and the XML body.
pub struct OecAnswer {
    /// HTTP status.
    pub status: u16,
    /// `REASON_0`, `REASON_543`...
    pub code: String,
    /// The XML document.
    pub body: String,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn status_doc(
    operation: &str,
    ok: bool,
    detail: &str,
    code: &str,
    info: &[(&str, &str)],
) -> OecAnswer {
    let mut b = format!(
        "{HEAD}<ns6:Status xmlns:ns6=\"{GENERAL_NS}\"><ns6:operation>{}</ns6:operation>\
<ns6:result>{}</ns6:result><ns6:resultDetail>{}</ns6:resultDetail><ns6:resultCode>{code}</ns6:resultCode>",
        esc(operation),
        if ok { "SUCCESS" } else { "ERROR" },
        esc(detail)
    );
    for (n, v) in info {
        b.push_str(&format!(
            "<ns6:additionalInformation name=\"{}\"><ns6:value>{}</ns6:value></ns6:additionalInformation>",
            esc(n),
            esc(v)
        ));
    }
    b.push_str("</ns6:Status>");
    OecAnswer {
        status: if ok { 200 } else { 400 },
        code: code.to_string(),
        body: b,
    }
}

fn success(operation: &str, detail: &str, info: &[(&str, &str)]) -> OecAnswer {
    status_doc(operation, true, detail, "REASON_0", info)
}

fn refused(operation: &str, e: &BackupError) -> OecAnswer {
    status_doc(operation, false, &e.detail, e.reason, &[])
}

/// The MCP 1.0 reason code of a 2.x refusal.
fn reason(e: &ApiError) -> BackupError {
    let reason = match e.code {
        Code::ResourceBusy => "REASON_392",
        Code::ResourceNotFound => "REASON_395",
        Code::NoChange => "REASON_10",
        _ => "REASON_1",
    };
    BackupError {
        reason,
        detail: e.message.clone(),
    }
}

/// The operation name of an MCP 1.0 request (for the request log and counters).
pub fn operation(post: bool, rest: &[&str], query: &str) -> &'static str {
    let flag = |f: &str| query.split('&').any(|p| p.split('=').next() == Some(f));
    match (post, rest) {
        (true, [_]) => "EDIT_SERVER",
        (true, [_, "disk", _, "changeSize"]) => "CHANGE_DISK_SIZE",
        (true, [_, "disk", _, "changeSpeed"]) => "CHANGE_DISK_SPEED",
        (true, [_, "backup"]) => "ENABLE_BACKUP",
        (false, [_, "backup"]) if flag("disable") => "DISABLE_BACKUP",
        (false, [_, "backup"]) => "GET_BACKUP_DETAILS",
        (true, [_, "backup", "modify"]) => "MODIFY_BACKUP",
        (false, [_, "backup", "client", "type"]) => "LIST_BACKUP_CLIENT_TYPES",
        (false, [_, "backup", "client", "storagePolicy"]) => "LIST_BACKUP_STORAGE_POLICIES",
        (false, [_, "backup", "client", "schedulePolicy"]) => "LIST_BACKUP_SCHEDULE_POLICIES",
        (true, [_, "backup", "client"]) => "ADD_BACKUP_CLIENT",
        (false, [_, "backup", "client", _]) if flag("disable") => "REMOVE_BACKUP_CLIENT",
        (false, [_, "backup", "client", _]) if flag("cancelJob") => "CANCEL_BACKUP_JOB",
        _ => "UNKNOWN",
    }
}

/// Serves one MCP 1.0 request for server `rest[0]`; `None` when no such call exists (404).
pub async fn serve(core: &Arc<Core>, op: &str, rest: &[&str], body: &[u8]) -> Option<OecAnswer> {
    if op == "UNKNOWN" {
        return None;
    }
    let id = rest.first().copied()?.to_string();
    let a = match op {
        "EDIT_SERVER" => edit_server(core, &id, body).await,
        "CHANGE_DISK_SIZE" | "CHANGE_DISK_SPEED" => change_disk(core, op, &id, rest[2], body).await,
        "LIST_BACKUP_CLIENT_TYPES"
        | "LIST_BACKUP_STORAGE_POLICIES"
        | "LIST_BACKUP_SCHEDULE_POLICIES"
        | "GET_BACKUP_DETAILS" => read_backup(core, op, &id),
        "CANCEL_BACKUP_JOB" => {
            let e = backup::cancel_job(&core.read(), &id, rest[3]).unwrap_err();
            refused("Cancel Backup Job", &e)
        }
        _ => change_backup(core, op, &id, rest, body).await,
    };
    Some(a)
}

fn text(body: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, BackupError> {
    let s = std::str::from_utf8(body).unwrap_or("");
    match xml_to_value(s.trim()) {
        Ok((_, serde_json::Value::Object(m))) => Ok(m),
        Ok(_) => Ok(serde_json::Map::new()),
        Err(e) => Err(reason(&e)),
    }
}

fn field(m: &serde_json::Map<String, serde_json::Value>, name: &str) -> String {
    m.get(name)
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .trim()
        .to_string()
}

async fn edit_server(core: &Arc<Core>, id: &str, body: &[u8]) -> OecAnswer {
    let form = super::parse_query(std::str::from_utf8(body).unwrap_or(""));
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let num = |k: &str| get(k).and_then(|v| v.trim().parse::<u32>().ok());
    let (name, description) = (get("name"), get("description"));
    let (cpu, memory_mb) = (num("cpuCount"), num("memory"));
    let r = core
        .change(|tx| {
            server::edit(tx, id, name, description)?;
            if cpu.is_some() || memory_mb.is_some() {
                let r = Reconfigure {
                    cpu_count: cpu,
                    cores_per_socket: None,
                    cpu_speed: None,
                    memory_gb: memory_mb.map(|m| m.div_ceil(1024)),
                };
                server::reconfigure(tx, id, r)?;
            }
            Ok(())
        })
        .await;
    match r {
        Ok(()) => success("Edit Server", "Server edited", &[]),
        Err(e) => refused("Edit Server", &reason(&e)),
    }
}

async fn change_disk(
    core: &Arc<Core>,
    op: &str,
    server: &str,
    disk: &str,
    body: &[u8],
) -> OecAnswer {
    let (what, label) = if op == "CHANGE_DISK_SIZE" {
        ("Change Server Disk Size", "newSizeGb")
    } else {
        ("Change Server Disk Speed", "speed")
    };
    let m = match text(body) {
        Ok(m) => m,
        Err(e) => return refused(what, &e),
    };
    let value = field(&m, label);
    let disk = disk.to_string();
    let r = core
        .change(|tx| {
            let disk_id = disk_id(tx.st(), server, &disk);
            if op == "CHANGE_DISK_SIZE" {
                let gb = value.parse::<u32>().map_err(|_| {
                    ApiError::invalid("newSizeGb", format!("'{value}' is not a size"))
                })?;
                server::expand_disk(tx, &disk_id, gb)
            } else {
                server::change_disk_speed(tx, &disk_id, &value)
            }
        })
        .await;
    match r {
        Ok(()) => success(what, &format!("Server \"{what}\" issued"), &[]),
        Err(e) => refused(what, &reason(&e)),
    }
}

/// A disk of server `server` named by id, or by its SCSI id.
fn disk_id(st: &crate::models::State, server: &str, disk: &str) -> String {
    let by_scsi = disk.parse::<u32>().ok().and_then(|n| {
        let s = st.servers.get(server)?;
        let d = s.disks.iter().find(|d| d.scsi_id == n && d.id != disk)?;
        Some(d.id.clone())
    });
    by_scsi.unwrap_or_else(|| disk.to_string())
}

fn read_backup(core: &Arc<Core>, op: &str, id: &str) -> OecAnswer {
    let st = core.read();
    let r = match op {
        "GET_BACKUP_DETAILS" => backup::backup_of(&st, id).map(|(_, b)| details(b)),
        "LIST_BACKUP_CLIENT_TYPES" => backup::client_types(&st, id).map(|ts| {
            let items: String = ts
                .iter()
                .map(|t| format!("<backupClientType type=\"{}\" isFileSystem=\"{}\" description=\"{}\"/>", t.0, t.1, t.2))
                .collect();
            format!("{HEAD}<BackupClientTypes xmlns=\"{BACKUP_NS}\">{items}</BackupClientTypes>")
        }),
        "LIST_BACKUP_STORAGE_POLICIES" => backup::backup_of(&st, id).map(|_| {
            let items: String = STORAGE_POLICIES
                .iter()
                .map(|p| {
                    let sec = p.2.map(|s| format!(" secondaryLocation=\"{s}\"")).unwrap_or_default();
                    format!("<storagePolicy retentionPeriodInDays=\"{}\" name=\"{}\"{sec}/>", p.1, esc(p.0))
                })
                .collect();
            format!("{HEAD}<BackupStoragePolicies xmlns=\"{BACKUP_NS}\">{items}</BackupStoragePolicies>")
        }),
        _ => backup::backup_of(&st, id).map(|_| {
            let items: String = SCHEDULE_POLICIES
                .iter()
                .map(|p| format!("<schedulePolicy name=\"{}\" description=\"{}\"/>", esc(p.0), esc(p.1)))
                .collect();
            format!("{HEAD}<BackupSchedulePolicies xmlns=\"{BACKUP_NS}\">{items}</BackupSchedulePolicies>")
        }),
    };
    match r {
        Ok(body) => OecAnswer {
            status: 200,
            code: "REASON_0".into(),
            body,
        },
        Err(e) => refused("Get Backup Details", &e),
    }
}

fn details(b: &backup::Backup) -> String {
    let mut out = format!(
        "{HEAD}<BackupDetails xmlns=\"{BACKUP_NS}\" assetId=\"{}\" servicePlan=\"{}\" state=\"NORMAL\">",
        b.asset_id, b.service_plan
    );
    for c in &b.clients {
        let fs = !matches!(c.client_type.as_str(), "MySQL" | "PostgreSQL" | "MSSQL");
        out.push_str(&format!(
            "<backupClient id=\"{}\" type=\"{}\" isFileSystem=\"{fs}\" status=\"Unregistered\">\
<description>{} Agent</description><schedulePolicyName>{}</schedulePolicyName><storagePolicyName>{}</storagePolicyName>",
            c.id,
            esc(&c.client_type),
            esc(&c.client_type),
            esc(&c.schedule_policy),
            esc(&c.storage_policy)
        ));
        if let Some((trigger, emails)) = &c.alerting {
            out.push_str(&format!("<alerting trigger=\"{}\">", esc(trigger)));
            for e in emails {
                out.push_str(&format!("<emailAddress>{}</emailAddress>", esc(e)));
            }
            out.push_str("</alerting>");
        }
        out.push_str(&format!(
            "<totalBackupSizeGb>0</totalBackupSizeGb><downloadUrl>{}</downloadUrl></backupClient>",
            esc(&c.download_url)
        ));
    }
    out.push_str("</BackupDetails>");
    out
}

fn client_request(m: &serde_json::Map<String, serde_json::Value>) -> ClientRequest {
    let alerting = m.get("alerting").and_then(|a| a.as_object()).map(|a| {
        let trigger = a
            .get("trigger")
            .and_then(|v| v.as_str())
            .unwrap_or("ON_FAILURE");
        let emails = match a.get("emailAddress") {
            Some(serde_json::Value::Array(v)) => v
                .iter()
                .filter_map(|x| x.as_str())
                .map(String::from)
                .collect(),
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        };
        (trigger.to_string(), emails)
    });
    ClientRequest {
        client_type: field(m, "type"),
        storage_policy: field(m, "storagePolicyName"),
        schedule_policy: field(m, "schedulePolicyName"),
        alerting,
    }
}

async fn change_backup(
    core: &Arc<Core>,
    op: &str,
    id: &str,
    rest: &[&str],
    body: &[u8],
) -> OecAnswer {
    let what = match op {
        "ENABLE_BACKUP" => "Enable Backup for Server",
        "DISABLE_BACKUP" => "Disable Backup for Server",
        "MODIFY_BACKUP" => "Change Backup Service Plan",
        "ADD_BACKUP_CLIENT" => "Add Backup Client",
        _ => "Disable Backup Client",
    };
    let m = if body.is_empty() {
        serde_json::Map::new()
    } else {
        match text(body) {
            Ok(m) => m,
            Err(e) => return refused(what, &e),
        }
    };
    let plan = field(&m, "servicePlan");
    let client = rest.get(3).copied().unwrap_or("").to_string();
    let r = core
        .change(|tx| {
            Ok(match op {
                "ENABLE_BACKUP" => backup::enable(tx, id, &plan).map(|a| vec![("assetId", a)]),
                "DISABLE_BACKUP" => backup::disable(tx, id).map(|()| vec![]),
                "MODIFY_BACKUP" => backup::modify(tx, id, &plan).map(|()| vec![]),
                "ADD_BACKUP_CLIENT" => backup::add_client(tx, id, client_request(&m))
                    .map(|(c, u)| vec![("backupClient.id", c), ("backupClient.downloadUrl", u)]),
                _ => backup::remove_client(tx, id, &client).map(|()| vec![]),
            })
        })
        .await;
    let detail = match op {
        "ENABLE_BACKUP" => "Backup enabled for Server - see additional Information for Asset ID",
        "DISABLE_BACKUP" => "Backup disabled for Server",
        "MODIFY_BACKUP" => "Backup Service Plan changed",
        "ADD_BACKUP_CLIENT" => "Backup Client added",
        _ => "Backup Client disabled",
    };
    match r {
        Ok(Ok(info)) => {
            let info: Vec<(&str, &str)> = info.iter().map(|(k, v)| (*k, v.as_str())).collect();
            success(what, detail, &info)
        }
        Ok(Err(e)) => refused(what, &e),
        Err(e) => refused(what, &reason(&e)),
    }
}
