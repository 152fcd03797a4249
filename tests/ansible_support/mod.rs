//! Ansible on plumbery's INI inventory, for the tests: the file read the way Ansible's INI inventory
//! plugin reads it (sections, `shlex` host lines, values as Python literals, group names Ansible
//! accepts), Ansible's own `ansible-inventory` and `ansible` when they are installed (CI installs
//! ansible-core with pip in `scripts/test.sh`), and a login to every host with the inventory's own
//! settings.

#![allow(dead_code)] // each test binary uses a part of these helpers

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// An inventory as Ansible's INI plugin understands it.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Host variables by host.
    pub hosts: BTreeMap<String, BTreeMap<String, String>>,
    /// Hosts by group.
    pub groups: BTreeMap<String, Vec<String>>,
    /// `[all:vars]`.
    pub all_vars: BTreeMap<String, String>,
}

/// POSIX `shlex.split`: words, single and double quotes, backslash escapes.
pub fn shlex_split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err(format!("no closing quotation in {line}")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => cur.push(chars.next().ok_or("escape at end")?),
                        Some(x) => cur.push(x),
                        None => return Err(format!("no closing quotation in {line}")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.push(chars.next().ok_or("escape at end")?);
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Ansible's `_parse_value`: a quoted Python string literal is unquoted, anything else is kept.
fn literal(v: &str) -> String {
    let v = v.trim();
    for q in ['\'', '"'] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            let mut out = String::new();
            let mut chars = v[1..v.len() - 1].chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                } else {
                    out.push(c);
                }
            }
            return out;
        }
    }
    v.to_string()
}

/// Group names Ansible takes without transforming them (`TRANSFORM_INVALID_GROUP_CHARS`).
pub fn valid_group(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reads an INI inventory as Ansible does; an error where Ansible would stop or warn.
pub fn parse_ini(text: &str) -> Result<Inventory, String> {
    let mut inv = Inventory::default();
    let mut section = ("ungrouped".to_string(), "hosts".to_string());
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(head) = line.strip_prefix('[') {
            let head = head
                .strip_suffix(']')
                .ok_or(format!("line {}: bad section {line}", i + 1))?;
            let (group, kind) = head.split_once(':').unwrap_or((head, "hosts"));
            if !valid_group(group) {
                return Err(format!("line {}: group name '{group}' is not valid", i + 1));
            }
            section = (group.to_string(), kind.to_string());
            continue;
        }
        match section.1.as_str() {
            "hosts" => {
                let words = shlex_split(line)?;
                let host = words[0].clone();
                let vars = inv.hosts.entry(host.clone()).or_default();
                for w in &words[1..] {
                    let (k, v) = w
                        .split_once('=')
                        .ok_or(format!("line {}: expected key=value, got {w}", i + 1))?;
                    vars.insert(k.to_string(), literal(v));
                }
                inv.groups.entry(section.0.clone()).or_default().push(host);
            }
            "vars" if section.0 == "all" => {
                let (k, v) = line
                    .split_once('=')
                    .ok_or(format!("line {}: expected key=value", i + 1))?;
                inv.all_vars.insert(k.trim().to_string(), literal(v));
            }
            other => return Err(format!("line {}: section kind {other} not expected", i + 1)),
        }
    }
    Ok(inv)
}

/// An Ansible program on the PATH (or in `ANSIBLE_BIN_DIR`), or `None` with a message saying what
/// is done without it (`instead`).
pub fn ansible_program(name: &str, instead: &str) -> Option<PathBuf> {
    let dirs = std::env::var_os("ANSIBLE_BIN_DIR")
        .into_iter()
        .chain(std::env::var_os("PATH"))
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
    for d in dirs {
        let p = d.join(name);
        if p.is_file() {
            return Some(p);
        }
    }
    eprintln!("{name} is not installed (pip install ansible-core): {instead}");
    None
}

/// `ansible-inventory -i file --list` as JSON, when installed.
pub fn ansible_inventory_list(file: &Path, home: &Path) -> Option<serde_json::Value> {
    let prog = ansible_program(
        "ansible-inventory",
        "the inventory is only read the way its INI plugin reads it",
    )?;
    let out = Command::new(prog)
        .args(["-i"])
        .arg(file)
        .arg("--list")
        .env("HOME", home)
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
        .env("ANSIBLE_INVENTORY_ENABLED", "ini")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ansible-inventory: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("WARNING"),
        "ansible-inventory warned: {stderr}"
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// Every host of the inventory answers: `ansible all -m ping` when Ansible is installed, else an
/// ssh login per host with exactly the inventory's settings (user, key, ssh arguments, address).
pub fn every_host_answers(file: &Path, home: &Path) {
    let inv = parse_ini(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert!(!inv.hosts.is_empty());
    if let Some(prog) = ansible_program("ansible", "each host is reached by ssh with its settings")
    {
        let out = Command::new(prog)
            .args(["all", "-o", "-m", "ping", "-i"])
            .arg(file)
            .env("HOME", home)
            .env("ANSIBLE_INVENTORY_ENABLED", "ini")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "ansible ping: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for h in inv.hosts.keys() {
            assert!(text.contains(&format!("{h} | SUCCESS")), "{h}: {text}");
        }
        return;
    }
    let v = &inv.all_vars;
    for (host, vars) in &inv.hosts {
        let out = Command::new("ssh")
            .args(shlex_split(&v["ansible_ssh_common_args"]).unwrap())
            .args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-i"])
            .arg(&v["ansible_ssh_private_key_file"])
            .arg(format!("{}@{}", v["ansible_user"], vars["ansible_host"]))
            .arg("true")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ssh to {host}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
