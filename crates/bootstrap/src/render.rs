//! Renders a node's cloud-config (plus `prepare:` steps and our own access and clock sections) into
//! ONE idempotent bash script, from the minijinja templates under `templates/bootstrap/`.

use std::sync::LazyLock;

use base64::Engine as _;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::cloud_config::{
    AptSource, Chpasswd, CloudConfig, CloudConfigError, Command, PowerState, User, WriteFile,
};
use super::prepare::PrepareStep;
use super::shell;

/// The sudo rule given to the bootstrap user and to cloud-config's `default` user.
pub const SUDO_ALL: &str = "ALL=(ALL) NOPASSWD:ALL";

/// Errors while rendering a script.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The cloud-config is invalid or (strict mode) uses unsupported keys.
    #[error(transparent)]
    CloudConfig(#[from] CloudConfigError),
    /// A template failed (a bug in `templates/`).
    #[error("template {name}: {source}")]
    Template {
        /// Template name.
        name: String,
        /// The minijinja error.
        source: minijinja::Error,
    },
}

/// The system family of a node, which decides its package manager and service names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Debian and Ubuntu: apt and dpkg.
    #[default]
    Debian,
    /// CentOS, Red Hat Enterprise Linux, Rocky, AlmaLinux, Oracle Linux, Fedora: dnf (else yum)
    /// and rpm.
    Redhat,
    /// SUSE Linux Enterprise and openSUSE: zypper and rpm.
    Suse,
}

impl Family {
    /// The family of an image from its name (the plan's `appliance`, as the CloudControl images
    /// are named: `CentOS 7 64-bit 2 CPU`, `RedHat 7 64-bit`, `SLES 12 SP1`, `Ubuntu 14.04 2 CPU`);
    /// Debian when the name says nothing known.
    pub fn from_appliance(name: &str) -> Family {
        let n = name.to_ascii_lowercase();
        let has = |w: &[&str]| w.iter().any(|x| n.contains(x));
        if has(&["suse", "sles", "sled"]) {
            Family::Suse
        } else if has(&[
            "centos", "redhat", "red hat", "rhel", "rocky", "alma", "oracle", "fedora",
        ]) {
            Family::Redhat
        } else {
            Family::Debian
        }
    }
}

/// What to render besides the cloud-config itself.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Node name (for the script header).
    pub node: String,
    /// Strict mode: unsupported cloud-config keys are an error.
    pub strict: bool,
    /// A directory every file path is prefixed with; empty on a node, a scratch dir in tests.
    pub root: String,
    /// The distribution's default user (`ubuntu`): cloud-config's `default` user, and the user the
    /// bootstrap logs in as once the node is hardened.
    pub default_user: String,
    /// Public keys the default user must accept (the plan's key and the operator's own keys). When
    /// not empty, the default user is created with passwordless sudo.
    pub access_keys: Vec<String>,
    /// Run the chrony section (clock sync).
    pub clock_sync: bool,
    /// The node's `prepare:` steps, run before the cloud-config.
    pub prepare: Vec<PrepareStep>,
    /// The node's system family (see [`Family::from_appliance`]).
    pub family: Family,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            node: "node".into(),
            strict: false,
            root: String::new(),
            default_user: "ubuntu".into(),
            access_keys: vec![],
            clock_sync: true,
            prepare: vec![],
            family: Family::Debian,
        }
    }
}

/// Which logins the hardening step forbids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Hardening {
    /// `PermitRootLogin no` (unless cloud-config says `disable_root: false`).
    pub forbid_root: bool,
    /// `PasswordAuthentication no` (unless cloud-config says `ssh_pwauth: true`).
    pub forbid_password: bool,
}

/// A rendered script and what the caller must know about it.
#[derive(Debug, Clone)]
pub struct Script {
    /// The bash script (contains secrets: never log it).
    pub text: String,
    /// Warnings (unsupported keys, replaced packages).
    pub warnings: Vec<String>,
    /// Host public keys the script installs (`ssh_keys`): to be trusted for this node.
    pub new_host_keys: Vec<String>,
    /// The hardening policy from `disable_root` and `ssh_pwauth`.
    pub hardening: Hardening,
}

static ENV: LazyLock<minijinja::Environment<'static>> = LazyLock::new(|| {
    let mut env = minijinja::Environment::new();
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("default delimiters are valid"),
    );
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_filter("q", |v: minijinja::Value| match v.as_str() {
        Some(s) => shell::quote(s),
        None => shell::quote(&v.to_string()),
    });
    for (name, src) in [
        (
            "bootstrap/prelude.sh.j2",
            include_str!("../../../templates/bootstrap/prelude.sh.j2"),
        ),
        (
            "bootstrap/node.sh.j2",
            include_str!("../../../templates/bootstrap/node.sh.j2"),
        ),
        (
            "bootstrap/harden.sh.j2",
            include_str!("../../../templates/bootstrap/harden.sh.j2"),
        ),
    ] {
        env.add_template(name, src)
            .expect("bundled templates parse");
    }
    env
});

/// Turns a serialisable context into a template value (through JSON, so that the crate needs no
/// extra minijinja feature).
fn to_value(v: serde_json::Value) -> minijinja::Value {
    use serde_json::Value as J;
    match v {
        J::Null => minijinja::Value::from(()),
        J::Bool(b) => minijinja::Value::from(b),
        J::Number(n) => match n.as_i64() {
            Some(i) => minijinja::Value::from(i),
            None => minijinja::Value::from(n.as_f64().unwrap_or_default()),
        },
        J::String(s) => minijinja::Value::from(s),
        J::Array(items) => {
            minijinja::Value::from(items.into_iter().map(to_value).collect::<Vec<_>>())
        }
        J::Object(map) => minijinja::Value::from(
            map.into_iter()
                .map(|(k, v)| (k, to_value(v)))
                .collect::<std::collections::BTreeMap<String, minijinja::Value>>(),
        ),
    }
}

fn render(name: &str, ctx: impl Serialize) -> Result<String, RenderError> {
    let ctx = to_value(serde_json::to_value(ctx).expect("render contexts serialise"));
    ENV.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|source| RenderError::Template {
            name: name.to_string(),
            source,
        })
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[derive(Serialize)]
struct Cmd {
    label: String,
    code: String,
}

fn cmd(c: &Command) -> Cmd {
    let code = match c {
        Command::Shell(s) => s.clone(),
        Command::Argv(v) => shell::quote_words(v),
    };
    let first = code.lines().next().unwrap_or_default();
    let label: String = first.chars().take(80).collect();
    Cmd { label, code }
}

#[derive(Serialize)]
struct Prep {
    kind: &'static str,
    text: String,
    dest: String,
    mode: &'static str,
    b64: String,
    label: String,
    args: Vec<String>,
}

#[derive(Serialize)]
struct UserCtx {
    name: String,
    shell: String,
    lock: u8,
    groups: Vec<String>,
    sudo_b64: String,
    keys: Vec<String>,
}

#[derive(Serialize)]
struct FileCtx {
    path: String,
    permissions: String,
    owner: String,
    gzip: u8,
    b64: String,
    append: bool,
}

#[derive(Serialize)]
struct HostKeyCtx {
    kind: String,
    private_b64: String,
    public_b64: String,
}

#[derive(Serialize)]
struct AptCtx {
    ppa: String,
    ppa_file: String,
    line: String,
    filename: String,
    key_b64: String,
    key_name: String,
}

#[derive(Serialize)]
struct Pkg {
    name: String,
    spec: String,
}

/// `power_state` as the template sees it.
#[derive(Serialize)]
struct PowerCtx {
    flag: &'static str,
    delay: String,
    message: String,
    condition: String,
    hash: String,
}

/// `chpasswd` as the template sees it: `user:password` lines (base64), clear and hashed apart.
#[derive(Serialize)]
struct PasswdCtx {
    clear_b64: String,
    hashed_b64: String,
    expire: Vec<String>,
    hash: String,
}

#[derive(Serialize)]
struct NodeCtx {
    node: String,
    family: Family,
    power: Option<PowerCtx>,
    passwords: Option<PasswdCtx>,
    root: String,
    bootcmd: Vec<Cmd>,
    prepare: Vec<Prep>,
    hostname: String,
    hostname_b64: String,
    hostname_re: String,
    timezone: String,
    timezone_b64: String,
    users: Vec<UserCtx>,
    write_files: Vec<FileCtx>,
    ssh_keys: Vec<HostKeyCtx>,
    apt_sources: Vec<AptCtx>,
    clock: bool,
    ntp_sources_b64: String,
    chrony_default_b64: String,
    packages: Vec<Pkg>,
    package_update: bool,
    package_upgrade: bool,
    runcmd: Vec<Cmd>,
    runcmd_hash: String,
    final_message: String,
}

/// Merges user entries by name (keys, groups and sudo rules are joined, in order, without
/// duplicates), resolving `default` to `default_user`, so that each user is managed once.
fn merge_users(cfg: &CloudConfig, opts: &RenderOptions) -> Vec<User> {
    let default_user = || User {
        name: opts.default_user.clone(),
        sudo: vec![SUDO_ALL.to_string()],
        lock_passwd: true,
        is_default: true,
        ..User::default()
    };
    let mut wanted: Vec<User> = Vec::new();
    for u in &cfg.users {
        wanted.push(if u.is_default {
            default_user()
        } else {
            u.clone()
        });
    }
    if !cfg.ssh_authorized_keys.is_empty() || !opts.access_keys.is_empty() {
        let mut u = default_user();
        u.authorized_keys = opts
            .access_keys
            .iter()
            .chain(&cfg.ssh_authorized_keys)
            .cloned()
            .collect();
        wanted.push(u);
    }
    let mut merged: Vec<User> = Vec::new();
    for u in wanted {
        let Some(m) = merged.iter_mut().find(|m| m.name == u.name) else {
            merged.push(u);
            continue;
        };
        for (into, from) in [
            (&mut m.sudo, &u.sudo),
            (&mut m.groups, &u.groups),
            (&mut m.authorized_keys, &u.authorized_keys),
        ] {
            for x in from {
                if !into.contains(x) {
                    into.push(x.clone());
                }
            }
        }
        m.shell = m.shell.take().or(u.shell);
        m.lock_passwd &= u.lock_passwd;
    }
    for u in &mut merged {
        let mut seen = Vec::new();
        u.authorized_keys.retain(|k| {
            let new = !seen.contains(k);
            seen.push(k.clone());
            new
        });
    }
    merged
}

/// Folds `append` entries into an earlier full write of the same path (text content only), so
/// that "write, then append" converges instead of flip-flopping on every run.
fn fold_appends(files: &[WriteFile]) -> Vec<WriteFile> {
    let engine = base64::engine::general_purpose::STANDARD;
    let mut out: Vec<WriteFile> = Vec::new();
    for f in files {
        let earlier = out.iter_mut().rev().find(|e| e.path == f.path);
        match earlier {
            Some(e) if f.append && !e.append && !e.gzip && !f.gzip => {
                let (Ok(base), Ok(more)) =
                    (engine.decode(&e.content_b64), engine.decode(&f.content_b64))
                else {
                    out.push(f.clone());
                    continue;
                };
                let mut text = String::from_utf8_lossy(&base).into_owned();
                for line in String::from_utf8_lossy(&more).lines() {
                    if !text.lines().any(|l| l == line) {
                        if !text.is_empty() && !text.ends_with('\n') {
                            text.push('\n');
                        }
                        text.push_str(line);
                        text.push('\n');
                    }
                }
                e.content_b64 = engine.encode(text);
                e.permissions = f.permissions.clone().or(e.permissions.take());
                e.owner = f.owner.clone().or(e.owner.take());
            }
            _ => out.push(f.clone()),
        }
    }
    out
}

/// Renders the node script: `prepare:` steps first, then the cloud-config sections in a safe
/// order (bootcmd, hostname, timezone, users, write_files, ssh_keys, apt_sources, clock,
/// packages, runcmd once, final_message). The script ends by printing
/// `plumbery: done, N change(s)`.
pub fn render_script(cfg: &CloudConfig, opts: &RenderOptions) -> Result<Script, RenderError> {
    let mut warnings = cfg.warnings.clone();
    let clock = opts.clock_sync && cfg.ntp.as_ref().is_none_or(|n| n.enabled);
    let packages = packages(cfg, opts.family, clock, &mut warnings);
    let apt_sources = if opts.family == Family::Debian {
        apt_sources(cfg)
    } else {
        if !cfg.apt_sources.is_empty() {
            warnings.push(format!(
                "apt_sources are left out: this node is of the {:?} family, which has no apt",
                opts.family
            ));
        }
        Vec::new()
    };
    let runcmd: Vec<Cmd> = cfg.runcmd.iter().map(cmd).collect();
    let runcmd_hash = runcmd_hash(&runcmd);
    let ntp_sources = ntp_sources(cfg);
    let ctx = NodeCtx {
        node: opts.node.clone(),
        family: opts.family,
        power: cfg.power_state.as_ref().map(power_ctx),
        passwords: cfg.chpasswd.as_ref().map(|c| passwd_ctx(c, opts)),
        root: opts.root.clone(),
        bootcmd: cfg.bootcmd.iter().map(cmd).collect(),
        prepare: prepare_steps(opts),
        hostname: cfg.hostname.clone().unwrap_or_default(),
        hostname_b64: cfg
            .hostname
            .as_ref()
            .map(|h| b64(format!("{h}\n")))
            .unwrap_or_default(),
        hostname_re: cfg
            .hostname
            .as_deref()
            .unwrap_or_default()
            .replace('.', "\\."),
        timezone: cfg.timezone.clone().unwrap_or_default(),
        timezone_b64: cfg
            .timezone
            .as_ref()
            .map(|t| b64(format!("{t}\n")))
            .unwrap_or_default(),
        users: users(cfg, opts),
        write_files: write_files(cfg),
        ssh_keys: host_keys(cfg),
        apt_sources,
        clock,
        ntp_sources_b64: if ntp_sources.is_empty() {
            String::new()
        } else {
            b64(ntp_sources)
        },
        chrony_default_b64: b64(
            "# Written by plumbery: this node may not set the clock, so chronyd only tracks time.\nDAEMON_OPTS=\"-x\"\n",
        ),
        packages,
        package_update: cfg.package_update,
        package_upgrade: cfg.package_upgrade,
        runcmd,
        runcmd_hash,
        final_message: cfg.final_message.clone().unwrap_or_default(),
    };
    let text = render("bootstrap/node.sh.j2", &ctx)?;
    Ok(Script {
        text,
        warnings,
        new_host_keys: cfg
            .ssh_keys
            .iter()
            .filter_map(|k| k.public.clone())
            .collect(),
        hardening: Hardening {
            forbid_root: cfg.disable_root.unwrap_or(true),
            forbid_password: !cfg.ssh_pwauth.unwrap_or(false),
        },
    })
}

/// `power_state` for the template: the `shutdown` flag and delay, run once per distinct setting.
fn power_ctx(p: &PowerState) -> PowerCtx {
    let flag = match p.mode.as_str() {
        "poweroff" => "-P",
        "halt" => "-H",
        _ => "-r",
    };
    let condition = p.condition.clone().unwrap_or_default();
    let message = p.message.clone().unwrap_or_default();
    let mut h = Sha256::new();
    for part in [flag, &condition, &message, &p.delay_minutes.to_string()] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    PowerCtx {
        flag,
        delay: format!("+{}", p.delay_minutes),
        message,
        condition,
        hash: hex::encode(h.finalize()),
    }
}

/// `chpasswd` for the template: `default` is the default user; set once per distinct list.
fn passwd_ctx(c: &Chpasswd, opts: &RenderOptions) -> PasswdCtx {
    let (mut clear, mut hashed) = (String::new(), String::new());
    let mut users = Vec::new();
    for e in &c.entries {
        let user = if e.user == "default" {
            opts.default_user.clone()
        } else {
            e.user.clone()
        };
        let line = format!("{user}:{}\n", e.password);
        if e.hashed {
            hashed.push_str(&line);
        } else {
            clear.push_str(&line);
        }
        if !users.contains(&user) {
            users.push(user);
        }
    }
    let mut h = Sha256::new();
    h.update(clear.as_bytes());
    h.update([0]);
    h.update(hashed.as_bytes());
    h.update([u8::from(c.expire)]);
    PasswdCtx {
        clear_b64: if clear.is_empty() {
            String::new()
        } else {
            b64(&clear)
        },
        hashed_b64: if hashed.is_empty() {
            String::new()
        } else {
            b64(&hashed)
        },
        expire: if c.expire { users } else { Vec::new() },
        hash: hex::encode(h.finalize()),
    }
}

/// The packages to install; `ntp` and `ntpdate` are left out (with a warning) when chrony keeps
/// the clock. A version pin `name=version` is written `name-version` for dnf and yum.
fn packages(
    cfg: &CloudConfig,
    family: Family,
    clock: bool,
    warnings: &mut Vec<String>,
) -> Vec<Pkg> {
    let mut packages = Vec::new();
    for p in &cfg.packages {
        let name = p.split('=').next().unwrap_or(p).to_string();
        if clock && (name == "ntp" || name == "ntpdate") {
            warnings.push(format!(
                "package `{name}` is left out: clocks are kept by chrony"
            ));
            continue;
        }
        let spec = match (family, p.split_once('=')) {
            (Family::Redhat, Some((n, v))) => format!("{n}-{v}"),
            _ => p.clone(),
        };
        packages.push(Pkg { name, spec });
    }
    packages
}

/// The plan's `prepare:` steps as the template sees them.
fn prepare_steps(opts: &RenderOptions) -> Vec<Prep> {
    opts.prepare
        .iter()
        .map(|p| match p {
            PrepareStep::Echo(text) => Prep {
                kind: "echo",
                text: text.clone(),
                dest: String::new(),
                mode: "644",
                b64: String::new(),
                label: String::new(),
                args: vec![],
            },
            PrepareStep::Put { content, dest } => Prep {
                kind: "put",
                text: String::new(),
                dest: dest.clone(),
                mode: "644",
                b64: b64(content),
                label: String::new(),
                args: vec![],
            },
            PrepareStep::Run {
                name,
                content,
                args,
            } => Prep {
                kind: "run",
                text: String::new(),
                dest: String::new(),
                mode: "700",
                b64: b64(content),
                label: name.clone(),
                args: args.clone(),
            },
        })
        .collect()
}

/// The users to create or update, with their sudo rules.
fn users(cfg: &CloudConfig, opts: &RenderOptions) -> Vec<UserCtx> {
    merge_users(cfg, opts)
        .into_iter()
        .map(|u| UserCtx {
            sudo_b64: if u.sudo.is_empty() {
                String::new()
            } else {
                b64(u
                    .sudo
                    .iter()
                    .map(|r| format!("{} {}\n", u.name, r))
                    .collect::<String>())
            },
            name: u.name,
            shell: u.shell.unwrap_or_default(),
            lock: u8::from(u.lock_passwd),
            groups: u.groups,
            keys: u.authorized_keys,
        })
        .collect()
}

/// A digest of the `runcmd` commands: they run once per distinct list.
fn runcmd_hash(runcmd: &[Cmd]) -> String {
    let mut h = Sha256::new();
    for c in runcmd {
        h.update(c.code.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// The chrony `server` and `pool` lines of the plan's `ntp:` section.
fn ntp_sources(cfg: &CloudConfig) -> String {
    cfg.ntp
        .iter()
        .flat_map(|n| {
            n.servers
                .iter()
                .map(|s| format!("server {s} iburst\n"))
                .chain(n.pools.iter().map(|p| format!("pool {p} iburst\n")))
        })
        .collect()
}

/// The files to write (appends to one path folded together).
fn write_files(cfg: &CloudConfig) -> Vec<FileCtx> {
    fold_appends(&cfg.write_files)
        .iter()
        .map(|f| FileCtx {
            path: f.path.clone(),
            // A new file is 644 root:root; an append leaves an existing file's mode
            // and owner alone unless the plan names them.
            permissions: f.permissions.clone().unwrap_or_else(|| {
                if f.append {
                    String::new()
                } else {
                    "644".into()
                }
            }),
            owner: f.owner.clone().unwrap_or_else(|| {
                if f.append {
                    String::new()
                } else {
                    "root:root".into()
                }
            }),
            gzip: u8::from(f.gzip),
            b64: f.content_b64.clone(),
            append: f.append,
        })
        .collect()
}

/// The SSH host keys the plan gives the node.
fn host_keys(cfg: &CloudConfig) -> Vec<HostKeyCtx> {
    cfg.ssh_keys
        .iter()
        .map(|k| HostKeyCtx {
            kind: k.kind.clone(),
            private_b64: k.private.as_ref().map(b64).unwrap_or_default(),
            public_b64: k
                .public
                .as_ref()
                .map(|p| b64(format!("{p}\n")))
                .unwrap_or_default(),
        })
        .collect()
}

/// The apt sources (PPAs and deb lines) with their keys.
fn apt_sources(cfg: &CloudConfig) -> Vec<AptCtx> {
    cfg.apt_sources
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let (ppa, ppa_file, line, filename) = match &a.source {
                AptSource::Ppa(p) => (
                    p.clone(),
                    format!("ppa-{}.list", p.replace(['/', '.'], "-")),
                    String::new(),
                    String::new(),
                ),
                AptSource::Deb { line, filename } => {
                    (String::new(), String::new(), line.clone(), filename.clone())
                }
            };
            AptCtx {
                ppa,
                ppa_file,
                line,
                filename,
                key_b64: a.key.as_ref().map(b64).unwrap_or_default(),
                key_name: format!("plumbery-{i}"),
            }
        })
        .collect()
}

/// The sshd drop-in that forbids what `policy` says.
pub fn sshd_dropin(policy: Hardening) -> String {
    let mut s = String::from("# Written by plumbery: logins with keys only. Do not edit.\n");
    if policy.forbid_root {
        s.push_str("PermitRootLogin no\n");
    }
    if policy.forbid_password {
        s.push_str("PasswordAuthentication no\nKbdInteractiveAuthentication no\n");
    }
    s
}

/// Renders the hardening script: install the sshd drop-in (and make sure the main config includes
/// it), check the config with `sshd -t`, reload sshd when something changed or `force_reload`.
/// With `rollback`, it removes the drop-in and reloads instead.
pub fn render_harden(
    policy: Hardening,
    root: &str,
    force_reload: bool,
    rollback: bool,
) -> Result<String, RenderError> {
    #[derive(Serialize)]
    struct Ctx {
        node: &'static str,
        root: String,
        dropin_b64: String,
        force_reload: u8,
        rollback: bool,
    }
    render(
        "bootstrap/harden.sh.j2",
        Ctx {
            node: "sshd",
            root: root.to_string(),
            dropin_b64: b64(sshd_dropin(policy)),
            force_reload: u8::from(force_reload),
            rollback,
        },
    )
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
