//! The whole bootstrap against a throw-away node (real sshd, PAM and sudo in a private mount
//! namespace, see `MiniNode`): first contact as root with the password, the script, the key
//! login as `ubuntu`, hardening, proofs that password and root logins are refused, and a second
//! run that logs in with the key and changes nothing.

mod bootstrap_support;

use std::time::Duration;

use bootstrap::ssh::{Auth, SshError, connect};
use bootstrap::{BootstrapOptions, HostKeys, KeyPair, NodeStatus, NodeTarget, prepare_nodes};
use bootstrap_support::{MiniNode, can_run_sshd, endpoint, soon};

const PASSWORD: &str = "First-Contact-9x";

fn keypair(dir: &std::path::Path) -> KeyPair {
    let private = dir.join("plan_rsa");
    let st = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-f"])
        .arg(&private)
        .status()
        .unwrap();
    assert!(st.success());
    KeyPair {
        public: private.with_extension("pub"),
        private,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_contact_hardening_and_an_idempotent_second_run() {
    if !can_run_sshd() {
        eprintln!("skipped: needs root and /usr/sbin/sshd");
        return;
    }
    let node = MiniNode::start(PASSWORD);
    let state = tempfile::tempdir().unwrap();
    let mut opts = BootstrapOptions::new(state.path(), keypair(state.path()));
    opts.clock_sync = false;
    opts.boot_timeout = Duration::from_secs(20);
    let target = NodeTarget {
        name: "redis01".into(),
        address: node.addr(),
        admin_password: PASSWORD.into(),
        cloud_config: serde_yaml::from_str(
            "write_files:\n  - path: /etc/redis-test.conf\n    content: \"requirepass Plan-Secret-77\\n\"\n\
             disable_root: true\nssh_pwauth: false\nfinal_message: \"root password was First-Contact-9x\"\n",
        )
        .unwrap(),
        prepare: vec![],
        appliance: None,
    };
    opts.secrets = vec!["Plan-Secret-77".into()];

    let out = prepare_nodes(vec![target.clone()], &opts).await;
    let o = &out[0];
    let log = std::fs::read_to_string(&o.log).unwrap_or_default();
    assert_eq!(
        o.status,
        NodeStatus::Completed,
        "{o:?}\n{log}\n{}",
        node.sshd_log()
    );
    assert!(o.hardened);
    assert_eq!(o.ssh_user, "ubuntu");
    assert!(log.contains("first contact as root"), "{log}");
    assert!(
        log.contains("root password was ******"),
        "the admin password is scrubbed: {log}"
    );
    assert!(!log.contains(PASSWORD) && !log.contains("Plan-Secret-77"));
    let conf = std::fs::read_to_string(node.etc().join("redis-test.conf")).unwrap();
    assert_eq!(conf, "requirepass Plan-Secret-77\n");
    let dropin =
        std::fs::read_to_string(node.etc().join("ssh/sshd_config.d/00-plumbery.conf")).unwrap();
    assert!(dropin.contains("PasswordAuthentication no"));

    // From the outside: root's password is refused, the key as root is refused, ubuntu's key works.
    let keys = HostKeys::new(opts.known_hosts());
    let pw = Auth::Password(PASSWORD.into());
    let key = Auth::Key(opts.key.private.clone());
    let ep = |user, auth| endpoint(node.addr(), user, auth, &keys);
    assert!(matches!(
        connect(&ep("root", &pw), soon()),
        Err(SshError::AuthRejected { .. })
    ));
    assert!(matches!(
        connect(&ep("root", &key), soon()),
        Err(SshError::AuthRejected { .. })
    ));
    let ubuntu = connect(&ep("ubuntu", &key), soon()).unwrap();
    let (code, who) = ubuntu
        .capture("sudo -n id -un", b"", Duration::from_secs(10))
        .unwrap();
    assert_eq!((code, who.trim()), (0, "root"));

    // Second run: straight in with the key, nothing to change.
    let again = prepare_nodes(vec![target], &opts).await;
    let o = &again[0];
    let log = std::fs::read_to_string(&o.log).unwrap_or_default();
    assert_eq!(o.status, NodeStatus::Completed, "{o:?}\n{log}");
    assert_eq!(o.changes, 0, "{log}");
    assert!(log.contains("logged in as ubuntu with the plan's key"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_login_that_does_not_work_leaves_password_logins_alone() {
    if !can_run_sshd() {
        eprintln!("skipped: needs root and /usr/sbin/sshd");
        return;
    }
    let node = MiniNode::start(PASSWORD);
    let state = tempfile::tempdir().unwrap();
    let good = keypair(state.path());
    let other = tempfile::tempdir().unwrap();
    let wrong = keypair(other.path());
    // The public key installed on the node does not match the private key we log in with.
    let mut opts = BootstrapOptions::new(
        state.path(),
        KeyPair {
            private: good.private.clone(),
            public: wrong.public.clone(),
        },
    );
    opts.clock_sync = false;
    opts.boot_timeout = Duration::from_secs(20);
    let target = NodeTarget {
        name: "web1".into(),
        address: node.addr(),
        admin_password: PASSWORD.into(),
        cloud_config: serde_yaml::Value::Null,
        prepare: vec![],
        appliance: None,
    };
    let out = prepare_nodes(vec![target], &opts).await;
    let o = &out[0];
    assert_eq!(o.status, NodeStatus::Failed, "{o:?}");
    assert!(!o.hardened);
    assert!(
        o.error
            .as_deref()
            .unwrap()
            .contains("refused publickey login as ubuntu"),
        "{o:?}"
    );
    assert!(
        !node
            .etc()
            .join("ssh/sshd_config.d/00-plumbery.conf")
            .exists()
    );
    // Root's password still opens the node.
    let keys = HostKeys::new(opts.known_hosts());
    let pw = Auth::Password(PASSWORD.into());
    let conn = connect(&endpoint(node.addr(), "root", &pw, &keys), soon()).unwrap();
    let (code, _) = conn.capture("true", b"", Duration::from_secs(10)).unwrap();
    assert_eq!(code, 0);
}
