//! How to reach each node once bootstrapped, for `information`: the ssh command with the plan's
//! key, and for a Redis master its live replication status and the `redis-cli` line with its
//! secret. Where Redis Sentinel runs, the master is the one the Sentinels name now, and the
//! cluster as they see it comes along ([`RedisCluster`]). Printed on standard output only (the
//! secret is meant for the user, never for logs).

use serde::Serialize;

use bootstrap::{self, BootstrapOptions};

use super::checks::{RedisGroup, redis_groups, sentinel_views};
use super::expanded::ExpandedNode;
use super::sentinel::{self, RedisCluster};

/// Access details of one node (`information --json`).
#[derive(Debug, Clone, Serialize)]
pub struct NodeAccess {
    /// Node name.
    pub name: String,
    /// Location.
    pub location_id: String,
    /// `running`, `stopped`, `unknown` (not deployed)...
    pub state: String,
    /// Private IPv4.
    pub private_ipv4: Option<String>,
    /// Public IPv4.
    pub public_ipv4: Option<String>,
    /// The user to log in as.
    pub ssh_user: String,
    /// The private key file to log in with.
    pub ssh_key: String,
    /// The whole ssh command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh_command: Option<String>,
    /// Redis role and access, when the node's configuration sets Redis up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisAccess>,
}

/// Redis details of a node.
#[derive(Debug, Clone, Serialize)]
pub struct RedisAccess {
    /// `master` or `replica`.
    pub role: String,
    /// `redis-cli` command to run on the node (after ssh), with the secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cli: Option<String>,
    /// Live `INFO replication` fields of a master.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication: Option<std::collections::BTreeMap<String, String>>,
    /// Why the live status could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The groups with, where Sentinel runs, the master the Sentinels name now (asked when `live`),
/// and those clusters as the Sentinels see them.
async fn live_groups(
    nodes: &[ExpandedNode],
    opts: &BootstrapOptions,
    live: bool,
) -> (Vec<RedisGroup>, Vec<RedisCluster>) {
    let mut groups = redis_groups(nodes);
    let mut clusters = Vec::new();
    for g in groups.iter_mut().filter(|_| live) {
        let Some(conf) = g.sentinel.clone() else {
            continue;
        };
        let running = |m: &super::checks::RedisMember| {
            let up = nodes
                .iter()
                .any(|n| n.facts.name == m.name && n.facts.state == "running");
            up.then_some(())
                .ok_or_else(|| format!("{} is not running", m.name))
        };
        if g.members().all(|m| running(m).is_err()) {
            continue; // nothing to ask (not deployed, or stopped)
        }
        let views = sentinel_views(g, opts, &running).await;
        let members: Vec<(String, String)> = g
            .members()
            .map(|m| (m.name.clone(), m.private.clone()))
            .collect();
        let c = sentinel::cluster(&conf, &members, &views);
        if let Some(led) = c.master.as_ref().and_then(|m| g.led_by(&m.private_ipv4)) {
            *g = led;
        }
        clusters.push(c);
    }
    (groups, clusters)
}

/// Access details of every node, and the Redis clusters watched by Sentinel; the live
/// replication status of running masters (and the master the Sentinels name) is read when
/// `live`.
pub async fn node_access(
    nodes: &[ExpandedNode],
    opts: &BootstrapOptions,
    live: bool,
) -> (Vec<NodeAccess>, Vec<RedisCluster>) {
    let (groups, clusters) = live_groups(nodes, opts, live).await;
    let mut out = Vec::new();
    for n in nodes {
        let f = &n.facts;
        let redis = redis_access(&f.name, &groups, opts, live && f.state == "running").await;
        out.push(NodeAccess {
            name: f.name.clone(),
            location_id: f.location_id.clone(),
            state: f.state.clone(),
            private_ipv4: f.private_ipv4.clone(),
            public_ipv4: f.public_ipv4.clone(),
            ssh_user: opts.user.clone(),
            ssh_key: opts.key.private.display().to_string(),
            ssh_command: n.address.map(|a| bootstrap::ssh_command(a, opts)),
            redis,
        });
    }
    (out, clusters)
}

async fn redis_access(
    name: &str,
    groups: &[RedisGroup],
    opts: &BootstrapOptions,
    live: bool,
) -> Option<RedisAccess> {
    if let Some(g) = groups.iter().find(|g| g.master.name == name) {
        let m = &g.master;
        let cli = format!(
            "redis-cli -h {} -p 6379 -a {}",
            m.private,
            bootstrap::shell::quote(&m.secret)
        );
        let (replication, error) = if live {
            match bootstrap::replication_info(m.address, opts, &m.secret).await {
                Ok(i) => (Some(i.fields), None),
                Err(e) => (None, Some(e.to_string().replace(&m.secret, "******"))),
            }
        } else {
            (None, None)
        };
        return Some(RedisAccess {
            role: "master".into(),
            cli: Some(cli),
            replication,
            error,
        });
    }
    groups
        .iter()
        .any(|g| g.replicas.iter().any(|r| r.name == name))
        .then(|| RedisAccess {
            role: "replica".into(),
            cli: None,
            replication: None,
            error: None,
        })
}

/// The human text of the access details.
pub fn render(access: &[NodeAccess]) -> String {
    let mut out = String::new();
    if access.is_empty() {
        return out;
    }
    out.push_str("How to connect:\n");
    for a in access {
        out.push_str(&format!("  {} ({}):\n", a.name, a.state));
        if let Some(c) = &a.ssh_command {
            out.push_str(&format!("    {c}\n"));
        }
        let Some(r) = &a.redis else {
            continue;
        };
        out.push_str(&format!("    redis {}\n", r.role));
        if let Some(f) = &r.replication {
            let keys = ["role", "connected_slaves", "master_repl_offset"];
            let mut line: Vec<String> = keys
                .iter()
                .filter_map(|k| f.get(*k).map(|v| format!("{k}:{v}")))
                .collect();
            line.extend(
                f.iter()
                    .filter(|(k, _)| k.starts_with("slave") && k[5..].parse::<u32>().is_ok())
                    .map(|(k, v)| format!("{k}:{v}")),
            );
            out.push_str(&format!("    replication: {}\n", line.join(" ")));
        }
        if let Some(e) = &r.error {
            out.push_str(&format!("    replication status unavailable: {e}\n"));
        }
        if let Some(c) = &r.cli {
            out.push_str(&format!("    on any node of the cluster: {c}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, redis: Option<RedisAccess>) -> NodeAccess {
        NodeAccess {
            name: name.into(),
            location_id: "NA12".into(),
            state: "running".into(),
            private_ipv4: Some("10.0.0.5".into()),
            public_ipv4: Some("127.77.0.5".into()),
            ssh_user: "ubuntu".into(),
            ssh_key: "/s/keys/id_rsa".into(),
            ssh_command: Some("ssh -i /s/keys/id_rsa ubuntu@127.77.0.5".into()),
            redis,
        }
    }

    #[test]
    fn renders_ssh_commands_replication_and_the_cli_line() {
        let fields = [
            ("role", "master"),
            ("connected_slaves", "1"),
            ("slave0", "ip=10.0.0.6,state=online"),
            ("slave_read_repl_offset", "9"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let master = node(
            "m",
            Some(RedisAccess {
                role: "master".into(),
                cli: Some("redis-cli -h 10.0.0.5 -p 6379 -a S3".into()),
                replication: Some(fields),
                error: None,
            }),
        );
        let text = render(&[master, node("w", None)]);
        assert!(
            text.starts_with(
                "How to connect:\n  m (running):\n    ssh -i /s/keys/id_rsa ubuntu@127.77.0.5\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "replication: role:master connected_slaves:1 slave0:ip=10.0.0.6,state=online\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("redis-cli -h 10.0.0.5 -p 6379 -a S3"),
            "{text}"
        );
        assert!(
            text.ends_with("  w (running):\n    ssh -i /s/keys/id_rsa ubuntu@127.77.0.5\n"),
            "{text}"
        );
        let json = serde_json::to_value(node("w", None)).unwrap();
        for k in [
            "name",
            "state",
            "private_ipv4",
            "public_ipv4",
            "ssh_user",
            "ssh_key",
        ] {
            assert!(json[k].is_string(), "{k}");
        }
    }
}
