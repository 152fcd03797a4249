//! Shared helpers of the reliability suite (`tests/reliability_*.rs`): an in-process emulator, the
//! redis plan, engine options for it, the exact-resources checks and the quick/full switch.
//!
//! `PLUMBERY_FULL_SUITE=1` selects the full suite (many seeds); without it, CI's quick slice runs.

#![allow(dead_code)] // each test binary uses a part of these helpers

use std::time::Duration;

use plumbery::cloud::{RetryPolicy, Secret, WaitPolicy};
use plumbery::emulator::{Emulator, EmulatorConfig, RunningEmulator};
use plumbery::engine::{Options, Progress};
use plumbery::fittings::{Parameters, Plan, load_text};

/// API user of the test emulators.
pub const API_USER: &str = "reliability";
/// API password of the test emulators: a value that appears nowhere else.
pub const API_PASSWORD: &str = "Api-Pw-7f3c91d2e8";
/// Root password sent for new servers.
pub const ADMIN_PASSWORD: &str = "Adm1n-Pw-4b8e0a6c5d";

/// True when `PLUMBERY_FULL_SUITE=1`: run the full suite rather than the quick slice.
pub fn full_suite() -> bool {
    std::env::var("PLUMBERY_FULL_SUITE").is_ok_and(|v| v == "1")
}

/// The seeds to run: `full` of them in the full suite, `quick` in the quick slice.
pub fn seeds(quick: u64, full: u64) -> std::ops::RangeInclusive<u64> {
    1..=if full_suite() { full } else { quick }
}

/// Starts an in-process emulator (nodes none) in a new temp dir, at `time_scale`, TLS or not.
pub fn start(time_scale: f64, tls: bool) -> (RunningEmulator, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = EmulatorConfig::new(dir.path());
    cfg.time_scale = time_scale;
    cfg.tls = tls;
    cfg.user = API_USER.into();
    cfg.password = API_PASSWORD.into();
    let emu = tokio::task::block_in_place(|| Emulator::start(cfg)).unwrap();
    (emu, dir)
}

/// `fittings/redis-cluster.yaml`, loaded with its default parameters.
pub fn redis_plan() -> Plan {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fittings/redis-cluster.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    load_text(path, &text, &Parameters::new()).unwrap().0
}

/// Engine options against `url`, with fast retries and waits and a quiet progress.
pub fn options(url: &str) -> Options {
    Options {
        progress: Progress::quiet(),
        endpoint: Some(url.to_string()),
        credentials: Some((API_USER.into(), Secret::new(API_PASSWORD))),
        admin_password: Some(Secret::new(ADMIN_PASSWORD)),
        retry: RetryPolicy {
            initial: Duration::from_millis(5),
            max_delay: Duration::from_millis(100),
            deadline: Duration::from_secs(60),
            request_timeout: Duration::from_secs(10),
        },
        wait: WaitPolicy::fast(),
        ..Options::default()
    }
}

/// The resource counts of the emulator's stats.
pub fn resources(emu: &RunningEmulator) -> serde_json::Value {
    emu.stats()["resources"].clone()
}

/// How many answers carried `code` (`RESOURCE_BUSY`, `HTTP_503`, `CONNECTION_RESET`...).
pub fn answers_with(emu: &RunningEmulator, code: &str) -> u64 {
    emu.stats()["requests"]["byResponseCode"][code]
        .as_u64()
        .unwrap_or(0)
}

/// Change requests (everything but reads and the account call) seen by the emulator.
pub fn change_requests(emu: &RunningEmulator) -> u64 {
    emu.stats()["requests"]["byOperation"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(op, _)| {
            let op = op.to_ascii_lowercase();
            !(op.starts_with("get")
                || op.starts_with("list")
                || op.contains("myaccount")
                || op.contains("stats"))
        })
        .map(|(_, n)| n.as_u64().unwrap())
        .sum()
}

/// Checks the emulator holds exactly one clean deploy of the redis plan: no missing and no
/// duplicated resource, every server NORMAL, started, with one public address.
pub fn assert_redis_deployed(emu: &RunningEmulator, context: &str) {
    let stats = emu.stats();
    let r = &stats["resources"];
    let want = [
        ("networkDomain", 1),
        ("vlan", 1),
        ("server", 4),
        ("publicIpBlock", 2),
        ("natRule", 4),
        ("firewallRule", 4),
    ];
    for (kind, n) in want {
        assert_eq!(r[kind], n, "{context}: {kind}: {r}");
    }
    let servers = stats["servers"].as_array().unwrap();
    let mut names: Vec<&str> = servers
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["redis01", "redis02", "redis03", "redis04"],
        "{context}"
    );
    for s in servers {
        assert_eq!(s["started"], true, "{context}: {s}");
        assert_eq!(s["state"], "NORMAL", "{context}: {s}");
        assert_eq!(
            s["publicIpv4"].as_array().unwrap().len(),
            1,
            "{context}: {s}"
        );
    }
}

/// Checks the emulator holds no resource of the plan's kinds.
pub fn assert_empty(emu: &RunningEmulator, context: &str) {
    let r = resources(emu);
    for k in [
        "networkDomain",
        "vlan",
        "server",
        "publicIpBlock",
        "natRule",
        "firewallRule",
    ] {
        assert_eq!(r[k], 0, "{context}: {k}: {r}");
    }
}
