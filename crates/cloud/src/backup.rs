//! Cloud backup of a server, on the old `/oec/0.9/{org}/server/{id}/backup…` API (shapes of the
//! libcloud backup fixtures): enable with a service plan, details (plan, state, clients), the client
//! types, storage and schedule policies offered, add and remove a client, cancel a client's job,
//! change the plan, disable. Documents are read by local name: the API's namespace prefixes vary.

use serde::{Deserialize, Serialize};

use super::error::{CloudError, CloudResult};
use super::model::ResourceState;
use super::transport::{CloudClient, Kind};
use super::wire::{self, OecStatus};
use super::xmltree::{self, El};

/// Namespace of backup request bodies.
pub const BACKUP_NS: &str = "http://oec.api.opsource.net/schemas/backup";

/// A running job of a backup client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupJob {
    /// Job id.
    pub id: String,
    /// Name, e.g. `Backup`.
    pub name: String,
    /// Percentage complete.
    pub percentage_complete: Option<u32>,
    /// e.g. `Waiting`, `Running`.
    pub status: String,
}

/// A backup client (agent) of a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupClient {
    /// Client id.
    pub id: String,
    /// Client type, e.g. `FA.Linux`.
    pub client_type: String,
    /// True for a file system agent.
    pub is_file_system: bool,
    /// e.g. `Unregistered`.
    pub status: String,
    /// e.g. `Linux File Agent`.
    pub description: String,
    /// Schedule policy name.
    pub schedule_policy: String,
    /// Storage policy name.
    pub storage_policy: String,
    /// Alert trigger (`ON_FAILURE`, `ON_SUCCESS`, `ON_SUCCESS_OR_FAILURE`), if alerting.
    pub trigger: Option<String>,
    /// Alert addresses.
    pub emails: Vec<String>,
    /// Where to download the agent.
    pub download_url: Option<String>,
    /// The job running, if any.
    pub running_job: Option<BackupJob>,
}

/// The backup of a server (`BackupDetails`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupDetails {
    /// Asset id.
    pub asset_id: String,
    /// `Essentials`, `Advanced` or `Enterprise`.
    pub service_plan: String,
    /// State.
    pub state: ResourceState,
    /// Clients.
    pub clients: Vec<BackupClient>,
}

/// A client type a server can take (`backupClientType`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupClientType {
    /// e.g. `FA.Linux`.
    pub client_type: String,
    /// True for a file system agent.
    pub is_file_system: bool,
    /// e.g. `Linux File system`.
    pub description: String,
}

/// A storage policy (`storagePolicy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoragePolicy {
    /// e.g. `14 Day Storage Policy`.
    pub name: String,
    /// Days kept.
    pub retention_period_in_days: Option<u32>,
    /// Secondary location, if any.
    pub secondary_location: Option<String>,
}

/// A schedule policy (`schedulePolicy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchedulePolicy {
    /// e.g. `12AM - 6AM`.
    pub name: String,
    /// Description.
    pub description: String,
}

/// Request to add a backup client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewBackupClient {
    /// Client type, e.g. `FA.Linux`.
    pub client_type: String,
    /// Storage policy name.
    pub storage_policy: String,
    /// Schedule policy name.
    pub schedule_policy: String,
    /// Alert trigger, e.g. `ON_FAILURE`.
    pub trigger: String,
    /// Alert address, if any.
    pub email: Option<String>,
}

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn flag(el: &El, name: &str) -> bool {
    el.attr(name).is_some_and(|v| v.trim() == "true")
}

fn decode_el(what: &str, body: &str) -> CloudResult<El> {
    xmltree::parse(body).map_err(|detail| CloudError::Decode {
        what: what.to_string(),
        detail,
    })
}

fn client(el: &El) -> BackupClient {
    let alert = el.child("alerting");
    BackupClient {
        id: el.attr("id").unwrap_or_default().to_string(),
        client_type: el.attr("type").unwrap_or_default().to_string(),
        is_file_system: flag(el, "isFileSystem"),
        status: el.attr("status").unwrap_or_default().to_string(),
        description: el.child_text("description").unwrap_or_default(),
        schedule_policy: el.child_text("schedulePolicyName").unwrap_or_default(),
        storage_policy: el.child_text("storagePolicyName").unwrap_or_default(),
        trigger: alert.and_then(|a| a.attr("trigger")).map(str::to_string),
        emails: alert
            .map(|a| a.all("emailAddress").map(|e| e.text.clone()).collect())
            .unwrap_or_default(),
        download_url: el.child_text("downloadUrl"),
        running_job: el.child("runningJob").map(|j| BackupJob {
            id: j.attr("id").unwrap_or_default().to_string(),
            name: j.attr("name").unwrap_or_default().to_string(),
            percentage_complete: j.attr("percentageComplete").and_then(|p| p.parse().ok()),
            status: j.attr("status").unwrap_or_default().to_string(),
        }),
    }
}

/// Decodes a `BackupDetails` document.
pub fn decode_backup_details(body: &str) -> CloudResult<BackupDetails> {
    let el = decode_el("BackupDetails", body)?;
    if el.name != "BackupDetails" {
        return Err(CloudError::Decode {
            what: "BackupDetails".into(),
            detail: format!("root element is {}", el.name),
        });
    }
    Ok(BackupDetails {
        asset_id: el.attr("assetId").unwrap_or_default().to_string(),
        service_plan: el.attr("servicePlan").unwrap_or_default().to_string(),
        state: ResourceState::from(el.attr("state").unwrap_or_default().to_string()),
        clients: el.all("backupClient").map(client).collect(),
    })
}

/// Decodes a `BackupClientTypes` document.
pub fn decode_client_types(body: &str) -> CloudResult<Vec<BackupClientType>> {
    let el = decode_el("BackupClientTypes", body)?;
    Ok(el
        .all("backupClientType")
        .map(|t| BackupClientType {
            client_type: t.attr("type").unwrap_or_default().to_string(),
            is_file_system: flag(t, "isFileSystem"),
            description: norm(t.attr("description").unwrap_or_default()),
        })
        .collect())
}

/// Decodes a `BackupStoragePolicies` document.
pub fn decode_storage_policies(body: &str) -> CloudResult<Vec<StoragePolicy>> {
    let el = decode_el("BackupStoragePolicies", body)?;
    Ok(el
        .all("storagePolicy")
        .map(|p| StoragePolicy {
            name: norm(p.attr("name").unwrap_or_default()),
            retention_period_in_days: p.attr("retentionPeriodInDays").and_then(|d| d.parse().ok()),
            secondary_location: p.attr("secondaryLocation").map(str::to_string),
        })
        .collect())
}

/// Decodes a `BackupSchedulePolicies` document.
pub fn decode_schedule_policies(body: &str) -> CloudResult<Vec<SchedulePolicy>> {
    let el = decode_el("BackupSchedulePolicies", body)?;
    Ok(el
        .all("schedulePolicy")
        .map(|p| SchedulePolicy {
            name: norm(p.attr("name").unwrap_or_default()),
            description: norm(p.attr("description").unwrap_or_default()),
        })
        .collect())
}

/// The `Status` of a backup change, which must say SUCCESS or IN_PROGRESS.
fn status(op: &str, body: &str) -> CloudResult<OecStatus> {
    let st = wire::decode_oec_status(body).ok_or_else(|| CloudError::Decode {
        what: op.to_string(),
        detail: "no Status document in the answer".into(),
    })?;
    if st.is_error() {
        return Err(CloudError::Api {
            status: 200,
            code: st.error_code(),
            operation: st.operation,
            message: st.detail,
        });
    }
    Ok(st)
}

/// True when the error says the server has no backup (`REASON_543`, or not found).
pub fn is_no_backup(e: &CloudError) -> bool {
    e.is_not_found() || e.code() == Some("REASON_543")
}

impl CloudClient {
    async fn backup_get(&self, op: &str, path: &str) -> CloudResult<String> {
        self.oec(Kind::Read, op, reqwest::Method::GET, path, None)
            .await
    }

    /// `POST server/{id}/backup` (`NewBackup servicePlan=`) → the asset id. `plan` is
    /// `Essentials`, `Advanced` or `Enterprise`.
    pub async fn enable_backup(&self, server_id: &str, plan: &str) -> CloudResult<String> {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<NewBackup xmlns=\"{BACKUP_NS}\" servicePlan=\"{}\"/>",
            quick_xml::escape::escape(plan)
        );
        let path = format!("server/{server_id}/backup");
        let text = self
            .oec(
                Kind::Create,
                "enableBackup",
                reqwest::Method::POST,
                &path,
                Some(body),
            )
            .await?;
        let st = status("enableBackup", &text)?;
        Ok(st.info("assetId").unwrap_or_default().to_string())
    }

    /// `POST server/{id}/backup/modify` (`ModifyBackup servicePlan=`).
    pub async fn modify_backup(&self, server_id: &str, plan: &str) -> CloudResult<()> {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ModifyBackup xmlns=\"{BACKUP_NS}\" servicePlan=\"{}\"/>",
            quick_xml::escape::escape(plan)
        );
        let path = format!("server/{server_id}/backup/modify");
        let text = self
            .oec(
                Kind::Change,
                "modifyBackup",
                reqwest::Method::POST,
                &path,
                Some(body),
            )
            .await?;
        status("modifyBackup", &text).map(drop)
    }

    /// `GET server/{id}/backup?disable`.
    pub async fn disable_backup(&self, server_id: &str) -> CloudResult<()> {
        let path = format!("server/{server_id}/backup?disable");
        let text = self
            .oec(
                Kind::Change,
                "disableBackup",
                reqwest::Method::GET,
                &path,
                None,
            )
            .await?;
        status("disableBackup", &text).map(drop)
    }

    /// `GET server/{id}/backup`: `None` when the server has no backup.
    pub async fn get_backup_details(&self, server_id: &str) -> CloudResult<Option<BackupDetails>> {
        match self
            .backup_get("backupDetails", &format!("server/{server_id}/backup"))
            .await
        {
            Ok(body) => decode_backup_details(&body).map(Some),
            Err(e) if is_no_backup(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET server/{id}/backup/client/type`.
    pub async fn list_backup_client_types(
        &self,
        server_id: &str,
    ) -> CloudResult<Vec<BackupClientType>> {
        let path = format!("server/{server_id}/backup/client/type");
        decode_client_types(&self.backup_get("backupClientType", &path).await?)
    }

    /// `GET server/{id}/backup/client/storagePolicy`.
    pub async fn list_backup_storage_policies(
        &self,
        server_id: &str,
    ) -> CloudResult<Vec<StoragePolicy>> {
        let path = format!("server/{server_id}/backup/client/storagePolicy");
        decode_storage_policies(&self.backup_get("storagePolicy", &path).await?)
    }

    /// `GET server/{id}/backup/client/schedulePolicy`.
    pub async fn list_backup_schedule_policies(
        &self,
        server_id: &str,
    ) -> CloudResult<Vec<SchedulePolicy>> {
        let path = format!("server/{server_id}/backup/client/schedulePolicy");
        decode_schedule_policies(&self.backup_get("schedulePolicy", &path).await?)
    }

    /// `POST server/{id}/backup/client` (`NewBackupClient`) → the new client id, when the answer
    /// gives it.
    pub async fn add_backup_client(
        &self,
        server_id: &str,
        req: &NewBackupClient,
    ) -> CloudResult<Option<String>> {
        let mut b = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<NewBackupClient xmlns=\"{BACKUP_NS}\">"
        );
        let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
        b.push_str(&format!("<type>{}</type>", esc(&req.client_type)));
        b.push_str(&format!(
            "<storagePolicyName>{}</storagePolicyName>",
            esc(&req.storage_policy)
        ));
        b.push_str(&format!(
            "<schedulePolicyName>{}</schedulePolicyName>",
            esc(&req.schedule_policy)
        ));
        b.push_str(&format!("<alerting trigger=\"{}\">", esc(&req.trigger)));
        if let Some(e) = &req.email {
            b.push_str(&format!("<emailAddress>{}</emailAddress>", esc(e)));
        }
        b.push_str("</alerting></NewBackupClient>");
        let path = format!("server/{server_id}/backup/client");
        let text = self
            .oec(
                Kind::Create,
                "addBackupClient",
                reqwest::Method::POST,
                &path,
                Some(b),
            )
            .await?;
        let st = status("addBackupClient", &text)?;
        Ok(st.info("backupClient.id").map(str::to_string))
    }

    /// `GET server/{id}/backup/client/{client}?disable`.
    pub async fn remove_backup_client(&self, server_id: &str, client_id: &str) -> CloudResult<()> {
        let path = format!("server/{server_id}/backup/client/{client_id}?disable");
        let text = self
            .oec(
                Kind::Change,
                "removeBackupClient",
                reqwest::Method::GET,
                &path,
                None,
            )
            .await?;
        status("removeBackupClient", &text).map(drop)
    }

    /// `GET server/{id}/backup/client/{client}?cancelJob`.
    pub async fn cancel_backup_job(&self, server_id: &str, client_id: &str) -> CloudResult<()> {
        let path = format!("server/{server_id}/backup/client/{client_id}?cancelJob");
        let text = self
            .oec(
                Kind::Change,
                "cancelBackupJob",
                reqwest::Method::GET,
                &path,
                None,
            )
            .await?;
        status("cancelBackupJob", &text).map(drop)
    }
}
