//! A command that prints nothing for longer than the SSH keepalive interval (15 s) still runs to
//! its end: libssh2's keepalive wake-ups are not a dead connection (a quiet `apt-get` or `runcmd`
//! step used to fail with "Timed out waiting on socket"). A silence longer than the timeout given
//! to `run` still ends it.

mod bootstrap_support;

use std::time::{Duration, Instant};

use bootstrap::ssh::{Auth, connect};
use bootstrap_support::{TestSshd, can_run_sshd, endpoint, new_host_keys, soon};

#[test]
fn a_quiet_command_is_not_a_dead_one() {
    if !can_run_sshd() {
        eprintln!("skipped: needs root and /usr/sbin/sshd");
        return;
    }
    let sshd = TestSshd::start_new();
    let (_state, keys) = new_host_keys();
    let auth = Auth::Key(sshd.client_key.clone());
    let conn = connect(&endpoint(sshd.addr(), "root", &auth, &keys), soon()).unwrap();
    let mut out = Vec::new();
    let code = conn
        .run(
            "echo start; sleep 18; echo done",
            b"",
            Duration::from_secs(60),
            &mut |b| out.extend_from_slice(b),
        )
        .expect("a quiet command ends normally");
    assert_eq!(code, 0);
    assert_eq!(String::from_utf8_lossy(&out), "start\ndone\n");
    let t0 = Instant::now();
    let quiet_too_long = conn.run("sleep 30", b"", Duration::from_secs(3), &mut |_| {});
    assert!(quiet_too_long.is_err(), "{quiet_too_long:?}");
    assert!(t0.elapsed() < Duration::from_secs(25), "{:?}", t0.elapsed());
}
