//! # websight-connectors
//!
//! Sources and sinks on real servers behind optional features; the embedded in-process
//! defaults live in `websight-core` ([`websight_core::io`]) and implement the same traits.
//!
//! - `redis::RedisGateState` (feature `redis`): the gate's shared state in Redis — known
//!   users (RedisBloom or a bitmap Bloom filter), unique users (HyperLogLog), sessions per user
//!   (hash), in pipelined batches.
//! - [`search::SearchSink`] (feature `elasticsearch`): the stream's documents into
//!   Elasticsearch or OpenSearch — index templates with strict mappings, bulk writes under
//!   deterministic ids (replays replace, never duplicate), retries with backoff.
//!
//! **Status:** Elasticsearch/OpenSearch and the Redis gate state are implemented and tested
//! against real servers (`scripts/services.sh`); the gate does not yet read its state from
//! Redis, and Kafka and MongoDB are not implemented (their features compile nothing).
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
//! - `elasticsearch`: [`search::SearchSink`] (reqwest, tokio).
//! - `redis`: `redis::RedisGateState` (redis-rs, tokio).
//! - `kafka`, `mongodb`: **not implemented yet**; the flags exist so dependants can name them.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "kafka")]
#[cfg_attr(docsrs, doc(cfg(feature = "kafka")))]
pub mod kafka;
#[cfg(feature = "mongodb")]
#[cfg_attr(docsrs, doc(cfg(feature = "mongodb")))]
pub mod mongo;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
#[cfg(feature = "elasticsearch")]
#[cfg_attr(docsrs, doc(cfg(feature = "elasticsearch")))]
pub mod search;

use thiserror::Error;

/// Errors of `websight-connectors`.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConnectorError {
    /// An error from `websight-core`.
    #[error(transparent)]
    Core(#[from] websight_core::CoreError),
    /// A document or response that is not valid JSON.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// HTTP transport failure (after the retries).
    #[cfg(feature = "elasticsearch")]
    #[cfg_attr(docsrs, doc(cfg(feature = "elasticsearch")))]
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    /// A Redis command failed (after the retries).
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    #[error("Redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    /// A Kafka client failure (after librdkafka's own retries).
    #[cfg(feature = "kafka")]
    #[cfg_attr(docsrs, doc(cfg(feature = "kafka")))]
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// A MongoDB command failed (after the retries).
    #[cfg(feature = "mongodb")]
    #[cfg_attr(docsrs, doc(cfg(feature = "mongodb")))]
    #[error("MongoDB: {0}")]
    Mongo(#[from] mongodb::error::Error),
    /// The server answered something unexpected, or kept failing.
    #[error("protocol: {reason}")]
    Protocol {
        /// What went wrong.
        reason: String,
    },
    /// The server refused a document for good (e.g. a mapping conflict).
    #[error("document {id} rejected: {reason}")]
    Rejected {
        /// Document id.
        id: String,
        /// The server's reason.
        reason: String,
    },
}

impl From<ConnectorError> for websight_core::CoreError {
    fn from(e: ConnectorError) -> Self {
        match e {
            ConnectorError::Core(core) => core,
            other => websight_core::CoreError::Store(Box::new(other)),
        }
    }
}

/// Result with [`ConnectorError`].
pub type Result<T, E = ConnectorError> = std::result::Result<T, E>;
