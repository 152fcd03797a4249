//! Cloud actions on the command line: the request becomes engine [`Options`] (the root password of
//! new servers from `SHARED_SECRET`, else generated once per plan in its secrets store), the engine
//! runs, and its report is printed: text output, or with `--json` the report (for `information`,
//! the per-node access details). Exit code 0 when the report is ok, 1 otherwise.

use cloud::Secret;
use engine::{self, Options, Progress};
use fittings::Plan;
use secrets::{self, Store};

use super::lock::{self, LockError, PlanLock};
use super::{Action, EXIT_FAILED, EXIT_OK, Request};

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

fn engine_action(action: Action) -> Option<engine::Action> {
    Some(match action {
        Action::Deploy => engine::Action::Deploy,
        Action::Dispose => engine::Action::Dispose,
        Action::Build => engine::Action::Build,
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
        Action::Secrets | Action::Validate => return None,
    })
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

/// Runs a cloud action through the engine and prints its outcome; returns the exit code.
pub fn run_cloud_action(plan: &Plan, request: &Request, quiet: bool) -> i32 {
    let Some(action) = engine_action(request.action) else {
        eprintln!("plumbery: '{}' does not use the cloud", request.action);
        return EXIT_FAILED;
    };
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
    let opts = Options {
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
    };
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
    let report = match runtime.block_on(engine::run(action, plan, &opts)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("plumbery: {e}");
            return EXIT_FAILED;
        }
    };
    print_report(&report, request);
    if report.ok { EXIT_OK } else { EXIT_FAILED }
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

fn print_report(report: &engine::Report, request: &Request) {
    if request.json {
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
        eprintln!("plumbery: '{}' failed", request.action);
    }
}
