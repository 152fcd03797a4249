//! How to run ([`Options`]): filters, safe mode, progress, credentials and endpoint, the client's
//! retry, wait and in-flight rules, the plan's state key and the bootstrap's patience.

use cloud::{RetryPolicy, Secret, WaitPolicy};

use crate::progress::Progress;

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Blueprint names or aliases (empty: all).
    pub blueprints: Vec<String>,
    /// `@LOCATION` filters without the `@` (empty: all).
    pub locations: Vec<String>,
    /// Safe mode: observe and print the steps, change nothing.
    pub safe: bool,
    /// Progress output.
    pub progress: Progress,
    /// Root password of new servers; `None`: `SHARED_SECRET` from the environment, else none sent.
    pub admin_password: Option<Secret>,
    /// Endpoint for every location (overrides `MCP_ENDPOINT`, `apiHost` and region).
    pub endpoint: Option<String>,
    /// Credentials (override `MCP_USERNAME` / `MCP_PASSWORD`).
    pub credentials: Option<(String, Secret)>,
    /// Retry rules of the client.
    pub retry: RetryPolicy,
    /// Wait rules of the client.
    pub wait: WaitPolicy,
    /// Cap on change requests in flight per endpoint.
    pub max_changes_in_flight: usize,
    /// The plan's state key (`PlanText::key`): its secrets, key pair and pinned host keys. `None`:
    /// no bootstrap (deploy notes that it skipped prepare).
    pub plan_key: Option<String>,
    /// How long deploy waits for the checks after the bootstrap to pass (Redis links coming up).
    pub check_patience: std::time::Duration,
    /// At most this many nodes bootstrapped at once (0: all).
    pub bootstrap_parallel: usize,
    /// More SSH public keys for prepare to authorise (the `key:` of a declared `prepare`).
    pub extra_public_keys: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            blueprints: Vec::new(),
            locations: Vec::new(),
            safe: false,
            progress: Progress::stderr(),
            admin_password: None,
            endpoint: None,
            credentials: None,
            retry: RetryPolicy::default(),
            wait: WaitPolicy::default(),
            max_changes_in_flight: 8,
            plan_key: None,
            check_patience: std::time::Duration::from_secs(120),
            bootstrap_parallel: 0,
            extra_public_keys: Vec::new(),
        }
    }
}
