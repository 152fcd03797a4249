//! Host key pinning: a known_hosts file per plan (OpenSSH format, so `ssh -o UserKnownHostsFile=`
//! can use it too). The first key a host shows is pinned; a host that later shows a key that is
//! not pinned is refused.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Errors of the host key store.
#[derive(Debug, thiserror::Error)]
pub enum HostKeyError {
    /// The host shows a key that is not the pinned one.
    #[error(
        "host key of {host} has changed: it shows {got}, but {file} pins {pinned}. If the node was \
         re-created on purpose, remove its lines from that file (or dispose the plan) and run again"
    )]
    Changed {
        /// `host` or `[host]:port`.
        host: String,
        /// Fingerprint shown now.
        got: String,
        /// Fingerprints pinned.
        pinned: String,
        /// The known_hosts file.
        file: String,
    },
    /// The file could not be read or written.
    #[error("host key file {file}: {source}")]
    Io {
        /// The known_hosts file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Whether a key was already pinned or has just been.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pinned {
    /// The key matches a pinned one.
    Known,
    /// First contact: the key is now pinned.
    New,
}

/// A known_hosts file shared by all nodes of a plan; safe to use from several threads.
#[derive(Debug)]
pub struct HostKeys {
    path: PathBuf,
    lock: Mutex<()>,
}

/// The OpenSSH host label: `host` for port 22, else `[host]:port`.
pub fn host_label(addr: &std::net::SocketAddr) -> String {
    let ip = match addr.ip() {
        std::net::IpAddr::V6(v6) => v6.to_string(),
        ip => ip.to_string(),
    };
    if addr.port() == 22 {
        ip
    } else {
        format!("[{ip}]:{}", addr.port())
    }
}

/// The key type name inside an SSH public key blob (`ssh-ed25519`, `ssh-rsa`, ...).
pub fn key_type(blob: &[u8]) -> Option<String> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    String::from_utf8(blob.get(4..4 + len)?.to_vec()).ok()
}

/// OpenSSH-style fingerprint: `SHA256:` and the unpadded base64 of the blob's SHA-256.
pub fn fingerprint(blob: &[u8]) -> String {
    let digest = Sha256::digest(blob);
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    )
}

impl HostKeys {
    /// The store in `path` (created on first pin, with its directory).
    pub fn new(path: impl Into<PathBuf>) -> HostKeys {
        HostKeys {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    /// Where the keys are kept.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> HostKeyError {
        HostKeyError::Io {
            file: self.path.display().to_string(),
            source,
        }
    }

    fn read(&self) -> Result<Vec<(String, String, String)>, HostKeyError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(self.io(e)),
        };
        Ok(text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                Some((
                    w.next()?.to_string(),
                    w.next()?.to_string(),
                    w.next()?.to_string(),
                ))
            })
            .collect())
    }

    fn write(&self, entries: &[(String, String, String)]) -> Result<(), HostKeyError> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        }
        let text: String = entries
            .iter()
            .map(|(h, t, k)| format!("{h} {t} {k}\n"))
            .collect();
        secrets::write_atomic(&self.path, text.as_bytes(), 0o644).map_err(|e| self.io(e.into()))
    }

    /// Checks the key `blob` shown by `host`: pins it on first contact, accepts it when pinned,
    /// refuses it when the host has other keys pinned.
    pub fn check(&self, host: &str, blob: &[u8]) -> Result<Pinned, HostKeyError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let b64 = base64::engine::general_purpose::STANDARD.encode(blob);
        let mut entries = self.read()?;
        let mine: Vec<_> = entries.iter().filter(|(h, _, _)| h == host).collect();
        if mine.iter().any(|(_, _, k)| *k == b64) {
            return Ok(Pinned::Known);
        }
        if !mine.is_empty() {
            let pinned = mine
                .iter()
                .filter_map(|(_, _, k)| base64::engine::general_purpose::STANDARD.decode(k).ok())
                .map(|b| fingerprint(&b))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(HostKeyError::Changed {
                host: host.to_string(),
                got: fingerprint(blob),
                pinned,
                file: self.path.display().to_string(),
            });
        }
        let kind = key_type(blob).unwrap_or_else(|| "unknown".into());
        entries.push((host.to_string(), kind, b64));
        self.write(&entries)?;
        Ok(Pinned::New)
    }

    /// Trusts one more key for `host`, given as an OpenSSH public key line (`ssh-rsa AAAA... c`):
    /// used when the bootstrap itself installs host keys (`ssh_keys`).
    pub fn trust(&self, host: &str, public_line: &str) -> Result<(), HostKeyError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut w = public_line.split_whitespace();
        let (Some(kind), Some(b64)) = (w.next(), w.next()) else {
            return Ok(());
        };
        let mut entries = self.read()?;
        if !entries.iter().any(|(h, _, k)| h == host && k == b64) {
            entries.push((host.to_string(), kind.to_string(), b64.to_string()));
            self.write(&entries)?;
        }
        Ok(())
    }

    /// Forgets every key of `host` (when its node was disposed of).
    pub fn forget(&self, host: &str) -> Result<(), HostKeyError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut entries = self.read()?;
        let before = entries.len();
        entries.retain(|(h, _, _)| h != host);
        if entries.len() != before {
            self.write(&entries)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(kind: &str, body: &[u8]) -> Vec<u8> {
        let mut b = (kind.len() as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind.as_bytes());
        b.extend_from_slice(body);
        b
    }

    #[test]
    fn pins_then_accepts_then_refuses_a_changed_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = HostKeys::new(dir.path().join("state/known_hosts"));
        let a = blob("ssh-ed25519", b"one");
        let b = blob("ssh-ed25519", b"two");
        assert_eq!(store.check("[127.0.0.1]:2222", &a).unwrap(), Pinned::New);
        assert_eq!(store.check("[127.0.0.1]:2222", &a).unwrap(), Pinned::Known);
        assert_eq!(store.check("[127.0.0.2]:2222", &b).unwrap(), Pinned::New);
        let err = store.check("[127.0.0.1]:2222", &b).unwrap_err();
        assert!(matches!(err, HostKeyError::Changed { .. }));
        assert!(err.to_string().contains(&fingerprint(&b)));
        let text = std::fs::read_to_string(store.path()).unwrap();
        assert!(text.starts_with("[127.0.0.1]:2222 ssh-ed25519 "));
        store.forget("[127.0.0.1]:2222").unwrap();
        assert_eq!(store.check("[127.0.0.1]:2222", &b).unwrap(), Pinned::New);
        let c = blob("ssh-rsa", b"three");
        let line = format!(
            "ssh-rsa {} plan",
            base64::engine::general_purpose::STANDARD.encode(&c)
        );
        store.trust("[127.0.0.1]:2222", &line).unwrap();
        assert_eq!(store.check("[127.0.0.1]:2222", &c).unwrap(), Pinned::Known);
    }

    #[test]
    fn labels_like_openssh() {
        assert_eq!(host_label(&"10.0.0.1:22".parse().unwrap()), "10.0.0.1");
        assert_eq!(
            host_label(&"127.0.0.1:2222".parse().unwrap()),
            "[127.0.0.1]:2222"
        );
        assert_eq!(key_type(&blob("ssh-rsa", b"x")).as_deref(), Some("ssh-rsa"));
    }
}
