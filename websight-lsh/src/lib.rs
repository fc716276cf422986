//! # websight-lsh
//!
//! Similar users with MinHash and locality-sensitive hashing.
//!
//! - [`MinHasher`] makes [`Signature`]s **bit-for-bit equal to datasketch 2.0's** default
//!   `MinHash` (SHA-1 item hashes, MurmurHash3 pre-mix, `affine32` permutations from NumPy's
//!   MT19937), so signatures can be exchanged with Python; it is dozens of times faster.
//! - [`LshParams::optimal`] picks bands × rows like datasketch's `MinHashLSH`.
//! - [`LshIndex`] holds signatures by key: insert, remove, query, top-k by estimated
//!   Jaccard, parallel build, serde persistence.
//! - [`session_tokens`] and [`SimilarUsers`] turn visits into `feature=value` token sets
//!   and answer "users similar to user X" directly.
//! - [`exact`] computes the exact Jaccard neighbours LSH is scored against; [`evaluate`]
//!   runs and scores the whole flow on a file of sets (the `lsh` example).
//! - `weighted` (feature `probminhash`): ProbMinHash3a signatures of weighted sets, e.g.
//!   dwell seconds per product.
//!
//! ```
//! use websight_lsh::{LshIndex, LshParams, MinHasher};
//!
//! let hasher = MinHasher::new(128, 1)?;
//! let params = LshParams::optimal(0.5, hasher.num_perm(), 0.5, 0.5)?;
//! let users = [
//!     ("ann", vec!["viewed=sofa", "viewed=coffee table", "referrer=Google", "device=mobile"]),
//!     ("bob", vec!["viewed=sofa", "viewed=coffee table", "referrer=Google", "device=desktop"]),
//!     ("cyd", vec!["viewed=bed", "viewed=dresser", "referrer=Direct", "device=tablet"]),
//! ];
//! let index = LshIndex::build_par(
//!     params,
//!     &hasher,
//!     users.iter().map(|(name, tokens)| (*name, hasher.sign(tokens))),
//! )?;
//! let similar = index.similar_to(&"ann", 5)?;
//! assert_eq!(similar.first().map(|(k, _)| **k), Some("bob"));
//! # Ok::<(), websight_lsh::LshError>(())
//! ```
//!
//! # Which signature to use
//!
//! | need | use |
//! |---|---|
//! | plain sets, interoperable with datasketch | [`MinHasher`] |
//! | weights matter (dwell seconds, counts) | `weighted::WeightedMinHasher` |
//!
//! # Feature flags
//!
//! - `probminhash` (off by default): the `weighted` module, built on the `probminhash`
//!   crate. It pulls in heavy transitive dependencies (≈ 70 s to build) and its own `rand`
//!   versions, which never appear in this crate's API.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod bands;
mod error;
pub mod evaluate;
pub mod exact;
pub mod hashing;
mod index;
mod minhash;
mod params;
mod tokens;
#[cfg(feature = "probminhash")]
#[cfg_attr(docsrs, doc(cfg(feature = "probminhash")))]
pub mod weighted;

pub use error::{LshError, Result};
pub use index::LshIndex;
pub use minhash::{EMPTY_SLOT, MinHasher, Signature};
pub use params::LshParams;
pub use tokens::{SimilarUsers, SimilarUsersBuilder, session_tokens};
