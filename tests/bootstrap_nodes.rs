//! `prepare_nodes` end to end against private sshds, with the scripts sandboxed under a scratch
//! root (so the host is not changed): parallel nodes, per-node logs without secrets, idempotent
//! re-runs, failures that name the failing command, unreachable nodes.

mod bootstrap_support;

use std::time::Duration;

use bootstrap::{BootstrapOptions, KeyPair, NodeStatus, NodeTarget, prepare_nodes};
use bootstrap_support::{TestSshd, can_run_sshd, sandbox};

const SECRET: &str = "Xy9-secret_value";

fn target(name: &str, sshd: &TestSshd, cloud_config: &str) -> NodeTarget {
    NodeTarget {
        name: name.into(),
        address: sshd.addr(),
        admin_password: "root-admin-password".into(),
        cloud_config: serde_yaml::from_str(cloud_config).unwrap(),
        prepare: vec![],
        appliance: None,
    }
}

fn options(state: &std::path::Path, sshd: &TestSshd, root: &std::path::Path) -> BootstrapOptions {
    let mut o = BootstrapOptions::new(
        state,
        KeyPair {
            private: sshd.client_key.clone(),
            public: sshd.client_pub.clone(),
        },
    );
    // The private sshds let root in with the key: log in as root, change nothing on the host.
    o.user = "root".into();
    o.harden = false;
    o.clock_sync = false;
    o.boot_timeout = Duration::from_secs(20);
    o.secrets = vec![SECRET.into()];
    o.sandbox_root = Some(root.to_path_buf());
    o
}

fn node_config(name: &str) -> String {
    format!(
        r#"
write_files:
  - path: /etc/redis/{name}.conf
    content: |
      requirepass {SECRET}
      bind 127.0.0.1
  - path: /etc/redis/{name}.conf
    append: true
    content: |
      bind 127.0.0.1
      tcp-keepalive 60
runcmd:
  - echo "configured {name} with {SECRET}"
unknown_key: 1
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_are_bootstrapped_in_parallel_and_reruns_change_nothing() {
    if !can_run_sshd() {
        eprintln!("skipped: needs root and /usr/sbin/sshd");
        return;
    }
    let a = TestSshd::start_new();
    let mut b = TestSshd::prepare();
    // b shares a's client key so one key pair serves the plan.
    std::fs::copy(&a.client_pub, b.dir.path().join("authorized_keys")).unwrap();
    b.start();
    let state = tempfile::tempdir().unwrap();
    let root = sandbox(&["redis01", "redis02"]);
    let opts = options(state.path(), &a, root.path());
    let targets = vec![
        target("redis01", &a, &node_config("redis01")),
        target("redis02", &b, &node_config("redis02")),
    ];
    let out = prepare_nodes(targets.clone(), &opts).await;
    for o in &out {
        assert_eq!(o.status, NodeStatus::Completed, "{o:?}");
        assert!(o.changes > 0);
        assert_eq!(o.ssh_user, "root");
        assert!(o.warnings.iter().any(|w| w.contains("unknown_key")));
        let log = std::fs::read_to_string(&o.log).unwrap();
        assert!(
            log.contains(&format!("configured {} with ******", o.name)),
            "{log}"
        );
        assert!(!log.contains(SECRET), "secret in {}", o.log.display());
    }
    assert_eq!(out[0].name, "redis01");
    let conf = std::fs::read_to_string(root.path().join("redis02/etc/redis/redis02.conf")).unwrap();
    assert_eq!(
        conf,
        format!("requirepass {SECRET}\nbind 127.0.0.1\ntcp-keepalive 60\n")
    );
    let pins = std::fs::read_to_string(state.path().join("known_hosts")).unwrap();
    assert_eq!(pins.lines().count(), 2, "{pins}");

    let again = prepare_nodes(targets, &opts).await;
    for o in &again {
        assert_eq!(o.status, NodeStatus::Completed, "{o:?}");
        let log = std::fs::read_to_string(&o.log).unwrap();
        assert_eq!(
            o.changes, 0,
            "re-run of {} changed something:\n{log}",
            o.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_name_the_step_show_the_log_tail_and_never_the_secret() {
    if !can_run_sshd() {
        eprintln!("skipped: needs root and /usr/sbin/sshd");
        return;
    }
    let a = TestSshd::start_new();
    let state = tempfile::tempdir().unwrap();
    let root = sandbox(&["web1", "gone", "strict"]);
    let mut opts = options(state.path(), &a, root.path());
    let cc = format!("runcmd:\n  - echo before\n  - \"test {SECRET} = nope\"\n  - echo after\n");
    let mut targets = vec![target("web1", &a, &cc)];
    // A node that never answers.
    let mut gone = target("gone", &a, "{}");
    gone.address = std::net::SocketAddr::from(([127, 0, 0, 1], bootstrap_support::free_port()));
    targets.push(gone);
    // Strict mode refuses unsupported keys before connecting.
    targets.push(target("strict", &a, "phone_home: {url: http://x}\n"));
    opts.boot_timeout = Duration::from_secs(1);
    opts.strict = true;
    let out = prepare_nodes(targets, &opts).await;
    let err = out[0].error.as_deref().unwrap();
    assert_eq!(out[0].status, NodeStatus::Failed);
    assert!(err.contains("runcmd: test ****** = nope"), "{err}");
    assert!(err.contains("| before"), "the log tail is shown: {err}");
    assert!(!err.contains("| after"));
    assert!(!err.contains(SECRET));
    assert_eq!(out[1].status, NodeStatus::Unreachable, "{:?}", out[1]);
    assert_eq!(out[2].status, NodeStatus::Failed);
    assert!(
        out[2].error.as_deref().unwrap().contains("phone_home"),
        "{:?}",
        out[2]
    );
}
