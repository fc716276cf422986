//! # websight
//!
//! Real-time and offline website / e-commerce analytics in Rust. This facade re-exports the
//! member crates as modules, so one dependency gives the whole toolkit:
//!
//! | module | crate | what it holds |
//! |---|---|---|
//! | [`core`] | `websight-core` | open event model, decoders, privacy, gate, stream analytics, features, models, synthetic traffic with ground truth |
//! | [`lsh`] | `websight-lsh` | MinHash signatures and LSH for similar users |
//! | [`dp`] | `websight-dp` | differential privacy: mechanisms, budgets, accountant, DP-SGD |
//! | [`explain`] | `websight-explain` | Tree SHAP and Kernel SHAP |
//! | [`connectors`] | `websight-connectors` | Kafka, Redis, MongoDB, Elasticsearch (features) |
//! | [`report`] | (this crate) | the shop manager's self-contained HTML report, and the dashboard view it shares with the live page |
//! | [`live`] | (this crate) | the live page's figures, kept current as the flow runs |
//!
//! Data flows from traffic (generated or ingested) through the security gate and stream
//! analytics of `core` to storage and dashboards, and offline to features, similar users,
//! private purchase models and their explanations. `docs/ARCHITECTURE.md` in the repository
//! describes the flow and how it scales out.
//!
//! ```
//! use websight::core::synth::{Generator, SynthConfig};
//!
//! let generator = Generator::new(SynthConfig { sessions: 500, ..SynthConfig::default() })?;
//! let (mut sessions, mut orders, mut revenue) = (0, 0, 0.0);
//! for s in generator.sessions() {
//!     sessions += 1;
//!     if let Some(order) = &s.session.order {
//!         orders += 1;
//!         revenue += order.amount;
//!     }
//! }
//! println!("{sessions} sessions, {orders} orders, revenue {revenue:.0}");
//! assert_eq!(sessions, 500);
//! # Ok::<(), websight::core::CoreError>(())
//! ```
//!
//! # Feature flags
//!
//! All features are off by default.
//!
//! - `elasticsearch`: `connectors::search::SearchSink`, the stream's documents into
//!   Elasticsearch or OpenSearch (bulk, strict index templates, idempotent ids, retries).
//! - `redis`: `connectors::redis::RedisGateState`, the gate's state in Redis.
//! - `kafka`: `connectors::kafka`, Kafka sources and sinks (consumer group, commit after
//!   ack, idempotent keyed producer).
//! - `mongodb`: `connectors::mongo::MongoSessionStore`, closed visits in MongoDB.
//! - `connectors`: all four connectors.
//! - `collector`: `connectors::collector`, Segment's HTTP Tracking API into a durable raw
//!   log and the live board (the `serve` example).
//! - `xgboost`: gradient-boosted trees through `xgboost-rs` (`core::learn::GradientBoosting`;
//!   building it needs cmake, a C++ compiler and libclang).
//! - `full`: everything above.
//!
//! # Dependency versions
//!
//! websight's public API uses `ndarray` 0.16, `rand` 0.8 and `rand_distr` 0.4 — the versions
//! linfa 0.8 uses. Some dependencies bring other versions internally (`cargo tree -d` shows
//! them: e.g. xgboost-rs's ndarray 0.15, probminhash's rand); those never appear in
//! websight's public API.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use websight_connectors as connectors;
pub use websight_core as core;
pub use websight_dp as dp;
pub use websight_explain as explain;

pub mod live;
pub mod report;
pub use websight_lsh as lsh;
