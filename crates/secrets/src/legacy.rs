//! The original plumbery's secrets file, read once into the [`Store`]: `<md5 hex of the plan
//! argument as given>.secrets` in the working directory, one `id: 'value'` line per secret, each
//! newline of a value written as the two characters `\n`, quotes inside values not escaped.
//! Importing keeps the values as they were (same passwords, same keys), so re-preparing a
//! deployment the original made does not invent new ones.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

use super::error::SecretsError;
use super::store::Store;

/// The original's file name for the plan given as `plan_arg` (a path as typed, a URL, or `-`).
pub fn legacy_file_name(plan_arg: &str) -> String {
    format!("{}.secrets", hex::encode(Md5::digest(plan_arg.as_bytes())))
}

/// Parses the original's secrets file. Errors name the line, never a value.
pub fn parse_legacy(path: &Path, text: &str) -> Result<BTreeMap<String, String>, SecretsError> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let Some((id, value)) = line.split_once(':') else {
            return Err(SecretsError::Damaged {
                path: path.to_path_buf(),
                reason: format!("line {} is not 'id: value'", i + 1),
            });
        };
        let value = value.trim();
        let value = value
            .strip_prefix('\'')
            .and_then(|v| v.strip_suffix('\''))
            .or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
            .unwrap_or(value);
        out.insert(id.trim().to_string(), value.replace("\\n", "\n"));
    }
    Ok(out)
}

/// What [`Store::import_legacy`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The file read.
    pub path: PathBuf,
    /// Names taken from it (those the store did not hold yet).
    pub names: Vec<String>,
    /// Names the store already held with another value (kept as they were).
    pub kept: Vec<String>,
}

impl Store {
    /// Imports the original's secrets file of `plan_arg` from `dir` (the working directory), once:
    /// `None` when there is no such file or it was imported before. Values the store already holds
    /// win; each imported value remembers its file (see [`Store::origins`]).
    pub fn import_legacy(
        &self,
        dir: &Path,
        plan_arg: &str,
    ) -> Result<Option<Imported>, SecretsError> {
        let path = dir.join(legacy_file_name(plan_arg));
        let path = std::fs::canonicalize(&path).unwrap_or(path);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(SecretsError::Io {
                    path,
                    action: "read the original's secrets",
                    source,
                });
            }
        };
        let mut origins = self.origins();
        let marker = format!("imported:{}", path.display());
        if origins.contains_key(&marker) {
            return Ok(None);
        }
        let entries = parse_legacy(&path, &text)?;
        let origin = format!("imported from {}", path.display());
        let mut imported = Imported {
            path: path.clone(),
            names: Vec::new(),
            kept: Vec::new(),
        };
        for (name, value) in &entries {
            let stored = self.get_or_insert_with(name, || Ok(value.clone()))?;
            if stored == *value && !origins.contains_key(name) {
                origins.insert(name.clone(), origin.clone());
                imported.names.push(name.clone());
            } else if stored != *value {
                imported.kept.push(name.clone());
            }
        }
        origins.insert(marker, origin);
        self.write_origins(&origins)?;
        Ok(Some(imported))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_name_is_the_md5_of_the_argument_as_given() {
        // as Python's hashlib.md5(b"fittings.yaml").hexdigest()
        assert_eq!(
            legacy_file_name("fittings.yaml"),
            "53896d511ba8b94e3f8ba7436e3e04a4.secrets"
        );
        assert_eq!(
            legacy_file_name("-"),
            "336d5ebc5436534e61d16e63ddfca327.secrets"
        );
        assert_ne!(
            legacy_file_name("./fittings.yaml"),
            legacy_file_name("fittings.yaml")
        );
    }

    #[test]
    fn lines_parse_as_the_original_wrote_them() {
        let text = "master.secret: 'aB3-_!=x9'\nrsa_private.key: '-----BEGIN RSA PRIVATE KEY-----\\nMIIE\\n-----END RSA PRIVATE KEY-----\\n'\nodd.secret: 'it's'\n";
        let m = parse_legacy(Path::new("x.secrets"), text).unwrap();
        assert_eq!(m["master.secret"], "aB3-_!=x9");
        assert_eq!(
            m["rsa_private.key"],
            "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n"
        );
        assert_eq!(m["odd.secret"], "it's");
        let err = parse_legacy(Path::new("x.secrets"), "a: 'b'\nhunter2\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2") && !err.contains("hunter2"), "{err}");
    }

    #[test]
    fn import_happens_once_and_keeps_what_the_store_has() {
        let cwd = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        std::fs::write(
            cwd.path().join(legacy_file_name("plan.yaml")),
            "a.secret: 'old-a'\nb.secret: 'old-b'\n",
        )
        .unwrap();
        let store = Store::open_in(state.path()).unwrap();
        store
            .get_or_insert_with("b.secret", || Ok("new-b".into()))
            .unwrap();
        let done = store
            .import_legacy(cwd.path(), "plan.yaml")
            .unwrap()
            .unwrap();
        assert_eq!(done.names, ["a.secret"]);
        assert_eq!(done.kept, ["b.secret"]);
        assert_eq!(store.get("a.secret").as_deref(), Some("old-a"));
        assert_eq!(store.get("b.secret").as_deref(), Some("new-b"));
        assert!(
            store
                .import_legacy(cwd.path(), "plan.yaml")
                .unwrap()
                .is_none()
        );
        let origins = Store::open_in(state.path()).unwrap().origins();
        assert!(
            origins["a.secret"].starts_with("imported from "),
            "{origins:?}"
        );
        assert!(
            store
                .import_legacy(cwd.path(), "other.yaml")
                .unwrap()
                .is_none()
        );
    }
}
