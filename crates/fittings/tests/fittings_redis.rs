//! Golden tests for the Redis plans (ours and the contrib one): node names, merged cloud-config (ours:
//! the same on every node, Sentinel included), glue, and token expansion of our plan down to a
//! cloud-config with no `{{` left.

use std::collections::BTreeMap;
use std::path::PathBuf;

use fittings::tokens::{FactsContext, NodeFacts, expand_value};
use fittings::{
    FirewallPort, Glue, Monitoring, Parameters, Plan, PlanSource, Protocol, firewall_rule_name,
    load,
};
use secrets::Store;

mod support;
use support::StoreSource;

fn ours() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fittings/redis-cluster.yaml"
    ))
}

fn contrib() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus/plumbery-contrib/database__redis-cluster__fittings.yaml"
    ))
}

fn load_plan(path: PathBuf, params: &Parameters) -> Plan {
    let (plan, warnings) = load(&PlanSource::File(path), params).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    plan
}

fn yaml(text: &str) -> serde_yaml::Value {
    serde_yaml::from_str(text).unwrap()
}

/// The settings every node of our plan gets from the class (the role is decided by the Sentinels).
const OUR_CLASS_SETTINGS: &str = r#"
package_update: true
package_upgrade: true
packages: [chrony, redis-server, redis-sentinel]
users:
  - default
  - name: ubuntu
    sudo: 'ALL=(ALL) NOPASSWD:ALL'
    shell: /bin/bash
    ssh_authorized_keys: ["{{ rsa_public.key }}"]
disable_root: true
ssh_pwauth: false
bootcmd:
  - "grep -qs '^sentinel monitor redis-cluster ' /etc/redis/sentinel.conf || exit 0; /usr/local/sbin/plumbery-redis-role"
runcmd:
  - systemctl enable --now chrony
  - chown redis:redis /etc/redis/plumbery.conf
  - chmod 0640 /etc/redis/plumbery.conf
  - grep -qx 'include /etc/redis/plumbery.conf' /etc/redis/redis.conf || echo 'include /etc/redis/plumbery.conf' >> /etc/redis/redis.conf
  - /usr/local/sbin/plumbery-redis-role --configure
  - systemctl enable redis-server redis-sentinel
  - systemctl stop redis-sentinel
  - systemctl restart redis-server
  - /usr/local/sbin/plumbery-redis-role
"#;

const OUR_REDIS_CONF: &str =
    "# written by plumbery: a node of the Redis cluster (its role is in redis.conf)
bind {{ node.private }} 127.0.0.1
protected-mode yes
port 6379
tcp-keepalive 60
maxmemory-policy noeviction
requirepass {{ master.secret }}
masterauth {{ master.secret }}
replica-read-only yes
# replicas sync from one RDB file written at once, shared by those that arrive
# meanwhile (Redis 6's default; Redis 7's diskless sync waits 5 s for more replicas)
repl-diskless-sync no
";

#[test]
fn our_plan_nodes_glue_and_settings() {
    let plan = load_plan(ours(), &Parameters::new());
    let loc = &plan.locations[0];
    assert_eq!(
        (loc.location_id.as_str(), loc.region_id.as_deref()),
        ("NA12", None),
        "no regionId in the plan: the client takes the location's region from cloud's table"
    );
    let bp = &loc.blueprints[0];
    assert_eq!(
        (
            bp.name.as_str(),
            bp.domain.name.as_str(),
            bp.ethernet.name.name.as_str()
        ),
        ("redis", "RedisFox", "RedisNetwork")
    );
    let names: Vec<&str> = bp.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["redis01", "redis02", "redis03", "redis04"]);
    let tcp22 = FirewallPort {
        protocol: Protocol::Tcp,
        begin: Some(22),
        end: None,
    };
    for node in &bp.nodes {
        assert_eq!(node.glue, vec![Glue::Internet { ports: vec![tcp22] }]);
        assert_eq!(node.appliance.as_deref(), Some("Ubuntu 22"));
        assert_eq!((node.cpu.unwrap().count, node.memory_gb), (2, Some(4)));
        assert_eq!(node.monitoring, Some(Monitoring::Essentials));
        assert_eq!(node.class.as_deref(), Some("redis-node"));
        assert_eq!(node.hashtags, ["redis", "ubuntu"]);
    }
    assert_eq!(
        firewall_rule_name(&bp.nodes[0].name, &tcp22),
        "Redis01.TCPv4_22.plumbery"
    );
}

#[test]
fn our_plan_merges_class_and_node_cloud_config() {
    let plan = load_plan(ours(), &Parameters::new());
    let nodes = &plan.locations[0].blueprints[0].nodes;
    let first = nodes[0].cloud_config.as_ref().unwrap();
    for node in &nodes[1..] {
        assert_eq!(node.cloud_config.as_ref().unwrap(), first, "{}", node.name);
    }
    let mut settings = first.clone();
    let files = settings
        .as_mapping_mut()
        .unwrap()
        .remove("write_files")
        .unwrap();
    assert_eq!(settings, yaml(OUR_CLASS_SETTINGS));
    let paths: Vec<&str> = files
        .as_sequence()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/etc/redis/plumbery.conf",
            "/etc/redis/plumbery-sentinel.conf",
            "/etc/redis/plumbery-cluster.env",
            "/usr/local/sbin/plumbery-redis-role"
        ]
    );
    assert_eq!(files[0]["content"].as_str(), Some(OUR_REDIS_CONF));
    assert_eq!(files[0]["append"].as_bool(), Some(true));
    let role = files[3]["content"].as_str().unwrap();
    assert!(role.starts_with("#!/bin/sh\n"), "{role}");
    assert!(
        !role.contains("REPLICAOF NO ONE"),
        "the script never promotes"
    );
}

#[test]
fn our_plan_parameters_change_location_and_names() {
    let mut params = Parameters::new();
    params.insert("locationId".into(), "EU6".into());
    params.insert("domainName".into(), "MyRedis".into());
    let plan = load_plan(ours(), &params);
    let loc = &plan.locations[0];
    assert_eq!(
        (loc.location_id.as_str(), loc.region_id.as_deref()),
        ("EU6", None)
    );
    assert_eq!(loc.blueprints[0].domain.name, "MyRedis");
}

#[test]
fn our_plan_expands_to_literal_free_cloud_config() {
    let plan = load_plan(ours(), &Parameters::new());
    let bp = &plan.locations[0].blueprints[0];
    let state = tempfile::tempdir().unwrap();
    let source = StoreSource(Store::open_in(state.path()).unwrap());
    let store = &source.0;
    let mut facts = BTreeMap::new();
    for (i, node) in bp.nodes.iter().enumerate() {
        let f = NodeFacts {
            private: Some(format!("192.168.20.{}", 11 + i)),
            ..Default::default()
        };
        facts.insert(("NA12".to_string(), node.name.clone()), f);
    }
    let expand = |node: usize| {
        let ctx = FactsContext {
            location_id: "NA12".into(),
            location_country: None,
            this_node: Some(bp.nodes[node].name.clone()),
            nodes: &facts,
            secrets: &source,
            local_public_key: None,
            balancer: None,
            environment: None,
        };
        serde_yaml::to_string(
            &expand_value(bp.nodes[node].cloud_config.as_ref().unwrap(), &ctx).unwrap(),
        )
        .unwrap()
    };
    let replica = expand(2);
    let master = expand(0);
    let password = store.get("master.secret").unwrap();
    let sentinel = store.get("sentinel.secret").unwrap();
    assert_ne!(password, sentinel);
    for text in [&replica, &master] {
        assert!(
            text.contains("sentinel monitor redis-cluster 192.168.20.11 6379 3"),
            "{text}"
        );
        assert!(text.contains(&format!("sentinel auth-pass redis-cluster {password}")));
        assert!(text.contains(&format!("requirepass {sentinel}")));
        assert!(text.contains("SEED=192.168.20.11"));
        assert!(
            text.contains("SENTINELS=\"192.168.20.11 192.168.20.12 192.168.20.13 192.168.20.14\"")
        );
    }
    assert!(replica.contains("ME=192.168.20.13") && replica.contains("announce-ip 192.168.20.13"));
    assert!(replica.contains(&format!("masterauth {password}")));
    assert!(master.contains(&format!("requirepass {password}")));
    let key = store.get("rsa_public.key").unwrap();
    // New plans get Ed25519 pairs (RSA only for a pair whose name ends in `rsa`).
    assert!(key.starts_with("ssh-ed25519 ") && replica.contains(&key) && master.contains(&key));
    assert!(!replica.contains("{{") && !master.contains("{{"));
    let reopened = Store::open_in(state.path()).unwrap();
    assert_eq!(
        reopened.get("master.secret"),
        Some(password),
        "secrets persist"
    );
}

#[test]
fn contrib_redis_plan_golden() {
    let plan = load_plan(contrib(), &Parameters::new());
    let bp = &plan.locations[0].blueprints[0];
    let names: Vec<&str> = bp.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["redis01", "redis02", "redis03", "redis04"]);
    assert_eq!(bp.domain.ipv4, fittings::Ipv4Quota::Count(4));
    assert_eq!(bp.ethernet.subnet.to_string(), "192.168.20.0/24");
    for node in &bp.nodes {
        let glue: Vec<String> = node.glue.iter().map(Glue::to_string).collect();
        assert_eq!(glue, ["internet 22"]);
        let cc = node.cloud_config.as_ref().unwrap().as_mapping().unwrap();
        let keys: Vec<&str> = cc.keys().map(|k| k.as_str().unwrap()).collect();
        assert_eq!(
            keys,
            [
                "ssh_keys",
                "users",
                "disable_root",
                "ssh_pwauth",
                "apt_sources",
                "packages",
                "write_files",
                "runcmd"
            ],
            "defaults first, then the node's own keys"
        );
        assert_eq!(
            cc["users"],
            yaml(
                r#"["default", {name: ubuntu, sudo: 'ALL=(ALL) NOPASSWD:ALL', ssh-authorized-keys: ["{{ rsa_public.key }}", "{{ rsa_public.local }}"]}]"#
            )
        );
        assert_eq!(
            cc["ssh_keys"],
            yaml(
                "{rsa_private: \"{{ rsa_private.key }}\\n\", rsa_public: \"{{ rsa_public.key }}\"}"
            )
        );
        assert_eq!(cc["packages"], yaml("[ntp, redis-server]"));
    }
    let content = |i: usize| {
        bp.nodes[i].cloud_config.as_ref().unwrap()["write_files"][0]["content"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(content(0).contains("s/# requirepass foobared/requirepass {{ master.secret }}/"));
    assert!(
        content(3)
            .contains("s/# slaveof <masterip> <masterport>/slaveof {{ redis01.private }} 6379/")
    );
    assert_eq!(bp.nodes[0].information[1], "ssh ubuntu@{{ node.public }}");
}
