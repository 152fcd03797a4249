//! From what a run knows to a ready client: [`client_from_hints`] resolves the endpoint (an explicit
//! endpoint, `MCP_ENDPOINT`, `apiHost`, region), takes the credentials (given, else `MCP_USERNAME` /
//! `MCP_PASSWORD`) and the private CA (`MCP_CA_CERT`), and applies the run's policies; a local emulator
//! gets the fast policies unless the caller chose others.

use super::endpoint::{EndpointHints, resolve_endpoint};
use super::env::Env;
use super::error::CloudResult;
use super::retry::RetryPolicy;
use super::transport::{ClientConfig, CloudClient};
use super::wait::WaitPolicy;
use secrets::Secret;

/// What a run asks of each client it opens.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Endpoint for every location (overrides `MCP_ENDPOINT`, `apiHost` and region).
    pub endpoint: Option<String>,
    /// Credentials (override `MCP_USERNAME` / `MCP_PASSWORD`).
    pub credentials: Option<(String, Secret)>,
    /// Retry rules.
    pub retry: RetryPolicy,
    /// Wait rules.
    pub wait: WaitPolicy,
    /// Cap on change requests in flight per endpoint.
    pub max_changes_in_flight: usize,
}

/// A client for the endpoint the hints name (`opts.endpoint` wins), with the run's credentials,
/// retry, wait and in-flight rules.
pub fn client_from_hints(
    mut hints: EndpointHints,
    opts: &ClientOptions,
) -> CloudResult<CloudClient> {
    if let Some(e) = &opts.endpoint {
        hints.env_endpoint = Some(e.clone());
    }
    let mut cfg = match &opts.credentials {
        Some((user, password)) => {
            let endpoint = resolve_endpoint(&hints)?;
            let mut c = ClientConfig::new(endpoint, user.clone(), password.clone());
            c.ca_cert_pem = Env::from_env().ca_cert_pem()?;
            c
        }
        None => ClientConfig::from_env(&hints)?,
    };
    cfg.retry = opts.retry.clone();
    cfg.wait = opts.wait.clone();
    // A local emulator answers in microseconds and may run at a small time-scale: default policies
    // become the fast ones there (explicit policies are kept).
    if is_loopback(&cfg.endpoint) {
        if opts.retry == RetryPolicy::default() {
            cfg.retry = RetryPolicy::fast();
        }
        if opts.wait == WaitPolicy::default() {
            cfg.wait = WaitPolicy::fast();
        }
    }
    cfg.max_changes_in_flight = opts.max_changes_in_flight;
    CloudClient::new(cfg)
}

/// True for `http(s)://127.x.y.z[:port]`, `localhost` and `[::1]`.
pub fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split('/').next().unwrap_or("");
    let host = if let Some(h) = host.strip_prefix('[') {
        h.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_endpoints() {
        assert!(is_loopback("http://127.0.0.1:8081"));
        assert!(is_loopback("https://127.77.0.3"));
        assert!(is_loopback("http://localhost:1/"));
        assert!(is_loopback("http://[::1]:80"));
        assert!(!is_loopback("https://api-eu.dimensiondata.com"));
        assert!(!is_loopback("https://10.0.0.1:443"));
    }
}
