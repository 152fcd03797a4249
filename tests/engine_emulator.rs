//! The engine against the in-process emulator: deploy of the redis plan, idempotent re-deploy, dispose,
//! the same under faults over several seeds, and runs cut at random moments then run again.

mod engine_support;

use emulator::FaultSpec;
use emulator::RunningEmulator;
use engine::{self, Action, Options};
use engine_support::{
    MIXED_FAULTS, answers_with, assert_empty, change_requests, client, options, redis_plan,
    resources, run_cut, run_ok, start,
};

/// Checks the emulator holds exactly a clean deploy of the redis plan, every server monitored.
async fn assert_redis_deployed(emu: &RunningEmulator) {
    engine_support::assert_redis_deployed(emu, "redis deployed");
    // Monitoring is not in the stats document: read it through the API.
    let listed = client(emu).list_servers(&[]).await.unwrap();
    assert_eq!(listed.iter().filter(|s| s.monitoring.is_some()).count(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_redeploy_dispose() {
    let (emu, _dir) = start(0.001);
    let plan = redis_plan();
    let opts = options(emu.url());

    let report = run_ok(Action::Deploy, &plan, &opts, "first deploy").await;
    assert_redis_deployed(&emu).await;
    let info = report.output.clone().unwrap();
    assert!(info.contains("About 'redis01'"), "{info}");
    assert!(info.contains("ssh ubuntu@127.77."), "{info}");
    assert!(info.contains("follows the master at 192.168.20."), "{info}");
    assert!(
        report.locations[0]
            .notes
            .iter()
            .any(|n| n.contains("prepare skipped"))
    );
    assert!(report.requests <= 150, "{} requests", report.requests);

    let before = change_requests(&emu);
    let again = run_ok(Action::Deploy, &plan, &opts, "second deploy").await;
    assert_eq!(again.changes(), 0);
    assert_eq!(
        change_requests(&emu),
        before,
        "a second deploy makes no change request"
    );
    assert_redis_deployed(&emu).await;

    let inv = engine::run(Action::Inventory, &plan, &opts).await.unwrap();
    let yaml: serde_yaml::Value = serde_yaml::from_str(inv.output.as_deref().unwrap()).unwrap();
    assert_eq!(yaml.as_sequence().unwrap().len(), 4);
    let ini = engine::run(Action::Ansible, &plan, &opts)
        .await
        .unwrap()
        .output
        .unwrap();
    let redis01 = ini
        .lines()
        .find(|l| l.starts_with("redis01 "))
        .unwrap_or_else(|| panic!("{ini}"));
    assert!(redis01.contains(" private_ipv4=192.168.20."), "{ini}");
    assert!(redis01.contains(" ansible_host=127.77."), "{ini}");
    assert!(ini.contains("\n[dc_NA12]\nredis01\n"), "{ini}");

    let safe = engine::run(
        Action::Dispose,
        &plan,
        &Options {
            safe: true,
            ..opts.clone()
        },
    )
    .await
    .unwrap();
    assert!(safe.safe && safe.changes() == 0);
    assert!(!safe.locations[0].phases[0].steps.is_empty());
    assert_redis_deployed(&emu).await;

    run_ok(Action::Dispose, &plan, &opts, "dispose").await;
    assert_empty(&emu, "disposed");
    let twice = run_ok(Action::Dispose, &plan, &opts, "second dispose").await;
    assert_eq!(twice.changes(), 0);
    assert_empty(&emu, "disposed twice");
}

async fn cycle_under_faults(seed: u64) {
    let (emu, _dir) = start(0.001);
    let plan = redis_plan();
    let opts = options(emu.url());
    emu.set_faults(FaultSpec::parse(MIXED_FAULTS).unwrap(), Some(seed));
    // One run each: the client retries refusals and 503s, the engine observes after lost answers.
    run_ok(Action::Deploy, &plan, &opts, &format!("seed {seed}")).await;
    assert_redis_deployed(&emu).await;
    run_ok(Action::Dispose, &plan, &opts, &format!("seed {seed}")).await;
    assert!(
        answers_with(&emu, "RESOURCE_BUSY") > 0,
        "seed {seed}: faults were injected: {}",
        emu.stats().requests
    );
    assert_empty(&emu, &format!("seed {seed}: disposed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_seeds_1_to_5() {
    for seed in 1..=5 {
        cycle_under_faults(seed).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_seeds_6_to_10() {
    for seed in 6..=10 {
        cycle_under_faults(seed).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_runs_converge_without_duplicates() {
    let (emu, _dir) = start(0.001);
    let plan = redis_plan();
    let opts = options(emu.url());
    // A deploy at this time-scale lasts about 0.5 s: cut it at 10 moments across it.
    for cut_ms in [5u64, 20, 40, 70, 100, 150, 200, 280, 350, 450] {
        run_cut(Action::Deploy, &plan, &opts, cut_ms).await;
        run_ok(Action::Deploy, &plan, &opts, &format!("cut at {cut_ms} ms")).await;
        assert_redis_deployed(&emu).await;
        // Cut the dispose as well, then finish it.
        run_cut(Action::Dispose, &plan, &opts, cut_ms / 2).await;
        run_ok(
            Action::Dispose,
            &plan,
            &opts,
            &format!("dispose after cut at {cut_ms} ms"),
        )
        .await;
        assert_empty(&emu, &format!("dispose after cut at {cut_ms} ms"));
    }
}

fn started_count(emu: &RunningEmulator) -> usize {
    emu.stats().servers.iter().filter(|s| s.started).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_start_stop_wipe_refresh_destroy() {
    let (emu, _dir) = start(0.001);
    let plan = redis_plan();
    let opts = options(emu.url());
    // build: servers deployed stopped, with their network rules.
    run_ok(Action::Build, &plan, &opts, "build").await;
    assert_eq!(resources(&emu).server, 4);
    assert_eq!(started_count(&emu), 0);
    assert_eq!(resources(&emu).nat_rule, 4);
    run_ok(Action::Start, &plan, &opts, "start").await;
    assert_eq!(started_count(&emu), 4);
    run_ok(Action::Stop, &plan, &opts, "stop").await;
    assert_eq!(started_count(&emu), 0);
    // destroy refuses nothing here (all stopped); wipe keeps the network.
    run_ok(Action::Wipe, &plan, &opts, "wipe").await;
    let res = resources(&emu);
    assert_eq!(res.server, 0, "{res}");
    assert_eq!(res.nat_rule, 0, "{res}");
    assert_eq!(res.firewall_rule, 0, "{res}");
    assert_eq!(res.vlan, 1, "{res}");
    // refresh: stop, wipe, deploy again.
    run_ok(Action::Refresh, &plan, &opts, "first refresh").await;
    assert_redis_deployed(&emu).await;
    run_ok(Action::Refresh, &plan, &opts, "second refresh").await;
    assert_redis_deployed(&emu).await;
    // destroy leaves running nodes alone (stop them first, or dispose).
    let r = run_ok(Action::Destroy, &plan, &opts, "destroy of running nodes").await;
    assert_eq!(resources(&emu).server, 4);
    assert!(
        r.locations[0].phases[0]
            .notes
            .iter()
            .any(|n| n.contains("is running"))
    );
    engine::run(Action::Stop, &plan, &opts).await.unwrap();
    run_ok(Action::Destroy, &plan, &opts, "destroy of stopped nodes").await;
    assert_empty(&emu, "destroyed");
    // ping on nothing deployed reports every node unreachable, without error.
    let r = engine::run(Action::Ping, &plan, &opts).await.unwrap();
    assert_eq!(r.output.unwrap().matches("unreachable").count(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispose_right_after_an_interrupted_deploy() {
    let (emu, _dir) = start(0.001);
    let plan = redis_plan();
    let opts = options(emu.url());
    for cut_ms in [60u64, 150, 250, 350] {
        run_cut(Action::Deploy, &plan, &opts, cut_ms).await;
        // Servers may still be deploying: dispose waits for them, then removes everything.
        run_ok(
            Action::Dispose,
            &plan,
            &opts,
            &format!("cut at {cut_ms} ms"),
        )
        .await;
        assert_empty(&emu, &format!("dispose after a deploy cut at {cut_ms} ms"));
    }
}

/// A TCP relay in front of the emulator that runs `hook` (once) before it passes on the answer to
/// the first request whose head contains `needle`: the hook's change lands after the server
/// answered but before the client has read the answer.
async fn relay_with_hook<F, Fut>(upstream: String, needle: &'static str, hook: F) -> String
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hook = Arc::new(tokio::sync::Mutex::new(Some(hook)));
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            let hook = hook.clone();
            tokio::spawn(async move {
                let server = TcpStream::connect(&upstream).await.unwrap();
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let armed = Arc::new(AtomicBool::new(false));
                let arm = armed.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    while let Ok(n) = cr.read(&mut buf).await {
                        if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        if String::from_utf8_lossy(&buf[..n]).contains(needle) {
                            arm.store(true, Ordering::SeqCst);
                        }
                    }
                });
                let mut buf = vec![0u8; 65536];
                while let Ok(n) = sr.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    if armed.swap(false, Ordering::SeqCst) {
                        let h = hook.lock().await.take();
                        if let Some(h) = h {
                            h().await;
                        }
                    }
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

/// A public IP block that appears after the inventory was read (the add of a cancelled run landing
/// late, or an add whose answer was lost) is adopted by the step that would add one: it is never
/// simply added again, and the domain ends with exactly the blocks it needs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_landing_after_the_inventory_is_adopted_not_duplicated() {
    let (emu, _dir) = start(0.001);
    let plan = redis_plan();
    let opts = options(emu.url());
    // A domain and VLAN without servers, rules or blocks.
    run_ok(Action::Build, &plan, &opts, "build").await;
    run_ok(Action::Wipe, &plan, &opts, "wipe").await;
    let client = client(&emu);
    let domains = client.list_network_domains(&[]).await.unwrap();
    assert_eq!(domains.len(), 1);
    let domain_id = domains[0].id.clone();
    for b in client.list_public_ip_blocks(&domain_id).await.unwrap() {
        client.remove_public_ip_block(&b.id).await.unwrap();
    }
    assert_eq!(resources(&emu).public_ip_block, 0);
    // The deploy reads its inventory through the relay; right after the emulator has answered the
    // list of blocks (none), a block is added behind the engine's back.
    let upstream = emu
        .url()
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let late = client.clone();
    let did = domain_id.clone();
    let relay = relay_with_hook(upstream, "publicIpBlock?", move || async move {
        late.add_public_ip_block(&did).await.unwrap();
    })
    .await;
    let mut o = opts.clone();
    let path = emu.url().trim_start_matches("http://");
    let path = &path[path.find('/').unwrap_or(path.len())..];
    o.endpoint = Some(format!("{relay}{path}"));
    run_ok(Action::Deploy, &plan, &o, "deploy through the relay").await;
    assert_redis_deployed(&emu).await;
    // A late add that lands after the deploy is over leaves a block nothing uses: dispose
    // releases it with the rest.
    client.add_public_ip_block(&domain_id).await.unwrap();
    assert_eq!(resources(&emu).public_ip_block, 3);
    run_ok(Action::Dispose, &plan, &opts, "dispose").await;
    assert_empty(&emu, "disposed");
}
