//! Local mode from the command line, with the real binary: `plumbery emulator start --nodes local` /
//! `stop` (SIGTERM) leave no namespace, mount or process behind and a restart (after a stop or a
//! `kill -9`) brings servers back with their disks; `plumbery --local PLAN ACTION` checks the
//! prerequisites and starts the local emulator under `PLUMBERY_STATE_DIR`.
//! Needs root (elsewhere the tests print why and pass).

// The emulator crate owns these helpers; the tests here that also need the binary share them.
#[path = "../crates/emulator/tests/emulator_support/mod.rs"]
mod emulator_support;
mod nodes_support;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use emulator::http::Client;
use emulator_support::{Emu, NS, code, info, x};
use nodes_support::{
    mounts_mentioning, netns_with_prefix, port_open, processes_mentioning, root_or_skip,
    ssh_with_password,
};
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_plumbery");
const PW: &str = "Sup3r-S3cret-Pw";
const PLAN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fittings/redis-cluster.yaml");

/// Runs `plumbery emulator stop` on drop, so a failing test leaves no emulator running.
struct StopGuard {
    envs: Vec<(String, PathBuf)>,
    args: Vec<String>,
}

impl StopGuard {
    fn dir(state_dir: &Path) -> StopGuard {
        StopGuard {
            envs: vec![],
            args: vec!["--state-dir".into(), state_dir.display().to_string()],
        }
    }
    fn env(state_root: &Path) -> StopGuard {
        StopGuard {
            envs: vec![("PLUMBERY_STATE_DIR".into(), state_root.to_path_buf())],
            args: vec![],
        }
    }
}

impl Drop for StopGuard {
    fn drop(&mut self) {
        let _ = Command::new(BIN)
            .args(["emulator", "stop"])
            .args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .output();
    }
}

fn run(args: &[&str], envs: &[(&str, &Path)]) -> Output {
    Command::new(BIN)
        .args(args)
        .envs(envs.iter().copied())
        .env_remove("PLUMBERY_EMULATOR_STATE_DIR")
        .output()
        .unwrap()
}

/// `plumbery emulator start --nodes local` in `dir`; returns the URL it printed.
fn start(dir: &Path) -> String {
    let d = dir.display().to_string();
    let out = run(
        &[
            "emulator",
            "start",
            "--nodes",
            "local",
            "--listen",
            "127.0.0.1:0",
            "--time-scale",
            "0",
            "--state-dir",
            &d,
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "start: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn stop(dir: &Path) {
    let d = dir.display().to_string();
    let out = run(&["emulator", "stop", "--state-dir", &d], &[]);
    assert!(out.status.success(), "stop: {:?}", out);
}

/// An API session on a running emulator (the helpers of `emulator_support`).
fn session(url: &str) -> Emu {
    let mut c = Client::new(url, "plumbery", "plumbery").unwrap();
    let r = c.get("/oec/0.9/myaccount", false).unwrap();
    let org = x(&r)["orgId"].as_str().unwrap().to_string();
    Emu {
        emu: None,
        c,
        base: format!("/caas/2.4/{org}"),
        dir: tempfile::tempdir().unwrap(),
    }
}

/// The namespace prefix local nodes use for the state dir `dir` (`nodes::naming::prefix_for`).
fn prefix(dir: &Path) -> String {
    let nodes = dir.join("nodes").canonicalize().unwrap();
    let digest = Sha256::digest(nodes.as_os_str().as_encoded_bytes());
    format!("pl{}", &hex::encode(digest)[..6])
}

/// Namespaces, mounts and processes of the emulator in `dir` that are still there.
fn leftovers(dir: &Path, prefix: &str) -> Vec<String> {
    let d = dir.display().to_string();
    let mut left: Vec<String> = netns_with_prefix(prefix)
        .into_iter()
        .map(|n| format!("netns {n}"))
        .collect();
    left.extend(
        mounts_mentioning(&[&d, prefix])
            .into_iter()
            .map(|l| format!("mount {l}")),
    );
    left.extend(
        processes_mentioning(&d)
            .into_iter()
            .map(|pid| format!("process {pid}")),
    );
    left
}

fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < Duration::from_secs(30), "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn ssh(addr: Ipv4Addr, cmd: &str) -> String {
    let out = ssh_with_password(addr, PW, cmd);
    assert!(out.ok, "ssh {addr} {cmd:?} failed: {}", out.stderr);
    out.stdout.trim().to_string()
}

/// A started server reachable by ssh on its public address; returns that address.
fn exposed_server(e: &mut Emu) -> Ipv4Addr {
    let d = e.domain("cli");
    let v = e.vlan(&d, "net", "10.62.0.0");
    let r = e.deploy_server("cli-node", &d, &v, true);
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    let id = info(&r, "serverId");
    let s = e.wait_state(&format!("server/server/{id}"), "NORMAL");
    let ip = s["networkInfo"]["primaryNic"]["privateIpv4"]
        .as_str()
        .unwrap()
        .to_string();
    let r = e.post("network/addPublicIpBlock", &format!("<addPublicIpBlock xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId></addPublicIpBlock>"));
    assert_eq!(code(&r), "OK", "{}", r.body);
    let r = e.post("network/createNatRule", &format!("<createNatRule xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><internalIp>{ip}</internalIp></createNatRule>"));
    assert_eq!(code(&r), "OK", "{}", r.body);
    let nat = info(&r, "natRuleId");
    let r = e.post("network/createFirewallRule", &format!("<createFirewallRule xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><name>ssh</name><action>ACCEPT_DECISIVELY</action><ipVersion>IPV4</ipVersion><protocol>TCP</protocol><source><ip address=\"ANY\"/></source><destination><ip address=\"ANY\"/><port begin=\"22\"/></destination><enabled>true</enabled><placement position=\"FIRST\"/></createFirewallRule>"));
    assert_eq!(code(&r), "OK", "{}", r.body);
    x(&e.get(&format!("network/natRule/{nat}")))["externalIp"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn start_stop_and_restarts_with_local_nodes() {
    if !root_or_skip() {
        return;
    }
    let tmp = tempfile::Builder::new().prefix("plcli").tempdir().unwrap();
    let dir = tmp.path().join("emu");
    let _guard = StopGuard::dir(&dir);
    let url = start(&dir);
    let pre = prefix(&dir);
    let mut e = session(&url);
    let public = exposed_server(&mut e);
    eventually("ssh through NAT", || {
        ssh_with_password(public, PW, "true").ok
    });
    ssh(public, "echo on-disk > /root/file");
    assert!(!leftovers(&dir, &pre).is_empty(), "the node is not visible");

    // `stop` (SIGTERM): nothing is left but the disk.
    stop(&dir);
    assert_eq!(leftovers(&dir, &pre), Vec::<String>::new());
    assert!(!port_open(public, 22), "public listener left");
    let status = run(
        &[
            "emulator",
            "status",
            "--state-dir",
            &dir.display().to_string(),
        ],
        &[],
    );
    assert_eq!(status.status.code(), Some(3));

    // Start again: the server is replayed, with its disk.
    start(&dir);
    eventually("ssh after a restart", || {
        ssh_with_password(public, PW, "true").ok
    });
    assert_eq!(ssh(public, "cat /root/file"), "on-disk");

    // kill -9 the emulator: a new start clears what it left and brings the server back.
    let pid: i32 = std::fs::read_to_string(dir.join("emulator.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    eventually("the emulator dies", || {
        !Path::new(&format!("/proc/{pid}/cmdline")).exists()
            || std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.is_empty())
    });
    start(&dir);
    eventually("ssh after a crash", || {
        ssh_with_password(public, PW, "true").ok
    });
    assert_eq!(ssh(public, "cat /root/file"), "on-disk");
    stop(&dir);
    assert_eq!(leftovers(&dir, &pre), Vec::<String>::new());
}

#[test]
fn local_flag_starts_the_emulator_under_the_state_dir() {
    if !root_or_skip() {
        return;
    }
    let tmp = tempfile::Builder::new().prefix("plflag").tempdir().unwrap();
    let root = tmp.path();
    let _guard = StopGuard::env(root);
    let env = [("PLUMBERY_STATE_DIR", root)];
    // validate needs no cloud: no emulator.
    let out = run(&["--local", PLAN, "validate"], &env);
    assert!(out.status.success(), "{out:?}");
    assert!(!root.join("emulator").exists());
    // A cloud action starts it first (information: read-only, nothing deployed).
    let out = run(&["--local", "--time-scale", "0", PLAN, "information"], &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let status = run(&["emulator", "status"], &env);
    let text = String::from_utf8_lossy(&status.stdout).to_string();
    assert_eq!(status.status.code(), Some(0), "{text}");
    assert!(text.contains("url=http://127.0.0.1:"), "{text}");
    let dir = root.join("emulator");
    assert!(dir.join("nodes").is_dir(), "not started with local nodes");
    let pid = std::fs::read_to_string(dir.join("emulator.pid")).unwrap();
    // A second run reuses the running emulator.
    let out = run(&["--local", PLAN, "information"], &env);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(dir.join("emulator.pid")).unwrap(),
        pid
    );
    // The default state dir of `emulator stop` is the same one.
    let out = run(&["emulator", "stop"], &env);
    assert!(out.status.success(), "{out:?}");
    let pre = prefix(&dir);
    assert_eq!(leftovers(&dir, &pre), Vec::<String>::new());
    assert_eq!(run(&["emulator", "status"], &env).status.code(), Some(3));
}

#[test]
fn local_flag_needs_its_prerequisites_and_checks_its_options() {
    if !root_or_skip() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // As an unprivileged user, --local refuses with exit code 2 and says why; nothing starts.
    let out = Command::new("setpriv")
        .args([
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            BIN,
        ])
        .args(["--local", PLAN, "deploy"])
        .env("PLUMBERY_STATE_DIR", root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("run as root"));
    assert!(!root.join("emulator").exists());
    // --time-scale belongs to --local, and must be a non-negative number.
    assert_eq!(
        run(
            &["--time-scale", "0", PLAN, "deploy"],
            &[("PLUMBERY_STATE_DIR", root)]
        )
        .status
        .code(),
        Some(2)
    );
    assert_eq!(
        run(
            &["--local", "--time-scale=-1", PLAN, "deploy"],
            &[("PLUMBERY_STATE_DIR", root)]
        )
        .status
        .code(),
        Some(2)
    );
    assert!(!root.join("emulator").exists());
}

/// Sends SIGTERM to a `serve` child on drop and reaps it, so a failing test leaves nothing running.
struct ServeGuard(std::process::Child);

impl Drop for ServeGuard {
    fn drop(&mut self) {
        // Only while it runs (not yet reaped): its pid cannot belong to anyone else then.
        if matches!(self.0.try_wait(), Ok(None)) {
            let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let _ = self.0.wait();
        }
    }
}

#[test]
fn serve_ends_cleanly_on_ctrl_c() {
    use std::io::{BufRead, BufReader};
    if !root_or_skip() {
        return;
    }
    let tmp = tempfile::Builder::new().prefix("plint").tempdir().unwrap();
    let dir = tmp.path().join("emu");
    let mut child = Command::new(BIN)
        .args([
            "emulator",
            "serve",
            "--nodes",
            "local",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--time-scale", "0", "--state-dir"])
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut guard = ServeGuard(child);
    let mut url = String::new();
    BufReader::new(stdout).read_line(&mut url).unwrap();
    let mut e = session(url.trim());
    let public = exposed_server(&mut e);
    eventually("ssh through NAT", || {
        ssh_with_password(public, PW, "true").ok
    });
    let pre = prefix(&dir);
    assert!(!leftovers(&dir, &pre).is_empty(), "the node is not visible");
    let pid = nix::unistd::Pid::from_raw(guard.0.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let status = guard.0.wait().unwrap();
    assert!(status.success(), "serve ended with {status}");
    assert_eq!(leftovers(&dir, &pre), Vec::<String>::new());
    assert!(!port_open(public, 22), "public listener left");
}

#[test]
fn local_flag_refuses_an_emulator_without_nodes_and_survives_a_race() {
    if !root_or_skip() {
        return;
    }
    let tmp = tempfile::Builder::new().prefix("plrace").tempdir().unwrap();
    let root = tmp.path();
    let _guard = StopGuard::env(root);
    let env = [("PLUMBERY_STATE_DIR", root)];
    // An emulator without local nodes in the local state dir is not silently used.
    let out = run(&["emulator", "start", "--listen", "127.0.0.1:0"], &env);
    assert!(out.status.success(), "{out:?}");
    let out = run(&["--local", PLAN, "deploy"], &env);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("without local nodes"));
    assert!(run(&["emulator", "stop"], &env).status.success());
    // Two `plumbery --local` at once: both get the one emulator.
    let spawn = || {
        Command::new(BIN)
            .args(["--local", PLAN, "information"])
            .env("PLUMBERY_STATE_DIR", root)
            .env_remove("PLUMBERY_EMULATOR_STATE_DIR")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    for c in [a, b] {
        let out = c.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
    }
    assert_eq!(run(&["emulator", "status"], &env).status.code(), Some(0));
    assert!(run(&["emulator", "stop"], &env).status.success());
    let dir = root.join("emulator");
    assert_eq!(leftovers(&dir, &prefix(&dir)), Vec::<String>::new());
}
