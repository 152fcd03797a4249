//! Reliability: no secret value in any log or output of a debug-level run. Deploy, information,
//! inventory, ansible and dispose of the redis plan run through the engine against an in-process
//! emulator (with faults, so retries and error paths log too), then a run with a wrong API password;
//! every line captured from `tracing` at debug level, the emulator's `requests.log`, the reports, the
//! text outputs and the error messages are scanned for each secret value: the API password (and its
//! Basic auth form), the root password of the servers, and the plan's generated secrets.

mod engine_support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use cloud::Secret;
use emulator::FaultSpec;
use engine::{self, Action, Options};
use engine_support::{
    DISTINCT_ACCOUNT as ACCOUNT, assert_empty, assert_redis_deployed, options_as, redis_plan,
    run_ok, start_as,
};

/// A `tracing` writer appending to a shared buffer.
#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Where a text was found: `(origin, text)` pairs to scan.
type Texts = Vec<(String, String)>;

/// Panics naming the origin and line of every occurrence of a secret.
fn scan(texts: &Texts, secrets: &[(&str, String)]) {
    let mut found = Vec::new();
    for (origin, text) in texts {
        for (name, value) in secrets {
            for (n, line) in text.lines().enumerate() {
                if line.contains(value.as_str()) {
                    found.push(format!("{name} in {origin}, line {}: {line}", n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_any_log_or_output() {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let writer = Capture(buf.clone());
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    // The plan's generated secrets, as its secret store makes them.
    let store_dir = tempfile::tempdir().unwrap();
    let store = secrets::Store::open_in(store_dir.path()).unwrap();
    let master = store.get_or_generate("master.secret").unwrap();
    let uuid = store.get_or_generate("uuid.cluster").unwrap();

    let (emu, dir) = start_as(0.001, false, ACCOUNT);
    let plan = redis_plan();
    let opts = options_as(emu.url(), ACCOUNT);
    emu.set_faults(
        FaultSpec::parse("busy=0.1,unexpected=0.05,http503=0.05,reset=0.05").unwrap(),
        Some(3),
    );
    let mut texts: Texts = Vec::new();
    for action in [
        Action::Deploy,
        Action::Information,
        Action::Inventory,
        Action::Ansible,
        Action::Ping,
    ] {
        let r = run_ok(action, &plan, &opts, "with faults").await;
        texts.push((
            format!("{action:?} report"),
            serde_json::to_string_pretty(&r).unwrap(),
        ));
        texts.push((format!("{action:?} output"), r.output.unwrap_or_default()));
    }
    assert_redis_deployed(&emu, "after deploy");
    let r = run_ok(Action::Dispose, &plan, &opts, "with faults").await;
    texts.push((
        "Dispose report".into(),
        serde_json::to_string_pretty(&r).unwrap(),
    ));
    assert_empty(&emu, "after dispose");

    // A wrong API password: the error names the problem, never the password.
    let wrong = "Wr0ng-Pw-93b1c0ffee";
    let bad = Options {
        credentials: Some((ACCOUNT.user.into(), Secret::new(wrong))),
        ..opts.clone()
    };
    let err = engine::run(Action::Deploy, &plan, &bad)
        .await
        .expect_err("a wrong password is refused");
    texts.push(("wrong password error".into(), format!("{err} / {err:?}")));
    assert_empty(&emu, "after the refused deploy");

    emu.shutdown();
    // The request log is written by its own thread: wait until it stops growing.
    let log_path = dir.path().join("requests.log");
    let mut last = 0;
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let len = std::fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
        if len == last && len > 0 {
            break;
        }
        last = len;
    }
    let request_log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        request_log.contains("deployServer") && request_log.contains("<redacted>"),
        "the request log holds the (redacted) server deployments"
    );
    texts.push(("requests.log".into(), request_log));

    let captured = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
    // The capture is real: request bodies and retries were traced at debug level.
    assert!(captured.contains("DEBUG"), "no debug line captured");
    assert!(
        captured.contains("deployServer") && captured.contains("administratorPassword"),
        "the server deployments were traced with their (redacted) bodies"
    );
    assert!(captured.contains("retrying"), "no retry was traced");
    texts.push(("debug log".into(), captured));

    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", ACCOUNT.user, ACCOUNT.password));
    let basic_wrong =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{wrong}", ACCOUNT.user));
    scan(
        &texts,
        &[
            ("API password", ACCOUNT.password.to_string()),
            ("API Basic auth", basic),
            ("wrong API password", wrong.to_string()),
            ("wrong API Basic auth", basic_wrong),
            ("root password", ACCOUNT.admin_password.to_string()),
            ("master.secret", master),
            ("uuid.cluster", uuid),
        ],
    );
}
