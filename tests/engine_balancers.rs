//! The engine builds load balancers and cloud backup from a plan against the in-process emulator:
//! `balancers:` gives exactly one pool of the blueprint's two nodes (a VIP node each, named after its
//! private address), one virtual listener on a public address of the domain with the firewall rule
//! admitting it, and `information` shows that address; `backup:` enables backup with the plan and
//! adds the client; the `#hashtags` of the descriptions are the servers' tags. A second deploy sends
//! no change request; dispose takes the listener, members, pool, VIP nodes and backup down before
//! the servers and leaves nothing; the same under injected faults (3 seeds, 20 with
//! `PLUMBERY_FULL_SUITE=1`) and after runs cut at 7 moments. The corpus plans that use
//! `listeners:` (apache2-cluster, gigafox over two locations) and `backup:` build and dispose
//! cleanly.

use cloud::CloudClient;
use emulator::{FaultSpec, RunningEmulator};
use engine::{self, Action, Options, Step};
use fittings::{Parameters, Plan, load_text};

mod engine_support;
use engine_support::{
    MIXED_FAULTS, assert_empty, change_requests, contrib, fast_client, options, run_cut, seeds,
    start,
};

const PLAN: &str = r##"---
locationId: NA9
blueprints:
  - web:
      domain:
        name: LbDomain
        service: advanced
      ethernet:
        name: web
        subnet: 10.80.0.0
      balancers:
        - http:
            port: 80
            information:
              - "browse http://{{ balancer.ip }}:{{ balancer.port }}/"
      pool:
        algorithm: round_robin
      nodes:
        - web01:
            appliance: 'Ubuntu 22'
            description: "#web #frontend"
            backup:
              plan: advanced
              clients:
                - type: filesystem
                  email: ops@example.com
        - web02:
            appliance: 'Ubuntu 22'
            description: "#web"
"##;

fn plan() -> Plan {
    load_text("lb.yaml", PLAN, &Parameters::new()).unwrap().0
}

async fn run(action: Action, plan: &Plan, opts: &Options, context: &str) -> engine::Report {
    let r = engine::run(action, plan, opts).await.unwrap();
    assert!(
        r.ok,
        "{context}: {action:?}: {}",
        serde_json::to_string_pretty(&r).unwrap()
    );
    r
}

/// Checks the emulator holds exactly the plan's balancer and backup, read through the API; returns
/// the listener's address.
async fn assert_built(c: &CloudClient, context: &str) -> String {
    let domains = c
        .list_network_domains(&[("name", "LbDomain")])
        .await
        .unwrap();
    assert_eq!(domains.len(), 1, "{context}");
    let dom = domains[0].id.as_str();
    let servers = c.list_servers(&[("networkDomainId", dom)]).await.unwrap();
    assert_eq!(servers.len(), 2, "{context}");
    let mut ips: Vec<String> = servers
        .iter()
        .map(|s| s.private_ipv4().unwrap().trim().to_string())
        .collect();
    ips.sort();
    let pools = c.list_vip_pools(dom).await.unwrap();
    assert_eq!(pools.len(), 1, "{context}: {pools:?}");
    assert_eq!(pools[0].name, "web.na9.pool");
    assert_eq!(pools[0].load_balance_method, "ROUND_ROBIN");
    let mut nodes: Vec<String> = c
        .list_vip_nodes(dom)
        .await
        .unwrap()
        .iter()
        .map(|n| n.address().unwrap())
        .collect();
    nodes.sort();
    assert_eq!(nodes, ips, "{context}: one VIP node per server");
    let members = c
        .list_pool_members(&[("poolId", pools[0].id.as_str())])
        .await
        .unwrap();
    let mut member_ips: Vec<String> = members
        .iter()
        .map(|m| m.node.ip_address.trim().to_string())
        .collect();
    member_ips.sort();
    assert_eq!(member_ips, ips, "{context}: both nodes in the pool");
    let listeners = c.list_virtual_listeners(dom).await.unwrap();
    assert_eq!(listeners.len(), 1, "{context}");
    let l = &listeners[0];
    assert_eq!(l.name, "http.web.na9.balancer");
    assert_eq!(l.port, Some(80));
    assert_eq!(l.pool.as_ref().unwrap().id, pools[0].id);
    let address = l.address().unwrap();
    let blocks = c.list_public_ip_blocks(dom).await.unwrap();
    assert!(
        blocks.iter().any(|b| {
            let base: std::net::Ipv4Addr = b.base_ip.trim().parse().unwrap();
            let a: std::net::Ipv4Addr = address.parse().unwrap();
            (u32::from(base)..u32::from(base) + b.size).contains(&u32::from(a))
        }),
        "{context}: {address} is an address of the domain's blocks"
    );
    let rules = c.list_firewall_rules(dom).await.unwrap();
    let rule = rules
        .iter()
        .find(|r| r.name == "HttpWebNa9Balancer.80.plumbery")
        .unwrap_or_else(|| panic!("{context}: no listener rule"));
    let dest = &rule.destination;
    assert_eq!(dest.ip.as_ref().unwrap().address, address, "{context}");
    assert_eq!(dest.port.as_ref().unwrap().begin, 80, "{context}");
    let web01 = servers.iter().find(|s| s.name == "web01").unwrap();
    let details = c.get_backup_details(&web01.id).await.unwrap().unwrap();
    assert_eq!(details.service_plan, "Advanced", "{context}");
    assert_eq!(details.clients.len(), 1, "{context}: {details:?}");
    assert!(details.clients[0].is_file_system, "{context}");
    let web02 = servers.iter().find(|s| s.name == "web02").unwrap();
    assert!(c.get_backup_details(&web02.id).await.unwrap().is_none());
    // The description's hashtags are the servers' tags.
    for (s, want) in [(web01, vec!["frontend", "web"]), (web02, vec!["web"])] {
        let mut got: Vec<String> = c
            .list_tags(&[("assetId", s.id.as_str())])
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.tag_key_name)
            .collect();
        got.sort();
        assert_eq!(got, want, "{context}: tags of {}", s.name);
    }
    address
}

fn count(r: &engine::Report, f: impl Fn(&Step) -> bool) -> usize {
    r.locations
        .iter()
        .flat_map(|l| &l.phases)
        .flat_map(|p| &p.steps)
        .filter(|s| f(&s.step))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_balancer_and_backup_are_built_once_shown_and_disposed() {
    let (emu, _dir) = start(0.001);
    let opts = options(emu.url());
    let plan = plan();
    let r = run(Action::Deploy, &plan, &opts, "first deploy").await;
    let c = fast_client(&emu);
    let address = assert_built(&c, "first deploy").await;
    let out = r.output.clone().unwrap_or_default();
    assert!(
        out.contains(&format!(
            "About 'http.web.na9.balancer' (NA9):\n  listener: HTTP {address}:80"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("browse http://{address}:80/")),
        "{out}"
    );

    // Again: nothing to change, not one change request.
    let before = change_requests(&emu);
    let r = run(Action::Deploy, &plan, &opts, "second deploy").await;
    assert_eq!(r.changes(), 0);
    assert_eq!(
        change_requests(&emu),
        before,
        "a second deploy changed something"
    );
    assert_eq!(assert_built(&c, "second deploy").await, address);
    let r = run(Action::Information, &plan, &opts, "information").await;
    assert!(r.output.unwrap().contains(&address));

    // Dispose: the balancer and the backup go first, then everything else.
    let r = run(Action::Dispose, &plan, &opts, "dispose").await;
    assert_eq!(count(&r, |s| matches!(s, Step::DeleteListener { .. })), 1);
    assert_eq!(count(&r, |s| matches!(s, Step::RemovePoolMember { .. })), 2);
    assert_eq!(count(&r, |s| matches!(s, Step::DeletePool { .. })), 1);
    assert_eq!(count(&r, |s| matches!(s, Step::DeleteVipNode { .. })), 2);
    assert_eq!(count(&r, |s| matches!(s, Step::DisableBackup { .. })), 1);
    assert_empty(&emu, "after dispose");
    run(Action::Dispose, &plan, &opts, "second dispose").await;
    assert_empty(&emu, "after a second dispose");
}

async fn deploy_and_dispose(emu: &RunningEmulator, plan: &Plan, context: &str) {
    let opts = options(emu.url());
    run(Action::Deploy, plan, &opts, context).await;
    run(Action::Dispose, plan, &opts, context).await;
    assert_empty(emu, context);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_and_dispose_under_faults() {
    let plan = plan();
    for seed in seeds(3, 20) {
        let context = format!("seed {seed}");
        let (emu, _dir) = start(0.001);
        emu.set_faults(FaultSpec::parse(MIXED_FAULTS).unwrap(), Some(seed));
        let opts = options(emu.url());
        run(Action::Deploy, &plan, &opts, &context).await;
        emu.set_faults(FaultSpec::default(), None);
        assert_built(&fast_client(&emu), &context).await;
        emu.set_faults(FaultSpec::parse(MIXED_FAULTS).unwrap(), Some(seed + 100));
        run(Action::Dispose, &plan, &opts, &context).await;
        assert_empty(&emu, &context);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_runs_converge_without_duplicates() {
    let (emu, _dir) = start(0.001);
    let opts = options(emu.url());
    let plan = plan();
    // A deploy at this time-scale lasts about 0.3 s: cut it (and then its dispose) at moments
    // across it; the next run finishes the work with no duplicate pool, node, member or listener.
    for cut_ms in [10u64, 40, 80, 120, 160, 200, 260] {
        let context = format!("cut at {cut_ms} ms");
        run_cut(Action::Deploy, &plan, &opts, cut_ms).await;
        run(Action::Deploy, &plan, &opts, &context).await;
        assert_built(&fast_client(&emu), &context).await;
        run_cut(Action::Dispose, &plan, &opts, cut_ms / 2).await;
        run(Action::Dispose, &plan, &opts, &context).await;
        assert_empty(&emu, &context);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_plans_with_listeners_and_backup_build_and_dispose() {
    for name in [
        "web__apache2-cluster__fittings.yaml",
        "example__backup__fittings.yaml",
    ] {
        let (emu, _dir) = start(0.001);
        deploy_and_dispose(&emu, &contrib(name, &[]), name).await;
    }
    // gigafox: two locations, a web blueprint with listeners http and https in each; its dispose
    // keeps what the plan says to keep (`destroy: never` VLANs, `running: always` nodes) but no load
    // balancer piece.
    let name = "example__gigafox__fittings.yaml";
    let (emu, _dir) = start(0.001);
    let plan = contrib(name, &[]);
    let opts = options(emu.url());
    run(Action::Deploy, &plan, &opts, name).await;
    let c = fast_client(&emu);
    let lb = |c: CloudClient| async move {
        let mut n = (0, 0, 0, 0);
        for d in c.list_network_domains(&[]).await.unwrap() {
            n.0 += c.list_vip_pools(&d.id).await.unwrap().len();
            n.1 += c.list_vip_nodes(&d.id).await.unwrap().len();
            n.2 += c
                .list_pool_members(&[("networkDomainId", &d.id)])
                .await
                .unwrap()
                .len();
            n.3 += c.list_virtual_listeners(&d.id).await.unwrap().len();
        }
        n
    };
    let (pools, nodes, members, listeners) = lb(c.clone()).await;
    assert_eq!(
        (pools, listeners),
        (2, 4),
        "{name}: a pool and two listeners per location"
    );
    assert!(
        nodes > 0 && members == nodes,
        "{name}: {nodes} VIP nodes, {members} members"
    );
    run(Action::Dispose, &plan, &opts, name).await;
    assert_eq!(lb(c).await, (0, 0, 0, 0), "{name}: after dispose");
}
