//! # websight-core
//!
//! The foundation of websight: the typed domain model of a web shop's traffic, its two JSON
//! shapes, and a seeded generator of synthetic traffic with ground truth.
//!
//! - [`model`]: [`Session`](model::Session) — who ([`UserProfile`](model::UserProfile)),
//!   from where ([`Device`](model::Device), [`Location`](model::Location),
//!   [`Referrer`](model::Referrer), IP, user agent) and what: ordered
//!   [`PageEvent`](model::PageEvent)s (time, [`Action`](model::Action), product, dwell,
//!   clicks), the [`Order`](model::Order) and [`Review`](model::Review)s. Products live in a
//!   validated [`Catalogue`](model::Catalogue).
//! - [`record`]: the original system's camelCase [`SessionRecord`](record::SessionRecord)
//!   (decoded and re-encoded losslessly) and websight's event-level
//!   [`EventRecord`](record::EventRecord), with conversions to and from sessions.
//! - [`synth`]: [`Generator`](synth::Generator) — streaming, deterministic traffic whose
//!   purchases follow a documented function of behaviour and whose bots and abuse are
//!   labelled.
//! - [`gate`]: the security gate — decoding with dead letters, duplicates, a known-user
//!   Bloom filter, ordered security rules, HyperLogLog unique users, exact sessions per user.
//! - [`io`] and [`flow`]: the stream's sources and sinks as traits with embedded defaults
//!   (servers in `websight-connectors`), and the driver that runs source → gate → checked
//!   events, dead letters, session store, analytics → documents, committing only what every
//!   output acknowledged.
//! - [`analytics`]: stream analytics — watermarks, sessionisation, windowed KPIs, top
//!   products, funnel, payment mix, sentiment per category, potential customers, and the
//!   documents of the original indexes; mergeable across partitions.
//! - [`sentiment`]: VADER, ported from vaderSentiment 3.3.2 and checked against it.
//! - [`features`]: purchase features of a session (behaviour before checkout only) and a
//!   split by user.
//! - [`learn`]: the `Fit` → model → `PredictProba` vocabulary and an MLP whose per-example
//!   gradients can be clipped (for DP-SGD).
//! - [`datasets`]: the Online Shoppers loader, stratified split, a standardiser.
//! - [`metrics`]: ROC-AUC, PR-AUC, accuracy, precision, recall, F1, Brier, confusion matrix.
//!
//! ```
//! use websight_core::model::Catalogue;
//! use websight_core::record::{EventRecord, SessionRecord};
//! use websight_core::synth::{Generator, SynthConfig};
//!
//! let generator = Generator::new(SynthConfig { sessions: 200, seed: 7, ..SynthConfig::default() })?;
//! for synthetic in generator.sessions().take(3) {
//!     let session = &synthetic.session;
//!     // The original system's record shape…
//!     let record = SessionRecord::from_session(session, &Catalogue::furniture())?;
//!     println!("{}", serde_json::to_string(&record)?);
//!     // …and websight's own event stream.
//!     let events = EventRecord::from_session(session);
//!     assert_eq!(events.len(), session.page_views());
//!     println!("bought: {} (p = {:.2}), abuse: {:?}",
//!         session.purchased(), synthetic.truth.purchase_probability, synthetic.truth.abuse);
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
pub mod io;
pub mod learn;
pub mod metrics;
pub mod model;
pub mod privacy;
pub mod record;
pub mod sentiment;
pub mod synth;

pub use error::{CoreError, Result};
