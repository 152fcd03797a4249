//! [`Store`]: the secrets of one plan in `secrets.json` (mode 0600) under the plan's state directory,
//! read and written under an exclusive lock, each value generated once.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use nix::fcntl::{Flock, FlockArg};

use super::atomic::write_atomic;
use super::error::SecretsError;
use super::generate::{key_pair, random_secret};
use super::paths::plan_state_dir;

/// The secrets of one plan.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    file: PathBuf,
    cache: Mutex<BTreeMap<String, String>>,
}

impl Store {
    /// Opens (creating its directory if needed) the store of the plan whose key is `plan_key`
    /// (`PlanText::key`, for example `file:/home/me/redis.yaml`).
    pub fn open(plan_key: &str) -> Result<Store, SecretsError> {
        Store::open_in(&plan_state_dir(plan_key))
    }

    /// Opens the store kept in `dir` (its `secrets.json`).
    pub fn open_in(dir: &Path) -> Result<Store, SecretsError> {
        std::fs::create_dir_all(dir).map_err(|source| io(dir, "create directory", source))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|source| io(dir, "set directory mode", source))?;
        let store = Store {
            dir: dir.to_path_buf(),
            file: dir.join("secrets.json"),
            cache: Mutex::new(BTreeMap::new()),
        };
        let current = store.read_file()?;
        *store.cache.lock().expect("secrets lock") = current;
        Ok(store)
    }

    /// The plan's state directory (host keys, logs and other per-plan files may live here too).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The secrets file.
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// Every stored secret, by name (`master.secret`, `rsa_public.key` ...).
    pub fn list(&self) -> BTreeMap<String, String> {
        self.cache.lock().expect("secrets lock").clone()
    }

    /// A stored value, if any.
    pub fn get(&self, name: &str) -> Option<String> {
        self.cache.lock().expect("secrets lock").get(name).cloned()
    }

    /// The value of `name`, generated and persisted on first use: a UUID for `uuid.X` / `X.uuid`, else a
    /// random 16-character secret.
    pub fn get_or_generate(&self, name: &str) -> Result<String, SecretsError> {
        let is_uuid = name.starts_with("uuid.") || name.ends_with(".uuid");
        let value = self.get_or_insert_with(name, || {
            Ok(if is_uuid {
                uuid::Uuid::new_v4().to_string()
            } else {
                random_secret(16)
            })
        })?;
        Ok(value)
    }

    /// The key pair `name` as (OpenSSH public key, OpenSSH private key PEM), generated on first use
    /// (Ed25519, or RSA 2048 when the name ends in `rsa`: see [`crate::generate::wants_rsa`]) and
    /// stored as `rsa_public.<name>` and `rsa_private.<name>`; a stored pair is kept whatever its
    /// type (plans deployed with RSA keys keep them).
    pub fn key_pair(&self, name: &str) -> Result<(String, String), SecretsError> {
        let (pub_id, priv_id) = (format!("rsa_public.{name}"), format!("rsa_private.{name}"));
        let mut map = self.cache.lock().expect("secrets lock");
        if let (Some(p), Some(k)) = (map.get(&pub_id), map.get(&priv_id)) {
            return Ok((p.clone(), k.clone()));
        }
        let _lock = self.lock()?;
        *map = self.read_file()?;
        if let (Some(p), Some(k)) = (map.get(&pub_id), map.get(&priv_id)) {
            return Ok((p.clone(), k.clone()));
        }
        let (public, private) = key_pair(name)?;
        map.insert(pub_id, public.clone());
        map.insert(priv_id, private.clone());
        self.write_file(&map)?;
        Ok((public, private))
    }

    /// The value of `name`, produced by `make` and persisted on first use (used for URL values).
    pub fn get_or_insert_with(
        &self,
        name: &str,
        make: impl FnOnce() -> Result<String, SecretsError>,
    ) -> Result<String, SecretsError> {
        let mut map = self.cache.lock().expect("secrets lock");
        if let Some(v) = map.get(name) {
            return Ok(v.clone());
        }
        let _lock = self.lock()?;
        *map = self.read_file()?;
        if let Some(v) = map.get(name) {
            return Ok(v.clone());
        }
        let value = make()?;
        map.insert(name.to_string(), value.clone());
        self.write_file(&map)?;
        tracing::debug!(secret = name, "generated and stored a new secret");
        Ok(value)
    }

    fn lock(&self) -> Result<Flock<File>, SecretsError> {
        let path = self.dir.join("secrets.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|source| io(&path, "open lock", source))?;
        Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| io(&path, "lock", std::io::Error::from(errno)))
    }

    fn read_file(&self) -> Result<BTreeMap<String, String>, SecretsError> {
        match std::fs::read_to_string(&self.file) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| SecretsError::Damaged {
                path: self.file.clone(),
                reason: format!("not a JSON object of strings at line {}", e.line()),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(source) => Err(io(&self.file, "read", source)),
        }
    }

    fn write_file(&self, map: &BTreeMap<String, String>) -> Result<(), SecretsError> {
        let text = serde_json::to_string_pretty(map).expect("strings serialise");
        write_atomic(&self.file, text.as_bytes(), 0o600)
            .map_err(|e| io(&e.path, e.action, e.source))
    }
}

fn io(path: &Path, action: &'static str, source: std::io::Error) -> SecretsError {
    SecretsError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_persist_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        let a = store.get_or_generate("master.secret").unwrap();
        assert_eq!(a.len(), 16);
        assert_eq!(store.get_or_generate("master.secret").unwrap(), a);
        let u = store.get_or_generate("uuid.node").unwrap();
        assert!(uuid::Uuid::parse_str(&u).is_ok());
        let mode = std::fs::metadata(store.path())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let again = Store::open_in(dir.path()).unwrap();
        assert_eq!(again.get("master.secret"), Some(a));
        assert_eq!(again.list().len(), 2);
    }

    #[test]
    fn two_stores_on_one_plan_agree() {
        let dir = tempfile::tempdir().unwrap();
        let one = Store::open_in(dir.path()).unwrap();
        let two = Store::open_in(dir.path()).unwrap();
        let a = one.get_or_generate("x.secret").unwrap();
        assert_eq!(
            two.get_or_generate("x.secret").unwrap(),
            a,
            "the second store rereads before generating"
        );
        let b = two.get_or_generate("y.secret").unwrap();
        one.get_or_generate("z.secret").unwrap();
        let reread = Store::open_in(dir.path()).unwrap().list();
        assert_eq!(reread.get("y.secret"), Some(&b));
        assert_eq!(reread.len(), 3);
    }

    #[test]
    fn damaged_store_is_reported_without_values() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secrets.json"), "{\"a\": \"hunter2\"").unwrap();
        let err = Store::open_in(dir.path()).unwrap_err().to_string();
        assert!(err.contains("damaged") && !err.contains("hunter2"), "{err}");
    }

    #[test]
    fn key_pairs_are_generated_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        let (public, private) = store.key_pair("key").unwrap();
        assert!(public.starts_with("ssh-ed25519 "), "{public}");
        assert!(public.ends_with(" plumbery-key"), "{public}");
        assert!(private.contains("PRIVATE KEY"));
        assert_eq!(store.key_pair("key").unwrap().0, public);
        assert_eq!(store.get("rsa_public.key"), Some(public));
        let (rsa, _) = store.key_pair("legacy_rsa").unwrap();
        assert!(rsa.starts_with("ssh-rsa "), "{rsa}");
        // A pair stored earlier keeps its type, whatever the default is now.
        std::fs::write(
            dir.path().join("secrets.json"),
            serde_json::json!({"rsa_public.key": "ssh-rsa AAAA old", "rsa_private.key": "OLD"})
                .to_string(),
        )
        .unwrap();
        let again = Store::open_in(dir.path()).unwrap();
        assert_eq!(again.key_pair("key").unwrap().0, "ssh-rsa AAAA old");
    }
}
