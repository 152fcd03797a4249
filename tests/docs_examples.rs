//! The examples of the documentation are run, so they cannot go stale.
//!
//! `docs/fittings.md` marks its examples with fence info strings (described at the top of that page):
//!
//! - ```` ```yaml plan [ARGS...] ````: a complete plan; `plumbery plan.yaml validate --json ARGS` must exit 0.
//!   A following ```` ```json expect ```` block must match the output: objects may hold more keys than
//!   expected, lists must have exactly the expected items, scalars must be equal.
//! - ```` ```yaml error [ARGS...] ````: a plan that must be refused with exit 2; every line of the following
//!   ```` ```text expect ```` block must appear in standard error.
//! - ```` ```yaml file NAME ````: saved as NAME next to every example plan.
//! - ```` ```text rules ````: firewall rule names (`glue NODE PORT -> NAME`, `accept SRC DST -> NAME`,
//!   `owns NODE RULE -> yes|no`), checked against fittings' naming rules.
//!
//! Each example runs in its own directory (`plan.yaml` is a relative path there, so messages read
//! `plan.yaml:LINE:COLUMN` as on the page) with its own state directory. `docs/emulator.md`'s command
//! line flags are checked against the emulator's `--help`.

use std::path::Path;

use assert_cmd::Command;
use fittings::{
    NetworkRef, accept_rule_name, firewall_rule_name, parse_firewall_port, rule_belongs_to_node,
};
use serde_json::Value;

const FITTINGS_DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/fittings.md");
const EMULATOR_DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/emulator.md");

/// A fenced block: its info string, its text and the line of its opening fence.
struct Block {
    info: String,
    text: String,
    line: usize,
}

/// Every fenced block of a markdown text (fences of three backticks at the start of a line).
fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in markdown.lines().enumerate() {
        match open.take() {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    open = Some(Block {
                        info: info.trim().to_string(),
                        text: String::new(),
                        line: i + 1,
                    });
                }
            }
            Some(mut b) => {
                if line.trim_end() == "```" {
                    out.push(b);
                } else {
                    b.text.push_str(line);
                    b.text.push('\n');
                    open = Some(b);
                }
            }
        }
    }
    assert!(open.is_none(), "an unclosed fence in the documentation");
    out
}

/// An example plan of the page.
struct Example {
    line: usize,
    must_fail: bool,
    args: Vec<String>,
    plan: String,
    expect: Option<String>,
}

/// Whether `actual` holds everything `expected` says (see the module comment).
fn matches(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                let Some(av) = a.get(k) else {
                    return Err(format!("{path}.{k}: missing"));
                };
                matches(v, av, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!(
                    "{path}: {} items expected, {} found: {}",
                    e.len(),
                    a.len(),
                    serde_json::to_string(a).unwrap()
                ));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                matches(ev, av, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: expected {e}, found {a}")),
    }
}

/// Runs one example; returns what went wrong.
fn run(example: &Example, files: &[(String, String)]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    std::fs::write(dir.path().join("plan.yaml"), &example.plan).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plumbery"));
    cmd.current_dir(dir.path())
        .arg("plan.yaml")
        .arg("validate")
        .args(&example.args)
        .env("PLUMBERY_STATE_DIR", dir.path().join("state"))
        .env("HOME", dir.path())
        .env_remove("SHARED_KEY");
    if !example.must_fail {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let want = if example.must_fail { 2 } else { 0 };
    if out.status.code() != Some(want) {
        return Err(format!(
            "exit {:?} instead of {want}\n  stderr: {stderr}",
            out.status.code()
        ));
    }
    let Some(expect) = &example.expect else {
        return Ok(());
    };
    if example.must_fail {
        for line in expect.lines().filter(|l| !l.trim().is_empty()) {
            if !stderr.contains(line.trim_end()) {
                return Err(format!("no '{line}' in standard error:\n  {stderr}"));
            }
        }
        return Ok(());
    }
    let expected: Value = serde_json::from_str(expect)
        .map_err(|e| format!("the json expect block is not JSON: {e}"))?;
    let actual: Value = serde_json::from_str(&stdout)
        .map_err(|e| format!("the output is not JSON ({e}): {stdout}"))?;
    matches(&expected, &actual, "$")
}

/// Checks one line of a `rules` block.
fn check_rule(line: &str) -> Result<(), String> {
    let (left, want) = line
        .split_once(" -> ")
        .ok_or("a rules line is 'WHAT ARGS -> RESULT'")?;
    let words: Vec<&str> = left.split_whitespace().collect();
    let net = |s: &str| NetworkRef::parse(s).ok_or(format!("'{s}' is not a network name"));
    let got = match words.as_slice() {
        ["glue", node, port] => firewall_rule_name(node, &parse_firewall_port(port)?),
        ["accept", src, dst] => {
            accept_rule_name(&net(src)?, &net(dst)?, want.ends_with(".IPv6.plumbery"))
        }
        ["owns", node, rule] => if rule_belongs_to_node(rule, node) {
            "yes"
        } else {
            "no"
        }
        .to_string(),
        _ => return Err(format!("unknown rules line '{line}'")),
    };
    if got == want.trim() {
        Ok(())
    } else {
        Err(format!("'{left}' gives '{got}', the page says '{want}'"))
    }
}

#[test]
fn fittings_doc_examples_run() {
    let doc = std::fs::read_to_string(FITTINGS_DOC).unwrap();
    let all = blocks(&doc);
    let mut examples: Vec<Example> = Vec::new();
    let mut files = Vec::new();
    let mut rules = 0;
    let mut failures = Vec::new();
    for (i, b) in all.iter().enumerate() {
        let words: Vec<&str> = b.info.split_whitespace().collect();
        match words.as_slice() {
            ["yaml", kind @ ("plan" | "error"), args @ ..] => {
                let expect = all
                    .get(i + 1)
                    .filter(|n| n.info == "json expect" || n.info == "text expect")
                    .map(|n| n.text.clone());
                examples.push(Example {
                    line: b.line,
                    must_fail: *kind == "error",
                    args: args.iter().map(|a| a.to_string()).collect(),
                    plan: b.text.clone(),
                    expect,
                });
            }
            ["yaml", "file", name] => files.push((name.to_string(), b.text.clone())),
            ["text", "rules"] => {
                for line in b.text.lines().filter(|l| !l.trim().is_empty()) {
                    rules += 1;
                    if let Err(e) = check_rule(line) {
                        failures.push(format!("docs/fittings.md:{}: {e}", b.line));
                    }
                }
            }
            ["json", "expect"] | ["text", "expect"] => {
                let after_example = i > 0
                    && all[i - 1].info.split_whitespace().nth(1).is_some_and(|k| {
                        (k == "plan" && b.info == "json expect")
                            || (k == "error" && b.info == "text expect")
                    });
                if !after_example {
                    failures.push(format!(
                        "docs/fittings.md:{}: an expect block must follow its example",
                        b.line
                    ));
                }
            }
            _ => {}
        }
    }
    let plans = examples.iter().filter(|e| !e.must_fail).count();
    let errors = examples.len() - plans;
    assert!(
        plans >= 12 && errors >= 10 && rules >= 6,
        "too few examples found: {plans} plans, {errors} errors, {rules} rules"
    );
    assert!(
        examples.iter().filter(|e| e.expect.is_some()).count() >= 20,
        "most examples state their outcome"
    );
    for e in &examples {
        if let Err(msg) = run(e, &files) {
            failures.push(format!("docs/fittings.md:{}: {msg}", e.line));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn emulator_doc_flags_exist() {
    let doc = std::fs::read_to_string(EMULATOR_DOC).unwrap();
    let section = doc
        .split("## Command line")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("docs/emulator.md has a 'Command line' section");
    let mut help = String::new();
    for sub in ["serve", "start", "stop", "status"] {
        assert!(
            section.contains(&format!("plumbery emulator {sub}")),
            "the doc shows '{sub}'"
        );
        let out = Command::new(env!("CARGO_BIN_EXE_plumbery"))
            .args(["emulator", sub, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success(), "plumbery emulator {sub} --help");
        help.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    let flags: Vec<&str> = section
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .collect();
    assert!(flags.len() >= 8, "flags found in the doc: {flags:?}");
    let missing: Vec<&&str> = flags
        .iter()
        .filter(|f| {
            !help
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .any(|w| w == **f)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/emulator.md names flags the emulator does not have: {missing:?}"
    );
    assert!(Path::new(EMULATOR_DOC).is_file());
}
