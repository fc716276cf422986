//! # websight-connectors
//!
//! websight's stream on real servers. Each connector implements a trait of
//! [`websight_core::io`] (or the gate's [`GateState`](websight_core::gate::GateState)), whose
//! embedded in-process defaults live in `websight-core`, so [`websight_core::flow::Flow`] — and
//! the `pipeline` example — run unchanged on either:
//!
//! | feature | type | implements | what it does |
//! |---|---|---|---|
//! | `kafka` | `kafka::KafkaSource` | `EventSource` | consumer-group member; offsets committed only after every output acknowledged (at-least-once) |
//! | `kafka` | `kafka::KafkaSink` | `EventSink` | idempotent producer (`acks=all`), messages keyed by user id; raw `user_session_info` → checked `valid_customer_session` and a dead-letter topic (`kafka::Topics`, names configurable) |
//! | `redis` | `redis::RedisGateState` | `GateState` | known users in RedisBloom (`BF.*`) or a bitmap Bloom filter, unique users with `PFADD`/`PFCOUNT`/`PFMERGE`, sessions per user in a hash; one pipelined round trip per batch |
//! | `mongodb` | `mongo::MongoSessionStore` | `SessionStore` | one document per session id, idempotent bulk upserts, an index on the user, and the offline reader (whole sessions for feature engineering) |
//! | `elasticsearch` | `search::SearchSink` | `DocumentSink` | bulk API under deterministic ids, strict index templates, retries with backoff, plain `application/json` (OpenSearch works too) |
//!
//! Every connector reconnects by itself and retries with capped exponential backoff; every
//! write is idempotent, so the retry or replay that at-least-once delivery implies never
//! duplicates a document. All are tested against real servers that `scripts/services.sh`
//! installs and starts on 127.0.0.1 (no Docker), including each server stopped and restarted
//! mid-stream with exact counts at the end (`tests/end_to_end.rs`).
//!
//! A run on servers, wired like the embedded one (needs the servers, so not run here):
//!
//! ```no_run
//! # #[cfg(all(feature = "kafka", feature = "redis", feature = "mongodb", feature = "elasticsearch"))]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use websight_connectors::{kafka, mongo, redis, search};
//! use websight_core::analytics::{AnalyticsConfig, ProductCatalogue, StreamAnalytics};
//! use websight_core::flow::{Flow, Ingest, Outputs};
//! use websight_core::gate::{Gate, GateConfig};
//! use websight_core::privacy::{Privacy, PrivacyConfig};
//!
//! let topics = kafka::Topics::default();
//! kafka::create_topics("127.0.0.1:9092", &topics.all(), 3).await?;
//! let mut source = kafka::KafkaSource::new("127.0.0.1:9092", "websight-gate", &topics.raw)?;
//! let mut state = redis::RedisGateState::connect("redis://127.0.0.1/", "websight:").await?;
//! let mut checked = kafka::KafkaSink::new("127.0.0.1:9092", &topics.checked)?;
//! let mut dead = kafka::KafkaSink::new("127.0.0.1:9092", &topics.dead_letters)?;
//! let mut sessions = mongo::MongoSessionStore::connect("mongodb://127.0.0.1/", "shop", "visits").await?;
//! let mut index = search::SearchSink::new("http://127.0.0.1:9200");
//! index.install_templates().await?;
//! // The pseudonym key comes from WEBSIGHT_PSEUDONYM_KEY.
//! let mut flow = Flow::new(
//!     Ingest::new(Privacy::new(PrivacyConfig::default())?),
//!     Gate::new(GateConfig::default())?,
//!     StreamAnalytics::new(AnalyticsConfig::default(), ProductCatalogue::default())?,
//! );
//! let mut out = Outputs {
//!     state: &mut state, checked: &mut checked, dead_letters: &mut dead,
//!     sessions: &mut sessions, documents: &mut index,
//! };
//! flow.run(&mut source, &mut out, &mut ()).await?; // runs until the source ends
//! # Ok(())
//! # }
//! # fn main() {}
//! ```
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
//! All off by default; the crate without features holds [`ConnectorError`] and the
//! embedded [`topology`].
//!
//! - `kafka`: `kafka` (rdkafka with a bundled librdkafka built by cmake: needs cmake, a C
//!   compiler and the zlib, OpenSSL and libcurl headers; `scripts/test.sh` installs them on
//!   Debian).
//! - `redis`: `redis` (redis-rs, tokio).
//! - `mongodb`: `mongo` (the official `mongodb` driver).
//! - `elasticsearch`: `search` (reqwest, tokio).
//! - `servers`: all four.
//! - `collector`: `collector`, Segment's HTTP Tracking API into a durable raw log and a
//!   live board (axum, tokio, flate2).
//!
//! Every async API needs a tokio runtime.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(
    feature = "kafka",
    feature = "redis",
    feature = "mongodb",
    feature = "elasticsearch"
))]
mod backoff;
#[cfg(feature = "collector")]
#[cfg_attr(docsrs, doc(cfg(feature = "collector")))]
pub mod collector;
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
pub mod topology;

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
    /// A file could not be read or written.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// Settings that do not go together, or a checkpoint that does not fit them.
    #[error("{reason}")]
    Config {
        /// What is wrong.
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
