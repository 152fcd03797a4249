//! The API client of a location: its endpoint (the plan's `apiHost` / region, `MCP_ENDPOINT`, or
//! the run's `--endpoint`), the run's credentials, retry, wait and in-flight rules, handed to
//! [`cloud::client_from_hints`] (which picks fast policies against a local emulator).

use cloud::{CloudClient, CloudError, EndpointHints};
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
/// retry, wait and in-flight rules: [`cloud::client_from_hints`].
pub(crate) fn client_from_hints(
    hints: EndpointHints,
    opts: &Options,
) -> Result<CloudClient, CloudError> {
    cloud::client_from_hints(
        hints,
        &cloud::ClientOptions {
            endpoint: opts.endpoint.clone(),
            credentials: opts.credentials.clone(),
            retry: opts.retry.clone(),
            wait: opts.wait.clone(),
            max_changes_in_flight: opts.max_changes_in_flight,
        },
    )
}
