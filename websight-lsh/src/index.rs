//! The LSH index: banded signatures in hash tables, with insert, remove, query and top-k.

use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::Hash;

use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::bands::BandTable;
use crate::minhash::estimate_jaccard;
use crate::{LshError, LshParams, Result, Signature};

/// A 64-bit digest of one band's values (bucket address; equality is re-checked exactly).
fn band_digest(band: &[u32]) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for &v in band {
        h = (h ^ u64::from(v)).wrapping_mul(0x0000_0100_0000_01B3);
        h = h.rotate_left(29);
    }
    // SplitMix64 finaliser: full avalanche before the table uses the low bits.
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

/// An LSH index over MinHash signatures, keyed by `K` (a user id, a row number…).
///
/// Candidates of a query are the keys that share at least one band with it exactly, as in
/// datasketch's `MinHashLSH`; [`LshIndex::top_k`] re-ranks them by estimated Jaccard.
///
/// ```
/// use websight_lsh::{LshIndex, LshParams, MinHasher};
///
/// let hasher = MinHasher::new(128, 1)?;
/// let params = LshParams::optimal(0.5, 128, 0.5, 0.5)?;
/// let mut index = LshIndex::new(params, &hasher)?;
/// index.insert("ann", hasher.sign(["sofa", "coffee table", "accent chair", "rug"]))?;
/// index.insert("bob", hasher.sign(["bed", "dresser", "bedside table"]))?;
/// let query = hasher.sign(["sofa", "coffee table", "accent chair"]);
/// assert_eq!(index.query(&query)?, vec![&"ann"]);
/// # Ok::<(), websight_lsh::LshError>(())
/// ```
#[derive(Debug, Clone)]
pub struct LshIndex<K> {
    params: LshParams,
    num_perm: usize,
    seed: u32,
    /// Slot → key; `None` once removed.
    keys: Vec<Option<K>>,
    /// Slot-major signature values (`num_perm` per slot).
    values: Vec<u32>,
    slots: HashMap<K, u32>,
    tables: Vec<BandTable>,
}

impl<K: Clone + Eq + Hash + Debug> LshIndex<K> {
    /// An empty index for signatures of `hasher`.
    pub fn new(params: LshParams, hasher: &crate::MinHasher) -> Result<Self> {
        Self::with_shape(params, hasher.num_perm(), hasher.seed())
    }

    fn with_shape(params: LshParams, num_perm: usize, seed: u32) -> Result<Self> {
        params.validate(num_perm)?;
        Ok(LshIndex {
            params,
            num_perm,
            seed,
            keys: Vec::new(),
            values: Vec::new(),
            slots: HashMap::new(),
            tables: (0..params.bands)
                .map(|_| BandTable::with_capacity(0))
                .collect(),
        })
    }

    /// Builds an index from many signatures, filling the band tables in parallel (one table
    /// per task).
    pub fn build_par(
        params: LshParams,
        hasher: &crate::MinHasher,
        entries: impl IntoIterator<Item = (K, Signature)>,
    ) -> Result<Self>
    where
        K: Send + Sync,
    {
        let mut index = Self::new(params, hasher)?;
        for (key, signature) in entries {
            index.check(&signature)?;
            if index.slots.contains_key(&key) {
                return Err(LshError::DuplicateKey(format!("{key:?}")));
            }
            index.slots.insert(key.clone(), index.keys.len() as u32);
            index.keys.push(Some(key));
            index.values.extend_from_slice(signature.values());
        }
        let (values, num_perm, rows) = (&index.values, index.num_perm, params.rows);
        let slots = index.keys.len();
        index
            .tables
            .par_iter_mut()
            .enumerate()
            .for_each(|(band, table)| {
                let digest_of = |slot: u32| {
                    let start = slot as usize * num_perm + band * rows;
                    band_digest(&values[start..start + rows])
                };
                *table = BandTable::with_capacity(slots);
                for slot in 0..slots as u32 {
                    table.insert(digest_of(slot), slot, &digest_of);
                }
            });
        Ok(index)
    }

    /// The banding.
    pub fn params(&self) -> LshParams {
        self.params
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the index holds no keys.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Whether `key` is held.
    pub fn contains(&self, key: &K) -> bool {
        self.slots.contains_key(key)
    }

    fn check(&self, signature: &Signature) -> Result<()> {
        if signature.seed() != self.seed {
            return Err(LshError::HasherMismatch);
        }
        if signature.len() != self.num_perm {
            return Err(LshError::SignatureLength {
                expected: self.num_perm,
                found: signature.len(),
            });
        }
        Ok(())
    }

    fn band<'a>(&self, values: &'a [u32], band: usize) -> &'a [u32] {
        &values[band * self.params.rows..(band + 1) * self.params.rows]
    }

    fn slot_values(&self, slot: u32) -> &[u32] {
        let start = slot as usize * self.num_perm;
        &self.values[start..start + self.num_perm]
    }

    /// Adds `key` with its signature; a key already present is an error.
    pub fn insert(&mut self, key: K, signature: Signature) -> Result<()> {
        self.check(&signature)?;
        if self.slots.contains_key(&key) {
            return Err(LshError::DuplicateKey(format!("{key:?}")));
        }
        let slot = self.keys.len() as u32;
        self.values.extend_from_slice(signature.values());
        let (values, num_perm, rows) = (&self.values, self.num_perm, self.params.rows);
        for (band, table) in self.tables.iter_mut().enumerate() {
            let digest_of = |slot: u32| {
                let start = slot as usize * num_perm + band * rows;
                band_digest(&values[start..start + rows])
            };
            table.insert(digest_of(slot), slot, &digest_of);
        }
        self.slots.insert(key.clone(), slot);
        self.keys.push(Some(key));
        Ok(())
    }

    /// Removes `key`, returning its signature.
    ///
    /// The slot's values stay allocated until the index is serialised and loaded again.
    pub fn remove(&mut self, key: &K) -> Result<Signature> {
        let slot = self
            .slots
            .remove(key)
            .ok_or_else(|| LshError::UnknownKey(format!("{key:?}")))?;
        let values = self.slot_values(slot).to_vec();
        for band in 0..self.params.bands {
            let digest = band_digest(self.band(&values, band));
            self.tables[band].remove(digest, slot);
        }
        self.keys[slot as usize] = None;
        Ok(Signature::from_values(self.seed, values))
    }

    /// The signature stored for `key`.
    pub fn signature(&self, key: &K) -> Option<Signature> {
        self.slots
            .get(key)
            .map(|&slot| Signature::from_values(self.seed, self.slot_values(slot).to_vec()))
    }

    /// Slots sharing at least one band exactly with `values`, sorted, without repeats.
    fn candidate_slots(&self, values: &[u32]) -> Vec<u32> {
        let digests: Vec<u64> = (0..self.params.bands)
            .map(|band| band_digest(self.band(values, band)))
            .collect();
        for (table, &digest) in self.tables.iter().zip(&digests) {
            table.prefetch(digest);
        }
        let mut out = Vec::new();
        for ((band, table), &digest) in self.tables.iter().enumerate().zip(&digests) {
            let query_band = self.band(values, band);
            table.for_each(digest, |s| {
                if self.band(self.slot_values(s), band) == query_band {
                    out.push(s);
                }
            });
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Keys sharing at least one band with `signature` (datasketch's `query`), in insertion
    /// order.
    pub fn query(&self, signature: &Signature) -> Result<Vec<&K>> {
        self.check(signature)?;
        Ok(self
            .candidate_slots(signature.values())
            .into_iter()
            .filter_map(|s| self.keys[s as usize].as_ref())
            .collect())
    }

    /// The `k` candidates most similar to `signature` by estimated Jaccard, best first (ties
    /// in insertion order).
    pub fn top_k(&self, signature: &Signature, k: usize) -> Result<Vec<(&K, f64)>> {
        self.check(signature)?;
        let mut scored: Vec<(u32, f64)> = self
            .candidate_slots(signature.values())
            .into_iter()
            .filter(|&s| self.keys[s as usize].is_some())
            .map(|s| (s, estimate_jaccard(self.slot_values(s), signature.values())))
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(scored
            .into_iter()
            .take(k)
            .filter_map(|(s, j)| self.keys[s as usize].as_ref().map(|key| (key, j)))
            .collect())
    }

    /// The `k` keys most similar to the held `key`, excluding itself.
    pub fn similar_to(&self, key: &K, k: usize) -> Result<Vec<(&K, f64)>> {
        let signature = self
            .signature(key)
            .ok_or_else(|| LshError::UnknownKey(format!("{key:?}")))?;
        let mut found = self.top_k(&signature, k + 1)?;
        found.retain(|(other, _)| *other != key);
        found.truncate(k);
        Ok(found)
    }
}

/// The persisted form: the banding and live entries; tables are rebuilt on load.
#[derive(Serialize, Deserialize)]
struct Persisted<K> {
    params: LshParams,
    num_perm: usize,
    seed: u32,
    entries: Vec<(K, Vec<u32>)>,
}

impl<K: Clone + Eq + Hash + Debug + Serialize> Serialize for LshIndex<K> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let entries = self
            .keys
            .iter()
            .enumerate()
            .filter_map(|(slot, key)| {
                key.as_ref()
                    .map(|k| (k.clone(), self.slot_values(slot as u32).to_vec()))
            })
            .collect();
        Persisted {
            params: self.params,
            num_perm: self.num_perm,
            seed: self.seed,
            entries,
        }
        .serialize(serializer)
    }
}

impl<'de, K> Deserialize<'de> for LshIndex<K>
where
    K: Clone + Eq + Hash + Debug + DeserializeOwned,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let p = Persisted::<K>::deserialize(deserializer)?;
        let mut index =
            LshIndex::with_shape(p.params, p.num_perm, p.seed).map_err(serde::de::Error::custom)?;
        for (key, values) in p.entries {
            index
                .insert(key, Signature::from_values(p.seed, values))
                .map_err(serde::de::Error::custom)?;
        }
        Ok(index)
    }
}
