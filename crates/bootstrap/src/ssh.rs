//! SSH sessions (ssh2, blocking: call from `spawn_blocking`): connect with retries while a node
//! boots, check the host key against the plan's pins, log in by password or key, and run commands
//! or whole scripts with their output streamed to a callback.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::hostkeys::{HostKeyError, HostKeys, Pinned, host_label};
use super::shell;

/// How to log in.
#[derive(Clone)]
pub enum Auth {
    /// Password (first contact as root). Never printed.
    Password(String),
    /// Private key file (the public half is derived from it).
    Key(PathBuf),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Password(_) => f.write_str("Password(******)"),
            Auth::Key(p) => write!(f, "Key({})", p.display()),
        }
    }
}

impl Auth {
    fn method(&self) -> &'static str {
        match self {
            Auth::Password(_) => "password",
            Auth::Key(_) => "publickey",
        }
    }
}

/// SSH errors. None of them carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// Nothing answered (or no SSH handshake succeeded) before the deadline.
    #[error("{addr} did not answer over SSH within {waited:?} (last error: {last})")]
    Unreachable {
        /// Address tried.
        addr: SocketAddr,
        /// How long we tried.
        waited: Duration,
        /// The last error seen.
        last: String,
    },
    /// The host key is not the pinned one.
    #[error(transparent)]
    HostKey(#[from] HostKeyError),
    /// The server refused the login.
    #[error("{addr} refused {method} login as {user}")]
    AuthRejected {
        /// Address.
        addr: SocketAddr,
        /// User name.
        user: String,
        /// `password` or `publickey`.
        method: &'static str,
    },
    /// Something failed on an established session.
    #[error("{addr}: {action}: {message}")]
    Session {
        /// Address.
        addr: SocketAddr,
        /// What we were doing.
        action: &'static str,
        /// The library's message.
        message: String,
    },
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct Endpoint<'a> {
    /// Address of the node's sshd.
    pub addr: SocketAddr,
    /// User to log in as.
    pub user: &'a str,
    /// Credentials.
    pub auth: &'a Auth,
    /// The plan's pinned host keys.
    pub host_keys: &'a HostKeys,
}

/// An authenticated session.
pub struct Connection {
    session: ssh2::Session,
    addr: SocketAddr,
    user: String,
    /// Whether the host key was pinned on this connection (first contact).
    pub pinned: Pinned,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Connection({}@{})", self.user, self.addr)
    }
}

enum Attempt {
    /// Try again later (node still booting, sshd restarting).
    Retry(String),
    /// Give up at once.
    Fatal(SshError),
}

fn sess_err(addr: SocketAddr, action: &'static str) -> impl Fn(ssh2::Error) -> SshError {
    move |e| SshError::Session {
        addr,
        action,
        message: e.message().to_string(),
    }
}

/// Opens a TCP connection and does the SSH handshake and host key check (no login yet).
fn open(ep: &Endpoint<'_>, remaining: Duration) -> Result<(ssh2::Session, Pinned), Attempt> {
    let step = remaining
        .min(Duration::from_secs(10))
        .max(Duration::from_millis(100));
    let tcp =
        TcpStream::connect_timeout(&ep.addr, step).map_err(|e| Attempt::Retry(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    let mut session = ssh2::Session::new().map_err(|e| Attempt::Retry(e.to_string()))?;
    session.set_tcp_stream(tcp);
    session.set_timeout(step.as_millis() as u32);
    session
        .handshake()
        .map_err(|e| Attempt::Retry(format!("handshake: {}", e.message())))?;
    let (blob, _) = session
        .host_key()
        .ok_or_else(|| Attempt::Retry("the server sent no host key".into()))?;
    let pinned = ep
        .host_keys
        .check(&host_label(&ep.addr), blob)
        .map_err(|e| Attempt::Fatal(e.into()))?;
    Ok((session, pinned))
}

/// An SSH session after the handshake and host key check, before (or between) login attempts.
/// Several attempts for the same user may be made on it (OpenSSH refuses a change of user).
pub struct Handshake {
    session: ssh2::Session,
    addr: SocketAddr,
    /// Whether the host key was pinned on this connection (first contact).
    pub pinned: Pinned,
}

/// Connects and does the handshake, retrying connection failures until `deadline` (a node that
/// is booting, or an sshd that is reloading, refuses or resets connections). A changed host key
/// fails at once.
pub fn handshake(ep: &Endpoint<'_>, deadline: Instant) -> Result<Handshake, SshError> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match open(ep, remaining) {
            Ok((session, pinned)) => {
                return Ok(Handshake {
                    session,
                    addr: ep.addr,
                    pinned,
                });
            }
            Err(Attempt::Fatal(e)) => return Err(e),
            Err(Attempt::Retry(last)) => {
                if Instant::now() + pause >= deadline {
                    return Err(SshError::Unreachable {
                        addr: ep.addr,
                        waited: start.elapsed(),
                        last,
                    });
                }
                tracing::debug!(addr = %ep.addr, %last, "ssh not ready, retrying");
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
    }
}

impl Handshake {
    /// The login methods the server offers `user` (e.g. `["publickey"]`).
    pub fn methods(&self, user: &str) -> Result<Vec<String>, SshError> {
        match self.session.auth_methods(user) {
            Ok(m) => Ok(m.split(',').map(str::to_string).collect()),
            // "none" accepted: the server asks for nothing at all.
            Err(_) if self.session.authenticated() => Ok(vec!["none".into()]),
            Err(e) => Err(sess_err(self.addr, "asking for login methods")(e)),
        }
    }

    /// One login attempt: `Ok(true)` when accepted, `Ok(false)` when refused.
    pub fn try_login(&self, user: &str, auth: &Auth) -> Result<bool, SshError> {
        let r = match auth {
            Auth::Password(pw) => self.session.userauth_password(user, pw),
            Auth::Key(key) => self.session.userauth_pubkey_file(user, None, key, None),
        };
        match r {
            Ok(()) => Ok(self.session.authenticated()),
            // -18: authentication failed, -19: public key unverified.
            Err(e)
                if matches!(
                    e.code(),
                    ssh2::ErrorCode::Session(-18) | ssh2::ErrorCode::Session(-19)
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(SshError::Session {
                addr: self.addr,
                action: "logging in",
                message: e.message().to_string(),
            }),
        }
    }

    /// Logs in and turns the session into a [`Connection`].
    pub fn login(self, user: &str, auth: &Auth) -> Result<Connection, SshError> {
        if !self.try_login(user, auth)? {
            return Err(SshError::AuthRejected {
                addr: self.addr,
                user: user.to_string(),
                method: auth.method(),
            });
        }
        self.session.set_keepalive(true, 15);
        Ok(Connection {
            session: self.session,
            addr: self.addr,
            user: user.to_string(),
            pinned: self.pinned,
        })
    }
}

/// Connects and logs in (see [`handshake`]); a refused login fails at once.
pub fn connect(ep: &Endpoint<'_>, deadline: Instant) -> Result<Connection, SshError> {
    handshake(ep, deadline)?.login(ep.user, ep.auth)
}

/// The login methods the server offers `ep.user`, without logging in.
pub fn offered_methods(ep: &Endpoint<'_>, deadline: Instant) -> Result<Vec<String>, SshError> {
    handshake(ep, deadline)?.methods(ep.user)
}

impl Connection {
    /// The user this session is logged in as.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Runs `command` (a remote shell command line: put no secret in it), writes `stdin` to it,
    /// streams its merged stdout and stderr to `out`, and returns its exit code. `timeout` bounds
    /// each wait for output (zero: no limit).
    pub fn run(
        &self,
        command: &str,
        stdin: &[u8],
        timeout: Duration,
        out: &mut dyn FnMut(&[u8]),
    ) -> Result<i32, SshError> {
        let addr = self.addr;
        self.session
            .set_timeout(timeout.as_millis().min(u32::MAX as u128) as u32);
        let mut ch = self
            .session
            .channel_session()
            .map_err(sess_err(addr, "opening a channel"))?;
        ch.handle_extended_data(ssh2::ExtendedData::Merge)
            .map_err(sess_err(addr, "merging stderr"))?;
        ch.exec(command)
            .map_err(sess_err(addr, "starting a command"))?;
        let io = |action: &'static str| {
            move |e: std::io::Error| SshError::Session {
                addr,
                action,
                message: e.to_string(),
            }
        };
        if !stdin.is_empty() {
            ch.write_all(stdin).map_err(io("sending input"))?;
        }
        ch.send_eof().map_err(sess_err(addr, "closing input"))?;
        let mut buf = [0u8; 16 * 1024];
        let mut last_output = Instant::now();
        loop {
            let n = match ch.read(&mut buf) {
                Ok(n) => n,
                // With keepalives on, libssh2 ends a blocking wait at each keepalive interval
                // ("Timed out waiting on socket"): a quiet command is not a dead one. Send the
                // keepalive and wait on, until `timeout` passes without any output.
                Err(e)
                    if e.kind() == std::io::ErrorKind::TimedOut
                        && (timeout.is_zero() || last_output.elapsed() < timeout) =>
                {
                    let _ = self.session.keepalive_send();
                    continue;
                }
                Err(e) => return Err(io("reading output")(e)),
            };
            if n == 0 {
                break;
            }
            last_output = Instant::now();
            out(&buf[..n]);
        }
        ch.wait_close()
            .map_err(sess_err(addr, "closing the channel"))?;
        ch.exit_status()
            .map_err(sess_err(addr, "reading the exit status"))
    }

    /// Runs `command` and returns its exit code and output (for short commands).
    pub fn capture(
        &self,
        command: &str,
        stdin: &[u8],
        timeout: Duration,
    ) -> Result<(i32, String), SshError> {
        let mut text = Vec::new();
        let code = self.run(command, stdin, timeout, &mut |b| text.extend_from_slice(b))?;
        Ok((code, String::from_utf8_lossy(&text).into_owned()))
    }

    /// The command line that runs a script sent on stdin as root (through `sudo -n` unless logged
    /// in as root). The script goes to a private temporary file first, so that commands in it that
    /// read stdin cannot eat the rest of the script; the file is removed afterwards. Its stderr
    /// joins stdout on the node, so the log keeps the order in which lines were written.
    pub fn script_command(&self) -> String {
        let inner = "umask 077; f=$(mktemp /tmp/plumbery.XXXXXX) || exit 1; trap 'rm -f \"$f\"' EXIT; \
                     cat > \"$f\" || exit 1; bash \"$f\" < /dev/null 2>&1; rc=$?; exit $rc";
        let sudo = if self.user == "root" { "" } else { "sudo -n " };
        format!("{sudo}bash -c {}", shell::quote(inner))
    }

    /// Runs a bash script as root; see [`Connection::script_command`].
    pub fn run_script(
        &self,
        script: &str,
        timeout: Duration,
        out: &mut dyn FnMut(&[u8]),
    ) -> Result<i32, SshError> {
        self.run(&self.script_command(), script.as_bytes(), timeout, out)
    }
}
