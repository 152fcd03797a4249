//! The errors that stop the engine before or around execution ([`EngineError`]); step failures are
//! not errors but outcomes in the report.

use cloud::CloudError;

/// Errors that stop the engine before or around execution (step failures are in the `Report`).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The action is not one the engine knows.
    #[error("unknown action '{0}'")]
    UnknownAction(String),
    /// The filters selected nothing.
    #[error("nothing selected: no location matches {0}")]
    NothingSelected(String),
    /// Talking to the API failed (configuration, credentials, observation).
    #[error("location {location}: {source}")]
    Cloud {
        /// Location id.
        location: String,
        /// The cloud error.
        #[source]
        source: CloudError,
    },
}
