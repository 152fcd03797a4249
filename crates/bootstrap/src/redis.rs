//! Redis verification over SSH: `redis-cli INFO replication` on a node, and what its Redis
//! Sentinel sees (`SENTINEL MASTER`, `REPLICAS`, `SENTINELS`), with the password passed through
//! the environment (`REDISCLI_AUTH`, read from stdin on the node), never on a command line.

use std::collections::BTreeMap;
use std::time::Duration;

use super::ssh::{Connection, SshError};

/// The replication section of `INFO`, as the checks need it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct ReplicationInfo {
    /// `master` or `slave` (Redis' words).
    pub role: String,
    /// `connected_slaves` (on a master).
    pub connected_slaves: Option<u32>,
    /// `master_link_status` (on a replica): `up` or `down`.
    pub master_link_status: Option<String>,
    /// `master_host` (on a replica).
    pub master_host: Option<String>,
    /// Every field of the section.
    pub fields: BTreeMap<String, String>,
}

/// Errors of the Redis checks.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// SSH failed.
    #[error(transparent)]
    Ssh(#[from] SshError),
    /// redis-cli failed or answered something else than INFO.
    #[error("redis-cli on the node failed (exit {code}): {output}")]
    Cli {
        /// Exit code.
        code: i32,
        /// Its output (first lines, secrets scrubbed by the caller's secret never being echoed).
        output: String,
    },
}

/// Parses `INFO replication` output (`key:value` lines, `#` comments, CRLF tolerated).
pub fn parse_replication(text: &str) -> ReplicationInfo {
    let fields: BTreeMap<String, String> = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    ReplicationInfo {
        role: fields.get("role").cloned().unwrap_or_default(),
        connected_slaves: fields.get("connected_slaves").and_then(|v| v.parse().ok()),
        master_link_status: fields.get("master_link_status").cloned(),
        master_host: fields.get("master_host").cloned(),
        fields,
    }
}

/// The remote command: reads the password from stdin into `REDISCLI_AUTH`, then asks for INFO.
pub const INFO_COMMAND: &str = "IFS= read -r REDISCLI_AUTH; export REDISCLI_AUTH; exec redis-cli -h 127.0.0.1 -p 6379 INFO replication";

/// Runs `INFO replication` on the node behind `conn` with `secret` as the Redis password.
pub fn replication_info(conn: &Connection, secret: &str) -> Result<ReplicationInfo, RedisError> {
    let stdin = format!("{secret}\n");
    let (code, out) = conn.capture(INFO_COMMAND, stdin.as_bytes(), Duration::from_secs(30))?;
    let info = parse_replication(&out);
    if code != 0 || info.role.is_empty() {
        let output: String = out
            .lines()
            .take(5)
            .collect::<Vec<_>>()
            .join(" / ")
            .replace(secret, "******");
        return Err(RedisError::Cli { code, output });
    }
    Ok(info)
}

/// One entry of a Sentinel answer: its fields (`name`, `ip`, `port`, `flags`...).
pub type SentinelFields = BTreeMap<String, String>;

/// What one Sentinel sees of the master it monitors under a name.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct SentinelView {
    /// `SENTINEL MASTER <name>`.
    pub master: SentinelFields,
    /// `SENTINEL REPLICAS <name>`, one entry per replica it knows.
    pub replicas: Vec<SentinelFields>,
    /// `SENTINEL SENTINELS <name>`, one entry per other Sentinel it knows.
    pub sentinels: Vec<SentinelFields>,
}

/// True when an entry's `flags` hold only `want` (no `s_down`, `o_down`, `disconnected`...).
pub fn healthy(entry: &SentinelFields, want: &str) -> bool {
    entry.get("flags").is_some_and(|f| f == want)
}

impl SentinelView {
    /// The master's address as this Sentinel sees it.
    pub fn master_ip(&self) -> Option<&str> {
        self.master.get("ip").map(String::as_str)
    }

    /// Replicas that are up and whose link to the master is `ok`.
    pub fn replicas_up(&self) -> usize {
        self.replicas
            .iter()
            .filter(|r| {
                healthy(r, "slave") && r.get("master-link-status").is_some_and(|s| s == "ok")
            })
            .count()
    }

    /// Other Sentinels that are up.
    pub fn sentinels_up(&self) -> usize {
        self.sentinels
            .iter()
            .filter(|s| healthy(s, "sentinel"))
            .count()
    }
}

/// Marker line between the three answers in [`SENTINEL_COMMAND`]'s output.
const SECTION: &str = "#plumbery ";

/// Splits `key\nvalue\n` lines into entries; a new entry starts at each `name` key.
fn entries(lines: &[&str]) -> Vec<SentinelFields> {
    let mut out: Vec<SentinelFields> = Vec::new();
    for pair in lines.chunks(2) {
        let [k, v] = pair else { break };
        if *k == "name" || out.is_empty() {
            out.push(SentinelFields::new());
        }
        if let Some(e) = out.last_mut() {
            e.insert(k.to_string(), v.to_string());
        }
    }
    out
}

/// Parses the output of [`sentinel_command`]: three sections of `key`/`value` lines (redis-cli's
/// raw output of nested arrays), each after a `#plumbery MASTER|REPLICAS|SENTINELS` line.
pub fn parse_sentinel(text: &str) -> SentinelView {
    let mut sections: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut current = "";
    for line in text.lines().map(|l| l.trim_end_matches('\r')) {
        if let Some(name) = line.strip_prefix(SECTION) {
            current = name.trim();
            sections.entry(current).or_default();
        } else if !current.is_empty() {
            sections.entry(current).or_default().push(line);
        }
    }
    let take = |k: &str| entries(sections.get(k).map(Vec::as_slice).unwrap_or_default());
    SentinelView {
        master: take("MASTER").into_iter().next().unwrap_or_default(),
        replicas: take("REPLICAS"),
        sentinels: take("SENTINELS"),
    }
}

/// The remote command: reads Sentinel's password from stdin into `REDISCLI_AUTH`, then asks the
/// node's Sentinel (port 26379) about the master `name`.
pub fn sentinel_command(name: &str) -> String {
    let name = super::shell::quote(name);
    format!(
        "IFS= read -r REDISCLI_AUTH; export REDISCLI_AUTH; for c in MASTER REPLICAS SENTINELS; do echo \"{SECTION}$c\"; redis-cli -h 127.0.0.1 -p 26379 SENTINEL \"$c\" {name} || exit $?; done"
    )
}

/// Asks the Sentinel of the node behind `conn` (password `secret`) what it sees of `name`.
pub fn sentinel_view(
    conn: &Connection,
    secret: &str,
    name: &str,
) -> Result<SentinelView, RedisError> {
    let stdin = format!("{secret}\n");
    let (code, out) = conn.capture(
        &sentinel_command(name),
        stdin.as_bytes(),
        Duration::from_secs(30),
    )?;
    let view = parse_sentinel(&out);
    if code != 0 || view.master_ip().is_none() {
        let output: String = out
            .lines()
            .filter(|l| !l.starts_with(SECTION))
            .take(3)
            .collect::<Vec<_>>()
            .join(" / ")
            .replace(secret, "******");
        return Err(RedisError::Cli { code, output });
    }
    Ok(view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_master_and_replica_sections() {
        let master = "# Replication\r\nrole:master\r\nconnected_slaves:3\r\nslave0:ip=10.0.0.12,port=6379,state=online,offset=42,lag=0\r\nmaster_repl_offset:42\r\n";
        let m = parse_replication(master);
        assert_eq!(m.role, "master");
        assert_eq!(m.connected_slaves, Some(3));
        assert_eq!(m.master_link_status, None);
        assert_eq!(
            m.fields["slave0"],
            "ip=10.0.0.12,port=6379,state=online,offset=42,lag=0"
        );
        let replica = "# Replication\nrole:slave\nmaster_host:10.0.0.11\nmaster_port:6379\nmaster_link_status:up\n";
        let r = parse_replication(replica);
        assert_eq!(r.role, "slave");
        assert_eq!(r.master_link_status.as_deref(), Some("up"));
        assert_eq!(r.master_host.as_deref(), Some("10.0.0.11"));
        assert_eq!(
            parse_replication("NOAUTH Authentication required.").role,
            ""
        );
    }

    #[test]
    fn parses_what_a_sentinel_sees() {
        let text = "#plumbery MASTER\nname\nredis-cluster\nip\n10.0.0.13\nport\n6379\nrunid\n\nflags\nmaster\nnum-slaves\n3\n#plumbery REPLICAS\nname\n10.0.0.11:6379\nip\n10.0.0.11\nflags\ns_down,slave,disconnected\nmaster-link-status\nerr\nname\n10.0.0.12:6379\nip\n10.0.0.12\nflags\nslave\nmaster-link-status\nok\n#plumbery SENTINELS\nname\nabc\nip\n10.0.0.12\nflags\nsentinel\nname\ndef\nip\n10.0.0.11\nflags\nsentinel\n";
        let v = parse_sentinel(text);
        assert_eq!(v.master_ip(), Some("10.0.0.13"));
        assert_eq!(v.master["runid"], "");
        assert_eq!(v.master["flags"], "master");
        assert_eq!(v.replicas.len(), 2);
        assert_eq!(v.replicas[1]["ip"], "10.0.0.12");
        assert_eq!(v.replicas_up(), 1);
        assert_eq!(v.sentinels.len(), 2);
        assert_eq!(v.sentinels_up(), 2);
        let refused = parse_sentinel(
            "#plumbery MASTER\nNOAUTH Authentication required.\n#plumbery REPLICAS\n",
        );
        assert_eq!(refused.master_ip(), None);
        assert!(sentinel_command("my master").contains("SENTINEL \"$c\" 'my master'"));
    }
}
