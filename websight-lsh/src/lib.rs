//! # websight-lsh
//!
//! MinHash signatures (datasketch-compatible, and probminhash's faster and weighted variants) and an LSH index to find similar users.
//!
//! **Status:** scaffolding. This crate holds its error type and its place in the workspace;
//! its algorithms land with the project's issue "websight-lsh: MinHash LSH for similar users". Until then it has no other public items.
//!
//! ```
//! use websight_lsh::LshError;
//! use websight_core::CoreError;
//!
//! // Errors from websight-core surface wrapped, with their cause intact.
//! let core = "Bing".parse::<websight_core::model::Referrer>().unwrap_err();
//! let err: LshError = core.into();
//! assert!(matches!(err, LshError::Core(CoreError::InvalidRecord { .. })));
//! ```
//!
//! # Feature flags
//!
//! None.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use thiserror::Error;

/// Errors of `websight-lsh`.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LshError {
    /// An error from `websight-core`.
    #[error(transparent)]
    Core(#[from] websight_core::CoreError),
}
