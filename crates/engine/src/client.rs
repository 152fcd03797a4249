//! The API client of a location: its endpoint (the plan's `apiHost` / region, `MCP_ENDPOINT`, or
//! the run's `--endpoint`), the run's credentials, retry, wait and in-flight rules; fast policies
//! against a local emulator.

use cloud::{ClientConfig, CloudClient, CloudError, EndpointHints, RetryPolicy, WaitPolicy};
use fittings::Location;

use crate::options::Options;

/// The client of location `loc`.
pub(crate) fn client_for(loc: &Location, opts: &Options) -> Result<CloudClient, CloudError> {
    let hints = EndpointHints::from_env(
        loc.api_host.as_deref(),
        loc.region_id.as_deref(),
        Some(&loc.location_id),
    );
    client_from_hints(hints, opts)
}

/// A client for the endpoint the hints name (`opts.endpoint` wins), with the run's credentials,
/// retry, wait and in-flight rules.
pub(crate) fn client_from_hints(
    mut hints: EndpointHints,
    opts: &Options,
) -> Result<CloudClient, CloudError> {
    if let Some(e) = &opts.endpoint {
        hints.env_endpoint = Some(e.clone());
    }
    let mut cfg = match &opts.credentials {
        Some((user, password)) => {
            let endpoint = cloud::resolve_endpoint(&hints)?;
            let mut c = ClientConfig::new(endpoint, user.clone(), password.clone());
            if let Ok(path) = std::env::var("MCP_CA_CERT")
                && !path.trim().is_empty()
            {
                c.ca_cert_pem = Some(std::fs::read(&path).map_err(|e| {
                    CloudError::Config(format!("cannot read MCP_CA_CERT file {path}: {e}"))
                })?);
            }
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
fn is_loopback(url: &str) -> bool {
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
