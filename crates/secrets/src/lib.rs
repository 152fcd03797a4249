//! Per-plan secrets and the small rules every crate shares about them.
//!
//! Provides: [`Store`] (generated secrets and key pairs of one plan, persisted under the state
//! directory, errors as [`SecretsError`]), [`Secret`] (the one redacting wrapper of a secret value),
//! [`write_atomic`] (the one atomic write: temporary file, fsync, rename), [`state_root`] and
//! [`plan_state_dir`] (the one state-root rule), [`shared_secret`] (the one `SHARED_SECRET` rule), and
//! the generators [`random_secret`], [`key_pair`] (Ed25519, or RSA where asked: [`wants_rsa`]),
//! [`ed25519_key_pair`] and [`rsa_key_pair`], and the original plumbery's
//! `<md5 of the plan argument>.secrets` file ([`legacy_file_name`], [`Store::import_legacy`]).
//!
//! Each plan has its own directory `<state root>/plans/<name>-<hash>/` (see [`plan_state_dir`]), keyed by
//! the plan's canonical path rather than the working directory. Secrets live in `secrets.json` there,
//! file mode 0600, written atomically (temporary file, fsync, rename) under an exclusive lock so that two
//! runs never lose or fork a secret. Values never go to logs or error messages.

mod atomic;
mod error;
mod generate;
mod legacy;
mod paths;
mod secret;
mod store;

pub use atomic::{AtomicWriteError, write_atomic};
pub use error::SecretsError;
pub use generate::{ed25519_key_pair, key_pair, random_secret, rsa_key_pair, wants_rsa};
pub use legacy::{Imported, legacy_file_name, parse_legacy};
pub use paths::{plan_state_dir, state_root};
pub use secret::{Secret, shared_secret};
pub use store::{GENERATED, Store};
