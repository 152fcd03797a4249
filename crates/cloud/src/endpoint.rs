//! Where the API lives: `MCP_ENDPOINT` (a full URL) wins, then the plan's `apiHost`, then the region
//! (`regionId`, or derived from `locationId` with the original plumbery's table) mapped to its public host.

use super::env::Env;
use super::error::CloudError;

/// Region key -> API host (libcloud's `API_ENDPOINTS`, plus plumbery's `dd-ca` spelling).
const REGION_HOSTS: &[(&str, &str)] = &[
    ("dd-na", "api-na.dimensiondata.com"),
    ("dd-eu", "api-eu.dimensiondata.com"),
    ("dd-au", "api-au.dimensiondata.com"),
    ("dd-au-gov", "api-canberra.dimensiondata.com"),
    ("dd-af", "api-mea.dimensiondata.com"),
    ("dd-ap", "api-ap.dimensiondata.com"),
    ("dd-latam", "api-latam.dimensiondata.com"),
    ("dd-canada", "api-canada.dimensiondata.com"),
    ("dd-ca", "api-canada.dimensiondata.com"),
];

/// Location -> region, the original's table (`facility.py:151-166`).
const LOCATION_REGIONS: &[(&str, &str)] = &[
    ("AF3", "dd-af"),
    ("AP3", "dd-ap"),
    ("AP4", "dd-ap"),
    ("AP5", "dd-ap"),
    ("AU9", "dd-au"),
    ("AU10", "dd-au"),
    ("AU11", "dd-au"),
    ("CA2", "dd-ca"),
    ("EU6", "dd-eu"),
    ("EU7", "dd-eu"),
    ("EU8", "dd-eu"),
    ("EU9", "dd-eu"),
    ("NA9", "dd-na"),
    ("NA12", "dd-na"),
];

/// The region used when nothing else says (libcloud's `DEFAULT_REGION`).
pub const DEFAULT_REGION: &str = "dd-na";

/// The region of a location in the original's table, if any.
pub fn region_for_location(location_id: &str) -> Option<&'static str> {
    LOCATION_REGIONS
        .iter()
        .find(|(l, _)| l.eq_ignore_ascii_case(location_id))
        .map(|(_, r)| *r)
}

/// The API host of a region key such as `dd-eu`.
pub fn region_host(region: &str) -> Option<&'static str> {
    REGION_HOSTS
        .iter()
        .find(|(r, _)| r.eq_ignore_ascii_case(region))
        .map(|(_, h)| *h)
}

/// What the plan and the environment say about the endpoint of one location.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointHints {
    /// `MCP_ENDPOINT`: a full URL (`http://127.0.0.1:8081`), wins over everything.
    pub env_endpoint: Option<String>,
    /// The plan's `apiHost` (a host, optionally with a port, or a URL).
    pub api_host: Option<String>,
    /// The plan's `regionId`.
    pub region_id: Option<String>,
    /// The plan's `locationId`.
    pub location_id: Option<String>,
}

impl EndpointHints {
    /// Hints from the plan's settings plus `MCP_ENDPOINT` from the environment.
    pub fn from_env(
        api_host: Option<&str>,
        region_id: Option<&str>,
        location_id: Option<&str>,
    ) -> Self {
        EndpointHints {
            env_endpoint: Env::from_env().endpoint,
            api_host: api_host.map(str::to_string),
            region_id: region_id.map(str::to_string),
            location_id: location_id.map(str::to_string),
        }
    }
}

/// Resolve the base URL (scheme, host, optional port; no trailing slash).
pub fn resolve_endpoint(h: &EndpointHints) -> Result<String, CloudError> {
    if let Some(url) = &h.env_endpoint {
        let url = url.trim().trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(CloudError::Config(format!(
                "MCP_ENDPOINT must be a full URL such as https://host:port, got '{url}'"
            )));
        }
        return Ok(url.to_string());
    }
    if let Some(host) = h
        .api_host
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let host = host.trim_end_matches('/');
        if host.starts_with("http://") || host.starts_with("https://") {
            return Ok(host.to_string());
        }
        return Ok(format!("https://{host}"));
    }
    let region = match (&h.region_id, &h.location_id) {
        (Some(r), _) => r.clone(),
        (None, Some(l)) => region_for_location(l).unwrap_or(DEFAULT_REGION).to_string(),
        (None, None) => DEFAULT_REGION.to_string(),
    };
    let host = region_host(&region).ok_or_else(|| {
        CloudError::Config(format!(
            "unknown regionId '{region}'; use one of dd-na, dd-eu, dd-au, dd-af, dd-ap, dd-ca, or set apiHost"
        ))
    })?;
    Ok(format!("https://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hints(
        env: Option<&str>,
        host: Option<&str>,
        region: Option<&str>,
        loc: Option<&str>,
    ) -> EndpointHints {
        EndpointHints {
            env_endpoint: env.map(Into::into),
            api_host: host.map(Into::into),
            region_id: region.map(Into::into),
            location_id: loc.map(Into::into),
        }
    }

    #[test]
    fn env_wins_then_host_then_region() {
        let h = hints(
            Some("http://127.0.0.1:9/"),
            Some("x.example"),
            Some("dd-eu"),
            Some("EU6"),
        );
        assert_eq!(resolve_endpoint(&h).unwrap(), "http://127.0.0.1:9");
        let h = hints(None, Some("127.0.0.1:8443"), Some("dd-eu"), None);
        assert_eq!(resolve_endpoint(&h).unwrap(), "https://127.0.0.1:8443");
        let h = hints(None, None, Some("dd-au"), Some("EU6"));
        assert_eq!(
            resolve_endpoint(&h).unwrap(),
            "https://api-au.dimensiondata.com"
        );
    }

    #[test]
    fn region_from_location_table() {
        let h = hints(None, None, None, Some("EU7"));
        assert_eq!(
            resolve_endpoint(&h).unwrap(),
            "https://api-eu.dimensiondata.com"
        );
        let h = hints(None, None, None, Some("AF3"));
        assert_eq!(
            resolve_endpoint(&h).unwrap(),
            "https://api-mea.dimensiondata.com"
        );
        let h = hints(None, None, None, Some("CA2"));
        assert_eq!(
            resolve_endpoint(&h).unwrap(),
            "https://api-canada.dimensiondata.com"
        );
        let h = hints(None, None, None, Some("XX1"));
        assert_eq!(
            resolve_endpoint(&h).unwrap(),
            "https://api-na.dimensiondata.com"
        );
    }

    #[test]
    fn bad_inputs_are_config_errors() {
        assert!(resolve_endpoint(&hints(Some("127.0.0.1:9"), None, None, None)).is_err());
        assert!(resolve_endpoint(&hints(None, None, Some("dd-mars"), None)).is_err());
    }
}
