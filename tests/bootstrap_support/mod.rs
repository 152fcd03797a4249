//! Test helpers for the bootstrap tests and benchmark: a private sshd on 127.0.0.1 (own config,
//! host key, authorised key and pid file in a temp dir, key logins only), ended by pid on drop,
//! and a scratch root with copies of the account files.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bootstrap::HostKeys;
use bootstrap::ssh::{Auth, Endpoint};

/// A private sshd. It runs in its own mount namespace with a tmpfs on /run (sshd needs
/// /run/sshd), so nothing on the host changes.
pub struct TestSshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
    /// Client private key (RSA, PEM: the format of the plan's generated key).
    pub client_key: PathBuf,
    /// Client public key.
    pub client_pub: PathBuf,
}

fn keygen(args: &[&str]) {
    let st = Command::new("ssh-keygen")
        .args(args)
        .arg("-q")
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "ssh-keygen {args:?}");
}

/// A new, empty known_hosts in its own temp dir (keep the dir as long as the keys).
pub fn new_host_keys() -> (tempfile::TempDir, HostKeys) {
    let dir = tempfile::tempdir().unwrap();
    let keys = HostKeys::new(dir.path().join("known_hosts"));
    (dir, keys)
}

/// `user`@`addr` logging in with `auth`, host keys checked against `keys`.
pub fn endpoint<'a>(
    addr: SocketAddr,
    user: &'a str,
    auth: &'a Auth,
    keys: &'a HostKeys,
) -> Endpoint<'a> {
    Endpoint {
        addr,
        user,
        auth,
        host_keys: keys,
    }
}

/// The deadline of a connect to an sshd that is up: ten seconds from now.
pub fn soon() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl TestSshd {
    /// Keys and config, not started.
    pub fn prepare() -> TestSshd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&[
            "-t",
            "ed25519",
            "-N",
            "",
            "-f",
            d.join("host_key").to_str().unwrap(),
        ]);
        keygen(&[
            "-t",
            "rsa",
            "-b",
            "2048",
            "-m",
            "PEM",
            "-N",
            "",
            "-f",
            d.join("id_rsa").to_str().unwrap(),
        ]);
        std::fs::copy(d.join("id_rsa.pub"), d.join("authorized_keys")).unwrap();
        let port = free_port();
        let cfg = format!(
            "ListenAddress 127.0.0.1\nPort {port}\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\nUsePAM no\nStrictModes no\n\
             PermitRootLogin prohibit-password\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nLogLevel ERROR\nMaxStartups 100\n",
            d = d.display()
        );
        std::fs::write(d.join("sshd_config"), cfg).unwrap();
        TestSshd {
            port,
            client_key: d.join("id_rsa"),
            client_pub: d.join("id_rsa.pub"),
            dir,
            child: None,
        }
    }

    /// Prepared and started.
    pub fn start_new() -> TestSshd {
        let mut s = TestSshd::prepare();
        s.start();
        s
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Starts sshd and waits until it accepts connections.
    pub fn start(&mut self) {
        assert!(self.child.is_none());
        let d = self.dir.path();
        let script = format!(
            "mount -t tmpfs tmpfs /run && mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e -f {}",
            d.join("sshd_config").display()
        );
        let log = std::fs::File::create(d.join("sshd.log")).unwrap();
        let child = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&self.addr(), Duration::from_millis(200)).is_err() {
            if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "sshd exited ({st}): {}",
                    std::fs::read_to_string(d.join("sshd.log")).unwrap()
                );
            }
            assert!(Instant::now() < deadline, "sshd did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Ends sshd (by its pid) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// A new host key (as if the node had been re-created).
    pub fn new_host_key(&mut self) {
        let k = self.dir.path().join("host_key");
        std::fs::remove_file(&k).unwrap();
        std::fs::remove_file(k.with_extension("pub")).ok();
        let _ = std::fs::remove_file(self.dir.path().join("host_key.pub"));
        keygen(&["-t", "ed25519", "-N", "", "-f", k.to_str().unwrap()]);
    }
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A sandbox for `BootstrapOptions::sandbox_root`: one scratch root per node name, each with
/// copies of the account files.
pub fn sandbox(nodes: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for n in nodes {
        fill_root(&dir.path().join(n));
    }
    dir
}

/// Makes `root` a scratch root with copies of the account files.
pub fn fill_root(root: &Path) {
    let etc = root.join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::create_dir_all(root.join("home")).unwrap();
    for f in ["passwd", "group", "shadow", "gshadow", "login.defs"] {
        let src = Path::new("/etc").join(f);
        if src.exists() {
            std::fs::copy(&src, etc.join(f)).unwrap();
        }
    }
}

/// Whether the tests can start sshd (root, sshd and unshare present).
pub fn can_run_sshd() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    root && Path::new("/usr/sbin/sshd").exists()
}

/// A throw-away "node" for the hardening flow: the real sshd with the host's own PAM and config,
/// started in a private mount namespace where `/etc` is a copy, and `/home`, `/run`, `/tmp`,
/// `/var/log` and `/var/mail` are fresh tmpfs. Root's password (in the copy only) allows the first contact; every change the
/// bootstrap makes (users, sudoers, sshd drop-in, reload) happens inside that namespace.
pub struct MiniNode {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub password: String,
    child: Option<Child>,
}

impl MiniNode {
    pub fn start(password: &str) -> MiniNode {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc");
        let st = Command::new("cp")
            .args(["-a", "/etc"])
            .arg(&etc)
            .status()
            .unwrap();
        assert!(st.success());
        // Fresh host keys and a first-boot sshd config, in the copy.
        for e in std::fs::read_dir(etc.join("ssh")).unwrap().flatten() {
            if e.file_name().to_string_lossy().starts_with("ssh_host_") {
                std::fs::remove_file(e.path()).unwrap();
            }
        }
        keygen(&[
            "-t",
            "ed25519",
            "-N",
            "",
            "-f",
            etc.join("ssh/ssh_host_ed25519_key").to_str().unwrap(),
        ]);
        let port = free_port();
        std::fs::create_dir_all(etc.join("ssh/sshd_config.d")).unwrap();
        std::fs::write(
            etc.join("ssh/sshd_config.d/pd.conf"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nPermitRootLogin yes\nPasswordAuthentication yes\nUseDNS no\nMaxStartups 100\n"
            ),
        )
        .unwrap();
        let script = format!(
            "set -e; mount --bind {etc} /etc; mount -t tmpfs tmpfs /run; mkdir -p /run/sshd; \
             mount -t tmpfs tmpfs /home; mount -t tmpfs tmpfs /tmp; \
             mount -t tmpfs tmpfs /var/log; mount -t tmpfs tmpfs /var/mail; \
             printf 'root:%s\\n' \"$PB_PW\" | chpasswd; exec /usr/sbin/sshd -D -e",
            etc = etc.display()
        );
        let log = std::fs::File::create(dir.path().join("sshd.log")).unwrap();
        let child = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .env("PB_PW", password)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut node = MiniNode {
            dir,
            port,
            password: password.to_string(),
            child: Some(child),
        };
        let addr = node.addr();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Some(st) = node.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("sshd exited ({st}): {}", node.sshd_log());
            }
            assert!(Instant::now() < deadline, "sshd did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        node
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The node's /etc (the copy).
    pub fn etc(&self) -> PathBuf {
        self.dir.path().join("etc")
    }

    pub fn sshd_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for MiniNode {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
