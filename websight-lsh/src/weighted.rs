//! Weighted MinHash (ProbMinHash3a, from the `probminhash` crate).
//!
//! Use it when items carry weights that matter — seconds of dwell per product, say — and
//! similarity should be the probability Jaccard index
//! `J_P(x, y) = Σᵢ 1 / Σⱼ max(xⱼ/xᵢ, yⱼ/yᵢ)` over items in both (which, unlike the
//! unweighted index, tells apart a visitor who glanced at a sofa from one who studied it for
//! ten minutes). Use [`MinHasher`](crate::MinHasher) for plain sets and whenever signatures
//! must match datasketch.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use probminhash::probminhasher::ProbMinHash3a;
use websight_core::analytics::Visit;

use crate::{LshError, Result};

type StableHasher = std::collections::hash_map::DefaultHasher;

/// A weighted signature: per hash function, the item that won it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedSignature(Vec<u64>);

impl WeightedSignature {
    /// Estimated probability Jaccard index: the share of equal slots.
    pub fn jaccard(&self, other: &WeightedSignature) -> Result<f64> {
        if self.0.len() != other.0.len() {
            return Err(LshError::SignatureLength {
                expected: self.0.len(),
                found: other.0.len(),
            });
        }
        let equal = self.0.iter().zip(&other.0).filter(|(a, b)| a == b).count();
        Ok(equal as f64 / self.0.len() as f64)
    }

    /// The winning item ids.
    pub fn values(&self) -> &[u64] {
        &self.0
    }
}

/// Signs weighted sets of `u64` item ids with ProbMinHash3a.
///
/// ```
/// use websight_lsh::weighted::WeightedMinHasher;
///
/// let hasher = WeightedMinHasher::new(256)?;
/// let a = hasher.sign(&[(1, 10.0), (2, 1.0)])?;
/// let b = hasher.sign(&[(1, 10.0), (2, 1.0), (3, 0.5)])?;
/// assert!(a.jaccard(&b)? > 0.8);
/// # Ok::<(), websight_lsh::LshError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct WeightedMinHasher {
    num_hashes: usize,
}

impl WeightedMinHasher {
    /// A hasher with `num_hashes ≥ 2` hash functions.
    pub fn new(num_hashes: usize) -> Result<Self> {
        if num_hashes < 2 {
            return Err(LshError::parameter(
                "num_hashes",
                "ProbMinHash3a needs at least 2",
            ));
        }
        Ok(WeightedMinHasher { num_hashes })
    }

    /// Signs `(item, weight)` pairs. Weights must be finite and non-negative (zero weights
    /// are left out); an item listed twice has its weights added.
    pub fn sign(&self, items: &[(u64, f64)]) -> Result<WeightedSignature> {
        let mut weights: HashMap<u64, f64, BuildHasherDefault<StableHasher>> = HashMap::default();
        for &(item, w) in items {
            if !(w.is_finite() && w >= 0.0) {
                return Err(LshError::parameter(
                    "weight",
                    format!("{w} for item {item}"),
                ));
            }
            if w > 0.0 {
                *weights.entry(item).or_default() += w;
            }
        }
        let mut sketcher = ProbMinHash3a::<u64, StableHasher>::new(self.num_hashes, u64::MAX);
        sketcher.hash_weigthed_hashmap(&weights);
        Ok(WeightedSignature(sketcher.get_signature().clone()))
    }
}

/// Seconds of attention per product in a visit, as `(hash of the product key, seconds)` for
/// [`WeightedMinHasher::sign`] (products with no measurable time are left out).
pub fn dwell_weights(visit: &Visit) -> Vec<(u64, f64)> {
    visit
        .dwell_by_product()
        .into_iter()
        .filter(|(_, secs)| *secs > 0.0)
        .map(|(key, secs)| (websight_core::hash::hash64(key.as_bytes()), secs))
        .collect()
}

/// The exact probability Jaccard index of two weighted sets (for tests and evaluation).
pub fn probability_jaccard(x: &[(u64, f64)], y: &[(u64, f64)]) -> f64 {
    let xm: HashMap<u64, f64> = x.iter().copied().collect();
    let ym: HashMap<u64, f64> = y.iter().copied().collect();
    let mut total = 0.0;
    for (&i, &xi) in &xm {
        let Some(&yi) = ym.get(&i) else { continue };
        if xi <= 0.0 || yi <= 0.0 {
            continue;
        }
        let keys = xm.keys().chain(ym.keys().filter(|k| !xm.contains_key(k)));
        let denominator: f64 = keys
            .map(|j| {
                let xj = xm.get(j).copied().unwrap_or(0.0);
                let yj = ym.get(j).copied().unwrap_or(0.0);
                (xj / xi).max(yj / yi)
            })
            .sum();
        total += 1.0 / denominator;
    }
    total
}
