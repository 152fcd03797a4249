//! What a node's PID 1 does inside the node's root: the one-time identity setup (fresh Ed25519 host
//! key, root password, machine id, sshd settings, `systemctl` shim, no `policy-rc.d`, hostname, chrony
//! without clock control) and, at every boot, starting `sshd -D` and the services enabled through
//! the shim.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use ssh_key::private::{Ed25519Keypair, KeypairData};
use ssh_key::{LineEnding, PrivateKey};

use super::error::{NodesError, Result};

/// Directory of plumbery's own node files (inside the node).
pub const NODE_ETC: &str = "/etc/plumbery-node";
const DONE: &str = "/etc/plumbery-node/firstboot-done";
/// Services `systemctl enable` recorded; started at every boot.
pub const ENABLED: &str = "/etc/plumbery-node/enabled-services";
const HOST_KEY: &str = "/etc/ssh/ssh_host_ed25519_key";

/// The `systemctl` shim installed as `/usr/local/bin/systemctl`: nodes have no systemd.
pub const SYSTEMCTL_SHIM: &str = r#"#!/bin/sh
# plumbery node: there is no systemd here; map systemctl verbs to service(8).
enabled=/etc/plumbery-node/enabled-services
verb=""; units=""
for a in "$@"; do
  case "$a" in
    -*) ;;
    *) if [ -z "$verb" ]; then verb=$a; else units="$units ${a%.service}"; fi ;;
  esac
done
rc=0
# what systemd does to an inactive unit: stop is a no-op, restart only starts it (LSB status:
# 1 to 3 say "not running"; 0 or anything else runs the verb as asked)
one_unit() {
  case "$2" in
    stop|restart|force-reload)
      st=0; service "$1" status > /dev/null 2>&1 || st=$?
      if [ "$st" -ge 1 ] && [ "$st" -le 3 ]; then
        [ "$2" = stop ] && return 0
        service "$1" start; return
      fi ;;
  esac
  service "$1" "$2"
}
# every unit at once, as systemd runs its jobs, their output in the order given
run_units() {
  out=$(mktemp -d); i=0; pids=""
  for u in $units; do i=$((i + 1)); one_unit "$u" "$1" > "$out/$i" 2>&1 & pids="$pids $!"; done
  i=0
  for p in $pids; do i=$((i + 1)); wait "$p" || rc=$?; cat "$out/$i"; done
  rm -rf "$out"
}
case "$verb" in
  start|stop|restart|reload|force-reload|try-restart)
    [ "$verb" = try-restart ] && verb=restart
    run_units "$verb" ;;
  status) for u in $units; do service "$u" status || rc=$?; done ;;
  reload-or-restart) run_units restart ;;
  is-active)
    for u in $units; do
      if service "$u" status >/dev/null 2>&1; then echo active; else echo inactive; rc=3; fi
    done ;;
  enable|disable)
    touch "$enabled"
    for u in $units; do
      grep -vx "$u" "$enabled" > "$enabled.tmp"; mv "$enabled.tmp" "$enabled"
      [ "$verb" = enable ] && echo "$u" >> "$enabled"
    done ;;
  is-enabled)
    for u in $units; do
      if grep -qx "$u" "$enabled" 2>/dev/null; then echo enabled; else echo disabled; rc=1; fi
    done ;;
  daemon-reload|daemon-reexec|reset-failed|mask|unmask) ;;
  *) echo "systemctl (plumbery node shim): unsupported verb '$verb'" >&2; rc=1 ;;
esac
exit $rc
"#;

const RESOLV_CONF: &str = "/etc/resolv.conf";
const RESOLV_CONF_TEXT: &str = "# plumbery node: no name server (a local cloud has no way out); lookups fail at once\nnameserver 127.0.0.53\n";

const SSHD_CONF: &str = "# plumbery node\nPermitRootLogin yes\nPasswordAuthentication yes\nUseDNS no\nHostKey /etc/ssh/ssh_host_ed25519_key\n";

fn io<T>(what: &str, r: std::io::Result<T>) -> Result<T> {
    r.map_err(|e| NodesError::io(what.to_string(), e))
}

fn write_mode(path: &str, content: &[u8], mode: u32) -> Result<()> {
    io(path, std::fs::write(path, content))?;
    io(
        path,
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)),
    )
}

/// Whether the first-boot setup has run on this node's disk.
pub fn done() -> bool {
    Path::new(DONE).exists()
}

/// The one-time setup. `secret` is the root password (may end with a newline); it is never logged.
pub fn run(hostname: &str, secret: Vec<u8>) -> Result<()> {
    io("mkdir node etc", std::fs::create_dir_all(NODE_ETC))?;
    host_keys(hostname)?;
    root_password(secret)?;
    machine_id()?;
    io(
        "mkdir sshd_config.d",
        std::fs::create_dir_all("/etc/ssh/sshd_config.d"),
    )?;
    write_mode(
        "/etc/ssh/sshd_config.d/00-plumbery-node.conf",
        SSHD_CONF.as_bytes(),
        0o644,
    )?;
    include_conf_dir()?;
    relax_pam_loginuid()?;
    chrony_never_sets_clock()?;
    io(
        "mkdir /usr/local/bin",
        std::fs::create_dir_all("/usr/local/bin"),
    )?;
    write_mode("/usr/local/bin/systemctl", SYSTEMCTL_SHIM.as_bytes(), 0o755)?;
    let _ = std::fs::remove_file("/usr/sbin/policy-rc.d");
    write_mode("/etc/hostname", format!("{hostname}\n").as_bytes(), 0o644)?;
    no_resolver()?;
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let hosts: String = hosts
        .lines()
        .filter(|l| !l.starts_with("127.0.1.1"))
        .map(|l| format!("{l}\n"))
        .collect();
    write_mode(
        "/etc/hosts",
        format!("{hosts}127.0.1.1\t{hostname}\n").as_bytes(),
        0o644,
    )?;
    for f in [".bashrc", ".profile"] {
        let dst = Path::new("/root").join(f);
        if !dst.exists() {
            let _ = std::fs::copy(Path::new("/etc/skel").join(f), dst);
        }
    }
    io("mark first boot", std::fs::write(DONE, b""))
}

fn host_keys(hostname: &str) -> Result<()> {
    for e in io("read /etc/ssh", std::fs::read_dir("/etc/ssh"))?.flatten() {
        if e.file_name().to_string_lossy().starts_with("ssh_host_") {
            io("remove host key", std::fs::remove_file(e.path()))?;
        }
    }
    let mut seed = random_bytes::<32>()?;
    let kp = Ed25519Keypair::from_seed(&seed);
    seed.fill(0);
    let key = PrivateKey::new(KeypairData::Ed25519(kp), format!("root@{hostname}"))
        .map_err(|e| NodesError::Invalid(format!("host key: {e}")))?;
    let private = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| NodesError::Invalid(format!("host key: {e}")))?;
    let public = key
        .public_key()
        .to_openssh()
        .map_err(|e| NodesError::Invalid(format!("host key: {e}")))?;
    write_mode(HOST_KEY, private.as_bytes(), 0o600)?;
    write_mode(
        &format!("{HOST_KEY}.pub"),
        format!("{public}\n").as_bytes(),
        0o644,
    )
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    io(
        "read /dev/urandom",
        std::fs::File::open("/dev/urandom").and_then(|mut f| {
            use std::io::Read;
            f.read_exact(&mut buf)
        }),
    )?;
    Ok(buf)
}

/// The node's resolver: the host's server is out of reach from a node (its domain has no way
/// out), so a lookup would wait for the resolver's timeouts. Like an Ubuntu machine whose stub
/// resolver (127.0.0.53) is not running, a lookup is refused at once and fails in milliseconds.
fn no_resolver() -> Result<()> {
    let _ = std::fs::remove_file(RESOLV_CONF);
    write_mode(RESOLV_CONF, RESOLV_CONF_TEXT.as_bytes(), 0o644)
}

/// A machine id of its own (the lower layer holds the host's).
fn machine_id() -> Result<()> {
    let id = hex::encode(random_bytes::<16>()?);
    write_mode("/etc/machine-id", format!("{id}\n").as_bytes(), 0o444)
}

fn root_password(mut secret: Vec<u8>) -> Result<()> {
    while secret.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        secret.pop();
    }
    if secret.is_empty() {
        return Ok(());
    }
    if secret.contains(&b'\n') {
        secret.fill(0);
        return Err(NodesError::Invalid(
            "the root password must not contain a newline".into(),
        ));
    }
    let mut line = b"root:".to_vec();
    line.extend_from_slice(&secret);
    line.push(b'\n');
    secret.fill(0);
    let mut child = io(
        "run chpasswd",
        Command::new("chpasswd")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn(),
    )?;
    let written = child
        .stdin
        .take()
        .map(|mut s| s.write_all(&line))
        .unwrap_or(Ok(()));
    line.fill(0);
    let status = io("wait for chpasswd", child.wait())?;
    io("write to chpasswd", written)?;
    if !status.success() {
        return Err(NodesError::Boot(format!("chpasswd failed ({status})")));
    }
    Ok(())
}

/// Makes sure the main sshd config reads `sshd_config.d` first (Debian's does; others may not).
fn include_conf_dir() -> Result<()> {
    let p = "/etc/ssh/sshd_config";
    let text = std::fs::read_to_string(p).unwrap_or_default();
    if !text
        .lines()
        .any(|l| l.trim_start().starts_with("Include /etc/ssh/sshd_config.d"))
    {
        write_mode(
            p,
            format!("Include /etc/ssh/sshd_config.d/*.conf\n{text}").as_bytes(),
            0o644,
        )?;
    }
    Ok(())
}

/// Nodes may not set the host's clock: `service chrony start` runs `chronyd -x` (the option lives in
/// `/etc/default/chrony`, which Debian's init script reads).
fn chrony_never_sets_clock() -> Result<()> {
    let p = "/etc/default/chrony";
    let Ok(text) = std::fs::read_to_string(p) else {
        return Ok(());
    };
    let fixed = chrony_opts_text(&text);
    if fixed != text {
        write_mode(p, fixed.as_bytes(), 0o644)?;
    }
    Ok(())
}

fn chrony_opts_text(text: &str) -> String {
    let mut seen = false;
    let mut out: String = text
        .lines()
        .map(|l| {
            let t = l.trim_start();
            if let Some(v) = t.strip_prefix("DAEMON_OPTS=") {
                seen = true;
                let v = v.trim().trim_matches('"');
                if v.split_whitespace().any(|w| w == "-x") {
                    return format!("{l}\n");
                }
                return format!("DAEMON_OPTS=\"{}\"\n", format!("{v} -x").trim());
            }
            format!("{l}\n")
        })
        .collect();
    if !seen {
        out.push_str("DAEMON_OPTS=\"-x\"\n");
    }
    out
}

/// `pam_loginuid` needs CAP_AUDIT_CONTROL, which nodes do not have: make it optional for sshd.
fn relax_pam_loginuid() -> Result<()> {
    let p = "/etc/pam.d/sshd";
    let Ok(text) = std::fs::read_to_string(p) else {
        return Ok(());
    };
    let relaxed = relax_pam_text(&text);
    if relaxed != text {
        write_mode(p, relaxed.as_bytes(), 0o644)?;
    }
    Ok(())
}

fn relax_pam_text(text: &str) -> String {
    text.lines()
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            if words.len() >= 3
                && words[0] == "session"
                && words[1] == "required"
                && words[2] == "pam_loginuid.so"
            {
                "session    optional     pam_loginuid.so".to_string()
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect()
}

/// Every boot: runtime directories, `sshd -D`, then the enabled services (not waited for).
pub fn boot() -> Result<()> {
    for d in ["/run/sshd", "/run/lock"] {
        io("mkdir run dir", std::fs::create_dir_all(d))?;
    }
    io(
        "chmod /run/sshd",
        std::fs::set_permissions("/run/sshd", std::fs::Permissions::from_mode(0o755)),
    )?;
    io(
        "start sshd",
        Command::new("/usr/sbin/sshd")
            .args(["-D", "-e"])
            .stdin(Stdio::null())
            .spawn(),
    )?;
    let enabled = std::fs::read_to_string(ENABLED).unwrap_or_default();
    for svc in enabled.lines().map(str::trim).filter(|s| !s.is_empty()) {
        if let Err(e) = Command::new("service")
            .args([svc, "start"])
            .stdin(Stdio::null())
            .spawn()
        {
            eprintln!("start {svc}: {e}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chrony_gets_minus_x_once() {
        let t = "# c\nDAEMON_OPTS=\"-F 1\"\n";
        let r = chrony_opts_text(t);
        assert_eq!(r, "# c\nDAEMON_OPTS=\"-F 1 -x\"\n");
        assert_eq!(chrony_opts_text(&r), r);
        assert_eq!(chrony_opts_text("# none\n"), "# none\nDAEMON_OPTS=\"-x\"\n");
    }

    #[test]
    fn pam_loginuid_becomes_optional() {
        let t = "# c\nsession    required     pam_loginuid.so\nsession required pam_env.so\n";
        let r = relax_pam_text(t);
        assert!(r.contains("optional     pam_loginuid.so"));
        assert!(r.contains("session required pam_env.so"));
        assert!(!r.contains("required     pam_loginuid"));
    }
}
