//! SSH layer against a private sshd: connect, run a script with its output streamed to a log,
//! pin the host key, refuse a changed host key, retry until the server is up, refuse bad logins.

mod bootstrap_support;

use std::time::{Duration, Instant};

use bootstrap::hostkeys::Pinned;
use bootstrap::log::NodeLog;
use bootstrap::ssh::{Auth, Endpoint, SshError, connect};
use bootstrap::{HostKeyError, Scrubber};
use bootstrap_support::{TestSshd, can_run_sshd, endpoint, new_host_keys, soon};

macro_rules! need_sshd {
    () => {
        if !can_run_sshd() {
            eprintln!("skipped: needs root and /usr/sbin/sshd");
            return;
        }
    };
}

fn key(s: &TestSshd) -> Auth {
    Auth::Key(s.client_key.clone())
}

#[test]
fn connects_runs_a_script_streams_a_scrubbed_log_and_pins_the_host_key() {
    need_sshd!();
    let sshd = TestSshd::start_new();
    let (state, keys) = new_host_keys();
    let auth = key(&sshd);
    let ep = endpoint(sshd.addr(), "root", &auth, &keys);
    let conn = connect(&ep, soon()).unwrap();
    assert_eq!(conn.pinned, Pinned::New);
    let mut log = NodeLog::open(
        &state.path().join("logs"),
        "n1",
        Scrubber::new(["S3cretValue"]),
    )
    .unwrap();
    // The script reads stdin (it must not eat itself), prints a secret and a partial last line.
    let script = "set -eu\nread -r x || true\necho \"line one x=${x:-none}\"\necho 'the secret is S3cretValue' >&2\nprintf 'no newline'";
    let code = conn
        .run_script(script, Duration::from_secs(30), &mut |b| log.feed(b))
        .unwrap();
    log.flush_partial();
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(log.path()).unwrap();
    assert!(text.contains("line one x=none\n"), "{text}");
    assert!(text.contains("the secret is ******\n"), "{text}");
    assert!(text.contains("no newline\n"), "{text}");
    assert!(!text.contains("S3cretValue"));
    let code = conn
        .run_script("echo failing; exit 7", Duration::from_secs(30), &mut |_| {})
        .unwrap();
    assert_eq!(code, 7);
    // No temporary script is left behind.
    let (_, left) = conn
        .capture(
            "ls /tmp | grep -c '^plumbery\\.' || true",
            b"",
            Duration::from_secs(10),
        )
        .unwrap();
    assert_eq!(left.trim(), "0");
    drop(conn);
    let again = connect(&ep, soon()).unwrap();
    assert_eq!(again.pinned, Pinned::Known);
    let pins = std::fs::read_to_string(state.path().join("known_hosts")).unwrap();
    assert!(
        pins.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 ", sshd.port)),
        "{pins}"
    );
}

#[test]
fn a_changed_host_key_stops_with_a_clear_error() {
    need_sshd!();
    let mut sshd = TestSshd::start_new();
    let (_state, keys) = new_host_keys();
    let auth = key(&sshd);
    let ep = endpoint(sshd.addr(), "root", &auth, &keys);
    connect(&ep, soon()).unwrap();
    sshd.stop();
    sshd.new_host_key();
    sshd.start();
    let err = connect(&ep, soon()).unwrap_err();
    assert!(
        matches!(err, SshError::HostKey(HostKeyError::Changed { .. })),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("has changed") && msg.contains("known_hosts"),
        "{msg}"
    );
}

#[test]
fn retries_until_the_server_is_up_and_gives_up_at_the_deadline() {
    need_sshd!();
    let mut sshd = TestSshd::prepare();
    let (_state, keys) = new_host_keys();
    let auth = key(&sshd);
    let addr = sshd.addr();
    // Nothing listens: a short deadline ends in Unreachable.
    let ep = endpoint(addr, "root", &auth, &keys);
    let t = Instant::now();
    let err = connect(&ep, Instant::now() + Duration::from_millis(600)).unwrap_err();
    assert!(matches!(err, SshError::Unreachable { .. }), "{err}");
    assert!(t.elapsed() < Duration::from_secs(5));
    // The server comes up while we retry.
    std::thread::scope(|s| {
        let waiter =
            s.spawn(|| connect(&ep, Instant::now() + Duration::from_secs(20)).map(|c| c.pinned));
        std::thread::sleep(Duration::from_millis(800));
        sshd.start();
        assert_eq!(waiter.join().unwrap().unwrap(), Pinned::New);
    });
}

#[test]
fn refused_logins_are_reported_as_refusals() {
    need_sshd!();
    let sshd = TestSshd::start_new();
    let (_state, keys) = new_host_keys();
    let pw = Auth::Password("not-the-password".into());
    let ep = endpoint(sshd.addr(), "root", &pw, &keys);
    let err = connect(&ep, soon()).unwrap_err();
    assert!(
        matches!(
            err,
            SshError::AuthRejected {
                method: "password",
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.to_string().contains("not-the-password"));
    assert!(!format!("{pw:?}").contains("not-the-password"));
    let methods = bootstrap::ssh::offered_methods(&ep, soon()).unwrap();
    assert_eq!(methods, vec!["publickey".to_string()]);
    // A key the server does not know.
    let other = TestSshd::prepare();
    let k = Auth::Key(other.client_key.clone());
    let ep = Endpoint { auth: &k, ..ep };
    let err = connect(&ep, soon()).unwrap_err();
    assert!(
        matches!(
            err,
            SshError::AuthRejected {
                method: "publickey",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn openssh_format_rsa_keys_work_too() {
    // The secrets store keeps generated pairs as OpenSSH private keys (not PEM).
    need_sshd!();
    let sshd = TestSshd::start_new();
    let key = sshd.dir.path().join("id_openssh");
    let st = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(st.success());
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .contains("BEGIN OPENSSH PRIVATE KEY")
    );
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let mut authorized = std::fs::OpenOptions::new()
        .append(true)
        .open(sshd.dir.path().join("authorized_keys"))
        .unwrap();
    std::io::Write::write_all(&mut authorized, public.as_bytes()).unwrap();
    let (_state, keys) = new_host_keys();
    let auth = Auth::Key(key);
    let ep = endpoint(sshd.addr(), "root", &auth, &keys);
    let conn = connect(&ep, soon()).unwrap();
    let (code, out) = conn
        .capture("echo ok", b"", Duration::from_secs(10))
        .unwrap();
    assert_eq!((code, out.trim()), (0, "ok"));
}
