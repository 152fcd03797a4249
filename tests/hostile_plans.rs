//! The input half of the reliability suite: every malformed or hostile plan under `tests/hostile/`
//! (listed with its expected message in `tests/hostile/expected.txt`), plus plans given on standard
//! input and by http:// URLs that misbehave, is refused by the real `plumbery` binary with its message
//! (file:line:column where the loader knows it), exit code 2, nothing on standard output, within a
//! memory cap, and without a single connection to the cloud endpoint (`MCP_ENDPOINT` points to a
//! listener this test owns, and the action is `deploy`, which would need the cloud).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use assert_cmd::Command;

const HOSTILE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hostile");

/// Address space cap of each run (KiB): a plan that makes the loader eat memory fails the run.
const MEMORY_CAP_KIB: u64 = 2 * 1024 * 1024;

/// A hang guard, not a speed measurement: a run that takes this long is stuck.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// A TCP listener on 127.0.0.1 that accepts in a thread and either counts the connections (the cloud
/// trap) or holds them without a word (a plan server that never answers), until dropped.
struct Listener {
    port: u16,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    fn start(on_accept: fn(TcpStream) -> Option<TcpStream>) -> Listener {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, halt) = (connections.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !halt.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        count.fetch_add(1, Ordering::SeqCst);
                        held.extend(on_accept(stream));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Listener {
            port,
            connections,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Keeps the connection open and silent.
fn hold(stream: TcpStream) -> Option<TcpStream> {
    Some(stream)
}

/// Reads the request, answers 404.
fn not_found(mut stream: TcpStream) -> Option<TcpStream> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = [0u8; 4096];
    let _ = stream.read(&mut buf);
    let _ = stream.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    None
}

/// Reads the request, answers 200 with the billion-laughs plan.
fn serve_laughs(mut stream: TcpStream) -> Option<TcpStream> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = [0u8; 4096];
    let _ = stream.read(&mut buf);
    let body = std::fs::read(Path::new(HOSTILE_DIR).join("billion_laughs.yaml")).unwrap();
    let _ = stream.write_all(b"HTTP/1.0 200 OK\r\nContent-Type: text/yaml\r\n\r\n");
    let _ = stream.write_all(&body);
    None
}

/// One run of the binary and what it must say.
struct Case {
    name: String,
    /// The FITTINGS argument.
    plan: String,
    extra: Vec<String>,
    stdin: Option<Vec<u8>>,
    env: Vec<(&'static str, String)>,
    /// Fragment of standard error, `PLAN` already replaced.
    expected: String,
}

/// The cases of `expected.txt`, checked against the files of the directory (none missing, none extra).
fn file_cases() -> Vec<Case> {
    let dir = Path::new(HOSTILE_DIR);
    let manifest = std::fs::read_to_string(dir.join("expected.txt")).unwrap();
    let mut cases = Vec::new();
    for (i, line) in manifest.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.splitn(3, " | ").collect();
        assert_eq!(
            parts.len(),
            3,
            "expected.txt:{}: FILE | ARGS | FRAGMENT",
            i + 1
        );
        let path = dir.join(parts[0].trim());
        assert!(path.is_file(), "expected.txt:{}: no file {path:?}", i + 1);
        let plan = path.to_str().unwrap().to_string();
        let here = |s: &str| s.replace("HOSTILE", HOSTILE_DIR);
        cases.push(Case {
            name: parts[0].trim().to_string(),
            expected: here(parts[2].trim()).replace("PLAN", &plan),
            plan,
            extra: parts[1].split_whitespace().map(here).collect(),
            stdin: None,
            env: Vec::new(),
        });
    }
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    files.sort();
    let mut listed: Vec<String> = cases.iter().map(|c| c.name.clone()).collect();
    listed.sort();
    assert_eq!(
        files, listed,
        "every plan of tests/hostile/ has one line in expected.txt"
    );
    cases
}

/// Runs one case; returns a description of what went wrong, if anything.
fn run(case: &Case, cloud: &Listener, state: &Path) -> Option<String> {
    let bin = env!("CARGO_BIN_EXE_plumbery");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {MEMORY_CAP_KIB} && exec \"$0\" \"$@\""))
        .arg(bin)
        .arg(&case.plan)
        .arg("deploy")
        .args(&case.extra)
        .env("MCP_ENDPOINT", cloud.url(""))
        .env("MCP_USERNAME", "hostile")
        .env("MCP_PASSWORD", "hostile-password")
        .env("SHARED_SECRET", "hostile-secret")
        .env("PLUMBERY_STATE_DIR", state)
        .env_remove("MCP_CA_CERT")
        .timeout(HANG_GUARD);
    for (k, v) in &case.env {
        cmd.env(k, v);
    }
    if let Some(input) = &case.stdin {
        cmd.write_stdin(input.clone());
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut problems = Vec::new();
    if out.status.code() != Some(2) {
        problems.push(format!("exit {:?} instead of 2", out.status.code()));
    }
    if !stderr.contains(&format!("plumbery: {}", case.expected)) {
        problems.push(format!("no '{}' in standard error", case.expected));
    }
    if !out.stdout.is_empty() {
        problems.push("something on standard output".into());
    }
    (!problems.is_empty()).then(|| {
        let shown: String = stderr.chars().take(600).collect();
        format!("{}: {}\n  stderr: {shown}", case.name, problems.join("; "))
    })
}

/// Runs the cases in a few threads; returns every failure.
fn run_all(cases: &[Case], cloud: &Listener, state: &Path) -> Vec<String> {
    let threads = 4;
    let chunk = cases.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .filter_map(|c| run(c, cloud, state))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

#[test]
fn hostile_plans_are_refused_with_exit_2_and_no_cloud_request() {
    let state = tempfile::tempdir().unwrap();
    let cloud = Listener::start(|_| None);
    let cases = file_cases();
    assert!(cases.len() >= 50, "only {} hostile plans", cases.len());
    let failures = run_all(&cases, &cloud, state.path());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        cloud.connections(),
        0,
        "a hostile plan reached the cloud endpoint"
    );
}

#[test]
fn hostile_plans_by_stdin_and_by_url_are_refused_too() {
    let state = tempfile::tempdir().unwrap();
    let cloud = Listener::start(|_| None);
    let silent = Listener::start(hold);
    let missing = Listener::start(not_found);
    let laughing = Listener::start(serve_laughs);
    let refused_port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let laughs = std::fs::read(Path::new(HOSTILE_DIR).join("billion_laughs.yaml")).unwrap();
    let case = |name: &str, plan: String, expected: String| Case {
        name: name.to_string(),
        plan,
        extra: Vec::new(),
        stdin: None,
        env: vec![("PLUMBERY_HTTP_TIMEOUT", "1".to_string())],
        expected,
    };
    let silent_url = silent.url("/plan.yaml");
    let missing_url = missing.url("/plan.yaml");
    let laughing_url = laughing.url("/plan.yaml");
    let refused_url = format!("http://127.0.0.1:{refused_port}/plan.yaml");
    let mut stdin = case(
        "billion laughs on stdin",
        "-".into(),
        "-:15:10: this is not valid YAML: aliases (*name) would copy more than 100000 values"
            .into(),
    );
    stdin.stdin = Some(laughs);
    let mut empty_stdin = case(
        "nothing on stdin",
        "-".into(),
        "-: the plan is empty".into(),
    );
    empty_stdin.stdin = Some(Vec::new());
    let mut flood = case(
        "17 MiB on stdin",
        "-".into(),
        "-: cannot read the plan from standard input (it is larger than 16 MiB)".into(),
    );
    flood.stdin = Some(b"# lol\n".repeat(3 << 20));
    let cases = vec![
        stdin,
        empty_stdin,
        flood,
        case(
            "an endless file",
            "/dev/zero".into(),
            "/dev/zero: cannot read the plan (it is larger than 16 MiB)".into(),
        ),
        case(
            "a URL that never answers",
            silent_url.clone(),
            format!(
                "{silent_url}: cannot fetch the plan: no complete answer from 127.0.0.1:{} within 1 s",
                silent.port
            ),
        ),
        case(
            "a URL that answers 404",
            missing_url.clone(),
            format!(
                "{missing_url}: cannot fetch the plan: the server answered 'HTTP/1.0 404 Not Found'"
            ),
        ),
        case(
            "a URL that refuses connections",
            refused_url.clone(),
            format!(
                "{refused_url}: cannot fetch the plan: cannot connect to 127.0.0.1:{refused_port}"
            ),
        ),
        case(
            "a URL serving a billion laughs",
            laughing_url.clone(),
            format!(
                "{laughing_url}:15:10: this is not valid YAML: aliases (*name) would copy more than 100000 values"
            ),
        ),
    ];
    let failures = run_all(&cases, &cloud, state.path());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(silent.connections(), 1, "the silent server was asked once");
    assert_eq!(
        cloud.connections(),
        0,
        "a hostile plan reached the cloud endpoint"
    );
}

/// A plan directory entry that is not a file is refused too (a directory given as the plan).
#[test]
fn a_directory_is_not_a_plan() {
    let state = tempfile::tempdir().unwrap();
    let cloud = Listener::start(|_| None);
    let dir: PathBuf = state.path().join("plan.yaml");
    std::fs::create_dir(&dir).unwrap();
    let plan = dir.to_str().unwrap().to_string();
    let case = Case {
        name: "directory".into(),
        expected: format!("{plan}: cannot read the plan"),
        plan,
        extra: Vec::new(),
        stdin: None,
        env: Vec::new(),
    };
    assert_eq!(run(&case, &cloud, state.path()), None);
    assert_eq!(cloud.connections(), 0);
}
