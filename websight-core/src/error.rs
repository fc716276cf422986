//! The core error type.

use thiserror::Error;

/// Every fallible operation in `websight-core` returns this error.
///
/// The other websight crates wrap it in their own error enums (`#[from]`), so a caller can
/// match on the original cause wherever it surfaces.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CoreError {
    /// Input bytes were not valid JSON for the expected shape.
    #[error("malformed JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A record decoded as JSON but a field holds an impossible or inconsistent value.
    #[error("invalid record field `{field}`: {reason}")]
    InvalidRecord {
        /// The offending field, in the record's own spelling.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A product id that the catalogue does not contain.
    #[error("product {0} is not in the catalogue")]
    UnknownProduct(u32),
    /// A configuration or parameter value outside its valid range.
    #[error("invalid parameter `{param}`: {reason}")]
    InvalidParameter {
        /// The parameter's name.
        param: &'static str,
        /// Why the value was refused.
        reason: String,
    },
    /// An I/O failure while reading or writing a stream.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A store or connector behind a [`crate::io`] trait failed; the cause is inside.
    #[error("store: {0}")]
    Store(Box<dyn std::error::Error + Send + Sync>),
}

/// `Result` specialised to [`CoreError`].
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

impl CoreError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        CoreError::InvalidRecord {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn parameter(param: &'static str, reason: impl Into<String>) -> Self {
        CoreError::InvalidParameter {
            param,
            reason: reason.into(),
        }
    }
}
