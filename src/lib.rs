//! Command line: argument parsing (clap), output (human, `--json`), progress and exit codes.
//!
//! Exit codes: 0 success, 1 the action failed, 2 usage or input error (bad arguments, a plan that does
//! not load).

pub mod args;
pub mod completions;
pub mod emulator_cli;
pub mod engine_run;
pub mod live;
pub mod local;
pub mod lock;
pub mod output;
pub mod plan_source;
pub mod polishers;

use clap::Parser;
use clap::error::ErrorKind;

pub use args::{Action, Args, Cli, ColorChoice, Command, Request};

use fittings::{Parameters, Plan, PlanSource, Warning};

/// Exit code: success.
pub const EXIT_OK: i32 = 0;
/// Exit code: the action failed.
pub const EXIT_FAILED: i32 = 1;
/// Exit code: usage or input error.
pub const EXIT_USAGE: i32 = 2;

/// Whether messages on standard error are coloured, settled once from `--color` (see
/// [`ColorChoice::enabled`]).
static COLOUR: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Whether messages on standard error may carry colour (false until the command line is read).
pub fn colour() -> bool {
    COLOUR.get().copied().unwrap_or(false)
}

/// Runs the command line and returns the process exit code (0 ok, 1 action failed, 2 usage or input error).
pub fn main() -> i32 {
    run(std::env::args().collect())
}

/// Parses `argv` (program name first) with clap and runs what it asks for.
pub fn run(argv: Vec<String>) -> i32 {
    let argv = args::spread_parameters(argv);
    let cli = match Cli::try_parse_from(&argv) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => EXIT_OK,
                _ => EXIT_USAGE,
            };
        }
    };
    let _ = COLOUR.set(cli.color.enabled(
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
        std::env::var_os("NO_COLOR").as_deref(),
    ));
    match cli.command {
        Some(Command::NodeInit { args }) => nodes::init_main(&args),
        Some(Command::Emulator { cmd }) => {
            let rest: Vec<String> = argv
                .iter()
                .skip_while(|a| a.as_str() != "emulator")
                .skip(1)
                .cloned()
                .collect();
            emulator_cli::run(cmd, &rest)
        }
        Some(Command::Completions { shell }) => completions::print_completions(shell),
        Some(Command::Man) => completions::print_man(),
        None => run_plan(&cli.plan),
    }
}

/// Loads the plan and runs its action.
fn run_plan(args: &Args) -> i32 {
    init_logging(args);
    match prepare(args) {
        Ok((plan, warnings, request)) => dispatch(&plan, &warnings, &request, args),
        Err(message) => {
            eprintln!("plumbery: {message}");
            EXIT_USAGE
        }
    }
}

fn init_logging(args: &Args) {
    let level = if args.debug {
        tracing::Level::DEBUG
    } else if args.quiet {
        tracing::Level::WARN
    } else {
        tracing::Level::INFO
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(colour())
        .try_init();
}

/// Checks the arguments and loads the plan: every failure here is a usage or input error (exit 2).
fn prepare(args: &Args) -> Result<(Plan, Vec<Warning>, Request), String> {
    let (Some(fittings), Some(action_name)) = (&args.fittings, &args.action) else {
        return Err(
            "a plan and an action are needed: plumbery FITTINGS ACTION (see --help)".into(),
        );
    };
    let Some(action) = Action::parse(action_name) else {
        let names: Vec<&str> = Action::ALL.iter().map(|(n, _)| *n).collect();
        let note = if action_name.eq_ignore_ascii_case("graph") {
            " (the original plumbery did not implement 'graph' either; '-s deploy' shows the steps and what each waits for)"
        } else {
            ""
        };
        return Err(format!(
            "unknown action '{}': use one of {}{note}",
            action_name,
            names.join(", ")
        ));
    };
    let (blueprints, locations) = args::split_targets(&args.targets)?;
    let mut params = Parameters::new();
    for p in &args.parameters {
        fittings::add_cli_parameter(p, &mut params).map_err(|e| e.to_string())?;
    }
    let source = PlanSource::from_arg(fittings);
    let text = plan_source::read(&source).map_err(|e| e.to_string())?;
    let (plan, warnings) = plan_source::load(&text, &params).map_err(|e| e.to_string())?;
    let selected = plan.select(&blueprints, &locations)?;
    let request = Request {
        action,
        blueprints,
        locations,
        safe: args.safe || plan.settings.safe_mode,
        local: args.local,
        json: args.json,
        plan_key: text.key.clone(),
        lock_timeout: std::time::Duration::from_secs(args.lock_timeout),
    };
    Ok((
        Plan {
            origin: plan.origin.clone(),
            ..selected
        },
        warnings,
        request,
    ))
}

fn dispatch(plan: &Plan, warnings: &[Warning], request: &Request, args: &Args) -> i32 {
    output::print_warnings(warnings);
    if request.local
        && request.action.needs_cloud()
        && let Err(code) = setup_local(args)
    {
        return code;
    }
    if request.action != Action::Validate
        && let Err(message) = import_original_secrets(args, request)
    {
        eprintln!("plumbery: {message}");
        return EXIT_FAILED;
    }
    match request.action {
        Action::Validate => show_plan(plan, warnings, args, "valid"),
        Action::Secrets => show_secrets(request),
        _ => {
            if request.safe && !args.json {
                println!(
                    "Safe mode: nothing is changed. '{}' would take these steps:",
                    request.action
                );
            }
            engine_run::run_cloud_action(plan, request, args.quiet)
        }
    }
}

/// `--local`: prerequisites, the local emulator, and the client's environment (see `local`).
fn setup_local(args: &Args) -> Result<local::LocalEndpoint, i32> {
    if !args.time_scale.is_finite() || args.time_scale < 0.0 {
        eprintln!(
            "plumbery: --time-scale {} must be a non-negative number",
            args.time_scale
        );
        return Err(EXIT_USAGE);
    }
    let opts = local::LocalOptions {
        time_scale: args.time_scale,
        ..local::LocalOptions::default()
    };
    match local::ensure_local_emulator_with(&opts) {
        Ok(ep) => {
            tracing::info!(url = %ep.url, state_dir = %ep.state_dir.display(), started = ep.started, "local mode");
            Ok(ep)
        }
        Err(local::LocalError::Prereq(e)) => {
            eprintln!("plumbery: {e}");
            Err(EXIT_USAGE)
        }
        Err(e) => {
            eprintln!("plumbery: {e}");
            Err(EXIT_FAILED)
        }
    }
}

fn show_plan(plan: &Plan, warnings: &[Warning], args: &Args, verdict: &str) -> i32 {
    if args.json {
        let report = output::PlanReport { plan, warnings };
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("plumbery: cannot render the plan as JSON: {e}");
                return EXIT_FAILED;
            }
        }
    } else {
        print!("{}", output::human_plan(plan));
        let nodes: usize = plan
            .locations
            .iter()
            .flat_map(|l| &l.blueprints)
            .map(|b| b.nodes.len())
            .sum();
        println!(
            "{}: {verdict}: {} location(s), {nodes} node(s), {} warning(s)",
            plan.origin,
            plan.locations.len(),
            warnings.len()
        );
    }
    EXIT_OK
}

/// Imports, once, the original plumbery's `<md5 of the plan argument>.secrets` from the working
/// directory into the plan's store, so that a deployment the original made keeps its passwords and
/// keys; says so on standard error.
fn import_original_secrets(args: &Args, request: &Request) -> Result<(), String> {
    let Some(arg) = args.fittings.as_deref() else {
        return Ok(());
    };
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    if !cwd.join(secrets::legacy_file_name(arg)).exists() {
        return Ok(());
    }
    let store = secrets::Store::open(&request.plan_key).map_err(|e| e.to_string())?;
    let Some(done) = store.import_legacy(&cwd, arg).map_err(|e| e.to_string())? else {
        return Ok(());
    };
    eprintln!(
        "plumbery: imported {} secret(s) of the original plumbery from {} (its file for '{arg}'); they are kept in {} from now on",
        done.names.len(),
        done.path.display(),
        store.path().display()
    );
    if !done.kept.is_empty() {
        eprintln!(
            "plumbery: kept the value plumbery already had for: {}",
            done.kept.join(", ")
        );
    }
    Ok(())
}

fn show_secrets(request: &Request) -> i32 {
    let store = match secrets::Store::open(&request.plan_key) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("plumbery: {e}");
            return EXIT_FAILED;
        }
    };
    let list = store.list();
    if request.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_else(|_| "{}".into())
        );
    } else {
        println!("Showing secrets");
        if list.is_empty() {
            println!("- no secret found");
        }
        let origins = store.origins();
        for (name, value) in &list {
            let origin = origins.get(name).map_or(secrets::GENERATED, String::as_str);
            println!("- {name}: {value} ({origin})");
        }
    }
    EXIT_OK
}
