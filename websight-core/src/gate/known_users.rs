//! The known-user filter: a scalable Bloom filter of user ids (layers of the `bloomfilter`
//! crate's filters), with its fill and false-positive rate reported, and snapshots.

use bloomfilter::Bloom;
use serde::{Deserialize, Serialize};

use crate::{CoreError, Result};

/// Bits and hash functions of a Bloom filter for `capacity` items at false-positive rate
/// `fp_rate`: m = ⌈−n ln p / ln² 2⌉ bits, k = max(1, round(m / n · ln 2)). The one sizing
/// rule of every known-visitor filter (embedded, and the Redis bitmap of
/// `websight-connectors`).
pub fn bloom_size(capacity: usize, fp_rate: f64) -> Result<(u64, u32)> {
    if capacity == 0 {
        return Err(CoreError::parameter("known_users_capacity", "must be >= 1"));
    }
    if !(fp_rate > 0.0 && fp_rate < 1.0) {
        return Err(CoreError::parameter(
            "known_users_fp_rate",
            "must be in (0, 1)",
        ));
    }
    let n = capacity as f64;
    let ln2 = std::f64::consts::LN_2;
    let bits = (-n * fp_rate.ln() / (ln2 * ln2)).ceil();
    if bits > (1u64 << 40) as f64 {
        return Err(CoreError::parameter(
            "known_users_capacity",
            "the filter would exceed 2^40 bits",
        ));
    }
    let hashes = ((bits / n) * ln2).round().max(1.0) as u32;
    Ok((bits as u64, hashes))
}

/// How full a known-visitor filter is, and what that costs in false positives.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FilterStats {
    /// Sub-filters (a scalable filter adds one each time the last is full).
    pub layers: usize,
    /// Items the filters are sized for, together.
    pub capacity: u64,
    /// Distinct items added (an item already reported present is not added again).
    pub items: u64,
    /// Bits over all layers.
    pub bits: u64,
    /// Share of the last layer's bits set (estimated from its items).
    pub fill: f64,
    /// Probability that an unseen item is reported present now (estimated from the fill of
    /// every layer).
    pub false_positive_rate: f64,
}

/// One layer of [`KnownUsers`].
struct Layer {
    bloom: Bloom<str>,
    capacity: u64,
    items: u64,
}

/// The `bloomfilter` crate keys its two SipHashes with the seed's halves: equal halves (a
/// seed of zeros) give equal hashes, its double hashing collapses and the false-positive rate
/// grows tenfold. Each layer's key is therefore derived from the seed and the layer's
/// number, in four independent 64-bit hashes.
fn layer_key(seed: &[u8; 32], layer: usize) -> [u8; 32] {
    let mut key = [0u8; 32];
    for (i, chunk) in key.chunks_mut(8).enumerate() {
        let mut input = seed.to_vec();
        input.extend_from_slice(&(layer as u64).to_le_bytes());
        input.push(i as u8);
        chunk.copy_from_slice(&crate::hash::hash64(&input).to_le_bytes());
    }
    key
}

impl Layer {
    fn new(capacity: u64, fp_rate: f64, seed: &[u8; 32], layer: usize) -> Result<Layer> {
        let items = usize::try_from(capacity).unwrap_or(usize::MAX);
        let bloom = Bloom::new_for_fp_rate_with_seed(items, fp_rate, &layer_key(seed, layer))
            .map_err(|e| CoreError::parameter("known_users_capacity", e))?;
        Ok(Layer {
            bloom,
            capacity,
            items: 0,
        })
    }

    /// Estimated share of bits set: 1 − e^(−k·n/m).
    fn fill(&self) -> f64 {
        let (k, m) = (
            f64::from(self.bloom.number_of_hash_functions()),
            self.bloom.len() as f64,
        );
        1.0 - (-k * self.items as f64 / m).exp()
    }

    fn false_positive_rate(&self) -> f64 {
        self.fill()
            .powi(self.bloom.number_of_hash_functions() as i32)
    }
}

/// Users seen in a valid event. False negatives never happen; false positives (a new user
/// taken for known) stay under the configured rate however many users come: the filter is
/// scalable (Almeida et al. 2007) — when a layer holds its capacity a new one twice as large
/// with half the error rate is added, so the rates sum to at most the configured one.
/// [`KnownUsers::stats`] reports the fill and the false-positive rate.
pub struct KnownUsers {
    layers: Vec<Layer>,
    /// Error rate of the last layer.
    fp_rate: f64,
    seed: [u8; 32],
}

impl std::fmt::Debug for KnownUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KnownUsers({:?})", self.stats())
    }
}

/// Snapshot format marker.
const MAGIC: &[u8; 4] = b"KU2\0";

impl KnownUsers {
    /// A filter sized for `capacity` users at false-positive rate `fp_rate` overall (its
    /// first layer at half the rate); `seed` fixes its hash functions, so equal seeds give
    /// reproducible filters.
    pub fn new(capacity: usize, fp_rate: f64, seed: [u8; 32]) -> Result<Self> {
        bloom_size(capacity, fp_rate)?;
        let first = Layer::new(capacity as u64, fp_rate / 2.0, &seed, 0)?;
        Ok(KnownUsers {
            layers: vec![first],
            fp_rate: fp_rate / 2.0,
            seed,
        })
    }

    /// Whether `user` may have been seen.
    pub fn contains(&self, user: &str) -> bool {
        self.layers.iter().any(|l| l.bloom.check(user))
    }

    /// Records `user`.
    pub fn insert(&mut self, user: &str) {
        if self.contains(user) {
            return;
        }
        let last = self.layers.last_mut().expect("at least one layer");
        last.bloom.set(user);
        last.items += 1;
        if last.items >= last.capacity {
            let (capacity, fp_rate) = (last.capacity.saturating_mul(2), self.fp_rate / 2.0);
            // A rate too small to size gives no new layer: the last one keeps filling.
            if let Ok(layer) = Layer::new(capacity, fp_rate, &self.seed, self.layers.len()) {
                self.layers.push(layer);
                self.fp_rate = fp_rate;
            }
        }
    }

    /// Fill and false-positive rate now.
    pub fn stats(&self) -> FilterStats {
        let last = self.layers.last().expect("at least one layer");
        FilterStats {
            layers: self.layers.len(),
            capacity: self.layers.iter().map(|l| l.capacity).sum(),
            items: self.layers.iter().map(|l| l.items).sum(),
            bits: self.layers.iter().map(|l| l.bloom.len()).sum(),
            fill: last.fill(),
            false_positive_rate: 1.0
                - self
                    .layers
                    .iter()
                    .map(|l| 1.0 - l.false_positive_rate())
                    .product::<f64>(),
        }
    }

    /// The filter as bytes, for storage.
    pub fn snapshot(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&self.fp_rate.to_le_bytes());
        out.extend_from_slice(&self.seed);
        out.extend_from_slice(&(self.layers.len() as u64).to_le_bytes());
        for l in &self.layers {
            let bytes = l.bloom.to_bytes();
            out.extend_from_slice(&l.capacity.to_le_bytes());
            out.extend_from_slice(&l.items.to_le_bytes());
            out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            out.extend_from_slice(&bytes);
        }
        out
    }

    /// A filter from [`KnownUsers::snapshot`] bytes.
    pub fn restore(bytes: Vec<u8>) -> Result<Self> {
        let bad = |why: &str| CoreError::invalid("known_users", why.to_owned());
        let mut rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| bad("not a known-users snapshot"))?;
        let mut take = |n: usize| -> Result<&[u8]> {
            if rest.len() < n {
                return Err(bad("cut short"));
            }
            let (head, tail) = rest.split_at(n);
            rest = tail;
            Ok(head)
        };
        let u64_of = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
        let fp_rate = f64::from_le_bytes(take(8)?.try_into().expect("8 bytes"));
        let seed: [u8; 32] = take(32)?.try_into().expect("32 bytes");
        let n = u64_of(take(8)?);
        if !(fp_rate > 0.0 && fp_rate < 1.0) || n == 0 || n > 64 {
            return Err(bad("bad header"));
        }
        let mut layers = Vec::new();
        for _ in 0..n {
            let (capacity, items) = (u64_of(take(8)?), u64_of(take(8)?));
            let len = usize::try_from(u64_of(take(8)?)).map_err(|_| bad("bad length"))?;
            let bloom = Bloom::from_bytes(take(len)?.to_vec()).map_err(&bad)?;
            // No hash function would take every user for known.
            if capacity == 0 || bloom.number_of_hash_functions() == 0 {
                return Err(bad("an empty layer"));
            }
            layers.push(Layer {
                bloom,
                capacity,
                items,
            });
        }
        if !rest.is_empty() {
            return Err(bad("trailing bytes"));
        }
        Ok(KnownUsers {
            layers,
            fp_rate,
            seed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizing_matches_the_textbook() {
        // n = 1M, p = 1%: 9,585,059 bits, 7 hashes.
        assert_eq!(bloom_size(1_000_000, 0.01).unwrap(), (9_585_059, 7));
        assert!(bloom_size(0, 0.01).is_err() && bloom_size(10, 1.0).is_err());
    }

    #[test]
    fn scales_past_its_capacity_and_keeps_the_error_rate() {
        let mut k = KnownUsers::new(1_000, 0.01, [7; 32]).unwrap();
        for i in 0..20_000 {
            k.insert(&format!("user-{i}"));
        }
        for i in 0..20_000 {
            assert!(k.contains(&format!("user-{i}")), "no false negatives");
        }
        let s = k.stats();
        assert!(s.layers >= 4, "{s:?}");
        assert!(s.items > 19_800 && s.capacity >= 20_000, "{s:?}");
        let fp = (0..20_000)
            .filter(|i| k.contains(&format!("stranger-{i}")))
            .count() as f64
            / 20_000.0;
        assert!(fp < 0.01, "measured {fp}");
        assert!(
            s.false_positive_rate < 0.01 && s.false_positive_rate > fp / 4.0,
            "{s:?} vs {fp}"
        );
        let restored = KnownUsers::restore(k.snapshot()).unwrap();
        assert_eq!(restored.stats(), s);
        assert!(restored.contains("user-19999"));
        // A fixed-size filter would have saturated: one layer this full says "known" to most.
        let mut fixed = Bloom::<str>::new_for_fp_rate_with_seed(1_000, 0.01, &[7; 32]).unwrap();
        for i in 0..20_000 {
            fixed.set(&format!("user-{i}"));
        }
        let saturated = (0..1_000)
            .filter(|i| fixed.check(&format!("stranger-{i}")))
            .count();
        assert!(saturated > 900, "{saturated}");
        // A seed of zeros (the default) is as good as any.
        let mut zero = KnownUsers::new(1_000, 0.01, [0; 32]).unwrap();
        for i in 0..1_000 {
            zero.insert(&format!("user-{i}"));
        }
        let fp = (0..20_000)
            .filter(|i| zero.contains(&format!("stranger-{i}")))
            .count();
        assert!(fp < 200, "{fp} of 20,000 strangers taken for known");
    }
}
