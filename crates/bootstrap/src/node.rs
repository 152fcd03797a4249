//! One node's bootstrap, start to end (blocking): log in (key as the bootstrap user, else root
//! with the admin password), run the rendered script, prove a key login, harden sshd, prove that
//! password and root logins are refused, and roll the hardening back if the key login broke.

use std::time::{Duration, Instant};

use super::cloud_config::CloudConfig;
use super::hostkeys::{HostKeys, Pinned, host_label};
use super::log::NodeLog;
use super::render::{Hardening, RenderOptions, Script, render_harden, render_script};
use super::ssh::{Auth, Connection, Endpoint, SshError, connect, handshake};
use super::types::{BootstrapError, BootstrapOptions, NodeOutcome, NodeStatus, NodeTarget};

/// How long the proofs after a reload may wait for sshd to accept connections again.
const PROOF_WAIT: Duration = Duration::from_secs(30);

/// The last `plumbery: done, N change(s)` count in the output, if any.
fn changes_in(lines: &[String]) -> Option<u32> {
    lines.iter().rev().find_map(|l| {
        l.strip_prefix("plumbery: done, ")
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
    })
}

/// The step a failed script names (`plumbery: step "X" failed ...`), else a generic label.
fn failed_step(lines: &[String]) -> String {
    lines
        .iter()
        .rev()
        .find_map(|l| {
            let rest = l.strip_prefix("plumbery: step \"")?;
            let (step, detail) = rest.split_once("\" failed")?;
            Some(format!("{step}{detail}"))
        })
        .unwrap_or_else(|| "the script".to_string())
}

/// Runs `script` as root on `conn`, streaming to the log; returns the number of changes.
fn run_script(
    conn: &Connection,
    script: &str,
    what: &str,
    opts: &BootstrapOptions,
    log: &mut NodeLog,
) -> Result<u32, BootstrapError> {
    log.note(&format!(
        "running {what} as root (logged in as {})",
        conn.user()
    ));
    let code = conn.run_script(script, opts.command_timeout, &mut |b| log.feed(b))?;
    log.flush_partial();
    let tail = log.tail();
    if code != 0 {
        return Err(BootstrapError::ScriptFailed {
            what: what.to_string(),
            step: failed_step(&tail),
            code,
            tail,
            log: log.path().to_path_buf(),
        });
    }
    Ok(changes_in(&tail).unwrap_or(0))
}

struct Ctx<'a> {
    target: &'a NodeTarget,
    opts: &'a BootstrapOptions,
    host_keys: &'a HostKeys,
    key: Auth,
    password: Auth,
}

impl Ctx<'_> {
    fn ep<'b>(&'b self, user: &'b str, auth: &'b Auth) -> Endpoint<'b> {
        Endpoint {
            addr: self.target.address,
            user,
            auth,
            host_keys: self.host_keys,
        }
    }

    /// A key login as the bootstrap user. With `forbid_password`, the same session first checks
    /// that the server no longer offers passwords to that user. (That sudo works is proven by the
    /// hardening script, which runs through `sudo -n` and fails before changing anything.)
    fn key_login(&self, forbid_password: bool) -> Result<Connection, BootstrapError> {
        let user = self.opts.user.as_str();
        let hs = handshake(&self.ep(user, &self.key), Instant::now() + PROOF_WAIT)?;
        if forbid_password {
            let methods = hs.methods(user)?;
            if methods
                .iter()
                .any(|m| m == "password" || m == "keyboard-interactive")
            {
                return Err(BootstrapError::NotProven(format!(
                    "sshd still offers password logins ({})",
                    methods.join(",")
                )));
            }
        }
        Ok(hs.login(user, &self.key)?)
    }

    /// Checks, on one session, that root's password (and with `forbid_root` the key as root) is
    /// refused; `Err` names what is still accepted.
    fn refusals(&self, policy: Hardening) -> Result<(), BootstrapError> {
        if !(policy.forbid_root || policy.forbid_password) {
            return Ok(());
        }
        let hs = handshake(
            &self.ep("root", &self.password),
            Instant::now() + PROOF_WAIT,
        )?;
        if hs.try_login("root", &self.password)? {
            return Err(BootstrapError::NotProven(
                "sshd still accepts root's password".into(),
            ));
        }
        if policy.forbid_root && hs.try_login("root", &self.key)? {
            return Err(BootstrapError::NotProven(
                "sshd still accepts root logins with a key".into(),
            ));
        }
        Ok(())
    }

    /// All proofs after hardening: the refusals, then a key login as the user (no passwords offered).
    fn prove(&self, policy: Hardening) -> Result<(), BootstrapError> {
        self.refusals(policy)?;
        self.key_login(policy.forbid_password).map(drop)
    }
}

/// The root prefix of this node's scripts: `<sandbox_root>/<node>` in tests, empty on nodes.
fn sandbox(opts: &BootstrapOptions, target: &NodeTarget) -> String {
    opts.sandbox_root
        .as_ref()
        .map(|p| p.join(&target.name).display().to_string())
        .unwrap_or_default()
}

/// Bootstraps one node; never panics on node errors, they end up in the outcome.
pub fn bootstrap_node(
    target: &NodeTarget,
    opts: &BootstrapOptions,
    host_keys: &HostKeys,
) -> NodeOutcome {
    let start = Instant::now();
    let mut scrub = super::scrub::Scrubber::new(&opts.secrets);
    scrub.add(&target.admin_password);
    let mut outcome = NodeOutcome::failed(&target.name, opts, None);
    let mut log = match NodeLog::open(&opts.state_dir.join("logs"), &target.name, scrub.clone()) {
        Ok(l) => l,
        Err(e) => {
            outcome.error = Some(format!("cannot open the node log: {e}"));
            return outcome;
        }
    };
    outcome.log = log.path().to_path_buf();
    let result = run(target, opts, host_keys, &mut log, &mut outcome);
    outcome.duration = start.elapsed();
    match result {
        Ok(()) => {
            outcome.status = NodeStatus::Completed;
            log.note(&format!(
                "completed in {:.1}s, {} change(s)",
                outcome.duration.as_secs_f64(),
                outcome.changes
            ));
        }
        Err(e) => {
            if matches!(e, BootstrapError::Ssh(SshError::Unreachable { .. })) {
                outcome.status = NodeStatus::Unreachable;
            }
            let msg = scrub.scrub(&e.to_string());
            // The log already holds the output the message quotes.
            log.note(&format!(
                "FAILED: {}",
                msg.lines().next().unwrap_or_default()
            ));
            tracing::error!(node = %target.name, "{msg}");
            outcome.error = Some(msg);
        }
    }
    outcome
}

fn run(
    target: &NodeTarget,
    opts: &BootstrapOptions,
    host_keys: &HostKeys,
    log: &mut NodeLog,
    outcome: &mut NodeOutcome,
) -> Result<(), BootstrapError> {
    let script = render_for(target, opts, log, outcome)?;
    let ctx = Ctx {
        target,
        opts,
        host_keys,
        key: Auth::Key(opts.key.private.clone()),
        password: Auth::Password(target.admin_password.clone()),
    };
    let conn = first_login(&ctx, log)?;
    outcome.ssh_user = conn.user().to_string();
    outcome.changes += run_script(&conn, &script.text, "the cloud-config script", opts, log)?;
    for k in &script.new_host_keys {
        host_keys
            .trust(&host_label(&target.address), k)
            .map_err(SshError::from)?;
    }
    if !opts.harden {
        return Ok(());
    }
    harden(&ctx, conn, script.hardening, log, outcome)
}

/// The node's script from its cloud-config, with the run's access keys; warnings go to the log
/// and the outcome.
fn render_for(
    target: &NodeTarget,
    opts: &BootstrapOptions,
    log: &mut NodeLog,
    outcome: &mut NodeOutcome,
) -> Result<Script, BootstrapError> {
    let cfg = CloudConfig::parse(&target.cloud_config, opts.strict)
        .map_err(super::render::RenderError::from)?;
    let mut access_keys = Vec::new();
    if let Ok(k) = std::fs::read_to_string(&opts.key.public) {
        access_keys.push(k.trim().to_string());
    }
    access_keys.extend(opts.extra_public_keys.iter().map(|k| k.trim().to_string()));
    access_keys.retain(|k| !k.is_empty());
    let script = render_script(
        &cfg,
        &RenderOptions {
            node: target.name.clone(),
            strict: opts.strict,
            root: sandbox(opts, target),
            default_user: opts.user.clone(),
            access_keys,
            clock_sync: opts.clock_sync,
            prepare: target.prepare.clone(),
            family: target
                .appliance
                .as_deref()
                .map(super::render::Family::from_appliance)
                .unwrap_or_default(),
        },
    )?;
    for w in &script.warnings {
        log.note(&format!("warning: {w}"));
        tracing::warn!(node = %target.name, "{w}");
    }
    outcome.warnings = script.warnings.clone();
    Ok(script)
}

/// Logs in for the script. First contact (a host key never seen): root with the admin password, on
/// this very session. Later: the plan's key as the user, else (a bootstrap that stopped half-way)
/// root again.
fn first_login(ctx: &Ctx<'_>, log: &mut NodeLog) -> Result<Connection, BootstrapError> {
    let (target, opts, host_keys) = (ctx.target, ctx.opts, ctx.host_keys);
    let deadline = Instant::now() + opts.boot_timeout;
    let user = opts.user.as_str();
    log.note(&format!(
        "connecting to {} (waiting up to {:?})",
        target.address, opts.boot_timeout
    ));
    let hs = handshake(&ctx.ep(user, &ctx.key), deadline)?;
    let conn = if hs.pinned == Pinned::New {
        log.note(&format!(
            "host key pinned in {}",
            host_keys.path().display()
        ));
        log.note("first contact as root with the admin password");
        match hs.login("root", &ctx.password) {
            Ok(c) => c,
            Err(SshError::AuthRejected { .. }) => {
                log.note(&format!(
                    "root's password is refused: trying the plan's key as {user}"
                ));
                connect(&ctx.ep(user, &ctx.key), deadline)?
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        match hs.login(user, &ctx.key) {
            Ok(c) => {
                log.note(&format!("logged in as {user} with the plan's key"));
                c
            }
            Err(SshError::AuthRejected { .. }) => {
                log.note(&format!(
                    "no key login as {user} yet: first contact as root with the admin password"
                ));
                connect(&ctx.ep("root", &ctx.password), deadline)?
            }
            Err(e) => return Err(e.into()),
        }
    };
    Ok(conn)
}

/// Forbids what the policy says in sshd, proves it with real logins (one forced reload more if the
/// first proof fails), and rolls the drop-in back if key logins broke.
fn harden(
    ctx: &Ctx<'_>,
    conn: Connection,
    policy: Hardening,
    log: &mut NodeLog,
    outcome: &mut NodeOutcome,
) -> Result<(), BootstrapError> {
    let (target, opts) = (ctx.target, ctx.opts);
    let user = opts.user.as_str();
    log.note(&format!("proving a key login as {user} with sudo"));
    let admin = ctx.key_login(false)?;
    drop(conn);
    outcome.ssh_user = user.to_string();
    let root = sandbox(opts, target);
    outcome.changes += run_script(
        &admin,
        &render_harden(policy, &root, false, false)?,
        "sshd hardening",
        opts,
        log,
    )?;
    let mut proven = ctx.prove(policy);
    if let Err(e) = &proven {
        log.note(&format!("not proven yet ({e}): reloading sshd again"));
        run_script(
            &admin,
            &render_harden(policy, &root, true, false)?,
            "sshd hardening (forced reload)",
            opts,
            log,
        )?;
        proven = ctx.prove(policy);
    }
    if let Err(e) = proven {
        if ctx.key_login(false).is_err() {
            log.note("key logins broke after the reload: rolling the sshd drop-in back");
            run_script(
                &admin,
                &render_harden(policy, &root, false, true)?,
                "sshd roll back",
                opts,
                log,
            )?;
        }
        return Err(e);
    }
    log.note(&format!(
        "hardened: key login as {user} works{}{}",
        if policy.forbid_password {
            ", passwords refused"
        } else {
            ""
        },
        if policy.forbid_root {
            ", root refused"
        } else {
            ""
        }
    ));
    outcome.hardened = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_changes_and_failed_steps_from_output() {
        let lines: Vec<String> = ["== write_files: /x", "plumbery: done, 3 change(s)"]
            .map(String::from)
            .to_vec();
        assert_eq!(changes_in(&lines), Some(3));
        let failed: Vec<String> = [
            "== runcmd",
            "plumbery: step \"runcmd: false\" failed with exit code 1 at line 9: false",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            failed_step(&failed),
            "runcmd: false with exit code 1 at line 9: false"
        );
        assert_eq!(changes_in(&failed), None);
    }
}
