//! The bootstrap on real local nodes (namespace containers with their own sshd, redis and chrony,
//! reached through their 127.77.x.y public addresses): first contact with the admin password,
//! hardening with every proof, clock sync without CAP_SYS_TIME, a Redis master and replica
//! configured by cloud-config and checked with `INFO replication`, and a re-run that changes
//! nothing. Needs root; the backend is shut down and checked clean even when the test fails.

#[path = "nodes_support/mod.rs"]
mod nodes_support;

use std::time::{Duration, Instant};

use bootstrap::ssh::{Auth, Endpoint, SshError, connect};
use bootstrap::{
    BootstrapOptions, HostKeys, KeyPair, NodeStatus, NodeTarget, prepare_nodes, replication_info,
};
use emulator::backend::NodeBackend;
use nodes_support::{DOMAIN, Harness, PASSWORD, private, root_or_skip, rule};

const SECRET: &str = "Redis-Master_Secret-7";

fn redis_config(i: u8) -> String {
    let me = private(i);
    let master = private(1);
    let replica = if i == 1 {
        String::new()
    } else {
        format!(
            "      replicaof {master} 6379\n      masterauth {SECRET}\n      replica-read-only yes\n"
        )
    };
    format!(
        r#"
hostname: node{i}
write_files:
  - path: /etc/redis/redis.conf
    append: true
    content: |
      bind {me} 127.0.0.1
      protected-mode yes
      requirepass {SECRET}
      maxmemory-policy noeviction
      tcp-keepalive 60
      repl-diskless-sync-delay 0
{replica}runcmd:
  - service redis-server restart
users:
  - default
disable_root: true
ssh_pwauth: false
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_nodes_are_bootstrapped_hardened_and_run_a_redis_pair() {
    if !root_or_skip() {
        return;
    }
    let h = Harness::new();
    for i in [1, 2] {
        h.nodes.create_server(&h.spec(i), true).expect("create");
    }
    let nodes = h.nodes.clone();
    let (nat1, nat2, p1, p2) = (h.nat(1), h.nat(2), h.public(1), h.public(2));
    tokio::task::spawn_blocking(move || {
        nodes.sync_public(
            DOMAIN,
            &[nat1, nat2],
            &[
                rule("ssh1", Some(p1), Some(22)),
                rule("ssh2", Some(p2), Some(22)),
            ],
        )
    })
    .await
    .unwrap()
    .unwrap();

    let state = tempfile::tempdir().unwrap();
    let private_key = state.path().join("plan_rsa");
    assert!(
        std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-f"])
            .arg(&private_key)
            .status()
            .unwrap()
            .success()
    );
    let mut opts = BootstrapOptions::new(
        state.path(),
        KeyPair {
            public: private_key.with_extension("pub"),
            private: private_key,
        },
    );
    opts.boot_timeout = Duration::from_secs(60);
    opts.secrets = vec![SECRET.into()];
    let targets: Vec<NodeTarget> = [1u8, 2]
        .iter()
        .map(|&i| NodeTarget {
            name: format!("node{i}"),
            address: std::net::SocketAddr::from((h.public(i), 22)),
            admin_password: PASSWORD.into(),
            cloud_config: serde_yaml::from_str(&redis_config(i)).unwrap(),
            prepare: vec![],
            appliance: None,
        })
        .collect();

    let out = prepare_nodes(targets.clone(), &opts).await;
    for o in &out {
        let log = std::fs::read_to_string(&o.log).unwrap_or_default();
        assert_eq!(o.status, NodeStatus::Completed, "{o:?}\n{log}");
        assert!(o.hardened, "{log}");
        assert!(log.contains("chrony"), "{log}");
        assert!(
            !log.contains(SECRET) && !log.contains(PASSWORD),
            "secret in {}",
            o.log.display()
        );
    }

    // Root and passwords are refused from the outside; ubuntu's key works.
    let keys = HostKeys::new(opts.known_hosts());
    let pw = Auth::Password(PASSWORD.into());
    let ep = Endpoint {
        addr: targets[0].address,
        user: "root",
        auth: &pw,
        host_keys: &keys,
    };
    let soon = || Instant::now() + Duration::from_secs(10);
    assert!(matches!(
        connect(&ep, soon()),
        Err(SshError::AuthRejected { .. })
    ));

    // The pair replicates: poll until the replica's link is up.
    let deadline = Instant::now() + Duration::from_secs(40);
    let (master, replica) = loop {
        let m = replication_info(targets[0].address, &opts, SECRET)
            .await
            .unwrap();
        let r = replication_info(targets[1].address, &opts, SECRET)
            .await
            .unwrap();
        if m.connected_slaves == Some(1) && r.master_link_status.as_deref() == Some("up") {
            break (m, r);
        }
        assert!(
            Instant::now() < deadline,
            "replication did not come up: {m:?} {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(master.role, "master");
    assert_eq!(replica.role, "slave");
    assert_eq!(
        replica.master_host.as_deref(),
        Some(private(1).to_string().as_str())
    );
    // A wrong secret is an error, not a parse of nonsense.
    assert!(
        replication_info(targets[0].address, &opts, "wrong-secret")
            .await
            .is_err()
    );

    let again = prepare_nodes(targets, &opts).await;
    for o in &again {
        let log = std::fs::read_to_string(&o.log).unwrap_or_default();
        assert_eq!(o.status, NodeStatus::Completed, "{o:?}\n{log}");
        assert_eq!(o.changes, 0, "re-run changed {}:\n{log}", o.name);
    }
    drop(keys);
    h.nodes.shutdown();
    h.assert_clean();
}

/// The contrib Redis plan's cloud-config for its master, as written for the original plumbery
/// (defaults merged, tokens replaced as the plan's resolver would), on a real local node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contrib_redis_master_cloud_config_runs_on_a_local_node() {
    if !root_or_skip() {
        return;
    }
    let h = Harness::new();
    h.nodes.create_server(&h.spec(3), true).expect("create");
    let nodes = h.nodes.clone();
    let (nat, p) = (h.nat(3), h.public(3));
    tokio::task::spawn_blocking(move || {
        nodes.sync_public(DOMAIN, &[nat], &[rule("ssh", Some(p), Some(22))])
    })
    .await
    .unwrap()
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let private_key = state.path().join("plan_rsa");
    assert!(
        std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f"])
            .arg(&private_key)
            .status()
            .unwrap()
            .success()
    );
    let public_line = std::fs::read_to_string(private_key.with_extension("pub")).unwrap();
    let private_text = std::fs::read_to_string(&private_key).unwrap();

    let plan = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpus/plumbery-contrib/database__redis-cluster__fittings.yaml"
    ))
    .unwrap();
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&plan)
        .map(|d| <serde_yaml::Value as serde::Deserialize>::deserialize(d).unwrap())
        .collect();
    let mut merged = docs[0]["defaults"]["cloud-config"]
        .as_mapping()
        .unwrap()
        .clone();
    let master = &docs[1]["blueprints"][0]["redis"]["nodes"][0]["redis01"]["cloud-config"];
    for (k, v) in master.as_mapping().unwrap() {
        merged.insert(k.clone(), v.clone());
    }
    // Token expansion the way the resolver does it: inside string scalars.
    fn expand(v: &mut serde_yaml::Value, f: &dyn Fn(&str) -> String) {
        match v {
            serde_yaml::Value::String(s) => *s = f(s),
            serde_yaml::Value::Sequence(items) => items.iter_mut().for_each(|x| expand(x, f)),
            serde_yaml::Value::Mapping(m) => m.iter_mut().for_each(|(_, x)| expand(x, f)),
            _ => {}
        }
    }
    let mut cc = serde_yaml::Value::Mapping(merged);
    let indented_key = private_text.trim_end().to_string();
    expand(&mut cc, &|s| {
        s.replace("{{ rsa_private.key }}", &indented_key)
            .replace("{{ rsa_public.key }}", public_line.trim())
            .replace("{{ rsa_public.local }}", "")
            .replace("{{ master.secret }}", SECRET)
    });
    let mut opts = BootstrapOptions::new(
        state.path(),
        KeyPair {
            public: private_key.with_extension("pub"),
            private: private_key,
        },
    );
    opts.secrets = vec![SECRET.into(), private_text.clone()];
    let target = NodeTarget {
        name: "redis01".into(),
        address: std::net::SocketAddr::from((h.public(3), 22)),
        admin_password: PASSWORD.into(),
        cloud_config: cc,
        prepare: vec![],
        appliance: None,
    };
    let out = prepare_nodes(vec![target.clone()], &opts).await;
    let o = &out[0];
    let log = std::fs::read_to_string(&o.log).unwrap_or_default();
    assert_eq!(o.status, NodeStatus::Completed, "{o:?}\n{log}");
    assert!(o.hardened);
    assert!(
        o.warnings.iter().any(|w| w.contains("`ntp`")),
        "{:?}",
        o.warnings
    );
    assert!(!log.contains(SECRET));
    assert!(
        !log.contains(private_text.lines().nth(1).unwrap()),
        "private key material in the log"
    );
    // The plan's own checks, through the bootstrap's SSH as ubuntu: requirepass took effect.
    let conn = bootstrap::connect_admin(target.address, &opts, Duration::from_secs(10)).unwrap();
    let (code, conf) = conn
        .capture(
            "sudo -n grep -c '^requirepass ' /etc/redis/redis.conf",
            b"",
            Duration::from_secs(10),
        )
        .unwrap();
    assert_eq!((code, conf.trim()), (0, "1"));
    let (_, noauth) = conn
        .capture("redis-cli -h 127.0.0.1 PING", b"", Duration::from_secs(10))
        .unwrap();
    assert!(noauth.contains("NOAUTH"), "{noauth}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let info = loop {
        match replication_info(target.address, &opts, SECRET).await {
            Ok(i) => break i,
            Err(e) if Instant::now() > deadline => panic!("{e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    };
    assert_eq!(info.role, "master");
    // Again: nothing changes (runcmd ran once; appends and keys are already there).
    let again = prepare_nodes(vec![target], &opts).await;
    let log = std::fs::read_to_string(&again[0].log).unwrap_or_default();
    assert_eq!(again[0].status, NodeStatus::Completed, "{log}");
    assert_eq!(again[0].changes, 0, "{log}");
    drop(conn);
    h.nodes.shutdown();
    h.assert_clean();
}
