//! Errors of the CloudControl client: what the API said (responseCode, message), what the transport did,
//! and how a wait ended. Messages never contain credentials or request bodies.

use std::time::Duration;

use super::codes::ErrorCode;

/// An error from the CloudControl client.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    /// The API answered with a `<response>` envelope whose `responseCode` is not a success.
    #[error("{operation} refused with {code} (HTTP {status}): {message}")]
    Api {
        /// HTTP status of the answer (400 for most API errors).
        status: u16,
        /// The `operation` of the envelope, or the path when the API gave none.
        operation: String,
        /// The `responseCode`, e.g. [`ErrorCode::ResourceBusy`], [`ErrorCode::NameNotUnique`].
        code: ErrorCode,
        /// The `message` of the envelope.
        message: String,
    },
    /// HTTP 401/403: the credentials were refused.
    #[error("credentials refused (HTTP {status}): check MCP_USERNAME and MCP_PASSWORD")]
    Auth {
        /// HTTP status.
        status: u16,
    },
    /// A non-success HTTP status without a decodable `<response>` envelope (e.g. 503 from a proxy).
    #[error("HTTP {status} on {path}: {snippet}")]
    Http {
        /// HTTP status.
        status: u16,
        /// Request path (no query).
        path: String,
        /// The first characters of the body.
        snippet: String,
    },
    /// The request could not be sent or its answer could not be read (connection reset, refused, timeout).
    #[error("transport error on {path}: {detail}")]
    Transport {
        /// Request path (no query).
        path: String,
        /// What the HTTP stack said.
        detail: String,
    },
    /// A create was sent but its answer was lost (transport error or HTTP 5xx). The resource may or may not
    /// exist: the caller must observe before creating again. Never retried blindly.
    #[error("answer to {operation} was lost ({detail}); observe before creating again")]
    AnswerLost {
        /// The create operation, e.g. `deployServer`.
        operation: String,
        /// The underlying failure.
        detail: String,
    },
    /// The body could not be decoded into the expected shape.
    #[error("cannot decode {what}: {detail}")]
    Decode {
        /// What was being decoded.
        what: String,
        /// Why it failed.
        detail: String,
    },
    /// A waited-for resource reached a FAILED_* (or otherwise unexpected) state.
    #[error("{what} reached state {state}: {reason}")]
    Failed {
        /// The resource, e.g. `server redis01 (id)`.
        what: String,
        /// The state reached.
        state: String,
        /// `failureReason` when the API gave one.
        reason: String,
    },
    /// A wait did not end in time.
    #[error("timed out after {waited:?} waiting for {what} (last state {state})")]
    WaitTimeout {
        /// The resource being waited for.
        what: String,
        /// How long the wait lasted.
        waited: Duration,
        /// The last state seen.
        state: String,
    },
    /// Retries of a transient failure did not succeed before the operation's deadline.
    #[error("gave up on {operation} after {attempts} attempts: {last}")]
    RetriesExhausted {
        /// The operation.
        operation: String,
        /// Number of attempts made.
        attempts: u32,
        /// The last error.
        last: Box<CloudError>,
    },
    /// The client could not be configured (endpoint, credentials, CA certificate).
    #[error("configuration: {0}")]
    Config(String),
}

impl CloudError {
    /// The API responseCode, when this error carries one.
    pub fn api_code(&self) -> Option<&ErrorCode> {
        match self {
            CloudError::Api { code, .. } => Some(code),
            CloudError::RetriesExhausted { last, .. } => last.api_code(),
            _ => None,
        }
    }

    /// True when the API answered with `code`.
    pub fn has_code(&self, code: ErrorCode) -> bool {
        self.api_code() == Some(&code)
    }

    /// The API responseCode as the API spelled it, when this error carries one (see [`Self::api_code`]).
    pub fn code(&self) -> Option<&str> {
        self.api_code().map(ErrorCode::as_str)
    }

    /// True when the API said RESOURCE_NOT_FOUND.
    pub fn is_not_found(&self) -> bool {
        self.has_code(ErrorCode::ResourceNotFound)
    }

    /// True for a refusal that leaves nothing applied and may succeed later (busy, unexpected error).
    pub fn is_retryable_refusal(&self) -> bool {
        matches!(self, CloudError::Api { code, .. } if code.is_retryable())
    }

    /// True when the outcome of the request is unknown: the answer was lost or a 5xx came back.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            CloudError::Transport { .. } | CloudError::AnswerLost { .. } => true,
            CloudError::Http { status, .. } => *status >= 500,
            CloudError::RetriesExhausted { last, .. } => last.is_ambiguous(),
            _ => false,
        }
    }

    /// True when a read or an idempotent change may simply be sent again.
    pub fn is_transient(&self) -> bool {
        self.is_retryable_refusal() || self.is_ambiguous()
    }
}

/// Shorthand for results of this module.
pub type CloudResult<T> = Result<T, CloudError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: &str) -> CloudError {
        CloudError::Api {
            status: 400,
            operation: "X".into(),
            code: ErrorCode::parse(code),
            message: "m".into(),
        }
    }

    #[test]
    fn classifies_codes() {
        assert!(api("RESOURCE_BUSY").is_retryable_refusal());
        assert!(api("UNEXPECTED_ERROR").is_transient());
        assert!(!api("NAME_NOT_UNIQUE").is_transient());
        assert!(api("RESOURCE_NOT_FOUND").is_not_found());
        let http = CloudError::Http {
            status: 503,
            path: "/p".into(),
            snippet: String::new(),
        };
        assert!(http.is_ambiguous() && http.is_transient());
        let wrapped = CloudError::RetriesExhausted {
            operation: "op".into(),
            attempts: 3,
            last: Box::new(api("RESOURCE_NOT_FOUND")),
        };
        assert!(wrapped.is_not_found());
    }
}
