//! Tests of the script renderer: each key, shell quoting with hostile strings, and idempotence by
//! running the generated script twice with bash against a scratch root directory.

use super::*;
use crate::cloud_config::CloudConfig;
use std::path::Path;
use std::process::Command as Proc;

fn cfg(yaml: &str) -> CloudConfig {
    CloudConfig::parse(&serde_yaml::from_str(yaml).unwrap(), true).unwrap()
}

/// A scratch root with copies of the account files, so user tools run with `--prefix` and the host's
/// accounts are never touched.
fn scratch_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::create_dir_all(dir.path().join("home")).unwrap();
    for f in ["passwd", "group", "shadow", "gshadow", "login.defs"] {
        if Path::new("/etc").join(f).exists() {
            std::fs::copy(Path::new("/etc").join(f), etc.join(f)).unwrap();
        }
    }
    dir
}

fn opts(root: &Path) -> RenderOptions {
    RenderOptions {
        node: "web1".into(),
        root: root.display().to_string(),
        clock_sync: false,
        ..RenderOptions::default()
    }
}

/// Runs the script with bash; returns (success, combined output).
fn run(script: &str) -> (bool, String) {
    let out = Proc::new("bash").arg("-c").arg(script).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn changes(output: &str) -> usize {
    let line = output
        .lines()
        .find(|l| l.starts_with("plumbery: done, "))
        .expect("done line");
    line.trim_start_matches("plumbery: done, ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

const HOSTILE: &str = "it's \"quoted\" $(touch /tmp/pb-pwned) `id` ${HOME} \\ \n second line\t*";

#[test]
fn write_files_are_exact_and_idempotent() {
    let root = scratch_root();
    let gz = {
        // "hello gzip\n" compressed with gzip -n, then base64.
        let out = Proc::new("bash")
            .arg("-c")
            .arg("printf 'hello gzip\\n' | gzip -nc | base64 -w0")
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let doc = format!(
        r#"
write_files:
  - path: "/etc/odd dir/it's $(x).conf"
    content: {hostile}
    permissions: "0600"
  - path: /etc/b64.txt
    encoding: b64
    content: aGVsbG8gYjY0Cg==
    permissions: 0755
  - path: /etc/gz.txt
    encoding: gz+b64
    content: {gz}
  - path: /etc/app.conf
    append: true
    content: |
      line one
      line two
  - path: /etc/app.conf
    append: true
    content: |
      line two
      line three
"#,
        hostile = serde_yaml::to_string(HOSTILE).unwrap().trim(),
    );
    let s = render_script(&cfg(&doc), &opts(root.path())).unwrap();
    let (ok, out) = run(&s.text);
    assert!(ok, "{out}");
    assert!(!Path::new("/tmp/pb-pwned").exists());
    let odd = root.path().join("etc/odd dir/it's $(x).conf");
    assert_eq!(std::fs::read_to_string(&odd).unwrap(), HOSTILE);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&odd).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    let b = root.path().join("etc/b64.txt");
    assert_eq!(std::fs::read_to_string(&b).unwrap(), "hello b64\n");
    assert_eq!(
        std::fs::metadata(&b).unwrap().permissions().mode() & 0o7777,
        0o755
    );
    assert_eq!(
        std::fs::read_to_string(root.path().join("etc/gz.txt")).unwrap(),
        "hello gzip\n"
    );
    let app = std::fs::read_to_string(root.path().join("etc/app.conf")).unwrap();
    assert_eq!(app, "line one\nline two\nline three\n");
    assert!(changes(&out) > 0);

    let (ok, out2) = run(&s.text);
    assert!(ok, "{out2}");
    assert_eq!(changes(&out2), 0, "second run changed something:\n{out2}");
    assert_eq!(
        std::fs::read_to_string(root.path().join("etc/app.conf")).unwrap(),
        app
    );

    // A file changed behind our back is put right, and only that counts as a change.
    std::fs::write(&b, "tampered").unwrap();
    let (ok, out3) = run(&s.text);
    assert!(ok, "{out3}");
    assert_eq!(std::fs::read_to_string(&b).unwrap(), "hello b64\n");
    assert_eq!(changes(&out3), 1, "{out3}");
}

#[test]
fn users_keys_and_sudo_are_idempotent() {
    if !is_root() {
        eprintln!("skipped: useradd --prefix needs root");
        return;
    }
    let root = scratch_root();
    let doc = r#"
users:
  - default
  - name: deploy
    sudo: ['ALL=(ALL) NOPASSWD:ALL']
    groups: [staff, pbtest-group]
    shell: /bin/sh
    ssh-authorized-keys:
      - "ssh-ed25519 AAAAC3Nza deploy@host"
      - ""
ssh_authorized_keys:
  - "ssh-rsa AAAAB3Nza it's$(me)"
"#;
    let mut o = opts(root.path());
    o.access_keys = vec![
        "ssh-ed25519 AAAAplan plan".into(),
        "ssh-rsa AAAAB3Nza it's$(me)".into(),
    ];
    let s = render_script(&cfg(doc), &o).unwrap();
    let (ok, out) = run(&s.text);
    assert!(ok, "{out}");
    let passwd = std::fs::read_to_string(root.path().join("etc/passwd")).unwrap();
    assert!(
        passwd
            .lines()
            .any(|l| l.starts_with("ubuntu:") && l.ends_with(":/bin/bash")),
        "{passwd}"
    );
    assert!(
        passwd
            .lines()
            .any(|l| l.starts_with("deploy:") && l.ends_with(":/bin/sh"))
    );
    let group = std::fs::read_to_string(root.path().join("etc/group")).unwrap();
    assert!(
        group
            .lines()
            .any(|l| l.starts_with("pbtest-group:") && l.ends_with(":deploy")),
        "{group}"
    );
    let keys =
        std::fs::read_to_string(root.path().join("home/ubuntu/.ssh/authorized_keys")).unwrap();
    assert_eq!(
        keys,
        "ssh-ed25519 AAAAplan plan\nssh-rsa AAAAB3Nza it's$(me)\n"
    );
    let sudo =
        std::fs::read_to_string(root.path().join("etc/sudoers.d/90-plumbery-ubuntu")).unwrap();
    assert_eq!(sudo, "ubuntu ALL=(ALL) NOPASSWD:ALL\n");
    let shadow = std::fs::read_to_string(root.path().join("etc/shadow")).unwrap();
    assert!(
        shadow.lines().any(|l| l.starts_with("ubuntu:*:")),
        "password locked as '*'"
    );
    // ~/.ssh belongs to the user, with the modes sshd insists on.
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let ssh_dir = std::fs::metadata(root.path().join("home/ubuntu/.ssh")).unwrap();
    assert_eq!(ssh_dir.permissions().mode() & 0o777, 0o700);
    let home = std::fs::metadata(root.path().join("home/ubuntu")).unwrap();
    assert_eq!(ssh_dir.uid(), home.uid());

    let (ok, out2) = run(&s.text);
    assert!(ok, "{out2}");
    assert_eq!(changes(&out2), 0, "second run changed something:\n{out2}");
    let keys2 =
        std::fs::read_to_string(root.path().join("home/ubuntu/.ssh/authorized_keys")).unwrap();
    assert_eq!(keys, keys2, "keys are added once");
}

#[test]
fn runcmd_runs_once_bootcmd_every_time_and_failures_name_the_command() {
    let root = scratch_root();
    let log = root.path().join("log");
    let doc = format!(
        r#"
bootcmd:
  - echo boot >> {log}
runcmd:
  - echo "run $(echo sub)" >> {log}
  - [sh, -c, "printf '%s\n' \"$0\" >> {log}", "it's $(not run)"]
final_message: "all done: it's $(not run)"
"#,
        log = log.display()
    );
    let s = render_script(&cfg(&doc), &opts(root.path())).unwrap();
    let (ok, out) = run(&s.text);
    assert!(ok, "{out}");
    assert!(out.contains("all done: it's $(not run)"), "{out}");
    let (ok, out) = run(&s.text);
    assert!(ok, "{out}");
    assert!(out.contains("runcmd already done"));
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text, "boot\nrun sub\nit's $(not run)\nboot\n");

    let failing =
        cfg("runcmd:\n  - \"true\"\n  - \"false # the culprit\"\n  - touch /tmp/pb-never\n");
    let s = render_script(&failing, &opts(root.path())).unwrap();
    let (ok, out) = run(&s.text);
    assert!(!ok);
    assert!(
        out.contains("step \"runcmd: false # the culprit\" failed"),
        "{out}"
    );
    assert!(!Path::new("/tmp/pb-never").exists());
}

#[test]
fn hostname_timezone_apt_sources_and_host_keys() {
    let root = scratch_root();
    std::fs::write(root.path().join("etc/hosts"), "127.0.0.1 localhost\n").unwrap();
    std::fs::create_dir_all(root.path().join("usr/share/zoneinfo/Europe")).unwrap();
    std::fs::write(root.path().join("usr/share/zoneinfo/Europe/Paris"), "tz").unwrap();
    std::fs::write(
        root.path().join("etc/os-release"),
        "ID=ubuntu\nVERSION_CODENAME=jammy\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.path().join("etc/apt/sources.list.d")).unwrap();
    std::fs::write(root.path().join("etc/apt/sources.list"), "").unwrap();
    let doc = r#"
hostname: redis01
timezone: Europe/Paris
apt_sources:
  - source: "ppa:chris-lea/redis-server"
  - source: "deb http://example.org/apt $RELEASE main"
    filename: example
ssh_keys:
  rsa_private: |
    -----BEGIN RSA PRIVATE KEY-----
    secret
    -----END RSA PRIVATE KEY-----
  rsa_public: "ssh-rsa AAAApub plan"
disable_root: false
"#;
    let s = render_script(&cfg(doc), &opts(root.path())).unwrap();
    assert_eq!(s.new_host_keys, vec!["ssh-rsa AAAApub plan".to_string()]);
    assert_eq!(
        s.hardening,
        Hardening {
            forbid_root: false,
            forbid_password: true
        }
    );
    let (ok, out) = run(&s.text);
    assert!(ok, "{out}");
    let r = |p: &str| std::fs::read_to_string(root.path().join(p)).unwrap();
    assert_eq!(r("etc/hostname"), "redis01\n");
    assert_eq!(r("etc/hosts"), "127.0.0.1 localhost\n127.0.1.1 redis01\n");
    assert_eq!(r("etc/timezone"), "Europe/Paris\n");
    assert_eq!(
        std::fs::read_link(root.path().join("etc/localtime")).unwrap(),
        Path::new("/usr/share/zoneinfo/Europe/Paris")
    );
    assert_eq!(
        r("etc/apt/sources.list.d/ppa-chris-lea-redis-server.list"),
        "deb http://ppa.launchpad.net/chris-lea/redis-server/ubuntu jammy main\n"
    );
    assert_eq!(
        r("etc/apt/sources.list.d/example.list"),
        "deb http://example.org/apt jammy main\n"
    );
    assert!(r("etc/ssh/ssh_host_rsa_key").contains("secret"));
    assert_eq!(r("etc/ssh/ssh_host_rsa_key.pub"), "ssh-rsa AAAApub plan\n");
    let (ok, out2) = run(&s.text);
    assert!(ok, "{out2}");
    assert_eq!(changes(&out2), 0, "{out2}");
}

#[test]
fn prepare_steps_run_in_order() {
    let root = scratch_root();
    let mut o = opts(root.path());
    let out_file = root.path().join("ran");
    o.prepare = vec![
        PrepareStep::Echo("hello it's $(me)".into()),
        PrepareStep::Put {
            content: b"payload\n".to_vec(),
            dest: "/opt/x.txt".into(),
        },
        PrepareStep::Run {
            name: "s.sh".into(),
            content: format!(
                "#!/bin/sh\nprintf '%s|%s\\n' \"$1\" \"$2\" > '{}'\n",
                out_file.display()
            )
            .into_bytes(),
            args: vec!["a b".into(), "it's".into()],
        },
    ];
    let s = render_script(&CloudConfig::default(), &o).unwrap();
    let (ok, out) = run(&s.text);
    assert!(ok, "{out}");
    assert!(out.contains("hello it's $(me)"));
    assert_eq!(
        std::fs::read_to_string(root.path().join("opt/x.txt")).unwrap(),
        "payload\n"
    );
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), "a b|it's\n");
}

#[test]
fn secrets_stay_out_of_the_script_text_as_plain_words() {
    // File contents travel as base64, so a secret in write_files is never a plain word of the
    // script (the script itself is never logged, this is belt and braces).
    let c =
        cfg("write_files:\n  - path: /etc/redis.conf\n    content: \"requirepass S3cr3tXyz\"\n");
    let s = render_script(&c, &RenderOptions::default()).unwrap();
    assert!(!s.text.contains("S3cr3tXyz"));
}

#[test]
fn ntp_package_is_replaced_by_chrony_with_a_warning() {
    let s = render_script(
        &cfg("packages: [ntp, redis-server]\n"),
        &RenderOptions::default(),
    )
    .unwrap();
    assert!(s.warnings.iter().any(|w| w.contains("`ntp`")));
    assert!(s.text.contains("redis-server"));
    assert!(s.text.contains("chronyc -n tracking"));
    let s = render_script(&cfg("ntp:\n  enabled: false\n"), &RenderOptions::default()).unwrap();
    assert!(!s.text.contains("chronyc"));
}

#[test]
fn rendered_scripts_pass_bash_syntax_check() {
    let doc = std::fs::read_to_string(concat!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
        "/../shared/corpus/plumbery-contrib/database__redis-cluster__fittings.yaml"
    ))
    .unwrap();
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&doc)
        .map(|d| serde_yaml::Value::deserialize(d).unwrap())
        .collect();
    let cc = &docs[0]["defaults"]["cloud-config"];
    let c = CloudConfig::parse(cc, true).unwrap();
    for s in [
        render_script(&c, &RenderOptions::default()).unwrap().text,
        render_harden(
            Hardening {
                forbid_root: true,
                forbid_password: true,
            },
            "",
            false,
            false,
        )
        .unwrap(),
        render_harden(
            Hardening {
                forbid_root: true,
                forbid_password: true,
            },
            "",
            false,
            true,
        )
        .unwrap(),
    ] {
        let out = Proc::new("bash")
            .arg("-n")
            .arg("-c")
            .arg(&s)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}\n{s}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

use serde::Deserialize;

#[test]
fn harden_script_writes_the_dropin_and_include_once() {
    let root = scratch_root();
    std::fs::create_dir_all(root.path().join("etc/ssh")).unwrap();
    std::fs::write(
        root.path().join("etc/ssh/sshd_config"),
        "Port 22\nUsePAM yes\n",
    )
    .unwrap();
    let policy = Hardening {
        forbid_root: true,
        forbid_password: true,
    };
    let s = render_harden(policy, &root.path().display().to_string(), false, false).unwrap();
    let (ok, out) = run(&s);
    assert!(ok, "{out}");
    let main = std::fs::read_to_string(root.path().join("etc/ssh/sshd_config")).unwrap();
    assert_eq!(
        main,
        "Include /etc/ssh/sshd_config.d/00-plumbery.conf\nPort 22\nUsePAM yes\n"
    );
    let dropin =
        std::fs::read_to_string(root.path().join("etc/ssh/sshd_config.d/00-plumbery.conf"))
            .unwrap();
    assert!(
        dropin.contains("PermitRootLogin no\n") && dropin.contains("PasswordAuthentication no\n")
    );
    let (ok, out) = run(&s);
    assert!(ok, "{out}");
    assert_eq!(changes(&out), 0, "{out}");
    // Our line moves to the top even if something was put before it.
    std::fs::write(
        root.path().join("etc/ssh/sshd_config"),
        "Include /etc/ssh/sshd_config.d/*.conf\nInclude /etc/ssh/sshd_config.d/00-plumbery.conf\nPort 22\n",
    )
    .unwrap();
    let (ok, out) = run(&s);
    assert!(ok, "{out}");
    let main = std::fs::read_to_string(root.path().join("etc/ssh/sshd_config")).unwrap();
    assert_eq!(
        main,
        "Include /etc/ssh/sshd_config.d/00-plumbery.conf\nInclude /etc/ssh/sshd_config.d/*.conf\nPort 22\n"
    );
    let rb = render_harden(policy, &root.path().display().to_string(), false, true).unwrap();
    let (ok, out) = run(&rb);
    assert!(ok, "{out}");
    assert!(
        !root
            .path()
            .join("etc/ssh/sshd_config.d/00-plumbery.conf")
            .exists()
    );
    let main = std::fs::read_to_string(root.path().join("etc/ssh/sshd_config")).unwrap();
    assert_eq!(main, "Include /etc/ssh/sshd_config.d/*.conf\nPort 22\n");
}

#[test]
fn append_keeps_the_mode_and_owner_of_an_existing_file_unless_told() {
    use std::os::unix::fs::PermissionsExt;
    let root = scratch_root();
    let conf = root.path().join("etc/redis.conf");
    std::fs::write(&conf, "port 6379\n").unwrap();
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o640)).unwrap();
    let c = cfg(
        "write_files:\n  - path: /etc/redis.conf\n    append: true\n    content: \"maxmemory-policy noeviction\\n\"\n  - path: /etc/new.conf\n    append: true\n    content: x\n",
    );
    let s = render_script(&c, &opts(root.path())).unwrap();
    let (ok, out) = run(&s.text);
    assert!(ok, "{out}");
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        "port 6379\nmaxmemory-policy noeviction\n"
    );
    assert_eq!(
        std::fs::metadata(&conf).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let new = root.path().join("etc/new.conf");
    assert_eq!(
        std::fs::metadata(&new).unwrap().permissions().mode() & 0o777,
        0o644
    );
    let c = cfg(
        "write_files:\n  - path: /etc/redis.conf\n    append: true\n    permissions: '0600'\n    content: x\n",
    );
    let (ok, out) = run(&render_script(&c, &opts(root.path())).unwrap().text);
    assert!(ok, "{out}");
    assert_eq!(
        std::fs::metadata(&conf).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn the_family_comes_from_the_image_name() {
    for (name, family) in [
        ("Ubuntu 14.04 2 CPU", Family::Debian),
        ("Debian 8 64-bit", Family::Debian),
        ("CentOS 7 64-bit 2 CPU", Family::Redhat),
        ("RedHat 7 64-bit 2 CPU", Family::Redhat),
        ("RHEL 8", Family::Redhat),
        ("Rocky Linux 9", Family::Redhat),
        ("SLES 12 SP1 64-bit", Family::Suse),
        ("SUSE Linux Enterprise 15", Family::Suse),
        ("Win2012 R2 DC 64-bit", Family::Debian),
    ] {
        assert_eq!(Family::from_appliance(name), family, "{name}");
    }
}

/// Stub package tools on a PATH: `rpm -q X` succeeds once `X` was installed through the stub dnf,
/// yum or zypper, `dpkg-query` likewise through apt-get; every call is logged.
fn stub_tools(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("stub-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let db = dir.join("installed");
    let log = dir.join("calls.log");
    let install = format!(
        "#!/bin/bash\necho \"$(basename \"$0\") $*\" >> {log}\nfor a in \"$@\"; do case \"$a\" in -*|install|makecache|refresh|update|upgrade) ;; *) echo \"${{a%%[=-][0-9]*}}\" >> {db};; esac; done\n",
        log = log.display(),
        db = db.display()
    );
    let query = format!(
        "#!/bin/bash\necho \"$(basename \"$0\") $*\" >> {log}\nfor a in \"$@\"; do case \"$a\" in -*) ;; *) grep -qx \"$a\" {db} 2> /dev/null && {{ echo \"$a install ok installed\"; exit 0; }};; esac; done\nexit 1\n",
        log = log.display(),
        db = db.display()
    );
    for (name, text) in [
        ("dnf", &install),
        ("yum", &install),
        ("zypper", &install),
        ("apt-get", &install),
        ("rpm", &query),
        ("dpkg-query", &query),
    ] {
        let p = bin.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    bin
}

fn run_with_path(script: &str, bin: &Path) -> (bool, String) {
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = Proc::new("bash")
        .arg("-c")
        .arg(script)
        .env("PATH", path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

const FAMILY_CONFIG: &str = "packages: [redis-server, [libfoo, '1.2']]\napt_sources: [{source: 'ppa:chris-lea/redis-server'}]\nruncmd: [echo configured]\n";

#[test]
fn each_family_installs_packages_with_its_own_manager_once() {
    for (family, manager, spec) in [
        (Family::Debian, "apt-get install", "libfoo=1.2"),
        (Family::Redhat, "dnf -q -y install", "libfoo-1.2"),
        (Family::Suse, "zypper -n -q install", "libfoo=1.2"),
    ] {
        let root = scratch_root();
        let bin = stub_tools(root.path());
        let c = cfg(FAMILY_CONFIG);
        let s = render_script(
            &c,
            &RenderOptions {
                family,
                ..opts(root.path())
            },
        )
        .unwrap();
        let (ok, out) = run_with_path(&s.text, &bin);
        assert!(ok, "{family:?}: {out}");
        let calls = std::fs::read_to_string(root.path().join("calls.log")).unwrap();
        let install = calls
            .lines()
            .find(|l| l.contains(" install"))
            .unwrap_or_default();
        assert!(install.starts_with(manager), "{family:?}: {calls}");
        assert!(
            install.contains("redis-server") && install.contains(spec),
            "{install}"
        );
        for other in ["apt-get", "dnf", "yum", "zypper"] {
            if !manager.starts_with(other) {
                assert!(
                    !calls.contains(&format!("{other} ")),
                    "{family:?} called {other}: {calls}"
                );
            }
        }
        // apt sources only where there is apt
        let has_apt_step = s.text.contains("pb_step apt_sources");
        assert_eq!(has_apt_step, family == Family::Debian, "{family:?}");
        assert_eq!(
            s.warnings
                .iter()
                .any(|w| w.contains("apt_sources are left out")),
            family != Family::Debian
        );
        let (ok, again) = run_with_path(&s.text, &bin);
        assert!(ok, "{again}");
        assert_eq!(changes(&again), 0, "{family:?} second run: {again}");
    }
}

#[test]
fn chrony_is_set_up_the_way_each_family_names_it() {
    let c = cfg("ntp: {servers: [ntp.example.org]}\n");
    let text = |family| {
        render_script(
            &c,
            &RenderOptions {
                family,
                clock_sync: true,
                ..RenderOptions::default()
            },
        )
        .unwrap()
        .text
    };
    let deb = text(Family::Debian);
    assert!(
        deb.contains("/etc/chrony/sources.d/plumbery.sources")
            && deb.contains("pb_chrony_service=chrony\n")
    );
    for f in [Family::Redhat, Family::Suse] {
        let t = text(f);
        assert!(
            t.contains("pb_add_line /etc/chrony.conf") && t.contains("pb_chrony_service=chronyd\n"),
            "{f:?}"
        );
        assert!(
            t.contains("/etc/sysconfig/chronyd") && !t.contains("/etc/default/chrony"),
            "{f:?}"
        );
    }
}

#[test]
fn power_state_and_chpasswd_are_honoured_once() {
    let c = cfg(
        "chpasswd:\n  list: |\n    root:Plain-Pw1\n    admin:$6$salt$hashed\n  expire: true\npassword: Default-Pw2\npower_state: {mode: reboot, delay: '+5', message: 'bye now', condition: 'test -d /'}\n",
    );
    let root = scratch_root();
    let s = render_script(&c, &opts(root.path())).unwrap();
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    assert!(
        s.text.contains("| chpasswd\n") && s.text.contains("| chpasswd -e\n"),
        "clear and hashed apart"
    );
    for u in ["ubuntu", "root", "admin"] {
        assert!(s.text.contains(&format!("passwd --expire {u} ")), "{u}");
    }
    assert!(s.text.contains("shutdown -r +5 'bye now'"), "{}", s.text);
    assert!(s.text.contains("if ( test -d / ); then"));
    let (ok, out) = run(&s.text);
    assert!(ok, "{out}");
    assert!(
        out.contains("changed: passwords") && out.contains("changed: power_state -r +5"),
        "{out}"
    );
    let (ok, again) = run(&s.text);
    assert!(ok, "{again}");
    assert_eq!(changes(&again), 0, "{again}");
    // a new setting runs again
    let c2 = cfg("power_state: {mode: poweroff, delay: now}\n");
    let s2 = render_script(&c2, &opts(root.path())).unwrap();
    assert!(s2.text.contains("shutdown -P +1"));
    let (ok, out) = run(&s2.text);
    assert!(ok && out.contains("changed: power_state -P +1"), "{out}");
}
