//! The original's polishers on the command line: which engine runs an action is made of (`build`
//! then the plan's `buildPolisher:`, `polish`/`finalize`/`finalise` = every polisher declared under
//! `actions:`), and the settings a declared polisher brings (`output:` writes its text to a file,
//! `key:` adds an SSH key to the ones `prepare` authorises).

use std::path::{Path, PathBuf};

use fittings::{ActionSpec, Plan};

use super::Action;

/// One engine run of a command line action.
#[derive(Debug, Clone, PartialEq)]
pub struct Run<'a> {
    /// What the engine does.
    pub action: engine::Action,
    /// The polisher or action name, for messages.
    pub name: String,
    /// The polisher's settings declared under `actions:`, if any.
    pub spec: Option<&'a ActionSpec>,
}

/// The engine action of a command line action (`None` for those that do not use the cloud).
pub fn engine_action(action: Action) -> Option<engine::Action> {
    Some(match action {
        Action::Deploy => engine::Action::Deploy,
        Action::Dispose => engine::Action::Dispose,
        Action::Build => engine::Action::Build,
        Action::Configure => engine::Action::Configure,
        Action::Start => engine::Action::Start,
        Action::Stop => engine::Action::Stop,
        Action::Prepare => engine::Action::Prepare,
        Action::Information => engine::Action::Information,
        Action::Inventory => engine::Action::Inventory,
        Action::Ansible => engine::Action::Ansible,
        Action::Ping => engine::Action::Ping,
        Action::Destroy => engine::Action::Destroy,
        Action::Wipe => engine::Action::Wipe,
        Action::Refresh => engine::Action::Refresh,
        Action::Secrets | Action::Validate | Action::Finalize => return None,
    })
}

/// The polisher named `name` as declared under `actions:` (the first one, names case-insensitive).
pub fn declared<'a>(plan: &'a Plan, name: &str) -> Option<&'a ActionSpec> {
    plan.settings
        .actions
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

fn polisher_run<'a>(
    plan: &'a Plan,
    name: &str,
    spec: Option<&'a ActionSpec>,
) -> Result<Run<'a>, String> {
    let action = Action::polisher(name).and_then(engine_action).ok_or_else(|| {
        format!(
            "unable to do '{name}': it is not a polisher (use configure, prepare, information, inventory, ansible or ping)"
        )
    })?;
    Ok(Run {
        action,
        name: name.to_ascii_lowercase(),
        spec: spec.or_else(|| declared(plan, name)),
    })
}

/// The engine runs of `action`, in order. An empty list: nothing to do (`polish` with no polisher
/// declared). An error names a declared polisher the original does not ship.
pub fn runs(action: Action, plan: &Plan) -> Result<Vec<Run<'_>>, String> {
    match action {
        Action::Finalize => plan
            .settings
            .actions
            .iter()
            .map(|spec| polisher_run(plan, &spec.name, Some(spec)))
            .collect(),
        Action::Build => {
            let mut out = vec![Run {
                action: engine::Action::Build,
                name: "build".into(),
                spec: None,
            }];
            let after = plan.settings.build_polisher.trim();
            // build already does all that configure did; another polisher runs after it
            if !after.is_empty() && !after.eq_ignore_ascii_case("configure") {
                out.push(polisher_run(plan, after, None)?);
            }
            Ok(out)
        }
        other => {
            let Some(engine) = engine_action(other) else {
                return Ok(Vec::new());
            };
            Ok(vec![Run {
                action: engine,
                name: other.name().to_string(),
                spec: declared(plan, other.name()),
            }])
        }
    }
}

/// A text setting of a declared polisher (`output`, `key`).
fn setting<'a>(spec: Option<&'a ActionSpec>, key: &str) -> Option<&'a str> {
    spec?
        .settings
        .get(key)
        .and_then(|v| v.as_str())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The `output:` file of a declared polisher, relative to the working directory (as the original).
pub fn output_path(spec: Option<&ActionSpec>) -> Option<PathBuf> {
    setting(spec, "output").map(expand_home)
}

/// The `key:` of a declared `prepare`: an SSH key file (its `.pub` is read when the private key is
/// named). Returns the public key line to authorise on the nodes.
pub fn key_setting(spec: Option<&ActionSpec>) -> Result<Option<String>, String> {
    let Some(path) = setting(spec, "key").map(expand_home) else {
        return Ok(None);
    };
    let public = if path.extension().is_some_and(|x| x == "pub") {
        path.clone()
    } else {
        let mut p = path.clone().into_os_string();
        p.push(".pub");
        PathBuf::from(p)
    };
    let text = std::fs::read_to_string(&public).map_err(|e| {
        format!(
            "the 'key: {}' of prepare under 'actions:' cannot be read as {}: {e}",
            path.display(),
            public.display()
        )
    })?;
    let line = text.trim();
    if line.is_empty() || line.contains('\n') || !line.contains(' ') {
        return Err(format!(
            "{} is not an SSH public key (one line such as 'ssh-ed25519 AAAA... me@host')",
            public.display()
        ));
    }
    Ok(Some(line.to_string()))
}

fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// The report the original's prepare wrote to its `output:` file: per node its status and what was
/// done (`{node: {status, prepares}}`), here with the changes, warnings and error of the bootstrap.
pub fn prepare_report(report: &engine::Report) -> String {
    let mut doc = serde_json::Map::new();
    for o in report.locations.iter().flat_map(|l| &l.bootstrap) {
        let status = serde_json::to_value(o.status).unwrap_or_default();
        let mut entry = serde_json::json!({
            "status": status,
            "changes": o.changes,
            "log": o.log.display().to_string(),
        });
        if !o.warnings.is_empty() {
            entry["warnings"] = serde_json::json!(o.warnings);
        }
        if let Some(e) = &o.error {
            entry["error"] = serde_json::json!(e);
        }
        doc.insert(o.name.clone(), entry);
    }
    let value = serde_json::Value::Object(doc);
    // YAML, as the original wrote it; JSON is valid YAML 1.2 and needs no other crate here
    format!(
        "{}\n",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    )
}

/// Writes a polisher's text to its `output:` file (mode 0600: information may carry secrets meant
/// for the user).
pub fn write_output(path: &Path, text: &str) -> Result<(), String> {
    secrets::write_atomic(path, text.as_bytes(), 0o600)
        .map_err(|e| format!("cannot write {}: {}", path.display(), e.source))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> Plan {
        fittings::load_text("p.yaml", text, &fittings::Parameters::new())
            .unwrap()
            .0
    }

    const BODY: &str = "---\nlocationId: EU6\nblueprints:\n  - web:\n      domain: {name: D}\n      ethernet: {name: v, subnet: 10.0.0.0}\n      nodes:\n        - web01:\n";

    #[test]
    fn polish_runs_the_declared_polishers_in_order() {
        let p = plan(&format!(
            "actions:\n  - ansible: {{output: inv.ini}}\n  - information\n{BODY}"
        ));
        let r = runs(Action::Finalize, &p).unwrap();
        let names: Vec<&str> = r.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["ansible", "information"]);
        assert_eq!(output_path(r[0].spec), Some(PathBuf::from("inv.ini")));
        assert_eq!(output_path(r[1].spec), None);
        // a polisher run by name takes the settings declared for it
        let a = runs(Action::Ansible, &p).unwrap();
        assert_eq!(output_path(a[0].spec), Some(PathBuf::from("inv.ini")));
        assert!(
            runs(
                Action::Finalize,
                &plan(&format!("information: [x]\n{BODY}"))
            )
            .unwrap()
            .is_empty()
        );
    }

    #[test]
    fn build_runs_its_build_polisher_and_unknown_polishers_are_named() {
        let p = plan(&format!("buildPolisher: inventory\n{BODY}"));
        let r = runs(Action::Build, &p).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].action, engine::Action::Inventory);
        let p = plan(&format!("information: [x]\n{BODY}"));
        assert_eq!(runs(Action::Build, &p).unwrap().len(), 1);
        let bad = plan(&format!("actions:\n  - reap\n{BODY}"));
        assert!(runs(Action::Finalize, &bad).unwrap_err().contains("'reap'"));
    }

    #[test]
    fn the_prepare_report_names_each_node_with_its_status() {
        let outcome = |name: &str, status, error: Option<&str>| bootstrap::NodeOutcome {
            name: name.into(),
            status,
            ssh_user: "ubuntu".into(),
            ssh_key: "/k".into(),
            log: format!("/logs/{name}.log").into(),
            changes: 3,
            hardened: true,
            warnings: vec![],
            error: error.map(Into::into),
            duration: std::time::Duration::from_secs(1),
        };
        let report = engine::Report {
            action: engine::Action::Prepare,
            safe: false,
            ok: false,
            elapsed_ms: 1,
            requests: 1,
            locations: vec![engine::LocationReport {
                location_id: "NA12".into(),
                endpoint: "http://x".into(),
                phases: vec![],
                nodes: vec![],
                notes: vec![],
                bootstrap: vec![
                    outcome("web01", bootstrap::NodeStatus::Completed, None),
                    outcome(
                        "web02",
                        bootstrap::NodeStatus::Unreachable,
                        Some("no answer"),
                    ),
                ],
                checks: vec![],
                access: vec![],
                redis: vec![],
                listeners: vec![],
                errors: vec![],
            }],
            output: None,
        };
        let doc: serde_yaml::Value = serde_yaml::from_str(&prepare_report(&report)).unwrap();
        assert_eq!(doc["web01"]["status"], "completed");
        assert_eq!(doc["web01"]["changes"], 3);
        assert_eq!(doc["web02"]["status"], "unreachable");
        assert_eq!(doc["web02"]["error"], "no answer");
    }

    #[test]
    fn prepare_key_reads_the_public_half() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("id_test");
        std::fs::write(key.with_extension("pub"), "ssh-ed25519 AAAAC3 me@host\n").unwrap();
        let spec = ActionSpec {
            name: "prepare".into(),
            settings: serde_yaml::from_str(&format!("key: {}", key.display())).unwrap(),
        };
        assert_eq!(
            key_setting(Some(&spec)).unwrap().as_deref(),
            Some("ssh-ed25519 AAAAC3 me@host")
        );
        let missing = ActionSpec {
            name: "prepare".into(),
            settings: serde_yaml::from_str("key: /nonexistent/k").unwrap(),
        };
        assert!(
            key_setting(Some(&missing))
                .unwrap_err()
                .contains("/nonexistent/k.pub")
        );
    }
}
