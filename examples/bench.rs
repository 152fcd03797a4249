//! Every benchmark of the project in one table: figure, value, target, met or not.
//!
//! `cargo run --release --example bench [-- --json] [--quick] [NAME...]` builds the other
//! `examples/bench_*.rs` (same profile), runs each with `--json` (see `bench_support`), and prints one
//! table, or one JSON document with `--json`. `--quick` asks each benchmark for a shorter run; NAMEs
//! (`engine`, `bench_nodes`...) select benchmarks. Benchmarks that need root report "skipped: needs
//! root" when run as another user. Exit status: 0 when every target is met and every benchmark ran.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{Value, json};

/// What one benchmark gave.
struct Run {
    name: String,
    figures: Vec<Value>,
    skipped: Option<String>,
    failure: Option<String>,
    seconds: f64,
}

/// The benchmark names, from the sources in `examples/` (so new ones join by themselves).
fn benchmarks(filters: &[String]) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let stem = name.strip_suffix(".rs")?;
                    stem.starts_with("bench_").then(|| stem.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names.retain(|n| {
        filters.is_empty()
            || filters
                .iter()
                .any(|f| n == f || n.strip_prefix("bench_") == Some(f.as_str()))
    });
    names
}

/// Builds the benchmarks with the profile of this executable, and the `plumbery` binary
/// (`bench_engine` measures its memory).
fn build(names: &[String]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--quiet")
        .args(["--bin", "plumbery"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    for n in names {
        cmd.args(["--example", n]);
    }
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo build failed ({status})"))
    }
}

/// Runs one benchmark with `--json`; its human report goes to `log`.
fn run(exe_dir: &Path, name: &str, quick: bool, log: &Path) -> Run {
    let t0 = Instant::now();
    let mut run = Run {
        name: name.to_string(),
        figures: Vec::new(),
        skipped: None,
        failure: None,
        seconds: 0.0,
    };
    let mut cmd = Command::new(exe_dir.join(name));
    cmd.arg("--json")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    if quick {
        cmd.arg("--quick");
    }
    match std::fs::File::create(log) {
        Ok(f) => {
            cmd.stderr(f);
        }
        Err(_) => {
            cmd.stderr(Stdio::null());
        }
    }
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => {
            run.failure = Some(format!("cannot start: {e}"));
            return run;
        }
    };
    run.seconds = t0.elapsed().as_secs_f64();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if let Some(reason) = v["skipped"].as_str() {
            run.skipped = Some(reason.to_string());
        } else if v["figure"].is_string() {
            run.figures.push(v);
        }
    }
    if !out.status.success() && run.skipped.is_none() {
        run.failure = Some(format!(
            "exited with {} (log: {})",
            out.status,
            log.display()
        ));
    } else if run.figures.is_empty() && run.skipped.is_none() {
        run.failure = Some(format!("reported no figure (log: {})", log.display()));
    }
    run
}

/// A value as a person reads it: integers without decimals, others with three significant places.
fn show(value: f64, unit: &str) -> String {
    let number = if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else if value.abs() >= 1.0 {
        format!("{value:.3}")
    } else {
        format!("{value:.4}")
    };
    if unit.is_empty() {
        number
    } else {
        format!("{number} {unit}")
    }
}

fn table(runs: &[Run]) -> String {
    let mut rows: Vec<[String; 4]> = vec![[
        "figure".into(),
        "value".into(),
        "target".into(),
        "met".into(),
    ]];
    for r in runs {
        for f in &r.figures {
            let unit = f["unit"].as_str().unwrap_or("");
            let target = match f["target"].as_str() {
                Some(t) if unit.is_empty() => t.to_string(),
                Some(t) => format!("{t} {unit}"),
                None => "-".into(),
            };
            let met = match f["met"].as_bool() {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            };
            rows.push([
                f["figure"].as_str().unwrap_or("?").to_string(),
                show(f["value"].as_f64().unwrap_or(f64::NAN), unit),
                target,
                met.into(),
            ]);
        }
        if let Some(reason) = &r.skipped {
            rows.push([
                r.name.clone(),
                format!("skipped: {reason}"),
                "-".into(),
                "-".into(),
            ]);
        }
        if let Some(why) = &r.failure {
            rows.push([
                r.name.clone(),
                format!("FAILED: {why}"),
                "-".into(),
                "NO".into(),
            ]);
        }
    }
    let widths: Vec<usize> = (0..4)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        let line = format!(
            "| {:<w0$} | {:>w1$} | {:<w2$} | {:<w3$} |\n",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
        out.push_str(&line);
        if i == 0 {
            out.push_str(&format!(
                "|{}|{}|{}|{}|\n",
                "-".repeat(widths[0] + 2),
                "-".repeat(widths[1] + 1) + ":",
                "-".repeat(widths[2] + 2),
                "-".repeat(widths[3] + 2)
            ));
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let as_json = args.iter().any(|a| a == "--json");
    let quick = args.iter().any(|a| a == "--quick");
    let filters: Vec<String> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .cloned()
        .collect();
    let names = benchmarks(&filters);
    if names.is_empty() {
        eprintln!("bench: no benchmark matches {filters:?}");
        std::process::exit(2);
    }
    if cfg!(debug_assertions) {
        eprintln!("bench: a debug build; run with --release for figures worth comparing");
    }
    eprintln!("bench: building {} benchmark(s)...", names.len());
    if let Err(e) = build(&names) {
        eprintln!("bench: {e}");
        std::process::exit(2);
    }
    let exe_dir: PathBuf = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .expect("the directory of this executable");
    let logs = tempfile::Builder::new()
        .prefix("plumbery-bench")
        .tempdir()
        .expect("a temp dir for the logs")
        .keep();
    let started = chrono::Utc::now();
    let mut runs = Vec::new();
    for name in &names {
        eprint!("bench: {name} ... ");
        let r = run(&exe_dir, name, quick, &logs.join(format!("{name}.log")));
        match (&r.skipped, &r.failure) {
            (Some(reason), _) => eprintln!("skipped: {reason}"),
            (None, Some(why)) => eprintln!("FAILED: {why}"),
            (None, None) => eprintln!("{} figure(s) in {:.1} s", r.figures.len(), r.seconds),
        }
        runs.push(r);
    }
    let figures: Vec<&Value> = runs.iter().flat_map(|r| &r.figures).collect();
    let missed = figures.iter().filter(|f| f["met"] == false).count();
    let failed: Vec<&Run> = runs.iter().filter(|r| r.failure.is_some()).collect();
    let ok = missed == 0 && failed.is_empty();
    if as_json {
        let doc = json!({
            "date": started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
            "quick": quick,
            "figures": figures,
            "skipped": runs.iter().filter_map(|r| r.skipped.as_ref().map(|s| json!({"bench": r.name, "reason": s}))).collect::<Vec<_>>(),
            "failed": failed.iter().map(|r| json!({"bench": r.name, "reason": r.failure})).collect::<Vec<_>>(),
            "ok": ok,
        });
        println!("{}", serde_json::to_string_pretty(&doc).expect("JSON"));
    } else {
        println!(
            "Benchmarks of {} ({} build{}), human reports in {}\n",
            started.format("%Y-%m-%d %H:%M UTC"),
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            if quick { ", quick" } else { "" },
            logs.display()
        );
        print!("{}", table(&runs));
        let with_target = figures.iter().filter(|f| !f["met"].is_null()).count();
        println!(
            "\n{} figure(s), {} with a target: {} met, {missed} not met; {} benchmark(s) failed",
            figures.len(),
            with_target,
            with_target - missed,
            failed.len()
        );
    }
    std::process::exit(if ok { 0 } else { 1 });
}
