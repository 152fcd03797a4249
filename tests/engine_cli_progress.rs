//! Progress of the real binary on standard error: each line printed once (not again through the log).

mod engine_support;

use assert_cmd::Command;
use engine_support::{DEFAULT_ACCOUNT, start};

#[test]
fn safe_mode_progress_lines_are_printed_once() {
    let (emu, _dir) = start(1.0);
    let state = tempfile::tempdir().unwrap();
    let plan = concat!(env!("CARGO_MANIFEST_DIR"), "/fittings/redis-cluster.yaml");
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_plumbery"))
            .env("PLUMBERY_STATE_DIR", state.path())
            .env("MCP_ENDPOINT", emu.url())
            .env("MCP_USERNAME", DEFAULT_ACCOUNT.user)
            .env("MCP_PASSWORD", DEFAULT_ACCOUNT.password)
            .env_remove("RUST_LOG")
            .args(["-s", plan, "deploy"])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).unwrap()
    };
    let err = run(&[]);
    let domain_line = "would create network domain";
    assert_eq!(err.matches(domain_line).count(), 1, "{err}");
    let steps: Vec<&str> = err
        .lines()
        .filter_map(|l| l.find("[deploy #").map(|i| &l[i..]))
        .collect();
    assert!(steps.len() > 10, "{err}");
    for s in &steps {
        assert_eq!(err.matches(s).count(), 1, "{s} in\n{err}");
    }
    // Quiet: no progress at all.
    let err = run(&["-q"]);
    assert_eq!(err.matches(domain_line).count(), 0, "{err}");
}
