//! The `plumbery` command line, through the real binary: options, actions, exit codes, JSON output,
//! parameters, stdin, warnings and the per-plan secrets store.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn ours() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fittings/redis-cluster.yaml"
    ))
}

/// The binary with its own state directory.
fn plumbery(state: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plumbery"));
    cmd.env("PLUMBERY_STATE_DIR", state).env_remove("RUST_LOG");
    cmd
}

#[test]
fn version_help_and_usage_errors() {
    let state = tempfile::tempdir().unwrap();
    plumbery(state.path())
        .arg("-v")
        .assert()
        .code(0)
        .stdout("plumbery 0.1.0\n");
    plumbery(state.path())
        .arg("--help")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("ACTIONS: deploy"));
    plumbery(state.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("required arguments"));
    plumbery(state.path())
        .args([ours().to_str().unwrap(), "validate", "-d", "-q"])
        .assert()
        .code(2);
    plumbery(state.path())
        .args([ours().to_str().unwrap(), "validate", "--bogus"])
        .assert()
        .code(2);
    plumbery(state.path())
        .args([ours().to_str().unwrap(), "validate", "@"])
        .assert()
        .code(2)
        .stderr("plumbery: missing location after '@': write @EU6 for example\n");
    plumbery(state.path())
        .args([ours().to_str().unwrap(), "graph"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "plumbery: unknown action 'graph': use one of deploy, dispose",
        ));
    plumbery(state.path())
        .args(["/nonexistent/plan.yaml", "validate"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "plumbery: /nonexistent/plan.yaml: cannot read the plan",
        ));
}

#[test]
fn validate_json_has_the_documented_shape() {
    let state = tempfile::tempdir().unwrap();
    let out = plumbery(state.path())
        .args([ours().to_str().unwrap(), "validate", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let loc = &doc["locations"][0];
    assert_eq!(
        (loc["locationId"].as_str(), loc["regionId"].as_str()),
        (Some("NA12"), Some("dd-na"))
    );
    let bp = &loc["blueprints"][0];
    assert_eq!(bp["name"], "redis");
    assert_eq!(
        (
            bp["domain"]["name"].as_str(),
            bp["domain"]["service"].as_str()
        ),
        (Some("RedisFox"), Some("essentials"))
    );
    assert_eq!(
        (
            bp["ethernet"]["name"].as_str(),
            bp["ethernet"]["subnet"].as_str()
        ),
        (Some("RedisNetwork"), Some("192.168.20.0/24"))
    );
    let node = &bp["nodes"][0];
    assert_eq!(node["name"], "redis01");
    assert_eq!(node["appliance"], "Ubuntu 22");
    assert_eq!(
        (node["cpu"].as_u64(), node["memory"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(node["monitoring"], "essentials");
    assert_eq!(node["glue"], serde_json::json!(["internet 22"]));
    assert_eq!(bp["nodes"].as_array().unwrap().len(), 4);
    assert_eq!(doc["warnings"], serde_json::json!([]));
}

#[test]
fn cloud_actions_need_credentials_and_change_nothing_without_them() {
    let state = tempfile::tempdir().unwrap();
    let plan = ours();
    let plan = plan.to_str().unwrap();
    for action in [
        "deploy",
        "dispose",
        "build",
        "start",
        "stop",
        "prepare",
        "configure",
        "information",
        "inventory",
        "ansible",
        "ping",
        "destroy",
        "wipe",
        "refresh",
    ] {
        plumbery(state.path())
            .env_remove("MCP_USERNAME")
            .env_remove("MCP_PASSWORD")
            .env_remove("MCP_ENDPOINT")
            .args([plan, action])
            .assert()
            .code(1)
            .stdout("")
            .stderr(predicate::str::contains(
                "set MCP_USERNAME and MCP_PASSWORD",
            ));
    }
    // polish runs the plan's actions: polishers; this plan declares none, so the cloud is not asked
    plumbery(state.path())
        .env_remove("MCP_USERNAME")
        .env_remove("MCP_PASSWORD")
        .env_remove("MCP_ENDPOINT")
        .args([plan, "polish"])
        .assert()
        .code(0)
        .stdout("Nothing to polish: the plan declares no polisher under 'actions:'\n");
    plumbery(state.path())
        .env_remove("MCP_USERNAME")
        .env_remove("MCP_PASSWORD")
        .args(["-s", plan, "deploy"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "Safe mode: nothing is changed. 'deploy' would take these steps:\n",
        ));
}

#[test]
fn targets_select_blueprints_and_locations() {
    let state = tempfile::tempdir().unwrap();
    let plan = ours();
    let plan = plan.to_str().unwrap();
    plumbery(state.path())
        .args([plan, "validate", "redis", "@NA12"])
        .assert()
        .code(0);
    plumbery(state.path())
        .args([plan, "validate", "web"])
        .assert()
        .code(2)
        .stderr("plumbery: no blueprint 'web' in this plan (blueprints: redis)\n");
    plumbery(state.path())
        .args([plan, "validate", "@EU6"])
        .assert()
        .code(2)
        .stderr("plumbery: no location 'EU6' in this plan (locations: NA12)\n");
}

#[test]
fn parameters_from_the_command_line_and_files_later_wins() {
    let state = tempfile::tempdir().unwrap();
    let params = state.path().join("params.yaml");
    std::fs::write(&params, "locationId: EU8\ndomainName: FromFile\n").unwrap();
    let json = |args: &[&str]| -> serde_json::Value {
        let out = plumbery(state.path()).args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let plan = ours();
    let plan = plan.to_str().unwrap();
    let params = params.to_str().unwrap();
    let doc = json(&[plan, "validate", "--json", "-p", "locationId=EU6"]);
    assert_eq!(doc["locations"][0]["locationId"], "EU6");
    assert_eq!(doc["locations"][0]["regionId"], "dd-eu");
    let doc = json(&[
        plan,
        "validate",
        "--json",
        "-p",
        "locationId=EU6",
        "-p",
        params,
    ]);
    assert_eq!(doc["locations"][0]["locationId"], "EU8");
    assert_eq!(
        doc["locations"][0]["blueprints"][0]["domain"]["name"],
        "FromFile"
    );
    let doc = json(&[
        plan,
        "validate",
        "--json",
        "-p",
        params,
        "-p",
        "locationId=AU10",
    ]);
    assert_eq!(doc["locations"][0]["locationId"], "AU10");
    plumbery(state.path())
        .args([plan, "validate", "-p", "nosuchfile.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "plumbery: -p nosuchfile.yaml: not NAME=VALUE",
        ));
}

#[test]
fn plans_read_from_stdin() {
    let state = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(ours()).unwrap();
    plumbery(state.path())
        .args(["-", "validate"])
        .write_stdin(text)
        .assert()
        .code(0)
        .stdout(predicate::str::ends_with(
            "-: valid: 1 location(s), 4 node(s), 0 warning(s)\n",
        ));
}

#[test]
fn unknown_keys_warn_with_file_line_and_key() {
    let state = tempfile::tempdir().unwrap();
    let path = state.path().join("typo.yaml");
    std::fs::write(
        &path,
        "locationId: EU6\nblueprints:\n  - web:\n      domain: {name: D, colour: blue}\n      ethernet: {name: N, subnet: 10.0.0.0}\n      nodes:\n        - web01:\n            apliance: Ubuntu\n",
    )
    .unwrap();
    let p = path.to_str().unwrap();
    plumbery(state.path()).args([p, "validate"]).assert().code(0).stderr(format!(
        "{p}:4:25: warning: unknown key 'colour' in the domain of blueprint 'web' is ignored (known keys: name, description, service, ipv4)\n\
         {p}:8:13: warning: unknown key 'apliance' in node 'web01' is ignored; did you mean 'appliance'?\n"
    ));
}

#[test]
fn secrets_are_listed_per_plan_whatever_the_working_directory() {
    let state = tempfile::tempdir().unwrap();
    let plan_dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(plan_dir.path().join("sub")).unwrap();
    std::fs::copy(ours(), plan_dir.path().join("redis.yaml")).unwrap();
    plumbery(state.path())
        .current_dir(plan_dir.path())
        .args(["redis.yaml", "secrets"])
        .assert()
        .code(0)
        .stdout("Showing secrets\n- no secret found\n");
    let plans: Vec<PathBuf> = std::fs::read_dir(state.path().join("plans"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(plans.len(), 1);
    let store = secrets::Store::open_in(&plans[0]).unwrap();
    let password = store.get_or_generate("master.secret").unwrap();
    let out = plumbery(state.path())
        .current_dir(plan_dir.path().join("sub"))
        .args(["../redis.yaml", "secrets", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc, serde_json::json!({ "master.secret": password }));
    assert_eq!(
        std::fs::read_dir(state.path().join("plans"))
            .unwrap()
            .count(),
        1,
        "same plan, same store"
    );
    plumbery(state.path())
        .args([
            plan_dir.path().join("redis.yaml").to_str().unwrap(),
            "secrets",
        ])
        .assert()
        .code(0)
        .stdout(format!(
            "Showing secrets\n- master.secret: {password} (generated by plumbery)\n"
        ));
}

#[test]
fn a_class_warning_is_given_once_for_all_its_nodes() {
    let state = tempfile::tempdir().unwrap();
    let path = state.path().join("class.yaml");
    std::fs::write(
        &path,
        "---\ndefaults:\n  small:\n    cpu: 1\n    colour: red\n---\nlocationId: EU6\nblueprints:\n  - web:\n      domain: {name: D}\n      ethernet: {name: N, subnet: 10.0.0.0}\n      nodes:\n        - web[1..5]:\n            default: small\n",
    )
    .unwrap();
    let p = path.to_str().unwrap();
    plumbery(state.path()).args([p, "validate"]).assert().code(0).stderr(format!(
        "{p}:5:5: warning: unknown key 'colour' in node class 'small' is ignored (known keys: default, appliance, \
         cpu, memory, disks, glue, monitoring, backup, description, information, running, destroy, cloud-config, \
         prepare, windows)\n"
    ));
}
