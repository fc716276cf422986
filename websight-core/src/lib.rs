//! # websight-core
//!
//! The foundation of websight: the open event model of real shop traffic and everything the
//! stream does with it, from bytes to documents, plus a seeded generator of synthetic traffic
//! with ground truth and the offline features and models.
//!
//! The data flow, module by module:
//!
//! - [`event`]: the open [`Event`](event::Event) — a Segment-spec message (`page`, `track`,
//!   `identify`, `alias`, `screen`, `group`) with typed e-commerce properties and exact
//!   [`Money`](event::Money); every other property kept.
//! - [`decode`]: bytes → events or typed dead letters, never a panic: Segment messages and
//!   batches, the original system's session records, JSON lines of both.
//! - [`privacy`]: keyed pseudonyms for ids, truncated IPs, dropped traits — applied before
//!   anything else sees an event.
//! - [`enrich`]: GA4 channels from referrers and UTM campaigns; user agents (uap-core).
//! - [`gate`]: the security gate — duplicates by message id, a known-visitor Bloom filter,
//!   ordered rules (bots, impossible figures, no user agent, IP rate, sub-second pages),
//!   HyperLogLog unique visitors.
//! - [`analytics`]: identity stitching, server-side visits (30-minute gap) closed on the
//!   watermark, windowed KPIs, funnel, channels, products, sentiment, potential customers,
//!   and the documents of the original indexes; mergeable across partitions.
//! - [`io`] and [`flow`]: sources and sinks as traits with embedded defaults (servers in
//!   `websight-connectors`), and the driver that runs source → ingest → gate → checked
//!   events, dead letters, analytics → session store and documents, committing only what
//!   every output acknowledged.
//! - Offline: [`features`] (purchase features of a visit, a split by person), [`learn`]
//!   (the `Fit` → model → `PredictProba` vocabulary, forests, an MLP for DP-SGD),
//!   [`datasets`] (Online Shoppers), [`metrics`], [`sentiment`] (VADER).
//! - [`synth`]: [`Generator`](synth::Generator) — the tracker messages of a synthetic shop,
//!   whose purchases follow a documented function of behaviour and whose bots and abuse are
//!   labelled; [`model`] and [`record`] hold its sessions and the original record shape.
//!
//! ```
//! use websight_core::decode::{decode_segment, DecodeContext};
//! use websight_core::privacy::{Privacy, PrivacyConfig};
//!
//! let line = br#"{"type":"track","event":"Order Completed","userId":"alice@example.com",
//!   "timestamp":"2026-03-01T10:00:00Z","context":{"ip":"203.0.113.9"},
//!   "properties":{"order_id":"o-1","revenue":"59.90","currency":"EUR"}}"#;
//! let privacy = Privacy::new(PrivacyConfig { key: Some("a secret key of 16+ bytes".into()), ..Default::default() })?;
//! for decoded in decode_segment(line, &DecodeContext::default()) {
//!     let event = privacy.protect(decoded?);
//!     assert!(event.user_id.unwrap().starts_with("p_"));
//!     assert_eq!(event.properties.revenue.unwrap().to_string(), "59.90");
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Feature flags
//!
//! - `xgboost` (off by default): `learn::GradientBoosting`, gradient-boosted trees through
//!   `xgboost-rs`. Building it compiles XGBoost's C++ sources (cmake, a C++ compiler and
//!   libclang are needed; `scripts/test.sh` installs them on Debian). xgboost-rs uses
//!   ndarray 0.15 internally; it never appears in this crate's API.
//!
//! Everything else is pure Rust and always on. Server connectors live in
//! `websight-connectors`.
//!
//! # Dependency versions
//!
//! The `rand` (0.8) and `rand_distr` (0.4) versions are those linfa 0.8 uses, so random
//! generators pass between websight and linfa without conversion.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod analytics;
pub mod datasets;
pub mod decode;
pub mod enrich;
mod error;
pub mod event;
pub mod features;
pub mod flow;
pub mod gate;
pub mod hash;
pub mod io;
mod json_bytes;
mod json_write;
pub mod learn;
pub mod metrics;
pub mod model;
pub mod privacy;
mod query;
pub mod record;
pub mod sentiment;
pub mod snapshot;
pub mod summary;
pub mod synth;
pub mod watermark;

pub use error::{CoreError, Result};
