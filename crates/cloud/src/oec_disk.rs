//! The old `/oec/0.9` disk changes libcloud sends (`server/{id}/disk/{disk}/changeSize` and
//! `changeSpeed`, `ChangeDiskSize`/`ChangeDiskSpeed` in the server namespace). The engine changes
//! disks with the 2.4 calls (`expandDisk`, `changeDiskSpeed`); these are here for clients of the
//! old shape.

use super::error::{CloudError, CloudResult};
use super::transport::{CloudClient, Kind};
use super::wire;

/// Namespace of the old API's server request bodies.
pub const SERVER_NS: &str = "http://oec.api.opsource.net/schemas/server";

impl CloudClient {
    async fn oec_disk(
        &self,
        server_id: &str,
        disk: &str,
        op: &str,
        body: String,
    ) -> CloudResult<()> {
        let path = format!("server/{server_id}/disk/{disk}/{op}");
        let text = self
            .oec(Kind::Change, op, reqwest::Method::POST, &path, Some(body))
            .await?;
        match wire::decode_oec_status(&text) {
            Some(st) if !st.is_error() => Ok(()),
            Some(st) => Err(CloudError::Api {
                status: 200,
                code: st.error_code(),
                operation: st.operation,
                message: st.detail,
            }),
            None => Err(CloudError::Decode {
                what: op.to_string(),
                detail: "no Status document in the answer".into(),
            }),
        }
    }

    /// `POST /oec/0.9/{org}/server/{id}/disk/{disk}/changeSize` (grow only; `disk` is the disk id
    /// or its SCSI id). The server then shows a pending change, as after `expandDisk`.
    pub async fn oec_change_disk_size(
        &self,
        server_id: &str,
        disk: &str,
        new_size_gb: u32,
    ) -> CloudResult<()> {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ChangeDiskSize xmlns=\"{SERVER_NS}\"><newSizeGb>{new_size_gb}</newSizeGb></ChangeDiskSize>"
        );
        self.oec_disk(server_id, disk, "changeSize", body).await
    }

    /// `POST /oec/0.9/{org}/server/{id}/disk/{disk}/changeSpeed` (STANDARD, HIGHPERFORMANCE,
    /// ECONOMY).
    pub async fn oec_change_disk_speed(
        &self,
        server_id: &str,
        disk: &str,
        speed: &str,
    ) -> CloudResult<()> {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ChangeDiskSpeed xmlns=\"{SERVER_NS}\"><speed>{}</speed></ChangeDiskSpeed>",
            quick_xml::escape::escape(speed)
        );
        self.oec_disk(server_id, disk, "changeSpeed", body).await
    }
}
