//! The CloudControl API's response codes and the error type every handler returns.
//!
//! An `ApiError` becomes an HTTP 400 (or 401/404/503) with the `<response>` envelope carrying the
//! `responseCode`; see `responses::envelope`.

use std::fmt;

/// A CloudControl `responseCode` for a refused request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// Unknown id, or unknown path.
    ResourceNotFound,
    /// The resource, or one it depends on, has a pending operation.
    ResourceBusy,
    /// A duplicate name.
    NameNotUnique,
    /// Validation failure; the message names the field.
    InvalidInputData,
    /// An address already used, or overlapping ranges.
    IpAddressNotUnique,
    /// An address outside the ranges it must lie in.
    IpAddressOutOfRange,
    /// No free public IPv4 address in the network domain.
    NoIpAddressAvailable,
    /// A delete refused while children exist.
    HasDependency,
    /// Capacity exhausted.
    OutOfResources,
    /// Operation not offered.
    OperationNotSupported,
    /// Not this organisation's resource.
    AuthorizationFailure,
    /// Server-side error (also injected as a fault).
    UnexpectedError,
    /// The server is running.
    ServerStarted,
    /// The server is stopped.
    ServerStopped,
    /// Nothing to change.
    NoChange,
}

impl Code {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::ResourceNotFound => "RESOURCE_NOT_FOUND",
            Code::ResourceBusy => "RESOURCE_BUSY",
            Code::NameNotUnique => "NAME_NOT_UNIQUE",
            Code::InvalidInputData => "INVALID_INPUT_DATA",
            Code::IpAddressNotUnique => "IP_ADDRESS_NOT_UNIQUE",
            Code::IpAddressOutOfRange => "IP_ADDRESS_OUT_OF_RANGE",
            Code::NoIpAddressAvailable => "NO_IP_ADDRESS_AVAILABLE",
            Code::HasDependency => "HAS_DEPENDENCY",
            Code::OutOfResources => "OUT_OF_RESOURCES",
            Code::OperationNotSupported => "OPERATION_NOT_SUPPORTED",
            Code::AuthorizationFailure => "AUTHORIZATION_FAILURE",
            Code::UnexpectedError => "UNEXPECTED_ERROR",
            Code::ServerStarted => "SERVER_STARTED",
            Code::ServerStopped => "SERVER_STOPPED",
            Code::NoChange => "NO_CHANGE",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused API request: a response code, a human message, and the HTTP status (400 unless noted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// The `responseCode`.
    pub code: Code,
    /// The `message`; never contains a secret.
    pub message: String,
    /// HTTP status to answer with.
    pub status: u16,
}

impl ApiError {
    /// An error answered with HTTP 400.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            status: 400,
        }
    }
    /// `RESOURCE_NOT_FOUND` for `what` (e.g. "Server") with `id`.
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(Code::ResourceNotFound, format!("{what} {id} not found."))
    }
    /// `RESOURCE_BUSY` with a message.
    pub fn busy(message: impl Into<String>) -> Self {
        Self::new(Code::ResourceBusy, message)
    }
    /// `INVALID_INPUT_DATA` naming `field`.
    pub fn invalid(field: &str, problem: impl fmt::Display) -> Self {
        Self::new(Code::InvalidInputData, format!("{field}: {problem}"))
    }
    /// `UNEXPECTED_ERROR` with a message.
    pub fn unexpected(message: impl Into<String>) -> Self {
        Self::new(Code::UnexpectedError, message)
    }
    /// Same error with another HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
}

/// Result of an API operation.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_names_the_field() {
        let e = ApiError::invalid("networkInfo.primaryNic.vlanId", "is required");
        assert_eq!(e.code.as_str(), "INVALID_INPUT_DATA");
        assert!(e.message.contains("networkInfo.primaryNic.vlanId"));
        assert_eq!(e.status, 400);
    }
}
