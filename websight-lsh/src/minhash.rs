//! MinHash signatures, bit-for-bit equal to datasketch 2.0's default `MinHash`.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::hashing::{datasketch_permutations, fmix32, sha1_hash32};
use crate::{LshError, Result};

/// Value of an empty signature slot (datasketch's `affine32` maximum hash).
pub const EMPTY_SLOT: u32 = u32::MAX;

/// Makes MinHash signatures with datasketch 2.0's `affine32` scheme.
///
/// Items are hashed with [`sha1_hash32`](crate::hashing::sha1_hash32) of their bytes
/// (datasketch's default), so `MinHasher::new(128, 1)` signs `b"42"` exactly as
/// `MinHash(num_perm=128, seed=1).update(b"42")` does. Item hashes can be computed once and
/// reused ([`MinHasher::sign_hashes`]), which is where most of the speed comes from.
///
/// ```
/// use websight_lsh::MinHasher;
///
/// let hasher = MinHasher::new(128, 1)?;
/// let a = hasher.sign(["sofa", "coffee table", "accent chair"]);
/// let b = hasher.sign(["sofa", "coffee table", "bed"]);
/// let estimate = a.jaccard(&b)?; // true Jaccard: 2/4
/// assert!((estimate - 0.5).abs() < 0.15);
/// # Ok::<(), websight_lsh::LshError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinHasher {
    seed: u32,
    a: Vec<u32>,
    b: Vec<u32>,
}

impl MinHasher {
    /// A hasher with `num_perm` permutations drawn like datasketch's `MinHash(num_perm, seed)`.
    pub fn new(num_perm: usize, seed: u32) -> Result<Self> {
        if num_perm == 0 {
            return Err(LshError::parameter(
                "num_perm",
                "need at least one permutation",
            ));
        }
        let (a, b) = datasketch_permutations(num_perm, seed);
        Ok(MinHasher { seed, a, b })
    }

    /// Number of permutations (signature length).
    pub fn num_perm(&self) -> usize {
        self.a.len()
    }

    /// The seed the permutations were drawn with.
    pub fn seed(&self) -> u32 {
        self.seed
    }

    /// The hash of one item's bytes (datasketch's `sha1_hash32`).
    pub fn hash_item(item: &[u8]) -> u32 {
        sha1_hash32(item)
    }

    /// Signs a set given as items (anything that is bytes: `&str`, `String`, `Vec<u8>`…).
    pub fn sign<I, T>(&self, items: I) -> Signature
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let hashes: Vec<u32> = items
            .into_iter()
            .map(|item| sha1_hash32(item.as_ref()))
            .collect();
        self.sign_hashes(&hashes)
    }

    /// Signs a set given as precomputed item hashes ([`MinHasher::hash_item`]).
    pub fn sign_hashes(&self, hashes: &[u32]) -> Signature {
        let mut values = vec![EMPTY_SLOT; self.num_perm()];
        self.update(&mut values, hashes);
        Signature {
            seed: self.seed,
            values,
        }
    }

    /// Signs many sets in parallel (rayon), in input order.
    pub fn sign_all_par<S>(&self, sets: &[S]) -> Vec<Signature>
    where
        S: AsRef<[u32]> + Sync,
    {
        sets.par_iter()
            .map(|hashes| self.sign_hashes(hashes.as_ref()))
            .collect()
    }

    /// Adds items (as hashes) to an existing signature's values.
    fn update(&self, values: &mut [u32], hashes: &[u32]) {
        for &raw in hashes {
            let h = fmix32(raw);
            // One multiply-add and a min per permutation: written as a plain zip so the
            // compiler vectorises it across permutations.
            for ((v, &a), &b) in values.iter_mut().zip(&self.a).zip(&self.b) {
                *v = (*v).min(a.wrapping_mul(h).wrapping_add(b));
            }
        }
    }
}

/// A MinHash signature: per permutation, the minimum permuted hash over the set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Signature {
    seed: u32,
    values: Vec<u32>,
}

impl Signature {
    /// Wraps raw values (e.g. loaded from elsewhere) made with `seed`.
    pub fn from_values(seed: u32, values: Vec<u32>) -> Self {
        Signature { seed, values }
    }

    /// The per-permutation minima.
    pub fn values(&self) -> &[u32] {
        &self.values
    }

    /// The seed of the hasher that made it.
    pub fn seed(&self) -> u32 {
        self.seed
    }

    /// Signature length.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the signature has no permutations at all.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Whether it is the signature of the empty set.
    pub fn is_empty_set(&self) -> bool {
        self.values.iter().all(|&v| v == EMPTY_SLOT)
    }

    fn check_compatible(&self, other: &Signature) -> Result<()> {
        if self.seed != other.seed {
            return Err(LshError::HasherMismatch);
        }
        if self.len() != other.len() {
            return Err(LshError::SignatureLength {
                expected: self.len(),
                found: other.len(),
            });
        }
        Ok(())
    }

    /// Estimated Jaccard similarity: the share of equal slots.
    pub fn jaccard(&self, other: &Signature) -> Result<f64> {
        self.check_compatible(other)?;
        Ok(estimate_jaccard(&self.values, &other.values))
    }

    /// Makes this the signature of the union of both sets (slot-wise minimum).
    pub fn merge(&mut self, other: &Signature) -> Result<()> {
        self.check_compatible(other)?;
        for (v, &o) in self.values.iter_mut().zip(&other.values) {
            *v = (*v).min(o);
        }
        Ok(())
    }
}

/// Share of equal slots of two equally long value slices.
pub(crate) fn estimate_jaccard(a: &[u32], b: &[u32]) -> f64 {
    let equal = a.iter().zip(b).filter(|(x, y)| x == y).count();
    equal as f64 / a.len().max(1) as f64
}
