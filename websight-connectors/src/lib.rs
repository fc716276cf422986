//! # websight-connectors
//!
//! Sources and sinks on real servers — Kafka, Redis, MongoDB and Elasticsearch — behind optional features; the embedded in-process defaults live in websight-core.
//!
//! **Status:** scaffolding. This crate holds its error type and its place in the workspace;
//! its algorithms land with the project's issue "websight-connectors: Kafka, Redis, MongoDB, Elasticsearch". Until then it has no other public items.
//!
//! ```
//! use websight_connectors::ConnectorError;
//! use websight_core::CoreError;
//!
//! // Errors from websight-core surface wrapped, with their cause intact.
//! let core = "Bing".parse::<websight_core::model::Referrer>().unwrap_err();
//! let err: ConnectorError = core.into();
//! assert!(matches!(err, ConnectorError::Core(CoreError::InvalidRecord { .. })));
//! ```
//!
//! # Feature flags
//!
//! - `kafka`, `redis`, `mongodb`, `elasticsearch`: one connector each. **Not implemented
//!   yet**: the flags exist so dependants can name them; enabling one compiles nothing extra
//!   until the connectors land.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use thiserror::Error;

/// Errors of `websight-connectors`.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConnectorError {
    /// An error from `websight-core`.
    #[error(transparent)]
    Core(#[from] websight_core::CoreError),
}
