//! The benchmarks' shared convention, included by each `examples/bench_*.rs` with
//! `#[path = "bench_support/mod.rs"] mod bench_support;`.
//!
//! Without `--json` a benchmark prints its human report as before and [`figure`] prints nothing.
//! With `--json`, [`init`] moves the human report to stderr and every [`figure`] becomes one JSON line
//! on stdout: `{"bench":"bench_engine","figure":"...","value":1.2,"unit":"s","target":"<= 1.15",
//! "met":true}` (`target` and `met` are null for a figure without target). A benchmark that cannot run
//! here prints `{"bench":"...","skipped":"needs root"}` through [`skipped`]. `--quick` asks for a
//! shorter run where a benchmark supports it ([`quick`]). `examples/bench.rs` collects the lines.

#![allow(dead_code)] // each benchmark uses a part of this module

use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

static JSON_OUT: OnceLock<Mutex<File>> = OnceLock::new();

/// A target a figure is compared with.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// The value must be strictly below.
    Below(f64),
    /// The value must be at most.
    AtMost(f64),
    /// The value must be at least.
    AtLeast(f64),
    /// The value must equal.
    Equals(f64),
}

impl Target {
    /// Whether `value` meets the target.
    pub fn met(self, value: f64) -> bool {
        match self {
            Target::Below(t) => value < t,
            Target::AtMost(t) => value <= t,
            Target::AtLeast(t) => value >= t,
            Target::Equals(t) => value == t,
        }
    }

    /// The target as text: `< 100`, `<= 1.15`, `>= 2000`, `= 0`.
    pub fn text(self) -> String {
        match self {
            Target::Below(t) => format!("< {t}"),
            Target::AtMost(t) => format!("<= {t}"),
            Target::AtLeast(t) => format!(">= {t}"),
            Target::Equals(t) => format!("= {t}"),
        }
    }
}

/// True when the benchmark was given `--json`.
pub fn json() -> bool {
    std::env::args().skip(1).any(|a| a == "--json")
}

/// True when the benchmark was given `--quick`: a shorter run, same figures.
pub fn quick() -> bool {
    std::env::args().skip(1).any(|a| a == "--quick")
}

/// The benchmark's name: its executable's file name (`bench_engine`).
pub fn name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|s| s.split('-').next().unwrap_or(&s).to_string())
        .unwrap_or_else(|| "bench".into())
}

/// Call first in `main`: with `--json`, keeps stdout for the JSON lines and sends everything else
/// the benchmark prints to stderr.
pub fn init() {
    if !json() || JSON_OUT.get().is_some() {
        return;
    }
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    let _ = std::io::stdout().flush();
    let Ok(saved) = nix::unistd::dup(std::io::stdout()) else {
        return;
    };
    // Children (node processes) must not inherit the JSON channel.
    let _ = fcntl(&saved, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
    if nix::unistd::dup2_stdout(std::io::stderr()).is_ok() {
        let _ = JSON_OUT.set(Mutex::new(File::from(saved)));
    }
}

fn emit(line: serde_json::Value) {
    if let Some(out) = JSON_OUT.get() {
        let mut f = out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(f, "{line}");
    }
}

/// Reports one figure (a JSON line with `--json`) and returns whether it met its target (true
/// without a target).
pub fn figure(figure: &str, value: f64, unit: &str, target: Option<Target>) -> bool {
    let met = target.map(|t| t.met(value));
    emit(serde_json::json!({
        "bench": name(),
        "figure": figure,
        "value": value,
        "unit": unit,
        "target": target.map(Target::text),
        "met": met,
    }));
    met.unwrap_or(true)
}

/// Reports that the benchmark cannot run here, and why (`needs root`).
pub fn skipped(reason: &str) {
    emit(serde_json::json!({ "bench": name(), "skipped": reason }));
}

/// `met` or `NOT met`, for the human lines.
pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}
