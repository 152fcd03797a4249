//! Cloud backup of a server (the MCP 1.0 `oec/0.9/{org}/server/{id}/backup` family): the service
//! plan, the clients (agents) with their storage and schedule policies, and the catalogue of client
//! types and policies.

use serde::{Deserialize, Serialize};

/// Backup of one server, stored with the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backup {
    /// Asset id.
    pub asset_id: String,
    /// `Essentials`, `Advanced` or `Enterprise`.
    pub service_plan: String,
    /// Clients.
    pub clients: Vec<BackupClient>,
}

/// One backup client (agent) of a server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupClient {
    /// Id.
    pub id: String,
    /// Client type, e.g. `FA.Linux`.
    pub client_type: String,
    /// Storage policy name.
    pub storage_policy: String,
    /// Schedule policy name.
    pub schedule_policy: String,
    /// Alerting trigger and addresses.
    pub alerting: Option<(String, Vec<String>)>,
    /// Installer download URL.
    pub download_url: String,
}

/// The service plans.
pub const PLANS: &[&str] = &["Essentials", "Advanced", "Enterprise"];

/// Client types: (type, is file system, description, minimum plan index in `PLANS`, Windows?).
pub const CLIENT_TYPES: &[(&str, bool, &str, usize, Option<bool>)] = &[
    ("FA.Linux", true, "Linux File system", 0, Some(false)),
    ("FA.Win", true, "Windows File system", 0, Some(true)),
    ("MySQL", false, "MySQL Database", 1, Some(false)),
    ("PostgreSQL", false, "PostgreSQL Database", 1, Some(false)),
    ("MSSQL", false, "Microsoft SQL Server", 1, Some(true)),
];

/// Storage policies: (name, retention days, secondary location).
pub const STORAGE_POLICIES: &[(&str, u32, Option<&str>)] = &[
    ("14 Day Storage Policy", 14, None),
    ("30 Day Storage Policy", 30, None),
    (
        "30 Day Storage Policy + Secondary Copy",
        30,
        Some("Primary"),
    ),
    ("90 Day Storage Policy", 90, None),
    ("1 Year Storage Policy", 365, None),
];

/// Schedule policies: (name, description).
pub const SCHEDULE_POLICIES: &[(&str, &str)] = &[
    ("12AM - 6AM", "Daily backup will start between 12AM - 6AM"),
    ("6AM - 12PM", "Daily backup will start between 6AM - 12PM"),
    ("12PM - 6PM", "Daily backup will start between 12PM - 6PM"),
    ("6PM - 12AM", "Daily backup will start between 6PM - 12AM"),
];

/// The alert triggers.
pub const TRIGGERS: &[&str] = &["ON_FAILURE", "ON_SUCCESS", "ON_SUCCESS_OR_FAILURE"];
