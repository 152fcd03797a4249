//! Redis verification over SSH: `redis-cli INFO replication` on a node, with the password passed
//! through the environment (`REDISCLI_AUTH`, read from stdin on the node), never on a command line.

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
}
