//! Integration tests of the emulator's hardware changes: reconfigureServer (CPU, memory), addDisk,
//! expandDisk and changeDiskSpeed, their input checks, busy rule, and journaling across a crash.

mod emulator_support;

use std::time::{Duration, Instant};

use emulator::Emulator;
use emulator::http::Client;
use emulator_support::{Emu, NS, code, info, x};
use serde_json::{Value, json};

/// The disks of a server as (scsiId, sizeGb, speed, id).
fn disks(s: &Value) -> Vec<(String, String, String, String)> {
    let list = match &s["disk"] {
        Value::Array(a) => a.clone(),
        Value::Object(_) => vec![s["disk"].clone()],
        _ => vec![],
    };
    list.iter()
        .map(|d| {
            let f = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            (f("scsiId"), f("sizeGb"), f("speed"), f("id"))
        })
        .collect()
}

fn server(e: &mut Emu, started: bool) -> String {
    let d = e.domain("hw");
    let v = e.vlan(&d, "lan", "10.3.0.0");
    let r = e.deploy_server("hw", &d, &v, started);
    let id = info(&r, "serverId");
    e.wait_state(&format!("server/server/{id}"), "NORMAL");
    id
}

#[test]
fn reconfigure_server_changes_cpu_and_memory_after_pending_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Emu::config(dir.path(), 0.001);
    cfg.profile.reconfigure_server = 200.0; // 0.2 s
    let mut e = Emu::start_with(dir, cfg);
    let id = server(&mut e, true);
    let path = format!("server/server/{id}");
    let r = e.post(
        "server/reconfigureServer",
        &format!("<reconfigureServer xmlns=\"{NS}\" id=\"{id}\"><cpuCount>4</cpuCount><memoryGb>8</memoryGb><cpuSpeed>HIGHPERFORMANCE</cpuSpeed><coresPerSocket>2</coresPerSocket></reconfigureServer>"),
    );
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    assert!(r.body.contains("<operation>RECONFIGURE_SERVER</operation>"));
    let s = x(&e.get(&path));
    assert_eq!(s["state"], "PENDING_CHANGE");
    assert_eq!(s["progress"]["action"], "RECONFIGURE_SERVER");
    assert_ne!(
        s["cpu"]["count"], "4",
        "values change when the operation completes"
    );
    // busy while pending
    let r = e.post(
        "server/reconfigureServer",
        &format!("<reconfigureServer xmlns=\"{NS}\" id=\"{id}\"><memoryGb>2</memoryGb></reconfigureServer>"),
    );
    assert_eq!(code(&r), "RESOURCE_BUSY");
    let s = e.wait_state(&path, "NORMAL");
    assert_eq!(s["cpu"]["count"], "4");
    assert_eq!(s["cpu"]["coresPerSocket"], "2");
    assert_eq!(s["cpu"]["speed"], "HIGHPERFORMANCE");
    assert_eq!(s["memoryGb"], "8");
    assert_eq!(s["started"], "true", "a reconfigure keeps the power state");
    // JSON, one child only
    let r = e.post_json(
        "server/reconfigureServer",
        json!({"id": id, "memoryGb": 16}),
    );
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    let s = e.wait_state(&path, "NORMAL");
    assert_eq!(
        (s["cpu"]["count"].as_str(), s["memoryGb"].as_str()),
        (Some("4"), Some("16"))
    );
    // bad values name the field
    for (body, field) in [
        ("<cpuCount>33</cpuCount>", "cpuCount"),
        ("<cpuCount>0</cpuCount>", "cpuCount"),
        ("<memoryGb>257</memoryGb>", "memoryGb"),
        ("<memoryGb>0</memoryGb>", "memoryGb"),
        (
            "<cpuCount>3</cpuCount><coresPerSocket>2</coresPerSocket>",
            "coresPerSocket",
        ),
        ("<cpuSpeed>TURBO</cpuSpeed>", "cpuSpeed"),
    ] {
        let r = e.post(
            "server/reconfigureServer",
            &format!("<reconfigureServer xmlns=\"{NS}\" id=\"{id}\">{body}</reconfigureServer>"),
        );
        assert_eq!(code(&r), "INVALID_INPUT_DATA", "{body}: {}", r.body);
        assert!(r.body.contains(field), "{body}: {}", r.body);
    }
    let r = e.post(
        "server/reconfigureServer",
        &format!("<reconfigureServer xmlns=\"{NS}\" id=\"nope\"><memoryGb>2</memoryGb></reconfigureServer>"),
    );
    assert_eq!(code(&r), "RESOURCE_NOT_FOUND");
    assert_eq!(
        x(&e.get(&path))["memoryGb"],
        "16",
        "rejected requests change nothing"
    );
}

#[test]
fn disks_are_added_expanded_and_change_speed() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Emu::config(dir.path(), 0.001);
    cfg.profile.change_disk = 100.0; // 0.1 s
    let mut e = Emu::start_with(dir, cfg);
    let id = server(&mut e, false);
    let path = format!("server/server/{id}");
    let before = disks(&x(&e.get(&path)));
    assert_eq!(before.len(), 1);
    let r = e.post(
        "server/addDisk",
        &format!("<addDisk xmlns=\"{NS}\" id=\"{id}\"><sizeGb>20</sizeGb><speed>HIGHPERFORMANCE</speed><scsiId>1</scsiId></addDisk>"),
    );
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    assert!(r.body.contains("<operation>ADD_DISK</operation>"));
    let disk = info(&r, "diskId");
    assert_eq!(x(&e.get(&path))["state"], "PENDING_CHANGE");
    let r = e.post(
        "server/addDisk",
        &format!("<addDisk xmlns=\"{NS}\" id=\"{id}\"><sizeGb>20</sizeGb></addDisk>"),
    );
    assert_eq!(code(&r), "RESOURCE_BUSY");
    let s = e.wait_state(&path, "NORMAL");
    let ds = disks(&s);
    assert_eq!(ds.len(), 2);
    assert_eq!(
        ds[1],
        (
            "1".into(),
            "20".into(),
            "HIGHPERFORMANCE".into(),
            disk.clone()
        )
    );
    // scsiId taken, bad speed
    let r = e.post(
        "server/addDisk",
        &format!(
            "<addDisk xmlns=\"{NS}\" id=\"{id}\"><sizeGb>20</sizeGb><scsiId>1</scsiId></addDisk>"
        ),
    );
    assert_eq!(code(&r), "INVALID_INPUT_DATA");
    assert!(r.body.contains("scsiId"), "{}", r.body);
    let r = e.post(
        "server/addDisk",
        &format!(
            "<addDisk xmlns=\"{NS}\" id=\"{id}\"><sizeGb>20</sizeGb><speed>FAST</speed></addDisk>"
        ),
    );
    assert_eq!(code(&r), "INVALID_INPUT_DATA");
    // expand: grow only
    let r = e.post(
        "server/expandDisk",
        &format!("<expandDisk xmlns=\"{NS}\" id=\"{disk}\"><newSizeGb>10</newSizeGb></expandDisk>"),
    );
    assert_eq!(code(&r), "INVALID_INPUT_DATA", "{}", r.body);
    assert!(r.body.contains("newSizeGb"));
    let r = e.post(
        "server/expandDisk",
        &format!("<expandDisk xmlns=\"{NS}\" id=\"{disk}\"><newSizeGb>50</newSizeGb></expandDisk>"),
    );
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    assert_eq!(x(&e.get(&path))["progress"]["action"], "EXPAND_DISK");
    let s = e.wait_state(&path, "NORMAL");
    assert_eq!(disks(&s)[1].1, "50");
    // speed
    let r = e.post(
        "server/changeDiskSpeed",
        &format!(
            "<changeDiskSpeed xmlns=\"{NS}\" id=\"{disk}\"><speed>ECONOMY</speed></changeDiskSpeed>"
        ),
    );
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    let s = e.wait_state(&path, "NORMAL");
    assert_eq!(disks(&s)[1].2, "ECONOMY");
    assert_eq!(disks(&s)[0], before[0], "the other disk is untouched");
    let r = e.post(
        "server/changeDiskSpeed",
        &format!("<changeDiskSpeed xmlns=\"{NS}\" id=\"no-disk\"><speed>ECONOMY</speed></changeDiskSpeed>"),
    );
    assert_eq!(code(&r), "RESOURCE_NOT_FOUND");
}

#[test]
fn a_pending_reconfigure_survives_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut cfg = Emu::config(&state, 0.001);
    cfg.profile.reconfigure_server = 500.0; // 0.5 s
    let mut e = Emu::start_with(dir, cfg.clone());
    let id = server(&mut e, true);
    let r = e.post(
        "server/reconfigureServer",
        &format!("<reconfigureServer xmlns=\"{NS}\" id=\"{id}\"><cpuCount>6</cpuCount></reconfigureServer>"),
    );
    assert_eq!(code(&r), "IN_PROGRESS");
    let org = e.emu().org_id();
    e.emu.take().unwrap().crash();
    let emu = Emulator::start(cfg).expect("restarts on the same state dir");
    let mut c = Client::new(emu.url(), "plumbery", "plumbery").unwrap();
    let url = format!("/caas/2.4/{org}/server/server/{id}");
    let t0 = Instant::now();
    loop {
        let s = x(&c.get(&url, false).unwrap());
        if s["state"] == "NORMAL" {
            assert_eq!(s["cpu"]["count"], "6");
            break;
        }
        assert_eq!(s["progress"]["action"], "RECONFIGURE_SERVER");
        assert!(t0.elapsed() < Duration::from_secs(20), "never completed");
        std::thread::sleep(Duration::from_millis(10));
    }
    emu.shutdown();
}
