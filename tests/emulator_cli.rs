//! The `plumbery emulator` command line: `serve` on port 0 prints its URL first, `start`/`status`/
//! `stop` manage a background emulator, and a `kill -9` in the middle of a server deploy loses
//! nothing: after a restart the deploy completes.

// The emulator crate owns these helpers; the tests here that also need the binary share them.
#[path = "../crates/emulator/tests/emulator_support/mod.rs"]
mod emulator_support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use emulator::http::Client;
use emulator_support::{NS, code, info, x};

const BIN: &str = env!("CARGO_BIN_EXE_plumbery");

/// Kills (SIGKILL) and reaps the child when dropped, so a failing test leaves no process behind.
struct Guard(Option<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts `plumbery emulator serve` on port 0 and returns it with the URL it printed first.
fn serve(dir: &Path, extra: &[&str]) -> (Guard, String) {
    let mut child = Command::new(BIN)
        .args([
            "emulator",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--state-dir",
        ])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "first stdout line: {url:?}"
    );
    (Guard(Some(child)), url)
}

/// Runs `plumbery emulator <args>` to its end.
fn emulator(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("emulator")
        .args(args)
        .output()
        .unwrap()
}

fn org(c: &mut Client) -> String {
    let r = c.get("/oec/0.9/myaccount", false).unwrap();
    let v = x(&r);
    v["orgId"].as_str().unwrap().to_string()
}

fn wait(c: &mut Client, path: &str, state: &str) {
    let t0 = Instant::now();
    loop {
        let r = c.get(path, false).unwrap();
        if r.status == 200 && x(&r)["state"] == state {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{path} never reached {state}: {}",
            r.body
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn serve_prints_its_url_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut g, url) = serve(
        dir.path(),
        &[
            "--user",
            "u",
            "--password",
            "p",
            "--faults",
            "delay=1ms",
            "--seed",
            "3",
        ],
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("url"))
            .unwrap()
            .trim(),
        url
    );
    let mut c = Client::new(&url, "u", "p").unwrap();
    assert_eq!(c.get("/oec/0.9/myaccount", false).unwrap().status, 200);
    assert_eq!(
        c.get("/emulator/v1/faults", true).unwrap().json()["delay_ms"],
        1
    );
    let child = g.0.as_mut().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(!dir.path().join("url").exists());
    // A second emulator on the same state dir is refused while one runs.
    let (_g1, _) = serve(dir.path(), &[]);
    let d = dir.path().to_str().unwrap();
    let out = emulator(&["serve", "--listen", "127.0.0.1:0", "--state-dir", d]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("used by another running emulator"));
}

#[test]
fn bad_arguments_are_usage_errors() {
    let out = emulator(&["serve", "--faults", "busy=7"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("busy"));
    let out = emulator(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn start_status_stop() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let start = ["start", "--listen", "127.0.0.1:0", "--state-dir", d];
    let out = emulator(&start);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let pid: i32 = std::fs::read_to_string(dir.path().join("emulator.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Make sure the background emulator is stopped even if an assertion fails.
    struct Stop(i32, String);
    impl Drop for Stop {
        fn drop(&mut self) {
            // Only if that pid is still our emulator (pids are reused).
            let cmd = std::fs::read(format!("/proc/{}/cmdline", self.0)).unwrap_or_default();
            if String::from_utf8_lossy(&cmd).contains(&self.1) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(self.0),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
    let _stop = Stop(pid, d.to_string());
    let mut c = Client::new(&url, "plumbery", "plumbery").unwrap();
    assert_eq!(c.get("/oec/0.9/myaccount", false).unwrap().status, 200);
    let out = emulator(&["status", "--state-dir", d]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&url));
    let out = emulator(&start);
    assert!(!out.status.success(), "a second start is refused");
    let out = emulator(&["stop", "--state-dir", d]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = emulator(&["status", "--state-dir", d]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        std::fs::read_to_string(dir.path().join("emulator.log"))
            .unwrap()
            .contains("listening")
    );
}

#[test]
fn kill_9_in_the_middle_of_a_server_deploy_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut g, url) = serve(dir.path(), &["--time-scale", "0.005"]);
    let mut c = Client::new(&url, "plumbery", "plumbery").unwrap();
    let base = format!("/caas/2.4/{}", org(&mut c));
    let r = c.post_xml(&format!("{base}/network/deployNetworkDomain"), &format!("<deployNetworkDomain xmlns=\"{NS}\"><datacenterId>NA9</datacenterId><name>k</name><type>ESSENTIALS</type></deployNetworkDomain>")).unwrap();
    let d = info(&r, "networkDomainId");
    wait(
        &mut c,
        &format!("{base}/network/networkDomain/{d}"),
        "NORMAL",
    );
    let r = c.post_xml(&format!("{base}/network/deployVlan"), &format!("<deployVlan xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><name>v</name><privateIpv4BaseAddress>10.0.0.0</privateIpv4BaseAddress><privateIpv4PrefixSize>24</privateIpv4PrefixSize></deployVlan>")).unwrap();
    let v = info(&r, "vlanId");
    wait(&mut c, &format!("{base}/network/vlan/{v}"), "NORMAL");
    let img = c
        .get(
            &format!(
                "{base}/image/osImage?datacenterId=NA9&name=Ubuntu%2024.04%2064-bit%202%20CPU"
            ),
            true,
        )
        .unwrap()
        .json()["osImage"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let t0 = Instant::now();
    let r = c.post_xml(&format!("{base}/server/deployServer"), &format!("<deployServer xmlns=\"{NS}\"><name>k1</name><imageId>{img}</imageId><start>true</start><administratorPassword>Passw0rd-Here</administratorPassword><networkInfo networkDomainId=\"{d}\"><primaryNic><vlanId>{v}</vlanId></primaryNic></networkInfo></deployServer>")).unwrap();
    assert_eq!(code(&r), "IN_PROGRESS");
    let s = info(&r, "serverId");
    // kill -9 right after the acknowledgement
    let child = g.0.as_mut().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let (_g2, url2) = serve(dir.path(), &["--time-scale", "0.005"]);
    let mut c = Client::new(&url2, "plumbery", "plumbery").unwrap();
    let r = c.get(&format!("{base}/server/server/{s}"), false).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(x(&r)["state"], "PENDING_ADD");
    wait(&mut c, &format!("{base}/server/server/{s}"), "NORMAL");
    assert!(
        t0.elapsed() >= Duration::from_millis(1350),
        "deploy lasted its latency: {:?}",
        t0.elapsed()
    );
    let r = c.get(&format!("{base}/server/server/{s}"), false).unwrap();
    assert_eq!(x(&r)["started"], "true");
}
