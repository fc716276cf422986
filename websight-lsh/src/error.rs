//! The LSH error type.

use thiserror::Error;

/// Errors of `websight-lsh`.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LshError {
    /// An error from `websight-core`.
    #[error(transparent)]
    Core(#[from] websight_core::CoreError),
    /// A parameter outside its valid range.
    #[error("invalid parameter `{param}`: {reason}")]
    InvalidParameter {
        /// The parameter's name.
        param: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A signature whose length does not match the index or the other signature.
    #[error("signature has {found} values, expected {expected}")]
    SignatureLength {
        /// Length required.
        expected: usize,
        /// Length given.
        found: usize,
    },
    /// Signatures made with different hashers (seed or scheme) cannot be compared.
    #[error("signatures come from different hashers")]
    HasherMismatch,
    /// A key inserted twice.
    #[error("key {0} is already in the index")]
    DuplicateKey(String),
    /// A key the index does not hold.
    #[error("key {0} is not in the index")]
    UnknownKey(String),
    /// Malformed input text (e.g. a users file).
    #[error("line {line}: {reason}")]
    Parse {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// JSON (de)serialisation failed.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Reading or writing failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl LshError {
    pub(crate) fn parameter(param: &'static str, reason: impl Into<String>) -> Self {
        LshError::InvalidParameter {
            param,
            reason: reason.into(),
        }
    }
}

/// `Result` specialised to [`LshError`].
pub type Result<T, E = LshError> = std::result::Result<T, E>;
