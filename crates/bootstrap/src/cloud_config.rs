//! The supported subset of cloud-config, parsed from the node's (already token-expanded) YAML value.
//!
//! Parsing is lenient about shapes cloud-init accepts (strings or lists, `0644` or `"0644"`) and strict
//! about meaning: every key it does not support is named in a warning (an error in strict mode), never
//! silently ignored.

use base64::Engine as _;
use serde_yaml::Value;

/// Errors in a cloud-config document.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CloudConfigError {
    /// A key has a value of the wrong shape.
    #[error("cloud-config `{key}`: {problem}")]
    Invalid {
        /// Dotted path of the key, e.g. `write_files[2].permissions`.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
    /// Strict mode: keys this interpreter does not support.
    #[error("cloud-config keys not supported: {}", .0.join(", "))]
    Unsupported(Vec<String>),
}

/// A command of `runcmd` or `bootcmd`.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// A string: shell code, run as written.
    Shell(String),
    /// A list: one program and its arguments, each quoted.
    Argv(Vec<String>),
}

/// An entry of `apt_sources`.
#[derive(Debug, Clone, PartialEq)]
pub enum AptSource {
    /// `ppa:owner/name`.
    Ppa(String),
    /// A `deb ...` line (may contain `$RELEASE`), written to `filename` (a `.list` file name).
    Deb {
        /// The sources line.
        line: String,
        /// File name under `/etc/apt/sources.list.d/`.
        filename: String,
    },
}

/// One `apt_sources` entry with its optional ASCII-armoured signing key.
#[derive(Debug, Clone, PartialEq)]
pub struct AptEntry {
    /// The source.
    pub source: AptSource,
    /// ASCII-armoured key, installed under `/etc/apt/trusted.gpg.d/`.
    pub key: Option<String>,
}

/// How `write_files` content is encoded in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Plain text.
    Text,
    /// Base64 text.
    Base64,
    /// Gzip data, given as base64 (YAML `!!binary` or `gz+base64`).
    GzipBase64,
}

/// An entry of `write_files`.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteFile {
    /// Absolute path on the node.
    pub path: String,
    /// Content as base64 of the bytes to decode on the node (gunzipped there when `gzip`).
    pub content_b64: String,
    /// Whether the decoded bytes are gzip data to be decompressed on the node.
    pub gzip: bool,
    /// Octal mode as `stat -c %a` prints it, e.g. `644`; `None`: 644 for a new file, and an
    /// `append` to an existing file keeps its mode.
    pub permissions: Option<String>,
    /// `user:group`; `None`: `root:root` for a new file, and an `append` keeps the owner.
    pub owner: Option<String>,
    /// Append the lines that are missing instead of replacing the file.
    pub append: bool,
}

/// An entry of `users` (with `default` resolved to the default user by the renderer).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Sudo rules (`ALL=(ALL) NOPASSWD:ALL`); empty for none.
    pub sudo: Vec<String>,
    /// Supplementary groups, created when missing.
    pub groups: Vec<String>,
    /// Login shell; `None` keeps the system default.
    pub shell: Option<String>,
    /// Lock the password (default true, as cloud-init).
    pub lock_passwd: bool,
    /// Public keys for `~/.ssh/authorized_keys`.
    pub authorized_keys: Vec<String>,
    /// This entry is `default`: the distribution's default user.
    pub is_default: bool,
}

/// One host key pair from `ssh_keys`.
#[derive(Debug, Clone, PartialEq)]
pub struct HostKey {
    /// Key type: `rsa`, `dsa`, `ecdsa` or `ed25519`.
    pub kind: String,
    /// Private key (PEM/OpenSSH text).
    pub private: Option<String>,
    /// Public key (OpenSSH one-line).
    pub public: Option<String>,
}

/// `ntp:` settings (served by chrony).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ntp {
    /// `enabled: false` turns clock sync off.
    pub enabled: bool,
    /// Servers (`server X iburst`).
    pub servers: Vec<String>,
    /// Pools (`pool X iburst`).
    pub pools: Vec<String>,
}

/// `power_state`: reboot, power off or halt the node once its configuration is done.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerState {
    /// `reboot`, `poweroff` or `halt`.
    pub mode: String,
    /// Minutes to wait (cloud-init's `now` or `+N`); at least one, so that the bootstrap's own
    /// steps (hardening, checks) end first.
    pub delay_minutes: u32,
    /// Message broadcast to logged-in users.
    pub message: Option<String>,
    /// Shell condition: only when it succeeds (`None`: always).
    pub condition: Option<String>,
}

/// One password of `chpasswd` (or the top-level `password`).
#[derive(Debug, Clone, PartialEq)]
pub struct Password {
    /// User name (`default`: the default user, resolved by the renderer).
    pub user: String,
    /// The password, clear or already hashed (`$6$...`).
    pub password: String,
    /// Whether `password` is a crypt hash.
    pub hashed: bool,
}

/// `chpasswd`: passwords to set once per distinct list.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chpasswd {
    /// The passwords.
    pub entries: Vec<Password>,
    /// Expire them, so that each user must choose a new one at the first login (cloud-init's
    /// default: true).
    pub expire: bool,
}

/// The supported subset of a cloud-config document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CloudConfig {
    /// `package_update`.
    pub package_update: bool,
    /// `package_upgrade`.
    pub package_upgrade: bool,
    /// `packages`, as `name` or `name=version`.
    pub packages: Vec<String>,
    /// `apt_sources`.
    pub apt_sources: Vec<AptEntry>,
    /// `write_files`.
    pub write_files: Vec<WriteFile>,
    /// `runcmd`: run once per distinct list (re-run when the list changes).
    pub runcmd: Vec<Command>,
    /// `bootcmd`: run on every bootstrap, first.
    pub bootcmd: Vec<Command>,
    /// `users`.
    pub users: Vec<User>,
    /// `ssh_keys` (host keys).
    pub ssh_keys: Vec<HostKey>,
    /// `ssh_authorized_keys`, for the default user.
    pub ssh_authorized_keys: Vec<String>,
    /// `disable_root` (None: not said; hardening forbids root logins by default).
    pub disable_root: Option<bool>,
    /// `ssh_pwauth` (None: not said; hardening forbids password logins by default).
    pub ssh_pwauth: Option<bool>,
    /// `hostname`.
    pub hostname: Option<String>,
    /// `timezone`, e.g. `Europe/Paris`.
    pub timezone: Option<String>,
    /// `ntp`.
    pub ntp: Option<Ntp>,
    /// `final_message`.
    pub final_message: Option<String>,
    /// `power_state`.
    pub power_state: Option<PowerState>,
    /// `chpasswd` and the top-level `password` (for the default user).
    pub chpasswd: Option<Chpasswd>,
    /// Warnings: keys that are not supported, and similar notes.
    pub warnings: Vec<String>,
}

type R<T> = Result<T, CloudConfigError>;

fn invalid(key: &str, problem: impl Into<String>) -> CloudConfigError {
    CloudConfigError::Invalid {
        key: key.to_string(),
        problem: problem.into(),
    }
}

/// The text of a scalar (strings, numbers, booleans); `None` for other shapes.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Tagged(t) => scalar(&t.value),
        _ => None,
    }
}

fn string(key: &str, v: &Value) -> R<String> {
    scalar(v).ok_or_else(|| invalid(key, "expected a string"))
}

fn boolean(key: &str, v: &Value) -> R<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(true),
            "false" | "no" | "off" | "0" => Ok(false),
            _ => Err(invalid(key, format!("expected true or false, got {s:?}"))),
        },
        _ => Err(invalid(key, "expected true or false")),
    }
}

/// A string or a list of strings (`groups: a, b` or `groups: [a, b]`); strings are split on `sep`.
fn strings(key: &str, v: &Value, sep: Option<char>) -> R<Vec<String>> {
    match v {
        Value::Null => Ok(vec![]),
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, it)| string(&format!("{key}[{i}]"), it))
            .collect(),
        other => {
            let s = string(key, other)?;
            Ok(match sep {
                Some(c) => s
                    .split(c)
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect(),
                None => vec![s],
            })
        }
    }
}

fn mapping<'a>(key: &str, v: &'a Value) -> R<&'a serde_yaml::Mapping> {
    v.as_mapping()
        .ok_or_else(|| invalid(key, "expected a mapping"))
}

/// Lines of public keys: one key may be given per item, or several separated by newlines; blank
/// items (e.g. an empty `{{ rsa_public.local }}`) are dropped.
fn key_lines(keys: Vec<String>) -> Vec<String> {
    keys.iter()
        .flat_map(|k| {
            k.lines()
                .map(str::trim)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|k| !k.is_empty())
        .collect()
}

fn commands(key: &str, v: &Value) -> R<Vec<Command>> {
    let items = match v {
        Value::Null => return Ok(vec![]),
        Value::Sequence(items) => items,
        _ => return Err(invalid(key, "expected a list of commands")),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, it)| match it {
            Value::Sequence(_) => Ok(Command::Argv(strings(&format!("{key}[{i}]"), it, None)?)),
            other => Ok(Command::Shell(string(&format!("{key}[{i}]"), other)?)),
        })
        .collect()
}

/// `"0644"`, `0644`, `644` or `0o644` to `644`. A YAML 1.2 parser reads `0644` as the decimal
/// 644 and `0o644` as 420: integers whose digits are all octal are taken as written, others are
/// converted to octal.
fn permissions(key: &str, v: &Value) -> R<String> {
    let raw = match v {
        Value::Number(n) => match n.as_u64() {
            Some(i) if !i.to_string().chars().all(|c| ('0'..='7').contains(&c)) => format!("{i:o}"),
            _ => n.to_string(),
        },
        other => string(key, other)?,
    };
    let digits = raw.trim().trim_start_matches("0o").trim_start_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    if digits.len() > 4 || !digits.chars().all(|c| ('0'..='7').contains(&c)) {
        return Err(invalid(key, format!("{raw:?} is not an octal file mode")));
    }
    Ok(digits.to_string())
}

/// A name usable for a user or group: safe in regexes and on command lines.
fn check_name(key: &str, name: &str) -> R<()> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            key,
            format!("{name:?} is not a valid user or group name"),
        ))
    }
}

fn no_newline(key: &str, s: &str) -> R<()> {
    if s.contains('\n') || s.contains('\0') {
        Err(invalid(key, "must be a single line"))
    } else {
        Ok(())
    }
}

impl CloudConfig {
    /// Parses the supported keys of `doc` (a mapping, or null for none). Unsupported keys are
    /// listed in `warnings`; with `strict` they are an error instead.
    pub fn parse(doc: &Value, strict: bool) -> Result<CloudConfig, CloudConfigError> {
        let mut cfg = CloudConfig::default();
        let map = match doc {
            Value::Null => return Ok(cfg),
            Value::Mapping(m) => m,
            _ => return Err(invalid("cloud-config", "expected a mapping of keys")),
        };
        let mut unsupported = Vec::new();
        for (k, v) in map {
            let key = scalar(k).unwrap_or_else(|| format!("{k:?}"));
            match key.as_str() {
                "package_update" | "apt_update" => cfg.package_update = boolean(&key, v)?,
                "package_upgrade" | "apt_upgrade" => cfg.package_upgrade = boolean(&key, v)?,
                "packages" => cfg.packages = packages(v)?,
                "apt_sources" => cfg.apt_sources = apt_sources(v, &mut unsupported)?,
                "write_files" => cfg.write_files = write_files(v, &mut unsupported)?,
                "runcmd" => cfg.runcmd = commands(&key, v)?,
                "bootcmd" => cfg.bootcmd = commands(&key, v)?,
                "users" => cfg.users = users(v, &mut unsupported)?,
                "ssh_keys" => cfg.ssh_keys = ssh_keys(v)?,
                "ssh_authorized_keys" => {
                    cfg.ssh_authorized_keys = key_lines(strings(&key, v, None)?)
                }
                "disable_root" => cfg.disable_root = Some(boolean(&key, v)?),
                "ssh_pwauth" => cfg.ssh_pwauth = Some(boolean(&key, v)?),
                "hostname" => {
                    let h = string(&key, v)?;
                    let ok = !h.is_empty()
                        && h.len() <= 253
                        && h.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
                    if !ok {
                        return Err(invalid(&key, format!("{h:?} is not a valid host name")));
                    }
                    cfg.hostname = Some(h);
                }
                "timezone" => {
                    let tz = string(&key, v)?;
                    let ok = !tz.is_empty()
                        && !tz.contains("..")
                        && !tz.starts_with('/')
                        && tz
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c));
                    if !ok {
                        return Err(invalid(&key, format!("{tz:?} is not a time zone name")));
                    }
                    cfg.timezone = Some(tz);
                }
                "ntp" => cfg.ntp = Some(ntp(v, &mut unsupported)?),
                "final_message" => cfg.final_message = Some(string(&key, v)?),
                "power_state" => cfg.power_state = Some(power_state(v, &mut unsupported)?),
                "chpasswd" => {
                    let c = chpasswd(v, &mut unsupported)?;
                    let mut cur = cfg.chpasswd.take().unwrap_or(Chpasswd {
                        expire: true,
                        ..Chpasswd::default()
                    });
                    cur.entries.extend(c.entries);
                    cur.expire = c.expire;
                    cfg.chpasswd = Some(cur);
                }
                "password" => {
                    let pw = string(&key, v)?;
                    no_newline(&key, &pw)?;
                    let cur = cfg.chpasswd.get_or_insert(Chpasswd {
                        expire: true,
                        ..Chpasswd::default()
                    });
                    cur.entries.insert(0, password_entry("default", pw));
                }
                _ => unsupported.push(key),
            }
        }
        if !unsupported.is_empty() {
            if strict {
                return Err(CloudConfigError::Unsupported(unsupported));
            }
            cfg.warnings.extend(
                unsupported
                    .into_iter()
                    .map(|k| format!("cloud-config key `{k}` is not supported and was ignored")),
            );
        }
        Ok(cfg)
    }
}

fn packages(v: &Value) -> R<Vec<String>> {
    let items = match v {
        Value::Null => return Ok(vec![]),
        Value::Sequence(items) => items,
        _ => return Err(invalid("packages", "expected a list")),
    };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let key = format!("packages[{i}]");
        let p = match it {
            Value::Sequence(pair) if pair.len() == 2 => {
                format!("{}={}", string(&key, &pair[0])?, string(&key, &pair[1])?)
            }
            other => string(&key, other)?,
        };
        let ok = !p.is_empty()
            && !p.starts_with('-')
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.:=~_".contains(c));
        if !ok {
            return Err(invalid(&key, format!("{p:?} is not a package name")));
        }
        out.push(p);
    }
    Ok(out)
}

fn apt_sources(v: &Value, unsupported: &mut Vec<String>) -> R<Vec<AptEntry>> {
    let items = match v {
        Value::Null => return Ok(vec![]),
        Value::Sequence(items) => items,
        _ => return Err(invalid("apt_sources", "expected a list")),
    };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let key = format!("apt_sources[{i}]");
        let (source, filename, akey) = match it {
            Value::Mapping(m) => {
                let mut source = None;
                let mut filename = None;
                let mut akey = None;
                for (k, v) in m {
                    let sk = scalar(k).unwrap_or_default();
                    match sk.as_str() {
                        "source" => source = Some(string(&format!("{key}.source"), v)?),
                        "filename" => filename = Some(string(&format!("{key}.filename"), v)?),
                        "key" => akey = Some(string(&format!("{key}.key"), v)?),
                        _ => unsupported.push(format!("{key}.{sk}")),
                    }
                }
                (
                    source.ok_or_else(|| invalid(&key, "`source` is missing"))?,
                    filename,
                    akey,
                )
            }
            other => (string(&key, other)?, None, None),
        };
        no_newline(&key, &source)?;
        let source = source.trim().to_string();
        let src = if let Some(ppa) = source.strip_prefix("ppa:") {
            let ok = ppa.split('/').count() == 2
                && ppa
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/-._+".contains(c));
            if !ok {
                return Err(invalid(&key, format!("{source:?} is not a ppa:owner/name")));
            }
            AptSource::Ppa(ppa.to_string())
        } else if source.starts_with("deb ") || source.starts_with("deb-src ") {
            let filename = filename.unwrap_or_else(|| format!("plumbery-{i}.list"));
            let ok = !filename.is_empty()
                && !filename.contains('/')
                && !filename.starts_with('.')
                && filename
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
            if !ok {
                return Err(invalid(
                    &format!("{key}.filename"),
                    format!("{filename:?} is not a file name"),
                ));
            }
            let filename = if filename.ends_with(".list") {
                filename
            } else {
                format!("{filename}.list")
            };
            AptSource::Deb {
                line: source,
                filename,
            }
        } else {
            return Err(invalid(
                &key,
                format!("{source:?} is neither ppa:owner/name nor a deb line"),
            ));
        };
        out.push(AptEntry {
            source: src,
            key: akey,
        });
    }
    Ok(out)
}

fn write_files(v: &Value, unsupported: &mut Vec<String>) -> R<Vec<WriteFile>> {
    let items = match v {
        Value::Null => return Ok(vec![]),
        Value::Sequence(items) => items,
        _ => return Err(invalid("write_files", "expected a list")),
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let key = format!("write_files[{i}]");
        let m = mapping(&key, it)?;
        let mut path = None;
        let mut content: Option<&Value> = None;
        let mut encoding = None;
        let mut perms = None;
        let mut owner: Option<String> = None;
        let mut append = false;
        for (k, v) in m {
            let sk = scalar(k).unwrap_or_default();
            let kk = format!("{key}.{sk}");
            match sk.as_str() {
                "path" => path = Some(string(&kk, v)?),
                "content" => content = Some(v),
                "encoding" => encoding = Some(string(&kk, v)?),
                "permissions" => perms = Some(permissions(&kk, v)?),
                "owner" => owner = Some(string(&kk, v)?),
                "append" => append = boolean(&kk, v)?,
                _ => unsupported.push(kk),
            }
        }
        let path = path.ok_or_else(|| invalid(&key, "`path` is missing"))?;
        if !path.starts_with('/') || path.contains('\n') || path.split('/').any(|p| p == "..") {
            return Err(invalid(
                &format!("{key}.path"),
                format!("{path:?} is not an absolute path"),
            ));
        }
        let ok_owner = owner.as_deref().is_none_or(|owner| {
            let mut parts = owner.splitn(2, ':');
            let u = parts.next().unwrap_or_default();
            let g = parts.next().unwrap_or(u);
            check_name("owner", u).is_ok() && check_name("owner", g).is_ok()
        });
        if !ok_owner {
            return Err(invalid(
                &format!("{key}.owner"),
                format!("{owner:?} is not user:group"),
            ));
        }
        let text = match content {
            None | Some(Value::Null) => String::new(),
            Some(v) => string(&format!("{key}.content"), v)?,
        };
        // The YAML loader drops `!!binary` tags and keeps their base64 text, so gzip content is
        // always base64 text here.
        let enc = match encoding.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("text/plain") => Encoding::Text,
            Some("b64") | Some("base64") => Encoding::Base64,
            Some("gz") | Some("gzip") | Some("gz+base64") | Some("gzip+base64")
            | Some("gz+b64") | Some("gzip+b64") => Encoding::GzipBase64,
            Some(other) => {
                return Err(invalid(
                    &format!("{key}.encoding"),
                    format!("unknown encoding {other:?}"),
                ));
            }
        };
        let content_b64 = match enc {
            Encoding::Text => b64.encode(text.as_bytes()),
            Encoding::Base64 | Encoding::GzipBase64 => {
                let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                let bytes = b64.decode(compact.as_bytes()).map_err(|e| {
                    invalid(&format!("{key}.content"), format!("not valid base64: {e}"))
                })?;
                b64.encode(bytes)
            }
        };
        out.push(WriteFile {
            path,
            content_b64,
            gzip: enc == Encoding::GzipBase64,
            permissions: perms,
            owner,
            append,
        });
    }
    Ok(out)
}

fn users(v: &Value, unsupported: &mut Vec<String>) -> R<Vec<User>> {
    let items = match v {
        Value::Null => return Ok(vec![]),
        Value::Sequence(items) => items,
        _ => return Err(invalid("users", "expected a list")),
    };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let key = format!("users[{i}]");
        if let Some(s) = scalar(it) {
            if s == "default" {
                out.push(User {
                    is_default: true,
                    lock_passwd: true,
                    ..User::default()
                });
                continue;
            }
            check_name(&key, &s)?;
            out.push(User {
                name: s,
                lock_passwd: true,
                ..User::default()
            });
            continue;
        }
        let m = mapping(&key, it)?;
        let mut u = User {
            lock_passwd: true,
            ..User::default()
        };
        for (k, v) in m {
            let sk = scalar(k).unwrap_or_default();
            let kk = format!("{key}.{sk}");
            match sk.as_str() {
                "name" => u.name = string(&kk, v)?,
                "sudo" => {
                    u.sudo = match v {
                        Value::Bool(false) | Value::Null => vec![],
                        _ => strings(&kk, v, None)?,
                    };
                    for r in &u.sudo {
                        no_newline(&kk, r)?;
                    }
                }
                "groups" => u.groups = strings(&kk, v, Some(','))?,
                "shell" => {
                    let s = string(&kk, v)?;
                    if !s.starts_with('/') || s.contains(char::is_whitespace) {
                        return Err(invalid(&kk, format!("{s:?} is not a shell path")));
                    }
                    u.shell = Some(s);
                }
                "lock_passwd" | "lock-passwd" => u.lock_passwd = boolean(&kk, v)?,
                "ssh-authorized-keys" | "ssh_authorized_keys" => {
                    u.authorized_keys = key_lines(strings(&kk, v, None)?)
                }
                _ => unsupported.push(kk),
            }
        }
        check_name(&format!("{key}.name"), &u.name)?;
        for g in &u.groups {
            check_name(&format!("{key}.groups"), g)?;
        }
        out.push(u);
    }
    Ok(out)
}

fn ssh_keys(v: &Value) -> R<Vec<HostKey>> {
    let m = match v {
        Value::Null => return Ok(vec![]),
        other => mapping("ssh_keys", other)?,
    };
    let mut out: Vec<HostKey> = Vec::new();
    for (k, v) in m {
        let sk = scalar(k).unwrap_or_default();
        let kk = format!("ssh_keys.{sk}");
        let (kind, part) = sk
            .rsplit_once('_')
            .filter(|(kind, part)| {
                ["rsa", "dsa", "ecdsa", "ed25519"].contains(kind)
                    && ["private", "public"].contains(part)
            })
            .ok_or_else(|| invalid(&kk, "expected <rsa|dsa|ecdsa|ed25519>_<private|public>"))?;
        let text = string(&kk, v)?.trim().to_string();
        if text.is_empty() {
            continue;
        }
        let idx = match out.iter().position(|h| h.kind == kind) {
            Some(i) => i,
            None => {
                out.push(HostKey {
                    kind: kind.to_string(),
                    private: None,
                    public: None,
                });
                out.len() - 1
            }
        };
        if part == "private" {
            out[idx].private = Some(format!("{text}\n"));
        } else {
            no_newline(&kk, &text)?;
            out[idx].public = Some(text);
        }
    }
    Ok(out)
}

fn ntp(v: &Value, unsupported: &mut Vec<String>) -> R<Ntp> {
    let mut n = Ntp {
        enabled: true,
        ..Ntp::default()
    };
    let m = match v {
        Value::Null => return Ok(n),
        other => mapping("ntp", other)?,
    };
    for (k, v) in m {
        let sk = scalar(k).unwrap_or_default();
        let kk = format!("ntp.{sk}");
        match sk.as_str() {
            "enabled" => n.enabled = boolean(&kk, v)?,
            "servers" => n.servers = strings(&kk, v, None)?,
            "pools" => n.pools = strings(&kk, v, None)?,
            _ => unsupported.push(kk),
        }
    }
    for s in n.servers.iter().chain(&n.pools) {
        let ok = !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
        if !ok {
            return Err(invalid(
                "ntp",
                format!("{s:?} is not a host name or address"),
            ));
        }
    }
    Ok(n)
}

fn power_state(v: &Value, unsupported: &mut Vec<String>) -> R<PowerState> {
    let m = mapping("power_state", v)?;
    let mut p = PowerState {
        mode: String::new(),
        delay_minutes: 1,
        message: None,
        condition: None,
    };
    for (k, v) in m {
        let sk = scalar(k).unwrap_or_default();
        let kk = format!("power_state.{sk}");
        match sk.as_str() {
            "mode" => p.mode = string(&kk, v)?,
            "delay" => {
                let d = string(&kk, v)?;
                let d = d.trim();
                p.delay_minutes = if d == "now" {
                    1
                } else {
                    d.trim_start_matches('+')
                        .parse::<u32>()
                        .map_err(|_| invalid(&kk, format!("{d:?} is not 'now' or '+MINUTES'")))?
                        .max(1)
                };
            }
            "message" => {
                let m = string(&kk, v)?;
                no_newline(&kk, &m)?;
                p.message = Some(m);
            }
            "condition" => {
                p.condition = match v {
                    Value::Bool(true) => None,
                    Value::Bool(false) => Some("false".into()),
                    Value::Sequence(_) => Some(crate::shell::quote_words(&strings(&kk, v, None)?)),
                    other => Some(string(&kk, other)?),
                }
            }
            // how long cloud-init waits for its own processes: nothing of ours runs then
            "timeout" => {}
            _ => unsupported.push(kk),
        }
    }
    if !["reboot", "poweroff", "halt"].contains(&p.mode.as_str()) {
        return Err(invalid(
            "power_state.mode",
            format!("{:?} is not reboot, poweroff or halt", p.mode),
        ));
    }
    Ok(p)
}

fn password_entry(user: &str, password: String) -> Password {
    // crypt(3) hashes as chpasswd -e takes them: $id$salt$hash
    let hashed = password.starts_with('$') && password.matches('$').count() >= 3;
    Password {
        user: user.to_string(),
        password,
        hashed,
    }
}

/// `chpasswd: {list: "user:password" lines or a list, users: [{name, password, type}], expire}`.
fn chpasswd(v: &Value, unsupported: &mut Vec<String>) -> R<Chpasswd> {
    let m = mapping("chpasswd", v)?;
    let mut c = Chpasswd {
        expire: true,
        ..Chpasswd::default()
    };
    for (k, v) in m {
        let sk = scalar(k).unwrap_or_default();
        let kk = format!("chpasswd.{sk}");
        match sk.as_str() {
            "expire" => c.expire = boolean(&kk, v)?,
            "list" => {
                let lines: Vec<String> = match v {
                    Value::Sequence(_) => strings(&kk, v, None)?,
                    other => string(&kk, other)?.lines().map(str::to_string).collect(),
                };
                for l in lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
                    let (user, pw) = l
                        .split_once(':')
                        .ok_or_else(|| invalid(&kk, "each entry is user:password"))?;
                    c.entries.push(password_entry(user.trim(), pw.to_string()));
                }
            }
            "users" => {
                let Value::Sequence(items) = v else {
                    return Err(invalid(&kk, "expected a list of {name, password, type}"));
                };
                for (i, it) in items.iter().enumerate() {
                    let ik = format!("{kk}[{i}]");
                    let um = mapping(&ik, it)?;
                    let get = |f: &str| um.get(f).map(|v| string(&format!("{ik}.{f}"), v));
                    let name = get("name").ok_or_else(|| invalid(&ik, "`name` is missing"))??;
                    let pw =
                        get("password").ok_or_else(|| invalid(&ik, "`password` is missing"))??;
                    let kind = get("type").transpose()?.unwrap_or_else(|| "hash".into());
                    let mut e = password_entry(&name, pw);
                    e.hashed = kind == "hash" && e.hashed;
                    if kind == "RANDOM" || e.password == "RANDOM" || e.password == "R" {
                        return Err(invalid(
                            &ik,
                            "RANDOM passwords are not supported: give the password",
                        ));
                    }
                    c.entries.push(e);
                }
            }
            _ => unsupported.push(kk),
        }
    }
    for e in &c.entries {
        if e.user != "default" {
            check_name("chpasswd", &e.user)?;
        }
        no_newline("chpasswd", &e.password)?;
        if e.password == "RANDOM" || e.password == "R" {
            return Err(invalid(
                "chpasswd",
                "RANDOM passwords are not supported: give the password",
            ));
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str, strict: bool) -> Result<CloudConfig, CloudConfigError> {
        CloudConfig::parse(&serde_yaml::from_str(yaml).unwrap(), strict)
    }

    #[test]
    fn unsupported_keys_warn_or_fail_in_strict_mode() {
        let c = parse("runcmd: [ls]\nphone_home: {url: x}\nmounts: []\n", false).unwrap();
        assert_eq!(c.warnings.len(), 2);
        assert!(c.warnings[0].contains("`phone_home`"));
        let e = parse(
            "phone_home: {url: x}\nwrite_files: [{path: /x, defer: true}]\n",
            true,
        )
        .unwrap_err();
        assert_eq!(
            e,
            CloudConfigError::Unsupported(vec!["phone_home".into(), "write_files[0].defer".into()])
        );
    }

    #[test]
    fn power_state_and_passwords_are_read() {
        let c = parse(
            "power_state: {mode: reboot, delay: '+5', message: bye, condition: true, timeout: 30}\nchpasswd:\n  list: |\n    root:Secr3t-pw\n    ubuntu:$6$salt$hash\n  expire: false\npassword: Def-pw1\n",
            true,
        )
        .unwrap();
        let p = c.power_state.unwrap();
        assert_eq!((p.mode.as_str(), p.delay_minutes), ("reboot", 5));
        assert_eq!(p.message.as_deref(), Some("bye"));
        assert_eq!(p.condition, None);
        let cp = c.chpasswd.unwrap();
        assert!(!cp.expire);
        let users: Vec<(&str, bool)> = cp
            .entries
            .iter()
            .map(|e| (e.user.as_str(), e.hashed))
            .collect();
        assert_eq!(
            users,
            [("default", false), ("root", false), ("ubuntu", true)]
        );
        let now = parse("power_state: {mode: poweroff, delay: now}\n", true).unwrap();
        assert_eq!(now.power_state.unwrap().delay_minutes, 1);
        assert!(parse("power_state: {mode: explode}\n", true).is_err());
        assert!(parse("chpasswd: {list: ['root:RANDOM']}\n", true).is_err());
        let users = parse(
            "chpasswd: {users: [{name: admin, password: 'x1-Y', type: text}]}\n",
            true,
        )
        .unwrap();
        let cp = users.chpasswd.unwrap();
        assert!(cp.expire, "cloud-init expires them by default");
        assert_eq!(cp.entries[0].user, "admin");
    }

    #[test]
    fn shapes_cloud_init_accepts() {
        let c = parse(
            r#"
package_update: true
package_upgrade: "no"
packages: [redis-server, [libc6, "2.36"]]
runcmd:
  - echo hi
  - [ls, -l, "a b"]
write_files:
  - {path: /a, permissions: 0644}
  - {path: /b, permissions: "0755", owner: "redis:redis"}
  - {path: /c, permissions: 0o600, encoding: base64, content: "aGk="}
users:
  - default
  - name: bob
    groups: "adm, sudo"
    sudo: false
    lock_passwd: false
ntp: {servers: [time.example.org], pools: [pool.ntp.org]}
hostname: redis01
timezone: UTC
final_message: bye
"#,
            true,
        )
        .unwrap();
        assert!(c.package_update && !c.package_upgrade);
        assert_eq!(c.packages, vec!["redis-server", "libc6=2.36"]);
        assert_eq!(
            c.runcmd[1],
            Command::Argv(vec!["ls".into(), "-l".into(), "a b".into()])
        );
        let perms: Vec<_> = c
            .write_files
            .iter()
            .map(|f| f.permissions.as_deref().unwrap_or("default"))
            .collect();
        assert_eq!(perms, vec!["644", "755", "600"]);
        assert_eq!(c.write_files[1].owner.as_deref(), Some("redis:redis"));
        assert_eq!(c.write_files[2].content_b64, "aGk=");
        assert!(c.users[0].is_default);
        assert_eq!(c.users[1].groups, vec!["adm", "sudo"]);
        assert!(c.users[1].sudo.is_empty() && !c.users[1].lock_passwd);
        assert_eq!(c.ntp.unwrap().pools, vec!["pool.ntp.org"]);
    }

    #[test]
    fn gzip_encodings_carry_base64_text() {
        let c = parse("write_files:\n  - path: /g\n    encoding: gzip\n    content: !!binary |\n      H4sIAAAAAAAAA8tIzcnJBwCGphA2BQAAAA==\n", true)
            .unwrap();
        assert!(c.write_files[0].gzip);
    }

    #[test]
    fn rejects_values_that_would_be_unsafe() {
        for bad in [
            "write_files: [{path: relative}]",
            "write_files: [{path: /a/../etc/shadow}]",
            "write_files: [{path: /a, permissions: '0999'}]",
            "write_files: [{path: /a, owner: 'root; rm -rf /'}]",
            "write_files: [{path: /a, encoding: b64, content: '***'}]",
            "users: [{name: 'bad name'}]",
            "packages: ['-oAPT::x']",
            "hostname: 'a b'",
            "timezone: ../../etc/passwd",
            "apt_sources: [{source: 'rm -rf /'}]",
            "ssh_keys: {rsa_secret: x}",
            "users: [{name: bob, sudo: \"ALL\\nroot ALL\"}]",
        ] {
            assert!(
                matches!(parse(bad, false), Err(CloudConfigError::Invalid { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_corpus_cloud_configs_parse() {
        let dir = concat!(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
            "/../shared/corpus/plumbery-contrib"
        );
        let mut seen = 0;
        let token = regex::Regex::new(r"\{\{[^}]*\}\}").unwrap();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            // Plans are not token-expanded here: every token becomes a plain word.
            let raw = std::fs::read_to_string(&path).unwrap();
            let text = token.replace_all(&raw, "token");
            for doc in serde_yaml::Deserializer::from_str(&text) {
                let Ok(v) = <serde_yaml::Value as serde::Deserialize>::deserialize(doc) else {
                    continue;
                };
                visit(&v, &mut |cc| {
                    seen += 1;
                    if let Err(e) = CloudConfig::parse(cc, false) {
                        panic!("{}: {e}", path.display());
                    }
                });
            }
        }
        assert!(seen > 50, "only {seen} cloud-config sections found");
    }

    fn visit(v: &Value, f: &mut dyn FnMut(&Value)) {
        match v {
            Value::Mapping(m) => {
                for (k, v) in m {
                    if k.as_str() == Some("cloud-config") && v.is_mapping() {
                        f(v);
                    } else {
                        visit(v, f);
                    }
                }
            }
            Value::Sequence(s) => s.iter().for_each(|x| visit(x, f)),
            _ => {}
        }
    }
}
