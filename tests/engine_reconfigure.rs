//! The engine reconciles hardware against the in-process emulator: a deploy, then the plan's CPU,
//! memory and disks changed and deployed again (servers reconfigured, disks added, grown, sped up),
//! then a third deploy that sends no change request; a smaller disk in the plan is never shrunk.

mod engine_support;

use cloud::Server;
use emulator::RunningEmulator;
use engine::{Action, Options, Report};
use engine_support::{change_requests, client, operation_count, options, run_ok, start};
use fittings::{Parameters, Plan, load_text};

/// A two-node plan with the given CPU count, memory and disk lines.
fn plan(cpu: u32, memory: u32, disks: &[&str]) -> Plan {
    plan_with(&cpu.to_string(), memory, disks)
}

/// The two-node plan with a `cpu:` line as written (`4 cores 2 highperformance`).
fn plan_cpu(cpu: &str) -> Plan {
    plan_with(cpu, 4, &[])
}

fn plan_with(cpu: &str, memory: u32, disks: &[&str]) -> Plan {
    let disks: String = disks
        .iter()
        .map(|d| format!("\n              - \"{d}\""))
        .collect();
    let text = format!(
        r#"---
locationId: NA9
blueprints:
  - hw:
      domain:
        name: HwDomain
        service: essentials
      ethernet:
        name: HwNet
        subnet: 10.90.0.0
      nodes:
        - hw[1..2]:
            appliance: 'Ubuntu 22'
            cpu: {cpu}
            memory: {memory}
            disks:{disks}
"#
    );
    load_text("hw.yaml", &text, &Parameters::new()).unwrap().0
}

async fn servers(emu: &RunningEmulator) -> Vec<Server> {
    let mut s = client(emu).list_servers(&[]).await.unwrap();
    s.sort_by(|a, b| a.name.cmp(&b.name));
    s
}

/// (cpu, memory, [(scsi, size, speed)]) of a server.
fn hardware(s: &Server) -> (u32, u32, Vec<(u32, u32, String)>) {
    let mut disks: Vec<(u32, u32, String)> = s
        .disk
        .iter()
        .map(|d| {
            (
                d.scsi_id.unwrap(),
                d.size_gb.unwrap(),
                d.speed.clone().unwrap(),
            )
        })
        .collect();
    disks.sort();
    (s.cpu.as_ref().unwrap().count, s.memory_gb.unwrap(), disks)
}

/// A deploy of `plan` that must succeed.
async fn deploy(plan: &Plan, opts: &Options, context: &str) -> Report {
    run_ok(Action::Deploy, plan, opts, context).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_memory_and_disks_are_reconciled() {
    let (emu, _dir) = start(0.001);
    let opts = options(emu.url());

    deploy(&plan(2, 4, &["1 20 standard"]), &opts, "first deploy").await;
    let first = servers(&emu).await;
    assert_eq!(first.len(), 2);
    let os_disk = hardware(&first[0]).2[0].clone();
    for s in &first {
        let (cpu, mem, disks) = hardware(s);
        assert_eq!((cpu, mem), (2, 4), "{}", s.name);
        assert_eq!(disks[1], (1, 20, "STANDARD".into()), "{}", s.name);
        assert!(s.started);
    }

    let changed = plan(4, 8, &["1 50 highperformance", "2 30 economy"]);
    let r = deploy(&changed, &opts, "changed deploy").await;
    assert!(r.changes() >= 6, "{} changes", r.changes());
    for s in servers(&emu).await {
        let (cpu, mem, disks) = hardware(&s);
        assert_eq!((cpu, mem), (4, 8), "{}", s.name);
        assert_eq!(
            disks,
            vec![
                os_disk.clone(),
                (1, 50, "HIGHPERFORMANCE".into()),
                (2, 30, "ECONOMY".into())
            ],
            "{}",
            s.name
        );
        assert!(s.started, "{} still runs", s.name);
    }

    let before = change_requests(&emu);
    let again = deploy(&changed, &opts, "second changed deploy").await;
    assert_eq!(again.changes(), 0);
    assert_eq!(
        change_requests(&emu),
        before,
        "a second deploy makes no change request"
    );

    // A smaller disk in the plan is noted, never shrunk.
    let smaller = plan(4, 8, &["1 40 highperformance", "2 30 economy"]);
    let r = deploy(&smaller, &opts, "smaller disk deploy").await;
    assert_eq!(r.changes(), 0);
    let notes: Vec<&String> = r.locations[0]
        .phases
        .iter()
        .flat_map(|p| &p.notes)
        .collect();
    assert_eq!(
        notes.iter().filter(|n| n.contains("never shrunk")).count(),
        2,
        "{notes:?}"
    );
    assert_eq!(change_requests(&emu), before);
    for s in servers(&emu).await {
        assert_eq!(hardware(&s).2[1].1, 50);
    }
    emu.shutdown();
}

/// Hardware changes whose answers are lost (the connection drops after the emulator applied the
/// change) are sent again by the client; the second send is refused (addDisk: the SCSI id is in
/// use) or busy, and the engine looks at the server before calling that a failure. Over several
/// seeds: every deploy succeeds and each server ends with exactly the plan's disks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_to_hardware_changes_are_observed_not_failed() {
    use emulator::FaultSpec;
    let (emu, _dir) = start(0.001);
    let opts = options(emu.url());
    let mut disks = vec![(1u32, 20u32)];
    deploy(&plan(2, 4, &["1 20 standard"]), &opts, "first deploy").await;
    let (mut resets, mut refused) = (0, 0);
    for seed in 0..4u64 {
        // Each round asks for one more disk, a bigger disk 1 and another CPU count.
        let size1 = 30 + 10 * seed as u32;
        disks[0].1 = size1;
        disks.push((2 + seed as u32, 10));
        let lines: Vec<String> = disks
            .iter()
            .map(|(scsi, size)| format!("{scsi} {size} standard"))
            .collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let cpu = if seed % 2 == 0 { 4 } else { 2 };
        emu.set_faults(
            FaultSpec {
                reset: 0.5,
                ..FaultSpec::default()
            },
            Some(seed),
        );
        deploy(&plan(cpu, 4, &lines), &opts, &format!("seed {seed}")).await;
        emu.set_faults(FaultSpec::default(), None);
        let codes = emu.stats().requests;
        resets = codes.code("CONNECTION_RESET");
        refused = codes.code("INVALID_INPUT_DATA");
        for s in servers(&emu).await {
            let (c, _, have) = hardware(&s);
            assert_eq!(c, cpu, "{}", s.name);
            let have: Vec<(u32, u32)> = have[1..].iter().map(|d| (d.0, d.1)).collect();
            assert_eq!(have, disks, "{} after seed {seed}", s.name);
        }
    }
    eprintln!("answers lost: {resets}, resent changes refused: {refused}");
    assert!(resets > 0, "no answer was lost: the test proves nothing");
    assert!(
        refused > 0,
        "no resent change was refused: the test proves nothing"
    );
    emu.shutdown();
}

/// Cores per socket and CPU speed are reconciled too (`cpu: 4 cores 2 highperformance`), in one
/// reconfigureServer per server, and a second deploy sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cores_per_socket_and_cpu_speed_are_reconciled() {
    let (emu, _dir) = start(0.001);
    let opts = options(emu.url());
    deploy(&plan(4, 4, &[]), &opts, "first deploy").await;
    for s in servers(&emu).await {
        let cpu = s.cpu.unwrap();
        assert_eq!(
            (cpu.count, cpu.cores_per_socket),
            (4, Some(1)),
            "{}",
            s.name
        );
        assert_eq!(cpu.speed.as_deref(), Some("STANDARD"));
    }
    let changed = plan_cpu("4 cores 2 highperformance");
    let before = operation_count(&emu, "RECONFIGURE_SERVER");
    deploy(&changed, &opts, "changed deploy").await;
    let after = operation_count(&emu, "RECONFIGURE_SERVER");
    assert_eq!(after - before, 2, "one reconfigureServer per server");
    for s in servers(&emu).await {
        let cpu = s.cpu.unwrap();
        assert_eq!(
            (cpu.count, cpu.cores_per_socket),
            (4, Some(2)),
            "{}",
            s.name
        );
        assert_eq!(cpu.speed.as_deref(), Some("HIGHPERFORMANCE"), "{}", s.name);
    }
    let again = deploy(&changed, &opts, "second changed deploy").await;
    assert_eq!(again.changes(), 0);
    emu.shutdown();
}
