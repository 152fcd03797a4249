//! VLANs of other locations: the client for another location's endpoint, and the lookup of a VLAN
//! by name there, for `accept:` rules whose source lives in another location (`EU7::db`).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use crate::cloud::{
    AsyncOp, CloudClient, CloudResult, EndpointHints, FirewallIp, Probe, ResourceState, Wait,
    resolve_endpoint,
};

use super::Options;

/// Clients for other locations, made on demand and shared by endpoint.
pub struct Remotes {
    base: CloudClient,
    opts: Option<Options>,
    in_run: BTreeSet<String>,
    clients: Mutex<HashMap<String, CloudClient>>,
}

impl Remotes {
    /// Every location reached through `base` (one endpoint), none of them deployed by this run.
    pub fn single(base: CloudClient) -> Self {
        Remotes {
            base,
            opts: None,
            in_run: BTreeSet::new(),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Endpoints resolved as for the plan's own locations (`--endpoint`, `MCP_ENDPOINT`, region);
    /// `in_run` are the locations this run works on: a VLAN there may still be on its way.
    pub fn new(base: CloudClient, opts: &Options, in_run: BTreeSet<String>) -> Self {
        Remotes {
            base,
            opts: Some(opts.clone()),
            in_run,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The client for `location` (in `region` when the plan names it).
    fn client(&self, location: &str, region: Option<&str>) -> CloudResult<CloudClient> {
        let Some(opts) = &self.opts else {
            return Ok(self.base.clone());
        };
        let mut hints = EndpointHints::from_env(None, region, Some(location));
        if let Some(e) = &opts.endpoint {
            hints.env_endpoint = Some(e.clone());
        }
        let endpoint = resolve_endpoint(&hints)?;
        if endpoint == self.base.endpoint() {
            return Ok(self.base.clone());
        }
        let mut clients = self.clients.lock().expect("remote clients lock");
        if let Some(c) = clients.get(&endpoint) {
            return Ok(c.clone());
        }
        let c = super::client_from_hints(hints, opts)?;
        clients.insert(endpoint, c.clone());
        Ok(c)
    }

    /// The IPv6 range of VLAN `name` in `location`. When this run deploys that location too, waits
    /// (bounded, as for a domain deploy) until the VLAN is NORMAL; otherwise looks once. `None`: no
    /// such VLAN.
    pub async fn vlan_ipv6(
        &self,
        location: &str,
        region: Option<&str>,
        name: &str,
    ) -> CloudResult<Option<FirewallIp>> {
        let c = self.client(location, region)?;
        let lookup = || async {
            let vlans = c
                .list_vlans(&[("datacenterId", location), ("name", name)])
                .await?;
            let mut found: Vec<_> = vlans.into_iter().filter(|v| v.name == name).collect();
            found.sort_by_key(|v| v.state != ResourceState::Normal);
            Ok::<_, crate::cloud::CloudError>(found.into_iter().next())
        };
        if !self.in_run.contains(location) {
            return Ok(lookup().await?.and_then(|v| v.ipv6_range).map(range));
        }
        let what = format!("VLAN {name} in {location}");
        let seen = Mutex::new(None);
        c.wait_until(
            &what,
            Wait::resume(AsyncOp::DeployNetworkDomain),
            || async {
                let v = lookup().await?;
                Ok(match v {
                    Some(v) if v.state == ResourceState::Normal && v.ipv6_range.is_some() => {
                        *seen.lock().expect("seen lock") = v.ipv6_range;
                        Probe::Done
                    }
                    Some(v) if v.state.is_failed() => Probe::Failed {
                        state: v.state.to_string(),
                        reason: format!("VLAN {name} in {location} failed"),
                    },
                    Some(v) => Probe::Pending(v.state.to_string()),
                    None => Probe::Pending("not created yet".to_string()),
                })
            },
        )
        .await?;
        Ok(seen.into_inner().expect("seen lock").map(range))
    }
}

fn range(r: crate::cloud::IpRange) -> FirewallIp {
    FirewallIp {
        address: r.address,
        prefix_size: Some(r.prefix_size),
    }
}
