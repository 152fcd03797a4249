//! The CloudControl client: transport (reqwest + rustls, Basic auth, org id discovery, private CA),
//! the XML wire codec (quick-xml), one typed async call per API operation, retries and waits.
//!
//! Provides: [`CloudClient`] (one typed call per operation) built from a [`ClientConfig`], or by
//! [`client_from_hints`] from [`EndpointHints`] and [`ClientOptions`]; the model types ([`Server`],
//! [`NetworkDomain`], [`Vlan`], load balancer, backup and tag types, …); [`CloudError`] with the API's [`ErrorCode`]; [`RetryPolicy`] and
//! [`WaitPolicy`]; and the single owners of: the location -> region table
//! ([`region_for_location`]), every `MCP_*` variable ([`Env`]), endpoint and CA handling
//! ([`resolve_endpoint`], [`client_from_hints`]), and the plain HTTP fetch of a plan or token URL
//! ([`http_get`]). The wire codec is public as [`wire`] (fixture tests decode with it).
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

mod backup;
mod balancer;
mod codes;
mod connect;
mod endpoint;
mod env;
mod error;
mod fetch;
mod gate;
mod model;
mod nics;
mod oec_disk;
mod ops;
mod retry;
mod status_xml;
mod tags;
mod transport;
mod wait;
pub mod wire;
mod xmltree;

#[cfg(test)]
mod balancer_fixtures_tests;
#[cfg(test)]
mod fixtures_tests;

pub use backup::{
    BACKUP_NS, BackupClient, BackupClientType, BackupDetails, BackupJob, NewBackupClient,
    SchedulePolicy, StoragePolicy, decode_backup_details, decode_client_types,
    decode_schedule_policies, decode_storage_policies, is_no_backup,
};
pub use balancer::{
    IdName, MemberNode, NewVipNode, NewVipPool, NewVirtualListener, PoolMember, VipKind, VipNode,
    VipPool, VirtualListener,
};
pub use codes::ErrorCode;
pub use connect::{ClientOptions, client_from_hints, is_loopback};
pub use endpoint::{
    DEFAULT_REGION, EndpointHints, region_for_location, region_host, resolve_endpoint,
};
pub use env::Env;
pub use error::{CloudError, CloudResult};
pub use fetch::http_get;
pub use gate::with_priority;
pub use model::*;
pub use nics::NicTarget;
pub use oec_disk::SERVER_NS;
pub use ops::{
    CpuSpec, NewFirewallRule, NewNetworkDomain, NewServer, NewVlan, Placement, Probe, Reconfigure,
    Wait, server_probe,
};
pub use retry::RetryPolicy;
pub use tags::{Tag, TagKey};
pub use transport::{ClientConfig, CloudClient, Secret};
pub use wait::{AsyncOp, Pacer, WaitPolicy};
