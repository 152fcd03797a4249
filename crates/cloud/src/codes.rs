//! [`ErrorCode`]: the API's `responseCode` values as an enum, parsed once where an answer is
//! interpreted (`transport`), so callers match on variants instead of comparing strings. The list is
//! the reference's (`reference/cloudcontrol-api.md` §3.2); any other code is kept as [`ErrorCode::Other`].

use std::fmt;

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $text:literal,)*) => {
        /// A CloudControl `responseCode`. Displays as the API spells it.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
            /// A code this list does not name, as the API spelled it.
            Other(String),
        }

        impl ErrorCode {
            /// Parses a `responseCode` (surrounding blanks ignored).
            pub fn parse(code: &str) -> ErrorCode {
                match code.trim() {
                    $($text => ErrorCode::$variant,)*
                    other => ErrorCode::Other(other.to_string()),
                }
            }

            /// The code as the API spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(ErrorCode::$variant => $text,)*
                    ErrorCode::Other(s) => s,
                }
            }
        }
    };
}

codes! {
    /// Synchronous success.
    Ok = "OK",
    /// Accepted, runs asynchronously.
    InProgress = "IN_PROGRESS",
    /// Success (some operations).
    Success = "SUCCESS",
    /// Unknown id.
    ResourceNotFound = "RESOURCE_NOT_FOUND",
    /// The target (or something it depends on) has a pending operation; retry later.
    ResourceBusy = "RESOURCE_BUSY",
    /// The resource is locked.
    ResourceLocked = "RESOURCE_LOCKED",
    /// The resource exists already.
    ResourceAlreadyExists = "RESOURCE_ALREADY_EXISTS",
    /// Duplicate name.
    NameNotUnique = "NAME_NOT_UNIQUE",
    /// Validation failure.
    InvalidInputData = "INVALID_INPUT_DATA",
    /// An address is in use already.
    IpAddressNotUnique = "IP_ADDRESS_NOT_UNIQUE",
    /// An address is outside the VLAN's range.
    IpAddressOutOfRange = "IP_ADDRESS_OUT_OF_RANGE",
    /// No free public IPv4 in the network domain.
    NoIpAddressAvailable = "NO_IP_ADDRESS_AVAILABLE",
    /// A delete refused while children exist.
    HasDependency = "HAS_DEPENDENCY",
    /// Quota reached.
    ExceedsLimit = "EXCEEDS_LIMIT",
    /// Capacity reached.
    OutOfResources = "OUT_OF_RESOURCES",
    /// Not supported (for example in that data centre).
    OperationNotSupported = "OPERATION_NOT_SUPPORTED",
    /// Maintenance.
    InfrastructureInMaintenance = "INFRASTRUCTURE_IN_MAINTENANCE",
    /// Not your organisation's resource.
    AuthorizationFailure = "AUTHORIZATION_FAILURE",
    /// Server-side error; in practice two concurrent asynchronous operations. Retry later.
    UnexpectedError = "UNEXPECTED_ERROR",
    /// Transient failure. Retry later.
    RetryableSystemError = "RETRYABLE_SYSTEM_ERROR",
    /// The server is running (delete, start).
    ServerStarted = "SERVER_STARTED",
    /// The server is stopped (power off).
    ServerStopped = "SERVER_STOPPED",
    /// Graceful shutdown impossible without VMware tools.
    VmwareToolsInvalidStatus = "VMWARE_TOOLS_INVALID_STATUS",
    /// Graceful shutdown impossible without VM tools.
    VmToolsInvalidStatus = "VM_TOOLS_INVALID_STATUS",
    /// Nothing to change.
    NoChange = "NO_CHANGE",
}

impl ErrorCode {
    /// True when there is no code (an envelope without `responseCode`).
    pub fn is_empty(&self) -> bool {
        self.as_str().is_empty()
    }

    /// A success code: `OK`, `IN_PROGRESS` or `SUCCESS`.
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            ErrorCode::Ok | ErrorCode::InProgress | ErrorCode::Success
        )
    }

    /// A refusal that leaves nothing applied and may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ErrorCode::ResourceBusy | ErrorCode::UnexpectedError | ErrorCode::RetryableSystemError
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Default for ErrorCode {
    /// No code at all (an envelope without `responseCode`).
    fn default() -> Self {
        ErrorCode::Other(String::new())
    }
}

impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| ErrorCode::parse(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_as_the_api() {
        for text in [
            "RESOURCE_BUSY",
            "NAME_NOT_UNIQUE",
            "HAS_DEPENDENCY",
            "NO_CHANGE",
        ] {
            let code = ErrorCode::parse(text);
            assert!(!matches!(code, ErrorCode::Other(_)), "{text}");
            assert_eq!(code.to_string(), text);
        }
        assert_eq!(
            ErrorCode::parse(" RESOURCE_BUSY\n"),
            ErrorCode::ResourceBusy
        );
        let odd = ErrorCode::parse("REASON_392");
        assert_eq!(odd, ErrorCode::Other("REASON_392".into()));
        assert_eq!(odd.as_str(), "REASON_392");
        assert!(ErrorCode::parse("IN_PROGRESS").is_success());
        assert!(ErrorCode::UnexpectedError.is_retryable());
    }
}
