//! Shared helpers of the tests that drive the engine or the CloudControl client against an
//! in-process emulator (`tests/engine_*.rs`, `tests/cloud_*.rs`, `tests/reliability_*.rs`): the
//! emulator on port 0 in its own temp dir, engine options and clients for it, counts read from its
//! stats, the exact-resources checks, the plans under test and the reliability suite's quick/full
//! switch.
//!
//! `PLUMBERY_FULL_SUITE=1` selects the full reliability suite (many seeds); without it, CI's quick
//! slice runs.

#![allow(dead_code)] // each test binary uses a part of these helpers

use std::time::Duration;

use cloud::{
    AsyncOp, ClientConfig, CloudClient, NewNetworkDomain, NewVlan, RetryPolicy, Secret, Wait,
    WaitPolicy,
};
use emulator::{Emulator, EmulatorConfig, ResourceCounts, RunningEmulator};
use engine::{self, Action, Options, Progress, Report};
use fittings::{Parameters, Plan, load_text};

/// An API account of a test emulator, and the root password sent for new servers.
#[derive(Debug, Clone, Copy)]
pub struct Account {
    /// API user name.
    pub user: &'static str,
    /// API password.
    pub password: &'static str,
    /// Root password of the servers the engine deploys.
    pub admin_password: &'static str,
}

/// The emulator's default account, as most tests use it.
pub const DEFAULT_ACCOUNT: Account = Account {
    user: "plumbery",
    password: "plumbery",
    admin_password: "S3cret-Passw0rd",
};

/// An account whose passwords appear nowhere else, for tests that scan logs and outputs for them.
pub const DISTINCT_ACCOUNT: Account = Account {
    user: "reliability",
    password: "Api-Pw-7f3c91d2e8",
    admin_password: "Adm1n-Pw-4b8e0a6c5d",
};

/// Fast retries for a local emulator: 5 ms first delay, at most 100 ms between attempts.
pub const FAST_RETRY: RetryPolicy = RetryPolicy {
    initial: Duration::from_millis(5),
    max_delay: Duration::from_millis(100),
    deadline: Duration::from_secs(60),
    request_timeout: Duration::from_secs(10),
};

/// A mix of every fault kind that a deploy and a dispose of a small plan get through on their own.
pub const MIXED_FAULTS: &str = "busy=0.2,unexpected=0.05,http503=0.05,reset=0.02";

/// What one clean deploy of `fittings/redis-cluster.yaml` holds (default firewall rules aside).
pub const REDIS_COUNTS: ResourceCounts = ResourceCounts {
    network_domain: 1,
    vlan: 1,
    reserved_private_ipv4: 0,
    public_ip_block: 2,
    nat_rule: 4,
    firewall_rule: 4,
    default_firewall_rule: 0,
    server: 4,
};

/// True when `PLUMBERY_FULL_SUITE=1`: run the full suite rather than the quick slice.
pub fn full_suite() -> bool {
    std::env::var("PLUMBERY_FULL_SUITE").is_ok_and(|v| v == "1")
}

/// The seeds to run: `full` of them in the full suite, `quick` in the quick slice.
pub fn seeds(quick: u64, full: u64) -> std::ops::RangeInclusive<u64> {
    1..=if full_suite() { full } else { quick }
}

/// Starts an in-process emulator (nodes none, plain HTTP, the default account) in a new temp dir,
/// at `time_scale`. Keep the dir alive as long as the emulator.
pub fn start(time_scale: f64) -> (RunningEmulator, tempfile::TempDir) {
    start_as(time_scale, false, DEFAULT_ACCOUNT)
}

/// Starts an in-process emulator (nodes none) in a new temp dir, at `time_scale`, TLS or not,
/// accepting `account`.
pub fn start_as(
    time_scale: f64,
    tls: bool,
    account: Account,
) -> (RunningEmulator, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = EmulatorConfig::new(dir.path());
    cfg.time_scale = time_scale;
    cfg.tls = tls;
    cfg.user = account.user.into();
    cfg.password = account.password.into();
    // The emulator blocks while it starts: allowed on a multi-thread runtime's worker this way.
    let emu = tokio::task::block_in_place(|| Emulator::start(cfg)).unwrap();
    (emu, dir)
}

/// Engine options against `url` as the default account, with fast retries and waits and a quiet
/// progress.
pub fn options(url: &str) -> Options {
    options_as(url, DEFAULT_ACCOUNT)
}

/// Engine options against `url` as `account`, with fast retries and waits and a quiet progress.
pub fn options_as(url: &str, account: Account) -> Options {
    Options {
        progress: Progress::quiet(),
        endpoint: Some(url.to_string()),
        credentials: Some((account.user.into(), Secret::new(account.password))),
        admin_password: Some(Secret::new(account.admin_password)),
        retry: FAST_RETRY,
        wait: WaitPolicy::fast(),
        ..Options::default()
    }
}

/// A client of `emu` as the default account, with the client's default retries and waits.
pub fn client(emu: &RunningEmulator) -> CloudClient {
    let a = DEFAULT_ACCOUNT;
    CloudClient::new(ClientConfig::new(
        emu.url(),
        a.user,
        Secret::new(a.password),
    ))
    .unwrap()
}

/// A client of `emu` as the default account, with fast retries and waits.
pub fn fast_client(emu: &RunningEmulator) -> CloudClient {
    let a = DEFAULT_ACCOUNT;
    let mut cfg = ClientConfig::new(emu.url(), a.user, Secret::new(a.password));
    cfg.retry = FAST_RETRY;
    cfg.wait = WaitPolicy::fast();
    CloudClient::new(cfg).unwrap()
}

/// Deploys an ESSENTIALS network domain `name` in NA9 and waits until it is NORMAL; its id.
pub async fn network_domain(c: &CloudClient, name: &str) -> String {
    let dom = c
        .deploy_network_domain(&NewNetworkDomain {
            datacenter_id: "NA9".into(),
            name: name.into(),
            description: None,
            plan: "ESSENTIALS".into(),
        })
        .await
        .unwrap();
    c.wait_network_domain(&dom, Wait::after(AsyncOp::DeployNetworkDomain))
        .await
        .unwrap();
    dom
}

/// Deploys VLAN `name` (`base`/24) in domain `dom` and waits until it is NORMAL; its id.
pub async fn vlan(c: &CloudClient, dom: &str, name: &str, base: &str) -> String {
    let vlan = c
        .deploy_vlan(&NewVlan {
            network_domain_id: dom.into(),
            name: name.into(),
            description: None,
            base_address: base.into(),
            prefix_size: 24,
        })
        .await
        .unwrap();
    c.wait_vlan(&vlan, Wait::after(AsyncOp::DeployVlan))
        .await
        .unwrap();
    vlan
}

/// `fittings/redis-cluster.yaml`, loaded with its default parameters.
pub fn redis_plan() -> Plan {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fittings/redis-cluster.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    load_text(path, &text, &Parameters::new()).unwrap().0
}

/// A plan of the contrib corpus (`../shared/corpus/plumbery-contrib/{name}`), loaded with
/// `params`.
pub fn contrib(name: &str, params: &[(&str, &str)]) -> Plan {
    let path = format!(
        "{}/../shared/corpus/plumbery-contrib/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let p: Parameters = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    load_text(&path, &text, &p).unwrap().0
}

/// Runs `action` of `plan` and checks it succeeded; its report. A failure names `context`.
pub async fn run_ok(action: Action, plan: &Plan, opts: &Options, context: &str) -> Report {
    let r = engine::run(action, plan, opts)
        .await
        .unwrap_or_else(|e| panic!("{context}: {action:?}: {e}"));
    assert!(
        r.ok,
        "{context}: {action:?}: {}",
        serde_json::to_string_pretty(&r).unwrap()
    );
    r
}

/// Starts `action` of `plan` in a task and cancels it after `ms` milliseconds: a run cut at some
/// moment of its work (or not at all if it was over by then).
pub async fn run_cut(action: Action, plan: &Plan, opts: &Options, ms: u64) {
    let (p, o) = (plan.clone(), opts.clone());
    let run = tokio::spawn(async move { engine::run(action, &p, &o).await });
    tokio::time::sleep(Duration::from_millis(ms)).await;
    run.abort();
    let _ = run.await;
}

/// The resource counts of the emulator's stats.
pub fn resources(emu: &RunningEmulator) -> ResourceCounts {
    emu.stats().resources
}

/// How many requests of operation `op` (`DEPLOY_SERVER`...) the emulator has seen.
pub fn operation_count(emu: &RunningEmulator, op: &str) -> u64 {
    emu.stats().requests.operation(op)
}

/// How many answers carried `code` (`RESOURCE_BUSY`, `HTTP_503`, `CONNECTION_RESET`...).
pub fn answers_with(emu: &RunningEmulator, code: &str) -> u64 {
    emu.stats().requests.code(code)
}

/// Change requests (everything but reads and the account call) seen by the emulator.
pub fn change_requests(emu: &RunningEmulator) -> u64 {
    emu.stats()
        .requests
        .by_operation
        .iter()
        .filter(|(op, _)| {
            let op = op.to_ascii_lowercase();
            !(op.starts_with("get")
                || op.starts_with("list")
                || op.contains("myaccount")
                || op.contains("stats"))
        })
        .map(|(_, n)| n)
        .sum()
}

/// Checks the emulator holds exactly `want` (the default firewall rules aside: they come and go
/// with the network domains).
pub fn assert_counts(emu: &RunningEmulator, want: &ResourceCounts, context: &str) {
    let r = resources(emu);
    let got = ResourceCounts {
        default_firewall_rule: want.default_firewall_rule,
        ..r
    };
    assert_eq!(&got, want, "{context}: {r}");
}

/// Checks the emulator holds exactly one clean deploy of the redis plan: no missing and no
/// duplicated resource, every server NORMAL, started, with one public address.
pub fn assert_redis_deployed(emu: &RunningEmulator, context: &str) {
    assert_counts(emu, &REDIS_COUNTS, context);
    let stats = emu.stats();
    let servers = &stats.servers;
    let mut names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        ["redis01", "redis02", "redis03", "redis04"],
        "{context}"
    );
    for s in servers {
        assert!(s.started, "{context}: {s}");
        assert_eq!(s.state, "NORMAL", "{context}: {s}");
        assert_eq!(s.public_ipv4.len(), 1, "{context}: {s}");
    }
}

/// Checks the emulator holds no resource of the plan's kinds.
pub fn assert_empty(emu: &RunningEmulator, context: &str) {
    assert_counts(emu, &ResourceCounts::default(), context);
}
