//! Reliability: deploy then dispose of `fittings/redis-cluster.yaml` through the engine against an
//! in-process emulator under every fault kind (busy, unexpected, http503, reset, delay) alone and
//! combined, over many seeds (3 in the quick slice, 20 with `PLUMBERY_FULL_SUITE=1`). Each run must
//! succeed at once (no re-run), leave exactly the plan's resources, and nothing after dispose.

mod engine_support;

use emulator::FaultSpec;
use engine::Action;
use engine_support::{
    DISTINCT_ACCOUNT, answers_with, assert_empty, assert_redis_deployed, options_as, redis_plan,
    run_ok, seeds, start_as,
};

/// One deploy and one dispose under `spec` with `seed`; returns how many answers carried one of the
/// `evidence` response codes (the proof that the fault was injected).
///
/// Faults are drawn from one seeded generator shared by concurrent requests, so which request gets
/// one depends on their interleaving: a single run may, rarely, draw no fault of a kind that only hits
/// change requests. The proof is therefore required over all the seeds of a kind, not of each run.
async fn cycle(name: &str, spec: &str, seed: u64, evidence: &[&str]) -> u64 {
    let context = format!("faults {name} ({spec}), seed {seed}");
    let (emu, _dir) = start_as(0.001, false, DISTINCT_ACCOUNT);
    let plan = redis_plan();
    let opts = options_as(emu.url(), DISTINCT_ACCOUNT);
    let faults = FaultSpec::parse(spec).unwrap();
    emu.set_faults(faults, Some(seed));

    run_ok(Action::Deploy, &plan, &opts, &context).await;
    assert_redis_deployed(&emu, &format!("{context}, after deploy"));

    run_ok(Action::Dispose, &plan, &opts, &context).await;
    assert_empty(&emu, &format!("{context}, after dispose"));

    if faults.delay_ms > 0 {
        assert_delayed(&emu, faults.delay_ms as f64, &context);
    }
    evidence.iter().map(|c| answers_with(&emu, c)).sum()
}

/// Every API request of the request log took at least `ms`: the delay was applied to each.
fn assert_delayed(emu: &emulator::RunningEmulator, ms: f64, context: &str) {
    let log = std::fs::read_to_string(emu.state_dir().join("requests.log")).unwrap();
    let mut api = 0;
    for line in log.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["operation"]
            .as_str()
            .unwrap_or("")
            .starts_with("CONTROL_")
        {
            continue;
        }
        api += 1;
        let took = v["ms"].as_f64().unwrap();
        assert!(took >= ms, "{context}: a request took {took} ms: {line}");
    }
    assert!(api > 20, "{context}: only {api} requests logged");
}

async fn runs(name: &str, spec: &str, evidence: &[&str]) {
    let mut seen = 0;
    for seed in seeds(3, 20) {
        seen += cycle(name, spec, seed, evidence).await;
    }
    assert!(
        evidence.is_empty() || seen > 0,
        "faults {name} ({spec}): no {evidence:?} answer over all seeds: the fault was not injected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_alone() {
    runs("busy", "busy=0.3", &["RESOURCE_BUSY"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_alone() {
    runs("unexpected", "unexpected=0.15", &["UNEXPECTED_ERROR"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http503_alone() {
    runs("http503", "http503=0.15", &["HTTP_503"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_alone() {
    runs("reset", "reset=0.1", &["CONNECTION_RESET"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_alone() {
    // Every request waits 2 ms: the engine must not mistake slowness for failure.
    runs("delay", "delay=2ms", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_combined() {
    runs(
        "combined",
        "busy=0.15,unexpected=0.05,http503=0.05,reset=0.05,delay=1ms",
        &[
            "RESOURCE_BUSY",
            "UNEXPECTED_ERROR",
            "HTTP_503",
            "CONNECTION_RESET",
        ],
    )
    .await;
}
