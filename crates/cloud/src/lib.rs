//! The CloudControl client: transport (reqwest + rustls, Basic auth, org id discovery, private CA),
//! the XML wire codec (quick-xml), one typed async call per API operation, retries and waits.
//!
//! Wire form: XML in namespace `urn:didata.com:api:cloud:types`, the API's native form and the one
//! libcloud (hence the original plumbery) speaks; every ground-truth fixture we hold is XML.
//!
//! Typical use:
//! ```no_run
//! # async fn f() -> Result<(), cloud::CloudError> {
//! use cloud::{ClientConfig, CloudClient, EndpointHints};
//! let cfg = ClientConfig::from_env(&EndpointHints::from_env(None, None, Some("EU6")))?;
//! let client = CloudClient::new(cfg)?;
//! let domains = client.list_network_domains(&[("datacenterId", "EU6")]).await?;
//! # Ok(()) }
//! ```

mod codes;
mod connect;
pub mod endpoint;
mod env;
pub mod error;
mod fetch;
pub mod model;
pub mod nics;
pub mod ops;
pub mod retry;
pub mod transport;
pub mod wait;
pub mod wire;

#[cfg(test)]
mod fixtures_tests;

pub use codes::ErrorCode;
pub use connect::{ClientOptions, client_from_hints, is_loopback};
pub use endpoint::{EndpointHints, region_for_location, region_host, resolve_endpoint};
pub use env::Env;
pub use error::{CloudError, CloudResult};
pub use fetch::{MAX_FETCH_BYTES, http_get};
pub use model::*;
pub use nics::NicTarget;
pub use ops::{
    CpuSpec, NewFirewallRule, NewNetworkDomain, NewServer, NewVlan, Placement, Probe, Reconfigure,
    Wait,
};
pub use retry::RetryPolicy;
pub use transport::{ClientConfig, CloudClient, Secret};
pub use wait::{AsyncOp, Pacer, WaitPolicy};
