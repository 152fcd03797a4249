//! Things of other locations: the client for another location's endpoint, the lookup of a VLAN by
//! name there (`accept:` rules whose source lives in another location, `EU7::db`), and the facts of
//! nodes there that cloud-config tokens name (`{{ EU7::db01.ipv6 }}`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use cloud::{
    AsyncOp, CloudClient, CloudResult, EndpointHints, FirewallIp, Probe, ResourceState, Wait,
    resolve_endpoint,
};
use fittings::Location;
use fittings::tokens::{self, NodeSel, TokenKind};

use crate::client::client_from_hints;
use crate::options::Options;

/// The locations one run works on, and those whose phases are over: a location waiting for a
/// VLAN or a server of another one stops waiting once that one is done (or failed) without it.
#[derive(Debug, Default)]
pub struct RunBoard {
    in_run: BTreeSet<String>,
    over: Mutex<BTreeSet<String>>,
    /// `apiHost` and `regionId` of every location the plan has a document for (selected or not).
    hosts: BTreeMap<String, (Option<String>, Option<String>)>,
}

impl RunBoard {
    /// A board for a run on `locations` (those of `plan` the filters selected).
    pub fn new(locations: BTreeSet<String>) -> Self {
        RunBoard {
            in_run: locations,
            ..RunBoard::default()
        }
    }

    /// Also knows how `plan` reaches each of its locations (`apiHost`, `regionId`), for a location
    /// named from another one.
    pub fn with_plan(mut self, plan: &fittings::Plan) -> Self {
        for l in &plan.locations {
            self.hosts
                .entry(l.location_id.clone())
                .or_insert_with(|| (l.api_host.clone(), l.region_id.clone()));
        }
        self
    }

    /// True when the run works on `location` and its phases are not over yet: what it builds may
    /// still come.
    pub fn building(&self, location: &str) -> bool {
        self.in_run.contains(location) && !self.over.lock().expect("board lock").contains(location)
    }

    /// A guard that marks `location`'s phases over when dropped (also on an early return).
    pub fn guard(self: &Arc<Self>, location: &str) -> PhasesGuard {
        PhasesGuard {
            board: self.clone(),
            location: location.to_string(),
        }
    }
}

/// Marks a location's phases over when dropped; see [`RunBoard::guard`].
pub struct PhasesGuard {
    board: Arc<RunBoard>,
    location: String,
}

impl Drop for PhasesGuard {
    fn drop(&mut self) {
        if let Ok(mut over) = self.board.over.lock() {
            over.insert(self.location.clone());
        }
    }
}

/// Clients for other locations, made on demand and shared by endpoint.
pub struct Remotes {
    base: CloudClient,
    opts: Option<Options>,
    board: Arc<RunBoard>,
    clients: Mutex<HashMap<String, CloudClient>>,
}

impl Remotes {
    /// Every location reached through `base` (one endpoint), none of them deployed by this run.
    pub fn single(base: CloudClient) -> Self {
        Remotes {
            base,
            opts: None,
            board: Arc::new(RunBoard::default()),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Endpoints resolved as for the plan's own locations (`--endpoint`, `MCP_ENDPOINT`, region);
    /// `board` tells which locations this run is still building: a VLAN there may be on its way.
    pub fn new(base: CloudClient, opts: &Options, board: Arc<RunBoard>) -> Self {
        Remotes {
            base,
            opts: Some(opts.clone()),
            board,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The client for `location` (in `region` when the plan names it).
    fn client(&self, location: &str, region: Option<&str>) -> CloudResult<CloudClient> {
        let Some(opts) = &self.opts else {
            return Ok(self.base.clone());
        };
        // A location with its own document in the plan is reached as that document says.
        let (api_host, plan_region) = self.board.hosts.get(location).cloned().unwrap_or_default();
        let region = region.map(str::to_string).or(plan_region);
        let mut hints =
            EndpointHints::from_env(api_host.as_deref(), region.as_deref(), Some(location));
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
        let c = client_from_hints(hints, opts)?;
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
            Ok::<_, cloud::CloudError>(found.into_iter().next())
        };
        if !self.board.building(location) {
            return Ok(lookup()
                .await?
                .and_then(|v| v.ipv6_range)
                .map(FirewallIp::from));
        }
        let what = format!("VLAN {name} in {location}");
        let seen = Mutex::new(None);
        c.wait_until(
            &what,
            Wait::resume(AsyncOp::DeployNetworkDomain),
            || async {
                // Asked before the lookup: a location over before it made nothing more after.
                let over = !self.board.building(location);
                let v = lookup().await?;
                Ok(match v {
                    Some(v) if v.state == ResourceState::Normal && v.ipv6_range.is_some() => {
                        *seen.lock().expect("seen lock") = v.ipv6_range;
                        Probe::Done
                    }
                    _ if over => Probe::Done,
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
        Ok(seen.into_inner().expect("seen lock").map(FirewallIp::from))
    }
}

/// A node of another location that the settings of this location's nodes name in a token
/// (`{{ EU7::db01.ipv6 }}`, `{{ dd-eu::EU7::db01.private }}`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RemoteNode {
    /// Region, when the token names it.
    pub region: Option<String>,
    /// Location id.
    pub location: String,
    /// Node name.
    pub name: String,
}

/// The nodes of other locations named in the cloud-config of `loc`'s nodes.
pub fn referenced_nodes(loc: &Location) -> BTreeSet<RemoteNode> {
    let mut out = BTreeSet::new();
    for node in loc.blueprints.iter().flat_map(|b| &b.nodes) {
        let Some(cc) = &node.cloud_config else {
            continue;
        };
        let text = serde_yaml::to_string(cc).unwrap_or_default();
        for token in tokens::tokens_in(&text) {
            if let TokenKind::Node {
                node:
                    NodeSel::Named {
                        region,
                        location: Some(location),
                        name,
                        ..
                    },
                ..
            } = tokens::classify(&token)
                && location != loc.location_id
            {
                out.insert(RemoteNode {
                    region,
                    location,
                    name,
                });
            }
        }
    }
    out
}

impl Remotes {
    /// The token facts (id, addresses) of node `r` in its location. When this run deploys that
    /// location too, waits (bounded, as for a server deploy) for the server to be deployed;
    /// otherwise looks once. `None`: no such server.
    pub async fn node_facts(&self, r: &RemoteNode) -> CloudResult<Option<tokens::NodeFacts>> {
        let c = self.client(&r.location, r.region.as_deref())?;
        let lookup = || async {
            let servers = c
                .list_servers(&[("datacenterId", &r.location), ("name", &r.name)])
                .await?;
            Ok::<_, cloud::CloudError>(servers.into_iter().find(|s| s.name == r.name))
        };
        let server = if self.board.building(&r.location) {
            let seen = Mutex::new(None);
            c.wait_until(
                &format!("server {} in {}", r.name, r.location),
                Wait::resume(AsyncOp::DeployServer { started: true }),
                || async {
                    let over = !self.board.building(&r.location);
                    let s = lookup().await?;
                    let probe = match &s {
                        Some(s) if s.private_ipv4().is_some() && !s.state.is_pending() => {
                            Probe::Done
                        }
                        _ if over => Probe::Done,
                        Some(s) if s.state.is_failed() => Probe::Failed {
                            state: s.state.to_string(),
                            reason: format!("server {} in {} failed", r.name, r.location),
                        },
                        Some(s) => Probe::Pending(s.state.to_string()),
                        None => Probe::Pending("not deployed yet".to_string()),
                    };
                    *seen.lock().expect("seen lock") = s;
                    Ok(probe)
                },
            )
            .await?;
            seen.into_inner().expect("seen lock")
        } else {
            lookup().await?
        };
        let Some(s) = server else {
            return Ok(None);
        };
        let private = s.private_ipv4().map(str::to_string);
        let mut public = None;
        if let (Some(ip), Some(info)) = (&private, &s.network_info) {
            public = c
                .list_nat_rules(&info.network_domain_id)
                .await?
                .into_iter()
                .find(|n| n.internal_ip.trim() == ip)
                .map(|n| n.external_ip.trim().to_string());
        }
        Ok(Some(tokens::NodeFacts {
            id: Some(s.id.clone()),
            private,
            ipv6: s.ipv6().map(str::to_string),
            public,
        }))
    }

    /// The facts of every node of another location that `loc`'s node settings name, keyed as the
    /// token context wants them, plus a line for each that could not be had (its tokens then fail
    /// with "no node known", naming it).
    pub async fn referenced_facts(
        &self,
        loc: &Location,
    ) -> (BTreeMap<(String, String), tokens::NodeFacts>, Vec<String>) {
        let mut facts = BTreeMap::new();
        let mut lines = Vec::new();
        for r in referenced_nodes(loc) {
            match self.node_facts(&r).await {
                Ok(Some(f)) => {
                    facts.insert((r.location.clone(), r.name.clone()), f);
                }
                Ok(None) => lines.push(format!(
                    "node {} of {} is named in a token but not deployed",
                    r.name, r.location
                )),
                Err(e) => lines.push(format!(
                    "node {} of {}: its facts could not be read: {e}",
                    r.name, r.location
                )),
            }
        }
        (facts, lines)
    }
}

impl Remotes {
    /// The VLANs of other locations that `want`'s `accept:` lists name, whose rule `have` lacks,
    /// in locations this run does not build, and that are not there (one look each).
    pub async fn missing_sources(
        &self,
        want: &plan::Desired,
        have: &plan::Inventory,
    ) -> CloudResult<BTreeSet<(String, String)>> {
        let mut missing = BTreeSet::new();
        for wv in &want.vlans {
            let inv = have.domain(&wv.domain);
            for src in &wv.remote_accept {
                let rule = plan::accept_rule_name(&src.label, &wv.name, "IPv6");
                if inv.is_some_and(|i| i.rule(&rule).is_some())
                    || self.board.building(&src.location)
                {
                    continue;
                }
                let key = (src.location.clone(), src.name.clone());
                if missing.contains(&key) {
                    continue;
                }
                if self
                    .vlan_ipv6(&src.location, src.region.as_deref(), &src.name)
                    .await?
                    .is_none()
                {
                    missing.insert(key);
                }
            }
        }
        Ok(missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloud::{ClientConfig, Secret};

    const PLAN: &str = "---\nlocationId: EU6\nblueprints:\n  - a:\n      domain: {name: D}\n      ethernet: {name: N, subnet: 10.0.0.0, accept: [EU7::N, EU8::N]}\n      nodes: [{a1: {}}]\n---\nlocationId: EU7\napiHost: 127.0.0.1:8443\nblueprints:\n  - b:\n      domain: {name: D}\n      ethernet: {name: N, subnet: 10.0.1.0}\n      nodes: [{b1: {}}]\n";

    #[test]
    fn other_locations_are_reached_as_the_plan_says() {
        if cloud::Env::from_env().endpoint.is_some() {
            return; // it would win over everything
        }
        let plan = fittings::load_text("p.yaml", PLAN, &Default::default())
            .unwrap()
            .0;
        let base = CloudClient::new(ClientConfig::new(
            "https://api-eu.dimensiondata.com",
            "u",
            Secret::new("p"),
        ))
        .unwrap();
        let opts = Options {
            credentials: Some(("u".into(), Secret::new("p"))),
            ..Options::default()
        };
        let board = Arc::new(RunBoard::new(BTreeSet::from(["EU6".to_string()])).with_plan(&plan));
        let r = Remotes::new(base.clone(), &opts, board.clone());
        // EU7 has its own document with apiHost; EU8 has none: its region's host, which is
        // the base's, so the base client itself.
        assert_eq!(
            r.client("EU7", None).unwrap().endpoint(),
            "https://127.0.0.1:8443"
        );
        assert_eq!(
            r.client("EU8", None).unwrap().endpoint(),
            "https://api-eu.dimensiondata.com"
        );
        assert_eq!(
            r.client("AU10", Some("dd-au")).unwrap().endpoint(),
            "https://api-au.dimensiondata.com"
        );
        // --endpoint sends every location to one place.
        let one = Options {
            endpoint: Some("http://127.0.0.1:9".into()),
            ..opts
        };
        let r = Remotes::new(base, &one, board.clone());
        assert_eq!(
            r.client("EU7", None).unwrap().endpoint(),
            "http://127.0.0.1:9"
        );
        // The board: EU6 is being built until its guard drops; EU7 is not in the run.
        assert!(board.building("EU6") && !board.building("EU7"));
        drop(board.guard("EU6"));
        assert!(!board.building("EU6"));
    }
}
