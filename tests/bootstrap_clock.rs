//! The clock section on a node that may not set the clock: run in private mount, network and pid
//! namespaces without CAP_SYS_TIME (like a local node), the script must start chrony so that it
//! tracks time without setting it, succeed, and change nothing the second time.

use std::path::Path;
use std::process::Command;

use bootstrap::{CloudConfig, RenderOptions, render_script};

#[test]
fn chrony_runs_without_cap_sys_time_and_the_step_succeeds() {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    if !root || !Path::new("/usr/sbin/chronyd").exists() || !Path::new("/usr/bin/setpriv").exists()
    {
        eprintln!("skipped: needs root, chronyd and setpriv");
        return;
    }
    let script = render_script(
        &CloudConfig::default(),
        &RenderOptions {
            node: "clock".into(),
            access_keys: vec![],
            ..RenderOptions::default()
        },
    )
    .unwrap()
    .text;
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    assert!(
        Command::new("cp")
            .args(["-a", "/etc"])
            .arg(&etc)
            .status()
            .unwrap()
            .success()
    );
    std::fs::write(dir.path().join("node.sh"), &script).unwrap();
    // Everything chrony and the script write lands on tmpfs or in the copy of /etc; no network, own pids (the
    // namespace's processes, chronyd included, die with it).
    let inner = format!(
        "set -e; mount --bind {etc} /etc; mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /var/lib/chrony; \
         ip link set lo up; \
         exec setpriv --bounding-set -sys_time bash -c 'bash {s} && echo ==== second run && bash {s}'",
        etc = etc.display(),
        s = dir.path().join("node.sh").display()
    );
    let out = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "--net",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "sh",
            "-c",
            &inner,
        ])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    let (first, second) = text.split_once("==== second run").unwrap();
    assert!(first.contains("chrony (re)started"), "{first}");
    assert!(first.contains("Leap status"), "chronyc answered: {first}");
    assert!(second.contains("plumbery: done, 0 change(s)"), "{second}");
    let defaults = std::fs::read_to_string(etc.join("default/chrony")).unwrap();
    assert!(defaults.contains("DAEMON_OPTS=\"-x\""), "{defaults}");
}
