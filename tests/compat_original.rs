//! A user of the original plumbery switches without surprises: every action and polisher name of
//! the original runs against an emulator, `polish` runs the plan's `actions:` polishers and writes
//! their `output:` files, the original's `<md5 of the plan argument>.secrets` file is imported once
//! and its values are used, the ansible inventory reads as Ansible reads it (and with Ansible itself
//! when installed), and standard error captured to a file carries no escape byte.

mod ansible_support;
mod engine_support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use engine_support::{DEFAULT_ACCOUNT, start};

/// One node with a public address, hashtags for the ansible groups, and declared polishers.
const PLAN: &str = r##"---
information:
  - compatibility test plan
actions:
  - inventory:
      output: polished-inventory.yaml
  - ansible:
      output: polished.ini
---
locationId: NA12
blueprints:
  - web:
      domain:
        name: CompatFox
        ipv4: 2
      ethernet:
        name: compat.servers
        subnet: 10.90.0.0
      nodes:
        - web01:
            description: "#web #front-end"
            appliance: Ubuntu
            glue:
              - internet 22
"##;

struct Env<'a> {
    url: &'a str,
    state: &'a Path,
    cwd: &'a Path,
}

impl Env<'_> {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_plumbery"));
        c.current_dir(self.cwd)
            .env("PLUMBERY_STATE_DIR", self.state)
            .env("MCP_ENDPOINT", self.url)
            .env("MCP_USERNAME", DEFAULT_ACCOUNT.user)
            .env("MCP_PASSWORD", DEFAULT_ACCOUNT.password)
            .env("SHARED_SECRET", DEFAULT_ACCOUNT.admin_password)
            .env_remove("RUST_LOG")
            .env_remove("NO_COLOR")
            .args(args)
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "plumbery {args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

fn setup() -> (tempfile::TempDir, tempfile::TempDir) {
    let state = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(cwd.path().join("fittings.yaml"), PLAN).unwrap();
    (state, cwd)
}

#[test]
fn every_action_and_polisher_name_of_the_original_runs() {
    let (emu, _dir) = start(0.002);
    let (state, cwd) = setup();
    let env = Env {
        url: emu.url(),
        state: state.path(),
        cwd: cwd.path(),
    };
    let p = "fittings.yaml";
    env.ok(&[p, "build"]);
    env.ok(&[p, "configure"]);
    env.ok(&[p, "start"]);
    // without local nodes nothing answers SSH: the bootstrapping actions run in safe mode
    for a in ["deploy", "prepare", "refresh"] {
        let out = env.ok(&["-s", p, a]);
        assert!(String::from_utf8_lossy(&out.stdout).contains("Safe mode"));
    }
    for a in ["information", "inventory", "ping", "secrets", "ansible"] {
        env.ok(&[p, a]);
    }
    // polish, finalize and finalise run the polishers of 'actions:', which write their files
    for a in ["polish", "finalize", "finalise", "POLISH"] {
        let _ = std::fs::remove_file(cwd.path().join("polished.ini"));
        let out = env.ok(&[p, a]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("ansible: written to polished.ini"), "{err}");
        let ini = std::fs::read_to_string(cwd.path().join("polished.ini")).unwrap();
        assert!(ini.contains("web01 "), "{ini}");
        let inv = std::fs::read_to_string(cwd.path().join("polished-inventory.yaml")).unwrap();
        assert!(inv.contains("name: web01"), "{inv}");
        assert!(
            inv.contains("type: node") && inv.contains("datacenterId: NA12"),
            "{inv}"
        );
        assert!(inv.contains("cpu: ") && inv.contains("memory: "), "{inv}");
    }
    // a polisher run by its name takes its declared settings too
    let out = env.ok(&[p, "ansible"]);
    assert!(out.stdout.is_empty(), "the inventory went to its file");
    // the original's -p a=1 b=2 form
    env.ok(&["-s", p, "build", "-p", "a=1", "b=2"]);
    env.ok(&[p, "stop"]);
    env.ok(&[p, "wipe"]);
    env.ok(&[p, "destroy"]);
    env.ok(&[p, "dispose"]);
}

#[test]
fn the_original_secrets_file_is_imported_once_and_used() {
    let (emu, _dir) = start(0.002);
    let (state, cwd) = setup();
    let env = Env {
        url: emu.url(),
        state: state.path(),
        cwd: cwd.path(),
    };
    // a key pair as the original made it, and the file as it wrote it: one `id: 'value'` line per
    // secret, newlines written as \n, named by the md5 of the plan argument as typed
    let key = cwd.path().join("orig");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    let private = std::fs::read_to_string(&key).unwrap();
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let text = format!(
        "master.secret: 'Orig-Pass_9=x'\nrsa_private.key: '{}'\nrsa_public.key: '{}'\n",
        private.replace('\n', "\\n"),
        public.trim()
    );
    // md5("fittings.yaml"), as Python's hashlib computes it
    let legacy = cwd.path().join("53896d511ba8b94e3f8ba7436e3e04a4.secrets");
    std::fs::write(&legacy, text).unwrap();

    let out = env.ok(&["fittings.yaml", "secrets"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("imported 3 secret(s) of the original plumbery from"),
        "{err}"
    );
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains(&format!(
            "- master.secret: Orig-Pass_9=x (imported from {})",
            std::fs::canonicalize(&legacy).unwrap().display()
        )),
        "{shown}"
    );
    // once: the second run says nothing, and a value plumbery generates says so
    let out = env.ok(&["fittings.yaml", "secrets"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("imported"));

    // used: the engine logs in with the imported key pair (written as the plan's key file)
    env.ok(&["fittings.yaml", "build"]);
    env.ok(&["fittings.yaml", "information"]);
    let plans: Vec<_> = std::fs::read_dir(state.path().join("plans"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(plans.len(), 1);
    let written = std::fs::read_to_string(plans[0].join("keys/id_rsa")).unwrap();
    assert_eq!(written.trim(), private.trim());
    let secrets = env.ok(&["--json", "fittings.yaml", "secrets"]);
    let doc: serde_json::Value = serde_json::from_slice(&secrets.stdout).unwrap();
    assert_eq!(doc["master.secret"], "Orig-Pass_9=x");
    assert_eq!(doc["rsa_public.key"], public.trim());
    env.ok(&["fittings.yaml", "dispose"]);
}

#[test]
fn standard_error_in_a_file_has_no_escape_byte() {
    let (emu, _dir) = start(0.002);
    let (state, cwd) = setup();
    let env = Env {
        url: emu.url(),
        state: state.path(),
        cwd: cwd.path(),
    };
    let run_to_file = |args: &[&str]| {
        let path = cwd.path().join("stderr.log");
        let file = std::fs::File::create(&path).unwrap();
        let status = env
            .command(args)
            .stdout(Stdio::null())
            .stderr(file)
            .status()
            .unwrap();
        assert!(status.success(), "{args:?}");
        std::fs::read(&path).unwrap()
    };
    // -d: the debug log goes through the tracing subscriber, which colours on a terminal
    let log = run_to_file(&["-d", "fittings.yaml", "build"]);
    assert!(log.len() > 200, "{}", String::from_utf8_lossy(&log));
    assert!(!log.contains(&0x1b), "{}", String::from_utf8_lossy(&log));
    assert!(String::from_utf8_lossy(&log).contains("DEBUG"));
    // the check could fail: forced colour puts escape codes in the same file
    let forced = run_to_file(&["--color", "always", "-d", "fittings.yaml", "stop"]);
    assert!(forced.contains(&0x1b));
    let never = run_to_file(&["--color", "never", "-d", "fittings.yaml", "dispose"]);
    assert!(!never.contains(&0x1b));
}

#[test]
fn the_ansible_inventory_is_read_as_ansible_reads_it() {
    let (emu, _dir) = start(0.002);
    let (state, cwd) = setup();
    let env = Env {
        url: emu.url(),
        state: state.path(),
        cwd: cwd.path(),
    };
    env.ok(&["fittings.yaml", "build"]);
    env.ok(&["fittings.yaml", "start"]);
    env.ok(&["fittings.yaml", "ansible"]);
    let file = cwd.path().join("polished.ini");
    let text = std::fs::read_to_string(&file).unwrap();
    let inv = ansible_support::parse_ini(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let web = &inv.hosts["web01"];
    let public = &web["public_ipv4"];
    assert_eq!(&web["ansible_host"], public, "{text}");
    assert_eq!(&web["ansible_ssh_host"], public);
    assert!(web["private_ipv4"].starts_with("10.90.0."), "{text}");
    assert_eq!(inv.all_vars["ansible_user"], "ubuntu");
    let key = Path::new(&inv.all_vars["ansible_ssh_private_key_file"]);
    assert!(key.is_file() && key.starts_with(state.path()), "{text}");
    let args = ansible_support::shlex_split(&inv.all_vars["ansible_ssh_common_args"]).unwrap();
    let known = args
        .iter()
        .find_map(|a| a.strip_prefix("UserKnownHostsFile="))
        .expect("known hosts pinned");
    assert!(Path::new(known).starts_with(state.path()), "{args:?}");
    assert!(args.contains(&"StrictHostKeyChecking=yes".to_string()));
    assert_eq!(inv.groups["dc_NA12"], ["web01"]);
    assert_eq!(inv.groups["role_web"], ["web01"]);
    assert_eq!(inv.groups["role_front_end"], ["web01"]);
    if let Some(doc) = ansible_support::ansible_inventory_list(&file, state.path()) {
        let vars = &doc["_meta"]["hostvars"]["web01"];
        assert_eq!(vars["ansible_host"], public.as_str(), "{doc}");
        assert_eq!(vars["ansible_user"], "ubuntu", "{doc}");
        assert_eq!(
            vars["ansible_ssh_common_args"],
            inv.all_vars["ansible_ssh_common_args"]
        );
        for g in ["dc_NA12", "role_web", "role_front_end"] {
            assert_eq!(doc[g]["hosts"][0], "web01", "{g}: {doc}");
        }
    }
    env.ok(&["fittings.yaml", "dispose"]);
}
