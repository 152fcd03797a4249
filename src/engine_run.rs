//! Cloud actions on the command line: the request becomes engine [`Options`] (the root password of
//! new servers from `SHARED_SECRET`, else generated once per plan in its secrets store), the engine
//! runs, and its report is printed: text output, or with `--json` the report (for `information`,
//! the per-node access details). Exit code 0 when the report is ok, 1 otherwise.

use cloud::Secret;
use engine::{self, Options, Progress};
use fittings::Plan;
use secrets::{self, Store};

use std::path::Path;

use super::lock::{self, LockError, PlanLock};
use super::{Action, EXIT_FAILED, EXIT_OK, Request, polishers};

/// The root password of new servers: `SHARED_SECRET` when set, else the plan's generated
/// `admin.secret` (a random part plus one character of each class the real API asks for).
pub fn admin_password(store: &Store) -> Result<Secret, secrets::SecretsError> {
    if let Some(s) = secrets::shared_secret() {
        return Ok(Secret::new(s));
    }
    store
        .get_or_insert_with(engine::prepare::ADMIN_SECRET, || {
            Ok(format!("{}-Aa1", secrets::random_secret(16)))
        })
        .map(Secret::new)
}

/// The engine options of a request (the progress view, the admin password, the plan's key).
fn options(request: &Request, quiet: bool, admin_password: Secret) -> Options {
    Options {
        blueprints: request.blueprints.clone(),
        locations: request.locations.clone(),
        safe: request.safe,
        progress: if quiet {
            Progress::quiet()
        } else if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            crate::live::terminal()
        } else {
            Progress::stderr()
        },
        admin_password: Some(admin_password),
        plan_key: Some(request.plan_key.clone()),
        ..Options::default()
    }
}

/// The plan lock of a changing action (none for a read-only one or in safe mode): waits up to
/// `--lock-timeout` for another run of the plan on this machine, saying who it waits for.
fn plan_lock(request: &Request) -> Result<Option<PlanLock>, LockError> {
    if !request.action.changes() || request.safe {
        return Ok(None);
    }
    let timeout = request.lock_timeout;
    let dir = secrets::plan_state_dir(&request.plan_key);
    let lock = lock::acquire(&dir, request.action.name(), timeout, |holder| {
        eprintln!(
            "plumbery: waiting for another run of this plan to finish: {holder} (up to {} s, see --lock-timeout)",
            timeout.as_secs()
        );
    })?;
    if !lock.waited.is_zero() {
        eprintln!(
            "plumbery: plan lock taken after waiting {:.1} s",
            lock.waited.as_secs_f64()
        );
    }
    Ok(Some(lock))
}

/// Runs a cloud action through the engine (several runs for `polish` and for `build` with a
/// `buildPolisher:`) and prints each outcome; returns the exit code.
pub fn run_cloud_action(plan: &Plan, request: &Request, quiet: bool) -> i32 {
    let runs = match polishers::runs(request.action, plan) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("plumbery: {e}");
            return EXIT_FAILED;
        }
    };
    if runs.is_empty() {
        println!("Nothing to polish: the plan declares no polisher under 'actions:'");
        return EXIT_OK;
    }
    // Held until this function returns: the whole run of a changing action.
    let _lock = match plan_lock(request) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("plumbery: {e}");
            return EXIT_FAILED;
        }
    };
    let store = match Store::open(&request.plan_key) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("plumbery: {e}");
            return EXIT_FAILED;
        }
    };
    let admin_password = match admin_password(&store) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("plumbery: {e}");
            return EXIT_FAILED;
        }
    };
    drop(store);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("plumbery: cannot start the async runtime: {e}");
            return EXIT_FAILED;
        }
    };
    for run in &runs {
        // a progress view per run, gone (its bars finished) before the run's report is printed
        let mut opts = options(request, quiet, admin_password.clone());
        if run.action == engine::Action::Prepare || run.action == engine::Action::Deploy {
            let spec = run.spec.or_else(|| polishers::declared(plan, "prepare"));
            match polishers::key_setting(spec) {
                Ok(key) => opts.extra_public_keys.extend(key),
                Err(e) => {
                    eprintln!("plumbery: {e}");
                    return EXIT_FAILED;
                }
            }
        }
        let report = match runtime.block_on(engine::run(run.action, plan, &opts)) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("plumbery: {e}");
                return EXIT_FAILED;
            }
        };
        drop(opts);
        let output = polishers::output_path(run.spec);
        let written = print_report(&report, request, &run.name, output.as_deref());
        if !report.ok || !written {
            return EXIT_FAILED;
        }
    }
    EXIT_OK
}

/// The `information --json` document: per node its state, addresses and how to log in; the
/// (first) Redis cluster watched by Sentinel as the Sentinels see it now; per load balancer listener
/// its address and port.
#[derive(serde::Serialize)]
struct InformationJson<'a> {
    ok: bool,
    nodes: Vec<&'a engine::access::NodeAccess>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redis: Option<&'a engine::sentinel::RedisCluster>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    listeners: Vec<&'a engine::ListenerFacts>,
}

/// Writes to standard output; a closed pipe (`| head`) is not an error worth a panic.
fn emit(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Prints a report (its text to the `output:` file when the polisher declares one); false when
/// that file could not be written.
fn print_report(
    report: &engine::Report,
    request: &Request,
    name: &str,
    output: Option<&Path>,
) -> bool {
    let mut written = true;
    let prepared = (report.action == engine::Action::Prepare && output.is_some())
        .then(|| polishers::prepare_report(report));
    if let (Some(path), Some(text), false) = (
        output,
        prepared.as_ref().or(report.output.as_ref()),
        request.safe,
    ) {
        match polishers::write_output(path, text) {
            Ok(()) => eprintln!("plumbery: {name}: written to {}", path.display()),
            Err(e) => {
                eprintln!("plumbery: {name}: {e}");
                written = false;
            }
        }
    } else if request.json {
        let text = if request.action == Action::Information {
            serde_json::to_string_pretty(&InformationJson {
                ok: report.ok,
                nodes: report.locations.iter().flat_map(|l| &l.access).collect(),
                redis: report.locations.iter().flat_map(|l| &l.redis).next(),
                listeners: report.locations.iter().flat_map(|l| &l.listeners).collect(),
            })
        } else {
            serde_json::to_string_pretty(report)
        };
        let text = text.unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        emit(&format!("{text}\n"));
    } else if let Some(out) = &report.output {
        emit(out);
    }
    for l in &report.locations {
        for e in &l.errors {
            eprintln!("plumbery: {}: {e}", l.location_id);
        }
        for p in &l.phases {
            for s in p.steps.iter().filter(|s| s.error.is_some()) {
                eprintln!(
                    "plumbery: {}: {} {:?}: {}",
                    l.location_id,
                    s.description,
                    s.status,
                    s.error.as_deref().unwrap_or("")
                );
            }
        }
        for b in l.bootstrap.iter().filter(|b| b.error.is_some()) {
            eprintln!(
                "plumbery: {}: bootstrap of {} failed: {}",
                l.location_id,
                b.name,
                b.error.as_deref().unwrap_or("")
            );
        }
        for c in l.checks.iter().filter(|c| !c.ok) {
            eprintln!(
                "plumbery: {}: check {} on {} failed: {}",
                l.location_id, c.check, c.node, c.detail
            );
        }
    }
    if !report.ok {
        eprintln!("plumbery: '{name}' failed");
    }
    written
}
