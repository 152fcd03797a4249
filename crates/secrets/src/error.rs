//! [`SecretsError`]: why the secret store failed; never a secret value in it.

use std::path::PathBuf;

/// Why the secret store failed.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// A file system operation failed.
    #[error("secrets store {path}: {action}: {source}")]
    Io {
        /// File or directory.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// The store file is not what we write.
    #[error(
        "secrets store {path} is damaged ({reason}); move it away to start afresh (its secrets are then lost)"
    )]
    Damaged {
        /// File.
        path: PathBuf,
        /// Why (never a value).
        reason: String,
    },
    /// Key generation failed.
    #[error("cannot generate key pair '{name}': {reason}")]
    KeyGeneration {
        /// Pair name.
        name: String,
        /// Why.
        reason: String,
    },
    /// A value could not be produced (for example a URL could not be fetched).
    #[error("cannot produce secret '{name}': {reason}")]
    Producer {
        /// Secret name.
        name: String,
        /// Why (never a value).
        reason: String,
    },
}
