//! Redis Sentinel as the expanded cloud-configs describe it and as the Sentinels see it live: the
//! `sentinel monitor` settings of a node ([`SentinelConf`]), the master most Sentinels name now
//! ([`consensus`]), the judgement of one Sentinel's view ([`judge_view`]) and the cluster as
//! `information` reports it ([`RedisCluster`]). Knows nothing of the checks or access modules.

use serde::Serialize;

use bootstrap::SentinelView;
use bootstrap::redis::healthy;

/// The port Sentinel listens on (the distribution's default, the plan's `port 26379`).
pub const SENTINEL_PORT: u16 = 26379;

/// What a Sentinel configuration text says: `sentinel monitor <name> <ip> <port> <quorum>` and
/// Sentinel's own `requirepass`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentinelConf {
    /// The master's name (what clients ask the Sentinels for).
    pub name: String,
    /// The seed master's address: the master of a brand new cluster.
    pub seed: String,
    /// The master's port.
    pub port: u16,
    /// How many Sentinels must agree that the master is down.
    pub quorum: u32,
    /// Sentinel's password (`requirepass` of the same text).
    pub secret: String,
}

/// Reads a Sentinel configuration from one text (a file of `write_files`); `None` when the text
/// has no `sentinel monitor` line.
pub fn parse(text: &str) -> Option<SentinelConf> {
    let mut conf: Option<SentinelConf> = None;
    let mut secret = String::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [s, m, name, ip, port, quorum]
                if s.eq_ignore_ascii_case("sentinel") && m.eq_ignore_ascii_case("monitor") =>
            {
                conf = Some(SentinelConf {
                    name: name.to_string(),
                    seed: ip.to_string(),
                    port: port.parse().ok()?,
                    quorum: quorum.parse().ok()?,
                    secret: String::new(),
                });
            }
            ["requirepass", v] => secret = v.to_string(),
            _ => {}
        }
    }
    conf.map(|c| SentinelConf { secret, ..c })
}

/// The master address most of the Sentinels that answered name now, and how many name it.
pub fn consensus<'a>(
    views: impl IntoIterator<Item = Option<&'a SentinelView>>,
) -> Option<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for ip in views
        .into_iter()
        .flatten()
        .filter_map(SentinelView::master_ip)
    {
        match counts.iter_mut().find(|(k, _)| k == ip) {
            Some((_, n)) => *n += 1,
            None => counts.push((ip.to_string(), 1)),
        }
    }
    counts.into_iter().max_by_key(|(_, n)| *n)
}

/// Judges one Sentinel's view: it names `master`, sees it up, `replicas` replicas up with their
/// link ok and `sentinels` other Sentinels up. Returns whether it holds and what was seen.
pub fn judge_view(
    view: &SentinelView,
    master: &str,
    replicas: usize,
    sentinels: usize,
) -> (bool, String) {
    let ip = view.master_ip().unwrap_or("-");
    let flags = view.master.get("flags").map_or("-", String::as_str);
    let ok = ip == master
        && healthy(&view.master, "master")
        && view.replicas_up() == replicas
        && view.sentinels_up() == sentinels;
    let detail = format!(
        "master {ip} ({flags}), {} of {} known replica(s) up, {} of {} other Sentinel(s) up (want master {master}, {replicas} replica(s), {sentinels} Sentinel(s))",
        view.replicas_up(),
        view.replicas.len(),
        view.sentinels_up(),
        view.sentinels.len(),
    );
    (ok, detail)
}

/// A node of a Redis cluster, by name and private address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterNode {
    /// Node name (`-` when the address is none of the plan's nodes).
    pub name: String,
    /// Private IPv4.
    pub private_ipv4: String,
}

/// A replica as the Sentinels see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterReplica {
    /// Node name and address.
    #[serde(flatten)]
    pub node: ClusterNode,
    /// `up` when the replica answers and its link to the master is ok, else `down`.
    pub link: String,
    /// Sentinel's flags for it (`slave`, `s_down,slave,disconnected`...).
    pub flags: String,
}

/// A Redis cluster watched by Sentinel, as `information` reports it (`redis` in `--json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedisCluster {
    /// The name clients ask the Sentinels for.
    pub master_name: String,
    /// The master the Sentinels name now (none when no Sentinel answered).
    pub master: Option<ClusterNode>,
    /// How many Sentinels name that master, of how many asked.
    pub seen_by: String,
    /// The replicas the Sentinels know, with their link state.
    pub replicas: Vec<ClusterReplica>,
    /// Where the Sentinels listen (`ip:26379`).
    pub sentinels: Vec<String>,
    /// How clients find the master.
    pub clients: String,
    /// Why the Sentinels could not be asked (no secret in it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The cluster as the Sentinels see it: `members` are (name, private address) of every node
/// running a Sentinel for `conf`, `views` their answers in the same order.
pub fn cluster(
    conf: &SentinelConf,
    members: &[(String, String)],
    views: &[Result<SentinelView, String>],
) -> RedisCluster {
    let name_of = |ip: &str| {
        members
            .iter()
            .find(|(_, p)| p == ip)
            .map_or("-".to_string(), |(n, _)| n.clone())
    };
    let node = |ip: &str| ClusterNode {
        name: name_of(ip),
        private_ipv4: ip.to_string(),
    };
    let agreed = consensus(views.iter().map(|v| v.as_ref().ok()));
    let view = agreed.as_ref().and_then(|(ip, _)| {
        views
            .iter()
            .filter_map(|v| v.as_ref().ok())
            .find(|v| v.master_ip() == Some(ip.as_str()))
    });
    let mut replicas: Vec<ClusterReplica> = view
        .map(|v| v.replicas.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|r| ClusterReplica {
            node: node(r.get("ip").map_or("-", String::as_str)),
            link: if healthy(r, "slave") && r.get("master-link-status").is_some_and(|s| s == "ok") {
                "up".into()
            } else {
                "down".into()
            },
            flags: r.get("flags").cloned().unwrap_or_default(),
        })
        .collect();
    replicas.sort_by(|a, b| a.node.name.cmp(&b.node.name));
    let sentinels: Vec<String> = members
        .iter()
        .map(|(_, ip)| format!("{ip}:{SENTINEL_PORT}"))
        .collect();
    let clients = format!(
        "ask any Sentinel ({}) with the password sentinel.secret: SENTINEL get-master-addr-by-name {}; then connect to that address, port {}, with the password master.secret (Sentinel-aware clients do this themselves)",
        sentinels.join(", "),
        conf.name,
        conf.port
    );
    let error = agreed.is_none().then(|| {
        let why: Vec<&str> = views
            .iter()
            .filter_map(|v| v.as_ref().err().map(String::as_str))
            .collect();
        format!("no Sentinel answered: {}", why.join("; "))
    });
    RedisCluster {
        master_name: conf.name.clone(),
        master: agreed.as_ref().map(|(ip, _)| node(ip)),
        seen_by: format!(
            "{} of {}",
            agreed.as_ref().map_or(0, |(_, n)| *n),
            views.len()
        ),
        replicas,
        sentinels,
        clients,
        error,
    }
}

/// The human text of the clusters (after "How to connect").
pub fn render(clusters: &[RedisCluster]) -> String {
    let mut out = String::new();
    for c in clusters {
        out.push_str(&format!(
            "Redis cluster '{}' (as {} Sentinel(s) see it now):\n",
            c.master_name, c.seen_by
        ));
        match &c.master {
            Some(m) => out.push_str(&format!("  master: {} ({})\n", m.name, m.private_ipv4)),
            None => out.push_str("  master: unknown\n"),
        }
        for r in &c.replicas {
            out.push_str(&format!(
                "  replica: {} ({}), link {}\n",
                r.node.name, r.node.private_ipv4, r.link
            ));
        }
        if let Some(e) = &c.error {
            out.push_str(&format!("  {e}\n"));
        }
        out.push_str(&format!("  clients: {}\n", c.clients));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bootstrap::redis::parse_sentinel;

    const SEED: &str = "port 26379\nrequirepass SP\nsentinel monitor redis-cluster 10.0.0.11 6379 3\nsentinel auth-pass redis-cluster S1\n";

    fn view(master: &str, replicas: &[(&str, &str, &str)], sentinels: usize) -> SentinelView {
        let mut t = format!(
            "#plumbery MASTER\nname\nredis-cluster\nip\n{master}\nflags\nmaster\n#plumbery REPLICAS\n"
        );
        for (ip, flags, link) in replicas {
            t +=
                &format!("name\n{ip}:6379\nip\n{ip}\nflags\n{flags}\nmaster-link-status\n{link}\n");
        }
        t += "#plumbery SENTINELS\n";
        for i in 0..sentinels {
            t += &format!("name\nid{i}\nip\n10.0.0.{i}\nflags\nsentinel\n");
        }
        parse_sentinel(&t)
    }

    #[test]
    fn reads_the_monitor_line_and_sentinels_own_password() {
        let c = parse(SEED).unwrap();
        assert_eq!(
            (c.name.as_str(), c.seed.as_str(), c.port, c.quorum),
            ("redis-cluster", "10.0.0.11", 6379, 3)
        );
        assert_eq!(c.secret, "SP");
        assert_eq!(parse("requirepass S1\nreplicaof 10.0.0.1 6379\n"), None);
    }

    #[test]
    fn the_majority_names_the_master_and_judgements_want_everyone_up() {
        let up = [
            ("10.0.0.11", "slave", "ok"),
            ("10.0.0.12", "slave", "ok"),
            ("10.0.0.14", "slave", "ok"),
        ];
        let a = view("10.0.0.13", &up, 3);
        let b = view("10.0.0.11", &up, 3);
        assert_eq!(
            consensus([Some(&a), None, Some(&b), Some(&a)]),
            Some(("10.0.0.13".into(), 2))
        );
        assert!(judge_view(&a, "10.0.0.13", 3, 3).0);
        let (ok, detail) = judge_view(&b, "10.0.0.13", 3, 3);
        assert!(!ok);
        assert!(detail.starts_with("master 10.0.0.11 (master)"), "{detail}");
        let one_down = view(
            "10.0.0.13",
            &[
                up[0],
                up[1],
                ("10.0.0.14", "s_down,slave,disconnected", "err"),
            ],
            3,
        );
        let (ok, detail) = judge_view(&one_down, "10.0.0.13", 3, 3);
        assert!(!ok);
        assert!(detail.contains("2 of 3 known replica(s) up"), "{detail}");
        assert!(!judge_view(&view("10.0.0.13", &up, 2), "10.0.0.13", 3, 3).0);
    }

    #[test]
    fn the_cluster_names_the_current_master_and_the_replica_links() {
        let conf = parse(SEED).unwrap();
        let members: Vec<(String, String)> = (1..=4)
            .map(|i| (format!("redis0{i}"), format!("10.0.0.1{i}")))
            .collect();
        let v = view(
            "10.0.0.13",
            &[
                ("10.0.0.11", "s_down,slave", "err"),
                ("10.0.0.12", "slave", "ok"),
                ("10.0.0.14", "slave", "ok"),
            ],
            3,
        );
        let views = vec![
            Err("ssh refused".into()),
            Ok(v.clone()),
            Ok(v.clone()),
            Ok(v),
        ];
        let c = cluster(&conf, &members, &views);
        assert_eq!(c.master.as_ref().unwrap().name, "redis03");
        assert_eq!(c.seen_by, "3 of 4");
        let links: Vec<(&str, &str)> = c
            .replicas
            .iter()
            .map(|r| (r.node.name.as_str(), r.link.as_str()))
            .collect();
        assert_eq!(
            links,
            [("redis01", "down"), ("redis02", "up"), ("redis04", "up")]
        );
        assert!(
            c.clients
                .contains("SENTINEL get-master-addr-by-name redis-cluster")
        );
        assert!(c.clients.contains("10.0.0.11:26379, 10.0.0.12:26379"));
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["master"]["name"], "redis03");
        assert_eq!(json["replicas"][0]["private_ipv4"], "10.0.0.11");
        let text = render(&[c]);
        assert!(text.contains("  master: redis03 (10.0.0.13)\n"), "{text}");
        assert!(
            text.contains("  replica: redis01 (10.0.0.11), link down\n"),
            "{text}"
        );
        let none = cluster(&conf, &members, &[Err("refused".into())]);
        assert!(none.master.is_none());
        assert_eq!(none.error.as_deref(), Some("no Sentinel answered: refused"));
    }
}
