//! Checks after the bootstrap: Redis replication as the expanded cloud-configs describe it. A
//! replica is a node whose configuration says `replicaof <ip> <port>` (or `slaveof`); its master is
//! the node with that private address. The master must report `role:master` and as many
//! `connected_slaves` as it has replicas; every replica `master_link_status:up`.
//!
//! Nodes whose configuration runs Redis Sentinel (`sentinel monitor <name> <seed> ...`) form a
//! group too; its master is the one the Sentinels name now (the seed only names the first one):
//! every Sentinel must name that master, see it up, see the other nodes as replicas with their
//! link ok and the other Sentinels up; then the replication checks run against that master.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Serialize;

use bootstrap::{self, BootstrapOptions, ReplicationInfo};

use super::expanded::ExpandedNode;
use super::sentinel::{self, SentinelConf};

/// What a node's configuration says about Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisSettings {
    /// `requirepass` value.
    pub requirepass: Option<String>,
    /// `masterauth` value.
    pub masterauth: Option<String>,
    /// `replicaof` / `slaveof` address and port.
    pub replicaof: Option<(String, u16)>,
    /// The Redis Sentinel it runs (a text with a `sentinel monitor` line).
    pub sentinel: Option<SentinelConf>,
}

impl RedisSettings {
    /// The password to ask this node's Redis with.
    pub fn secret(&self) -> Option<&str> {
        self.requirepass.as_deref().or(self.masterauth.as_deref())
    }
}

fn strings<'a>(v: &'a serde_yaml::Value, out: &mut Vec<&'a str>) {
    match v {
        serde_yaml::Value::String(s) => out.push(s),
        serde_yaml::Value::Sequence(items) => items.iter().for_each(|x| strings(x, out)),
        serde_yaml::Value::Mapping(m) => m.values().for_each(|x| strings(x, out)),
        serde_yaml::Value::Tagged(t) => strings(&t.value, out),
        _ => {}
    }
}

/// Reads Redis directives from every string of an expanded cloud-config (a string with a
/// `sentinel monitor` line is Sentinel's configuration); `None` when it has none.
pub fn redis_settings(cloud_config: &serde_yaml::Value) -> Option<RedisSettings> {
    let mut texts = Vec::new();
    strings(cloud_config, &mut texts);
    let mut s = RedisSettings {
        requirepass: None,
        masterauth: None,
        replicaof: None,
        sentinel: None,
    };
    texts.retain(|t| match sentinel::parse(t) {
        Some(conf) => {
            s.sentinel = Some(conf);
            false
        }
        None => true,
    });
    for line in texts.iter().flat_map(|t| t.lines()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["requirepass", v] => s.requirepass = Some(v.to_string()),
            ["masterauth", v] => s.masterauth = Some(v.to_string()),
            ["replicaof" | "slaveof", ip, port] => {
                if let Ok(port) = port.parse() {
                    s.replicaof = Some((ip.to_string(), port));
                }
            }
            _ => {}
        }
    }
    (s.requirepass.is_some() || s.replicaof.is_some() || s.sentinel.is_some()).then_some(s)
}

/// A master and its replicas, as the configurations describe them.
#[derive(Debug, Clone)]
pub struct RedisGroup {
    /// The master node's name, SSH address, private address and password.
    pub master: RedisMember,
    /// Its replicas.
    pub replicas: Vec<RedisMember>,
    /// The Sentinel every member runs, when they do: then `master` is the seed, and the live
    /// master is the one the Sentinels name ([`RedisGroup::led_by`]).
    pub sentinel: Option<SentinelConf>,
}

impl RedisGroup {
    /// Every member, master first.
    pub fn members(&self) -> impl Iterator<Item = &RedisMember> {
        std::iter::once(&self.master).chain(&self.replicas)
    }

    /// The same nodes with the member at `private` as master (`None` when no member has it).
    pub fn led_by(&self, private: &str) -> Option<RedisGroup> {
        let master = self.members().find(|m| m.private == private)?.clone();
        let replicas = self
            .members()
            .filter(|m| m.private != private)
            .cloned()
            .collect();
        Some(RedisGroup {
            master,
            replicas,
            sentinel: self.sentinel.clone(),
        })
    }
}

/// One Redis node to check.
#[derive(Debug, Clone)]
pub struct RedisMember {
    /// Node name.
    pub name: String,
    /// SSH address.
    pub address: SocketAddr,
    /// Private IPv4.
    pub private: String,
    /// Password to ask with.
    pub secret: String,
}

impl std::fmt::Display for RedisMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.private)
    }
}

fn member(n: &ExpandedNode, s: &RedisSettings) -> Option<RedisMember> {
    Some(RedisMember {
        name: n.facts.name.clone(),
        address: n.address?,
        private: n.facts.private_ipv4.clone()?,
        secret: s.secret().unwrap_or_default().to_string(),
    })
}

/// The master/replica groups among `nodes` (replicas whose master is not one of them are left out).
pub fn redis_groups(nodes: &[ExpandedNode]) -> Vec<RedisGroup> {
    let settings: Vec<(&ExpandedNode, RedisSettings)> = nodes
        .iter()
        .filter_map(|n| Some((n, redis_settings(n.cloud_config.as_ref().ok()?)?)))
        .collect();
    let mut groups: Vec<RedisGroup> = Vec::new();
    for (n, s) in &settings {
        let Some((ip, _)) = &s.replicaof else {
            continue;
        };
        let Some(replica) = member(n, s) else {
            continue;
        };
        let Some((m, ms)) = settings
            .iter()
            .find(|(m, _)| m.facts.private_ipv4.as_deref() == Some(ip.as_str()))
        else {
            continue;
        };
        let Some(master) = member(m, ms) else {
            continue;
        };
        match groups.iter_mut().find(|g| g.master.name == master.name) {
            Some(g) => g.replicas.push(replica),
            None => groups.push(RedisGroup {
                master,
                replicas: vec![replica],
                sentinel: ms.sentinel.clone(),
            }),
        }
    }
    sentinel_groups(&settings, &mut groups);
    groups
}

/// Adds the groups of nodes that run a Sentinel for the same master name and seed and are in no
/// group yet; the seed (the node with that private address) is their `master`.
fn sentinel_groups(settings: &[(&ExpandedNode, RedisSettings)], groups: &mut Vec<RedisGroup>) {
    let placed = |groups: &[RedisGroup], name: &str| {
        groups.iter().any(|g| g.members().any(|m| m.name == name))
    };
    for (n, s) in settings {
        let Some(conf) = &s.sentinel else { continue };
        if placed(groups, &n.facts.name) {
            continue;
        }
        let members: Vec<RedisMember> = settings
            .iter()
            .filter(|(_, o)| {
                o.sentinel
                    .as_ref()
                    .is_some_and(|c| c.name == conf.name && c.seed == conf.seed)
            })
            .filter_map(|(m, ms)| member(m, ms))
            .collect();
        let Some(seed) = members.iter().find(|m| m.private == conf.seed) else {
            continue;
        };
        if let Some(g) = (RedisGroup {
            master: seed.clone(),
            replicas: members.clone(),
            sentinel: Some(conf.clone()),
        })
        .led_by(&conf.seed)
        {
            groups.push(g);
        }
    }
}

/// The result of one check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    /// The node checked.
    pub node: String,
    /// What was checked (`redis master`, `redis replica`).
    pub check: String,
    /// Whether it holds.
    pub ok: bool,
    /// What was seen (never a secret).
    pub detail: String,
}

fn judge_master(
    m: &RedisMember,
    want: usize,
    info: &Result<ReplicationInfo, String>,
) -> CheckOutcome {
    let (ok, detail) = match info {
        Ok(i) => (
            i.role == "master" && i.connected_slaves == Some(want as u32),
            format!(
                "role:{} connected_slaves:{} (want role:master connected_slaves:{want})",
                i.role,
                i.connected_slaves.map_or("-".into(), |n| n.to_string())
            ),
        ),
        Err(e) => (false, e.clone()),
    };
    CheckOutcome {
        node: m.name.clone(),
        check: "redis master".into(),
        ok,
        detail,
    }
}

fn judge_replica(
    r: &RedisMember,
    master: &RedisMember,
    info: &Result<ReplicationInfo, String>,
) -> CheckOutcome {
    let (ok, detail) = match info {
        Ok(i) => (
            i.role == "slave"
                && i.master_link_status.as_deref() == Some("up")
                && i.master_host.as_deref() == Some(master.private.as_str()),
            format!(
                "role:{} master_host:{} master_link_status:{} (want a link up to {})",
                i.role,
                i.master_host.as_deref().unwrap_or("-"),
                i.master_link_status.as_deref().unwrap_or("-"),
                master.private
            ),
        ),
        Err(e) => (false, e.clone()),
    };
    CheckOutcome {
        node: r.name.clone(),
        check: "redis replica".into(),
        ok,
        detail,
    }
}

async fn info(m: &RedisMember, opts: &BootstrapOptions) -> Result<ReplicationInfo, String> {
    bootstrap::replication_info(m.address, opts, &m.secret)
        .await
        .map_err(|e| e.to_string().replace(&m.secret, "******"))
}

/// What the Sentinel of every member of `g` sees (in [`RedisGroup::members`] order), for the
/// members `reachable` says may be asked (the others: an error saying why not); errors carry no
/// secret. Empty when `g` runs no Sentinel.
pub async fn sentinel_views(
    g: &RedisGroup,
    opts: &BootstrapOptions,
    reachable: &(dyn Fn(&RedisMember) -> Result<(), String> + Sync),
) -> Vec<Result<bootstrap::SentinelView, String>> {
    let Some(conf) = &g.sentinel else {
        return Vec::new();
    };
    let ask = |m: &RedisMember| {
        let address = m.address;
        let ready = reachable(m);
        async move {
            ready?;
            bootstrap::sentinel_view(address, opts, &conf.secret, &conf.name)
                .await
                .map_err(|e| e.to_string().replace(&conf.secret, "******"))
        }
    };
    futures_util::future::join_all(g.members().map(ask)).await
}

/// The Sentinel checks of `g` (one outcome per member) and the group led by the master the
/// Sentinels name (`g` itself when it runs no Sentinel or they name none of its members).
async fn check_sentinels(
    g: &RedisGroup,
    opts: &BootstrapOptions,
) -> (Vec<CheckOutcome>, RedisGroup) {
    let views = sentinel_views(g, opts, &|_| Ok(())).await;
    if views.is_empty() {
        return (Vec::new(), g.clone());
    }
    let agreed = sentinel::consensus(views.iter().map(|v| v.as_ref().ok()));
    let master = agreed
        .as_ref()
        .map_or(g.master.private.clone(), |(ip, _)| ip.clone());
    let others = g.replicas.len();
    let out = g
        .members()
        .zip(&views)
        .map(|(m, v)| {
            let (ok, detail) = match v {
                Ok(v) => sentinel::judge_view(v, &master, others, others),
                Err(e) => (false, e.clone()),
            };
            CheckOutcome {
                node: m.name.clone(),
                check: "redis sentinel".into(),
                ok,
                detail,
            }
        })
        .collect();
    (out, g.led_by(&master).unwrap_or_else(|| g.clone()))
}

/// Checks every group, retrying for up to `patience` while links come up; returns one outcome
/// per master and replica (and per Sentinel), as last seen.
pub async fn check_replication(
    groups: &[RedisGroup],
    opts: &BootstrapOptions,
    patience: Duration,
) -> Vec<CheckOutcome> {
    let deadline = Instant::now() + patience;
    loop {
        let mut out = Vec::new();
        for g in groups {
            let (sentinels, g) = check_sentinels(g, opts).await;
            let members: Vec<&RedisMember> = g.members().collect();
            let infos = futures_util::future::join_all(members.iter().map(|m| info(m, opts))).await;
            out.push(judge_master(&g.master, g.replicas.len(), &infos[0]));
            for (r, i) in g.replicas.iter().zip(&infos[1..]) {
                out.push(judge_replica(r, &g.master, i));
            }
            out.extend(sentinels);
        }
        if out.iter().all(|c| c.ok) || Instant::now() >= deadline {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::polish::facts::NodeFacts;

    fn node(name: &str, ip: &str, conf: &str) -> ExpandedNode {
        let cc = serde_yaml::Value::Mapping(
            [(
                "write_files".into(),
                serde_yaml::Value::Sequence(vec![serde_yaml::Value::Mapping(
                    [("content".into(), conf.into())].into_iter().collect(),
                )]),
            )]
            .into_iter()
            .collect(),
        );
        ExpandedNode {
            facts: NodeFacts {
                name: name.into(),
                blueprint: "b".into(),
                location_id: "NA12".into(),
                domain: "d".into(),
                vlan: "v".into(),
                id: None,
                state: "running".into(),
                private_ipv4: Some(ip.into()),
                public_ipv4: None,
                ipv6: None,
                monitoring: None,
                extra_nics: vec![],
                size: None,
                tags: vec![],
                reachable: None,
            },
            address: Some(format!("{ip}:22").parse().unwrap()),
            cloud_config: Ok(cc),
        }
    }

    #[test]
    fn groups_come_from_replicaof_lines() {
        let nodes = vec![
            node("m", "10.0.0.1", "bind 10.0.0.1\nrequirepass S1\n"),
            node(
                "r1",
                "10.0.0.2",
                "requirepass S1\nreplicaof 10.0.0.1 6379\n",
            ),
            node("r2", "10.0.0.3", "masterauth S1\nslaveof 10.0.0.1 6379\n"),
            node("orphan", "10.0.0.4", "replicaof 10.9.9.9 6379\n"),
            node("web", "10.0.0.5", "listen 80\n"),
        ];
        let g = redis_groups(&nodes);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].master.name, "m");
        assert_eq!(g[0].master.secret, "S1");
        let names: Vec<&str> = g[0].replicas.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["r1", "r2"]);
        assert_eq!(g[0].replicas[1].secret, "S1");
        assert!(redis_settings(nodes[4].cloud_config.as_ref().unwrap()).is_none());
    }

    #[test]
    fn sentinel_groups_start_from_the_seed_and_can_be_led_by_another() {
        let conf = |ip: &str| format!("bind {ip}\nrequirepass S1\nmasterauth S1\n");
        let seed = "requirepass SP\nsentinel monitor rc 10.0.0.1 6379 3\n";
        let mut nodes: Vec<ExpandedNode> = (1..=3)
            .map(|i| {
                let ip = format!("10.0.0.{i}");
                let mut n = node(&format!("r{i}"), &ip, &conf(&ip));
                let cc = n.cloud_config.as_mut().unwrap();
                cc["write_files"]
                    .as_sequence_mut()
                    .unwrap()
                    .push(serde_yaml::Value::Mapping(
                        [("content".into(), seed.into())].into_iter().collect(),
                    ));
                n
            })
            .collect();
        nodes.push(node("web", "10.0.0.9", "listen 80\n"));
        let s = redis_settings(nodes[1].cloud_config.as_ref().unwrap()).unwrap();
        assert_eq!(
            s.requirepass.as_deref(),
            Some("S1"),
            "Sentinel's password is not Redis'"
        );
        assert_eq!(s.sentinel.as_ref().unwrap().secret, "SP");
        let g = redis_groups(&nodes);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].master.name, "r1");
        let names: Vec<&str> = g[0].replicas.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["r2", "r3"]);
        let led = g[0].led_by("10.0.0.3").unwrap();
        assert_eq!(led.master.name, "r3");
        let names: Vec<&str> = led.replicas.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["r1", "r2"]);
        assert!(g[0].led_by("10.9.9.9").is_none());
    }

    #[test]
    fn judgements_need_every_replica_and_an_up_link() {
        let nodes = vec![
            node("m", "10.0.0.1", "requirepass S\n"),
            node("r", "10.0.0.2", "requirepass S\nreplicaof 10.0.0.1 6379\n"),
        ];
        let g = &redis_groups(&nodes)[0];
        let parse = bootstrap::redis::parse_replication;
        let two = Ok(parse("role:master\nconnected_slaves:1\n"));
        assert!(judge_master(&g.master, 1, &two).ok);
        assert!(!judge_master(&g.master, 3, &two).ok);
        let down = Ok(parse(
            "role:slave\nmaster_host:10.0.0.1\nmaster_link_status:down\n",
        ));
        assert!(!judge_replica(&g.replicas[0], &g.master, &down).ok);
        let up = Ok(parse(
            "role:slave\nmaster_host:10.0.0.1\nmaster_link_status:up\n",
        ));
        assert!(judge_replica(&g.replicas[0], &g.master, &up).ok);
        assert!(!judge_replica(&g.replicas[0], &g.master, &Err("NOAUTH".into())).ok);
    }
}
