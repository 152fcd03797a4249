//! The one place that reads the `MCP_*` environment variables: [`Env::from_env`]. Everything else
//! (endpoint hints, client configuration, the `credentials.*` tokens) takes its values from here.

use super::error::{CloudError, CloudResult};

/// The `MCP_*` variables of the process, as set (a blank `MCP_ENDPOINT` or `MCP_CA_CERT` counts as unset).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Env {
    /// `MCP_ENDPOINT`: a full URL that wins over the plan's `apiHost` and region.
    pub endpoint: Option<String>,
    /// `MCP_USERNAME`.
    pub username: Option<String>,
    /// `MCP_PASSWORD`.
    pub password: Option<String>,
    /// `MCP_CA_CERT`: path of a PEM bundle to trust in addition to the public roots.
    pub ca_cert: Option<String>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("endpoint", &self.endpoint)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("ca_cert", &self.ca_cert)
            .finish()
    }
}

impl Env {
    /// Reads `MCP_ENDPOINT`, `MCP_USERNAME`, `MCP_PASSWORD` and `MCP_CA_CERT`.
    pub fn from_env() -> Env {
        let var = |name: &str| std::env::var(name).ok();
        Env {
            endpoint: var("MCP_ENDPOINT").filter(|s| !s.trim().is_empty()),
            username: var("MCP_USERNAME"),
            password: var("MCP_PASSWORD"),
            ca_cert: var("MCP_CA_CERT").filter(|s| !s.trim().is_empty()),
        }
    }

    /// The bytes of the `MCP_CA_CERT` file, if the variable is set.
    pub fn ca_cert_pem(&self) -> CloudResult<Option<Vec<u8>>> {
        let Some(path) = &self.ca_cert else {
            return Ok(None);
        };
        std::fs::read(path)
            .map(Some)
            .map_err(|e| CloudError::Config(format!("cannot read MCP_CA_CERT file {path}: {e}")))
    }
}
