//! Runs on machines that share only the cloud (CI runners): three builds of the redis plan started
//! together against one emulator, each with its own client and nothing else in common, all succeed
//! and leave exactly the plan (no server name twice, no extra public IP block or NAT rule), also
//! under injected faults; a dispose afterwards leaves nothing. A duplicate server (with a NAT rule
//! and a block of its own) made through the API directly is removed by the next build, which names
//! it; one left for a dispose goes with the rest.

mod engine_support;

use std::time::Instant;

use cloud::{AsyncOp, NewServer, Secret, Wait};
use emulator::{FaultSpec, RunningEmulator};
use engine::{Action, Options, Report};
use engine_support::{
    MIXED_FAULTS, REDIS_COUNTS, assert_counts, assert_empty, fast_client, operation_count, options,
    redis_plan, run_ok, start,
};

/// Starts `n` builds of the redis plan at once (one client each, as on `n` machines); their
/// reports, every one checked ok.
async fn builds_at_once(emu: &RunningEmulator, n: usize, context: &str) -> Vec<Report> {
    let plan = redis_plan();
    let runs: Vec<_> = (0..n)
        .map(|i| {
            let (plan, opts) = (plan.clone(), options(emu.url()));
            let context = format!("{context}: run {i}");
            tokio::spawn(async move { run_ok(Action::Build, &plan, &opts, &context).await })
        })
        .collect();
    let mut reports = Vec::new();
    for r in runs {
        reports.push(r.await.unwrap());
    }
    reports
}

/// Checks the emulator holds one build of the redis plan: exact counts, each node's name once.
async fn assert_built(emu: &RunningEmulator, context: &str) {
    assert_counts(emu, &REDIS_COUNTS, context);
    let servers = fast_client(emu).list_servers(&[]).await.unwrap();
    let mut names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        ["redis01", "redis02", "redis03", "redis04"],
        "{context}"
    );
}

/// The steps of the `converge` reports of a run, described.
fn converged(r: &Report) -> Vec<String> {
    r.locations
        .iter()
        .flat_map(|l| &l.phases)
        .filter(|p| p.phase == "converge")
        .flat_map(|p| &p.steps)
        .map(|s| s.description.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_machines_build_at_once_and_converge() {
    let (emu, _dir) = start(0.001);
    let solo_emu = start(0.001);
    let solo = run_ok(
        Action::Build,
        &redis_plan(),
        &options(solo_emu.0.url()),
        "solo",
    )
    .await;

    let t0 = Instant::now();
    let reports = builds_at_once(&emu, 3, "three machines").await;
    let took = t0.elapsed();
    assert_built(&emu, "three machines").await;
    // Each run planned every server from the same empty inventory: the race did happen.
    let deployed = operation_count(&emu, "DEPLOY_SERVER");
    assert!(deployed > 4, "{deployed} servers deployed for 4 nodes");
    let removed: Vec<Vec<String>> = reports.iter().map(converged).collect();
    let removed_servers = removed
        .iter()
        .flatten()
        .filter(|d| d.starts_with("delete duplicate server"))
        .count();
    assert!(
        removed_servers > 0,
        "the duplicates were named: {removed:?}"
    );
    let requests: Vec<u64> = reports.iter().map(|r| r.requests).collect();
    eprintln!(
        "three machines: {took:?}; {deployed} servers deployed for 4; requests per run {requests:?} \
         (a build alone: {}); removed per run {removed:?}",
        solo.requests
    );

    let again = run_ok(Action::Build, &redis_plan(), &options(emu.url()), "again").await;
    assert_eq!(again.changes(), 0, "the cloud already holds the plan");
    run_ok(
        Action::Dispose,
        &redis_plan(),
        &options(emu.url()),
        "dispose",
    )
    .await;
    assert_empty(&emu, "disposed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_machines_under_faults() {
    for seed in engine_support::seeds(3, 30) {
        let (emu, _dir) = start(0.001);
        emu.set_faults(FaultSpec::parse(MIXED_FAULTS).unwrap(), Some(seed));
        let context = format!("faults, seed {seed}");
        builds_at_once(&emu, 3, &context).await;
        emu.set_faults(FaultSpec::default(), None);
        assert_built(&emu, &context).await;
        run_ok(
            Action::Dispose,
            &redis_plan(),
            &options(emu.url()),
            &context,
        )
        .await;
        assert_empty(&emu, &format!("{context}: disposed"));
    }
}

/// Deploys a second server named `name` in the plan's domain through the API directly (another
/// tool, or a run that crashed), with a public IP block and a NAT rule of its own; its id.
async fn duplicate(emu: &RunningEmulator, name: &str) -> String {
    let c = fast_client(emu);
    let servers = c.list_servers(&[]).await.unwrap();
    let model = servers.iter().find(|s| s.name == name).unwrap();
    let nic = model.network_info.as_ref().unwrap();
    let id = c
        .deploy_server(&NewServer {
            name: name.into(),
            description: "a duplicate".into(),
            image_id: model.source_image_id.clone().unwrap(),
            start: false,
            administrator_password: Some(Secret::new("S3cret-Passw0rd")),
            cpu: None,
            memory_gb: None,
            network_domain_id: nic.network_domain_id.clone(),
            primary_vlan_id: nic.primary_nic.as_ref().unwrap().vlan_id.clone(),
            primary_ipv4: None,
        })
        .await
        .unwrap();
    c.wait_server(
        &id,
        Wait::after(AsyncOp::DeployServer { started: false }),
        Some(false),
    )
    .await
    .unwrap();
    let dup = c.get_server(&id).await.unwrap().unwrap();
    let domain = nic.network_domain_id.as_str();
    c.add_public_ip_block(domain).await.unwrap();
    c.create_nat_rule(domain, dup.private_ipv4().unwrap(), None)
        .await
        .unwrap();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_made_elsewhere_is_converged_and_named() {
    let (emu, _dir) = start(0.001);
    let plan = redis_plan();
    let opts: Options = options(emu.url());
    run_ok(Action::Build, &plan, &opts, "first build").await;
    let original = fast_client(&emu)
        .list_servers(&[("name", "redis02")])
        .await
        .unwrap()[0]
        .id
        .clone();
    let dup = duplicate(&emu, "redis02").await;
    let r = emu.stats().resources;
    assert_eq!((r.server, r.public_ip_block, r.nat_rule), (5, 3, 5), "{r}");

    let report = run_ok(Action::Build, &plan, &opts, "build after the duplicate").await;
    let steps = converged(&report);
    assert!(
        steps.contains(&format!(
            "delete duplicate server redis02 ({dup}; {original} is kept)"
        )),
        "{steps:?}"
    );
    assert!(
        steps.iter().any(|s| s.starts_with("delete NAT rule")),
        "{steps:?}"
    );
    assert!(
        steps
            .iter()
            .any(|s| s.starts_with("release spare public IPv4 block")),
        "{steps:?}"
    );
    let notes: Vec<&String> = report.locations[0]
        .phases
        .iter()
        .flat_map(|p| &p.notes)
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("node redis02: 2 servers have its name") && n.contains(&dup)),
        "{notes:?}"
    );
    assert_built(&emu, "converged").await;
    let kept = fast_client(&emu)
        .list_servers(&[("name", "redis02")])
        .await
        .unwrap();
    assert_eq!(kept[0].id, original, "the older server is kept");

    // A duplicate left when disposing goes with the rest.
    duplicate(&emu, "redis03").await;
    run_ok(Action::Dispose, &plan, &opts, "dispose with a duplicate").await;
    assert_empty(&emu, "disposed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_binaries_with_their_own_state_dirs() {
    let (emu, _dir) = start(0.01);
    let plan = concat!(env!("CARGO_MANIFEST_DIR"), "/fittings/redis-cluster.yaml");
    let states: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let command = |state: &tempfile::TempDir, action: &str| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_plumbery"));
        cmd.env("PLUMBERY_STATE_DIR", state.path())
            .env("MCP_ENDPOINT", emu.url())
            .env("MCP_USERNAME", engine_support::DEFAULT_ACCOUNT.user)
            .env("MCP_PASSWORD", engine_support::DEFAULT_ACCOUNT.password)
            .env_remove("RUST_LOG")
            .args([plan, action, "--lock-timeout", "0"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        cmd
    };
    // Spawned together; each child is waited for (and so reaped) below, even when one fails.
    let children: Vec<std::process::Child> = states
        .iter()
        .map(|s| command(s, "build").spawn().unwrap())
        .collect();
    let outputs: Vec<std::process::Output> = tokio::task::block_in_place(|| {
        children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect()
    });
    let mut named = 0;
    for o in &outputs {
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{err}");
        assert!(
            !err.contains("waiting for another run"),
            "separate state dirs: {err}"
        );
        named += err.matches("delete duplicate server").count();
    }
    assert!(named > 0, "the duplicates were named on standard error");
    assert_built(&emu, "three binaries").await;
    let dispose = tokio::task::block_in_place(|| command(&states[0], "dispose").output().unwrap());
    assert_eq!(
        dispose.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&dispose.stderr)
    );
    assert_empty(&emu, "disposed by one of them");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispose_racing_a_build_leaves_nothing_a_second_dispose_cannot_find() {
    for delay_ms in [0u64, 30, 120] {
        let (emu, _dir) = start(0.001);
        let plan = redis_plan();
        let context = format!("dispose {delay_ms} ms after the build");
        let t0 = Instant::now();
        let (p, o) = (plan.clone(), options(emu.url()));
        let build = tokio::spawn(async move { engine::run(Action::Build, &p, &o).await });
        tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
        // Either may fail while the other changes the cloud under it; neither may leave orphans.
        let d = engine::run(Action::Dispose, &plan, &options(emu.url())).await;
        let t1 = t0.elapsed();
        let b = build.await.unwrap();
        eprintln!(
            "{context}: dispose ok {:?} after {t1:?}, build ok {:?} after {:?}",
            d.as_ref().map(|r| r.ok),
            b.as_ref().map(|r| r.ok),
            t0.elapsed()
        );
        let mut left = None;
        for _ in 0..2 {
            let r = engine::run(Action::Dispose, &plan, &options(emu.url())).await;
            if r.is_ok_and(|r| r.ok) && emu.stats().resources == Default::default() {
                left = None;
                break;
            }
            left = Some(emu.stats().resources);
        }
        assert!(left.is_none(), "{context}: {left:?}");
        assert_empty(&emu, &context);
    }
}
