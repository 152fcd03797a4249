//! The error type of the local-nodes backend, and its conversion to the emulator's `BackendError`.

use emulator::backend::BackendError;

/// What can go wrong while making nodes and networks real. Messages never contain secrets.
#[derive(Debug, thiserror::Error)]
pub enum NodesError {
    /// A file-system or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A system call failed.
    #[error("{context}: {source}")]
    Sys {
        /// What was being done.
        context: String,
        /// The errno.
        source: nix::errno::Errno,
    },
    /// An external command (`ip`, ...) failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line (never contains secrets).
        command: String,
        /// Exit status.
        status: String,
        /// Its standard error, trimmed.
        stderr: String,
    },
    /// A request that does not fit the current state (unknown domain, VLAN or server, ...).
    #[error("{0}")]
    Invalid(String),
    /// A node did not come up.
    #[error("{0}")]
    Boot(String),
}

impl NodesError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        NodesError::Io {
            context: context.into(),
            source,
        }
    }

    /// Wraps an errno with what was being done.
    pub fn sys(context: impl Into<String>, source: nix::errno::Errno) -> Self {
        NodesError::Sys {
            context: context.into(),
            source,
        }
    }
}

impl From<NodesError> for BackendError {
    fn from(e: NodesError) -> Self {
        BackendError::Failed(e.to_string())
    }
}

/// Result with [`NodesError`].
pub type Result<T, E = NodesError> = std::result::Result<T, E>;
