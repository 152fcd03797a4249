//! The bridge from the engine to the SSH bootstrap: the plan's key pair and state dir
//! ([`PlanState`]), each node's cloud-config with every token expanded from the real facts of the
//! location's nodes ([`expand_nodes`]), the [`NodeTarget`]s of the running nodes, and the host keys
//! forgotten when a node's addresses are released ([`forget_released`]).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use bootstrap::{
    self, BootstrapOptions, KeyPair, NodeOutcome, NodeStatus, NodeTarget, PrepareStep,
};
use fittings::tokens::{self, FactsContext};
use fittings::{self, Location};
use secrets::Store;

use cloud::Secret;
use plan::{Desired, Step};

use super::expanded::{ExpandedNode, ssh_address};
use super::facts::NodeFacts;
use super::{access, checks};
use crate::action::Action;
use crate::options::Options;
use crate::outcome::{StepOutcome, StepStatus};
use crate::report::LocationReport;

/// Name of the plan's key pair in the secrets store (`rsa_public.key` / `rsa_private.key`).
pub const KEY_PAIR: &str = "key";

/// Name of the generated root password of new servers in the secrets store.
pub const ADMIN_SECRET: &str = "admin.secret";

/// Why the plan's state could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The secrets store failed (no value in the message).
    #[error(transparent)]
    Secrets(#[from] secrets::SecretsError),
    /// The key files could not be written.
    #[error("cannot write the plan's key files in {dir}: {source}")]
    KeyFiles {
        /// Directory.
        dir: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// What the bootstrap needs from the plan's state: its secrets and the files derived from them.
#[derive(Debug)]
pub struct PlanState {
    /// The plan's secrets store (its directory is the plan's state dir).
    pub store: Store,
    /// Where `prepare:` steps read their files (the plan's directory).
    pub base_dir: PathBuf,
}

impl PlanState {
    /// Opens the state of the plan whose key is `plan_key` (`PlanText::key`).
    pub fn open(plan_key: &str) -> Result<PlanState, PrepareError> {
        let store = Store::open(plan_key)?;
        let base_dir = plan_key
            .strip_prefix("file:")
            .and_then(|p| Path::new(p).parent())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(PlanState { store, base_dir })
    }

    /// The bootstrap settings of this plan: its key pair written to `<state>/keys/`, the operator's
    /// own public keys, and every stored secret to scrub from logs.
    pub fn bootstrap_options(&self) -> Result<BootstrapOptions, PrepareError> {
        let (public, private) = self.store.key_pair(KEY_PAIR)?;
        let dir = self.store.dir().join("keys");
        let key = KeyPair::write_files(&dir, "id_rsa", &private, &public)
            .map_err(|source| PrepareError::KeyFiles { dir, source })?;
        let mut opts = BootstrapOptions::new(self.store.dir(), key);
        opts.extra_public_keys = bootstrap::local_public_keys();
        opts.secrets = self
            .store
            .list()
            .into_iter()
            .filter(|(name, _)| !name.starts_with("rsa_public."))
            .map(|(_, v)| v)
            .collect();
        Ok(opts)
    }
}

/// The token facts of a location's nodes, keyed by (location, name).
pub fn token_facts(nodes: &[NodeFacts]) -> BTreeMap<(String, String), tokens::NodeFacts> {
    nodes
        .iter()
        .map(|n| {
            (
                (n.location_id.clone(), n.name.clone()),
                tokens::NodeFacts {
                    id: n.id.clone(),
                    private: n.private_ipv4.clone(),
                    ipv6: n.ipv6.clone(),
                    public: n.public_ipv4.clone(),
                },
            )
        })
        .collect()
}

fn plan_node<'a>(loc: &'a Location, name: &str) -> Option<&'a fittings::Node> {
    loc.blueprints
        .iter()
        .flat_map(|b| &b.nodes)
        .find(|n| n.name == name)
}

fn context<'a>(
    loc: &Location,
    this: &str,
    facts: &'a BTreeMap<(String, String), tokens::NodeFacts>,
    state: &'a PlanState,
) -> FactsContext<'a> {
    FactsContext {
        location_id: loc.location_id.clone(),
        location_country: None,
        this_node: Some(this.to_string()),
        nodes: facts,
        secrets: state,
        local_public_key: tokens::local_public_key(&[]),
        balancer: None,
        environment: None,
    }
}

/// Every node of the location with its cloud-config expanded against the facts of all its nodes
/// (so `{{ redis01.private }}` is the master's real private address) and of the nodes of other
/// locations its tokens name (`remote`, see [`crate::remote::Remotes::referenced_facts`]).
pub fn expand_nodes(
    loc: &Location,
    nodes: &[NodeFacts],
    remote: &BTreeMap<(String, String), tokens::NodeFacts>,
    state: &PlanState,
) -> Vec<ExpandedNode> {
    let mut facts = remote.clone();
    facts.extend(token_facts(nodes));
    nodes
        .iter()
        .map(|n| {
            let ctx = context(loc, &n.name, &facts, state);
            let cloud_config = match plan_node(loc, &n.name).and_then(|p| p.cloud_config.as_ref()) {
                None => Ok(serde_yaml::Value::Null),
                Some(cc) => tokens::expand_value(cc, &ctx).map_err(|e| e.to_string()),
            };
            ExpandedNode {
                facts: n.clone(),
                address: ssh_address(n),
                cloud_config,
            }
        })
        .collect()
}

/// The `prepare:` steps of a node, their files read from the plan's directory and expanded.
fn prepare_steps(
    loc: &Location,
    node: &str,
    facts: &BTreeMap<(String, String), tokens::NodeFacts>,
    state: &PlanState,
) -> Result<Vec<PrepareStep>, String> {
    let Some(plan_node) = plan_node(loc, node) else {
        return Ok(Vec::new());
    };
    let ctx = context(loc, node, facts, state);
    let failure = std::cell::RefCell::new(None);
    let expand = |text: &str| match tokens::expand_str(text, &ctx) {
        Ok(s) => s,
        Err(e) => {
            failure.borrow_mut().get_or_insert(e.to_string());
            text.to_string()
        }
    };
    let mut out = Vec::new();
    for step in &plan_node.prepare {
        let s = match step {
            fittings::PrepareStep::Run { script, args, raw } => {
                PrepareStep::run_file(script, args, *raw, &state.base_dir, &expand)
            }
            fittings::PrepareStep::Put { file, dest, raw } => {
                PrepareStep::put_file(file, dest.as_deref(), *raw, &state.base_dir, &expand)
            }
            fittings::PrepareStep::Echo { text } => Ok(PrepareStep::Echo(text.clone())),
        };
        out.push(s.map_err(|e| e.to_string())?);
    }
    match failure.into_inner() {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Bootstraps the running nodes of `want` (in parallel); a node that is not running, has no
/// address, or whose settings cannot be expanded gets a failed outcome without being contacted.
pub async fn bootstrap_location(
    loc: &Location,
    want: &Desired,
    expanded: &[ExpandedNode],
    state: &PlanState,
    opts: &BootstrapOptions,
    admin_password: &str,
) -> Vec<NodeOutcome> {
    let facts = token_facts(&expanded.iter().map(|e| e.facts.clone()).collect::<Vec<_>>());
    let mut targets = Vec::new();
    let mut early = Vec::new();
    for e in expanded {
        if !want.nodes.iter().any(|n| n.name == e.facts.name) {
            continue;
        }
        let fail = |why: String| failed(&e.facts.name, opts, why);
        if e.facts.state != "running" {
            early.push(fail(format!(
                "node {} is {}, not running: start it first",
                e.facts.name, e.facts.state
            )));
            continue;
        }
        let Some(address) = e.address else {
            early.push(fail(format!("node {} has no IPv4 address", e.facts.name)));
            continue;
        };
        let cloud_config = match &e.cloud_config {
            Ok(cc) => cc.clone(),
            Err(why) => {
                early.push(fail(format!("cloud-config of {}: {why}", e.facts.name)));
                continue;
            }
        };
        let prepare = match prepare_steps(loc, &e.facts.name, &facts, state) {
            Ok(p) => p,
            Err(why) => {
                early.push(fail(format!("prepare of {}: {why}", e.facts.name)));
                continue;
            }
        };
        targets.push(NodeTarget {
            name: e.facts.name.clone(),
            address,
            admin_password: admin_password.to_string(),
            cloud_config,
            prepare,
            appliance: plan_node(loc, &e.facts.name).and_then(|n| n.appliance.clone()),
        });
    }
    let mut out = bootstrap::prepare_nodes(targets, opts).await;
    out.extend(early);
    out
}

fn failed(name: &str, opts: &BootstrapOptions, why: String) -> NodeOutcome {
    NodeOutcome::failed(name, opts, Some(why))
}

/// The SSH addresses a destroy phase released: the public address of each deleted NAT rule and
/// the private address of each deleted server (from the facts observed before the phase).
pub fn released_addresses(steps: &[StepOutcome], before: &[NodeFacts]) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for s in steps.iter().filter(|s| s.status == StepStatus::Done) {
        let ip = match &s.step {
            Step::DeleteNat { external_ip, .. } => Some(external_ip.trim().to_string()),
            Step::DeleteServer { node, .. } => before
                .iter()
                .find(|n| n.name == *node)
                .and_then(|n| n.private_ipv4.clone()),
            _ => None,
        };
        if let Some(ip) = ip.and_then(|ip| ip.parse::<IpAddr>().ok()) {
            out.push(SocketAddr::new(ip, 22));
        }
    }
    out
}

/// Forgets the pinned host keys of released addresses, so that a new node given one of them later
/// is not refused as a changed host. Returns a note per failure.
pub fn forget_released(addresses: &[SocketAddr], plan_key: &str) -> Vec<String> {
    if addresses.is_empty() {
        return Vec::new();
    }
    let dir = secrets::plan_state_dir(plan_key);
    let opts = BootstrapOptions::new(
        &dir,
        KeyPair {
            private: PathBuf::new(),
            public: PathBuf::new(),
        },
    );
    addresses
        .iter()
        .filter_map(|a| {
            bootstrap::forget_host_keys(*a, &opts)
                .err()
                .map(|e| format!("cannot forget the host key of {a}: {e}"))
        })
        .collect()
}

/// After the phases of `action`: bootstrap the running nodes and check the outcome (deploy,
/// refresh, prepare), then gather how to reach each node (those and information). Everything lands
/// in `report`; nothing here panics or returns early with an error.
pub(crate) async fn finish(
    action: Action,
    loc: &Location,
    want: &Desired,
    report: &mut LocationReport,
    admin_password: Option<&Secret>,
    opts: &Options,
    remote: &BTreeMap<(String, String), tokens::NodeFacts>,
) {
    let bootstrapping = matches!(action, Action::Deploy | Action::Refresh | Action::Prepare);
    if !bootstrapping && action != Action::Information {
        return;
    }
    let location = loc.location_id.clone();
    let line = |m: &str| opts.progress.line(&location, m);
    let Some(plan_key) = opts.plan_key.as_deref() else {
        if bootstrapping {
            let note = "prepare skipped: no plan state to take keys and secrets from".to_string();
            line(&note);
            report.notes.push(note);
        }
        return;
    };
    if opts.safe {
        if bootstrapping {
            let running = report.nodes.iter().filter(|n| n.state == "running").count();
            line(&format!(
                "would bootstrap {running} running node(s) over SSH, then check them"
            ));
        }
        return;
    }
    let (state, bopts) = match open_for_bootstrap(plan_key, opts) {
        Ok(x) => x,
        Err(e) => {
            report.errors.push(e.to_string());
            return;
        }
    };
    let expanded = expand_nodes(loc, &report.nodes, remote, &state);
    if bootstrapping {
        let Some(password) = admin_password else {
            report.errors.push(
                "no root password for the first contact with the nodes: set SHARED_SECRET".into(),
            );
            return;
        };
        let outcomes = bootstrap_nodes(loc, want, &expanded, &state, &bopts, password, &line).await;
        let all_done = outcomes.iter().all(|o| o.status == NodeStatus::Completed);
        report.bootstrap = outcomes;
        if !all_done {
            return;
        }
        report.checks = check_redis(&expanded, &bopts, opts.check_patience, &line).await;
    }
    (report.access, report.redis) = access::node_access(&expanded, &bopts, true).await;
}

/// The plan's state and its bootstrap settings, with the run's parallelism and extra keys.
fn open_for_bootstrap(
    plan_key: &str,
    opts: &Options,
) -> Result<(PlanState, BootstrapOptions), PrepareError> {
    let state = PlanState::open(plan_key)?;
    let mut bopts = state.bootstrap_options()?;
    bopts.max_parallel = opts.bootstrap_parallel;
    bopts
        .extra_public_keys
        .extend(opts.extra_public_keys.iter().cloned());
    Ok((state, bopts))
}

/// Bootstraps the running nodes of the location, a progress line per node when it ends.
async fn bootstrap_nodes(
    loc: &Location,
    want: &Desired,
    expanded: &[ExpandedNode],
    state: &PlanState,
    bopts: &BootstrapOptions,
    password: &Secret,
    line: &(dyn Fn(&str) + Sync),
) -> Vec<NodeOutcome> {
    let count = expanded
        .iter()
        .filter(|e| e.facts.state == "running")
        .count();
    line(&format!("bootstrapping {count} node(s) over SSH"));
    let outcomes = bootstrap_location(loc, want, expanded, state, bopts, password.expose()).await;
    for o in &outcomes {
        line(&outcome_line(o));
    }
    outcomes
}

/// The progress line of one node's bootstrap outcome.
fn outcome_line(o: &NodeOutcome) -> String {
    match (&o.status, &o.error) {
        (NodeStatus::Completed, _) => format!(
            "{}: bootstrap completed, {} change(s), {:.1} s",
            o.name,
            o.changes,
            o.duration.as_secs_f64()
        ),
        (status, err) => format!(
            "{}: bootstrap {}: {}",
            o.name,
            serde_json::to_value(status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            err.as_deref().unwrap_or("see its log")
        ),
    }
}

/// Checks the replication of the Redis groups among the nodes (none: no check), a line each.
async fn check_redis(
    expanded: &[ExpandedNode],
    bopts: &BootstrapOptions,
    patience: std::time::Duration,
    line: &(dyn Fn(&str) + Sync),
) -> Vec<checks::CheckOutcome> {
    let groups = checks::redis_groups(expanded);
    if groups.is_empty() {
        return Vec::new();
    }
    line("checking Redis replication");
    let results = checks::check_replication(&groups, bopts, patience).await;
    for c in &results {
        let verdict = if c.ok { "ok" } else { "FAILED" };
        line(&format!("{} {}: {verdict}: {}", c.node, c.check, c.detail));
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(name: &str, private: &str, public: Option<&str>) -> NodeFacts {
        NodeFacts {
            name: name.into(),
            blueprint: "redis".into(),
            location_id: "NA12".into(),
            domain: "d".into(),
            vlan: "v".into(),
            id: Some(format!("id-{name}")),
            state: "running".into(),
            private_ipv4: Some(private.into()),
            public_ipv4: public.map(Into::into),
            ipv6: None,
            monitoring: None,
            extra_nics: vec![],
            size: None,
            tags: vec![],
            reachable: None,
        }
    }

    fn redis_location() -> Location {
        let path = concat!(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
            "/fittings/redis-cluster.yaml"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let plan = fittings::load_text(path, &text, &Default::default())
            .unwrap()
            .0;
        plan.locations[0].clone()
    }

    #[test]
    fn cloud_configs_are_expanded_with_real_addresses_and_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let state = PlanState {
            store: Store::open_in(dir.path()).unwrap(),
            base_dir: dir.path().into(),
        };
        state
            .store
            .get_or_insert_with("rsa_public.key", || Ok("ssh-rsa AAAA test".into()))
            .unwrap();
        state
            .store
            .get_or_insert_with("rsa_private.key", || Ok("PRIVATE".into()))
            .unwrap();
        let loc = redis_location();
        let nodes = vec![
            facts("redis01", "192.168.20.11", Some("127.77.1.2")),
            facts("redis02", "192.168.20.12", None),
            facts("redis03", "192.168.20.13", None),
            facts("redis04", "192.168.20.14", None),
        ];
        let out = expand_nodes(&loc, &nodes, &BTreeMap::new(), &state);
        assert_eq!(out[0].address, Some("127.77.1.2:22".parse().unwrap()));
        assert_eq!(out[1].address, Some("192.168.20.12:22".parse().unwrap()));
        let text = serde_yaml::to_string(out[1].cloud_config.as_ref().unwrap()).unwrap();
        assert!(
            text.contains("sentinel monitor redis-cluster 192.168.20.11 6379 3"),
            "{text}"
        );
        assert!(text.contains("ssh-rsa AAAA test"), "{text}");
        let secret = state.store.get("master.secret").unwrap();
        assert!(text.contains(&format!("requirepass {secret}")), "{text}");
        assert!(!text.contains("{{"), "{text}");
        let master = serde_yaml::to_string(out[0].cloud_config.as_ref().unwrap()).unwrap();
        assert!(master.contains("bind 192.168.20.11 127.0.0.1"), "{master}");
    }

    #[test]
    fn tokens_of_other_locations_expand_from_remote_facts() {
        let dir = tempfile::tempdir().unwrap();
        let state = PlanState {
            store: Store::open_in(dir.path()).unwrap(),
            base_dir: dir.path().into(),
        };
        let text = "---\nlocationId: EU6\nblueprints:\n  - front:\n      domain: {name: D}\n      ethernet: {name: N, subnet: 10.0.0.0}\n      nodes:\n        - web1:\n            cloud-config:\n              runcmd:\n                - \"ping6 -c1 {{ EU7::db1.ipv6 }} && echo {{ web1.private }}\"\n";
        let plan = fittings::load_text("p.yaml", text, &Default::default())
            .unwrap()
            .0;
        let loc = &plan.locations[0];
        let nodes = vec![NodeFacts {
            location_id: "EU6".into(),
            ..facts("web1", "10.0.0.11", None)
        }];
        let mut remote = BTreeMap::new();
        remote.insert(
            ("EU7".to_string(), "db1".to_string()),
            tokens::NodeFacts {
                id: Some("s-1".into()),
                private: Some("10.0.1.11".into()),
                ipv6: Some("2a00:47c0:111:1131::11".into()),
                public: None,
            },
        );
        let out = expand_nodes(loc, &nodes, &remote, &state);
        let text = serde_yaml::to_string(out[0].cloud_config.as_ref().unwrap()).unwrap();
        assert!(
            text.contains("ping6 -c1 2a00:47c0:111:1131::11 && echo 10.0.0.11"),
            "{text}"
        );
        // Without the remote facts, the token names what is missing.
        let out = expand_nodes(loc, &nodes, &BTreeMap::new(), &state);
        let err = out[0].cloud_config.as_ref().unwrap_err();
        assert!(err.contains("db1") && err.contains("EU7"), "{err}");
    }

    #[test]
    fn released_addresses_come_from_deleted_nat_rules_and_servers() {
        use crate::outcome::StepOutcome;
        let done = |step: Step| StepOutcome {
            id: 0,
            description: String::new(),
            step,
            status: StepStatus::Done,
            error: None,
            elapsed_ms: 0,
        };
        let before = vec![facts("redis01", "192.168.20.11", Some("127.77.1.2"))];
        let steps = vec![
            done(Step::DeleteNat {
                domain: "d".into(),
                node: "redis01".into(),
                id: "n".into(),
                external_ip: "127.77.1.2".into(),
            }),
            done(Step::DeleteServer {
                domain: "d".into(),
                node: "redis01".into(),
                id: "s".into(),
            }),
        ];
        assert_eq!(
            released_addresses(&steps, &before),
            vec![
                "127.77.1.2:22".parse::<SocketAddr>().unwrap(),
                "192.168.20.11:22".parse().unwrap()
            ]
        );
    }
}
