//! Heavy hitters: exact counts while the key space is small, Space-Saving (Metwally et al.
//! 2005) beyond that.

use crate::hash::FastMap;
use std::hash::Hash;

use serde::{Deserialize, Serialize};

/// Weighted counts per key that stay exact up to `capacity` distinct keys, then keep only
/// the `capacity` heaviest (Space-Saving: a newcomer replaces the lightest key and inherits
/// its count as an over-estimate bound). Mergeable. Counts saturate instead of
/// overflowing. A deserialised counter is checked: capacity at least 1, at most `capacity`
/// keys, no over-estimate above its count.
///
/// An eviction costs O(log capacity) amortised, not a scan of every key: the keys at the
/// lightest count are listed once and taken in turn (a stream of distinct keys, e.g. page
/// paths, does not slow the counter down).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(
    try_from = "TopParts<K>",
    bound(deserialize = "K: Eq + Hash + Deserialize<'de>")
)]
pub struct TopCounter<K: Eq + Hash> {
    capacity: usize,
    /// key → (count, over-estimate).
    counts: FastMap<K, (u64, u64)>,
    exact: bool,
    /// Eviction candidates: keys that had the lightest count, `.0`, when listed, in key
    /// order (the largest goes first). Entries whose count has grown since are passed over;
    /// rebuilt from `counts` when empty.
    #[serde(skip)]
    lightest: (u64, Vec<K>),
}

impl<K: Eq + Hash> PartialEq for TopCounter<K> {
    fn eq(&self, other: &Self) -> bool {
        (self.capacity, &self.counts, self.exact) == (other.capacity, &other.counts, other.exact)
    }
}

/// The serialised form, checked on the way in.
#[derive(Deserialize)]
#[serde(bound(deserialize = "K: Eq + Hash + Deserialize<'de>"))]
struct TopParts<K: Eq + Hash> {
    capacity: usize,
    counts: FastMap<K, (u64, u64)>,
    exact: bool,
}

impl<K: Eq + Hash> TryFrom<TopParts<K>> for TopCounter<K> {
    type Error = crate::CoreError;

    fn try_from(p: TopParts<K>) -> crate::Result<Self> {
        if p.capacity == 0
            || p.counts.len() > p.capacity
            || p.counts.values().any(|&(count, over)| over > count)
        {
            return Err(crate::CoreError::parameter(
                "TopCounter",
                format!(
                    "{} keys for capacity {}, over-estimates within counts",
                    p.counts.len(),
                    p.capacity
                ),
            ));
        }
        Ok(TopCounter {
            capacity: p.capacity,
            counts: p.counts,
            exact: p.exact,
            lightest: (0, Vec::new()),
        })
    }
}

impl<K: Eq + Hash + Clone + Ord> TopCounter<K> {
    /// A counter that is exact for up to `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        TopCounter {
            capacity: capacity.max(1),
            counts: FastMap::default(),
            exact: true,
            lightest: (0, Vec::new()),
        }
    }

    /// Adds `weight` to `key`.
    pub fn add(&mut self, key: K, weight: u64) {
        if let Some(c) = self.counts.get_mut(&key) {
            c.0 = c.0.saturating_add(weight);
            return;
        }
        if self.counts.len() < self.capacity {
            self.counts.insert(key, (weight, 0));
            return;
        }
        self.exact = false;
        let (lightest, count) = self.take_lightest();
        self.counts.remove(&lightest);
        let count_now = count.saturating_add(weight);
        if count_now == count {
            // A newcomer of weight 0 is itself among the lightest.
            let (_, keys) = &mut self.lightest;
            let at = keys.partition_point(|k| k < &key);
            keys.insert(at, key.clone());
        }
        self.counts.insert(key, (count_now, count));
    }

    /// The key to evict: the lightest, of equal counts the largest key.
    fn take_lightest(&mut self) -> (K, u64) {
        loop {
            let (count, keys) = &mut self.lightest;
            while let Some(key) = keys.pop() {
                // Counts only grow, so a listed key still at the listed count is lightest.
                if self.counts.get(&key).is_some_and(|c| c.0 == *count) {
                    return (key, *count);
                }
            }
            let min = self.counts.values().map(|c| c.0).min().unwrap_or(0);
            let mut keys: Vec<K> = self
                .counts
                .iter()
                .filter(|(_, c)| c.0 == min)
                .map(|(k, _)| k.clone())
                .collect();
            keys.sort_unstable();
            self.lightest = (min, keys);
        }
    }

    /// Adds `weight` to `key`, copying the key only when it is new.
    pub fn add_ref<Q>(&mut self, key: &Q, weight: u64)
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        match self.counts.get_mut(key) {
            Some(c) => c.0 = c.0.saturating_add(weight),
            None => self.add(key.to_owned(), weight),
        }
    }

    /// Whether every count is exact (no key was ever evicted).
    pub fn is_exact(&self) -> bool {
        self.exact
    }

    /// The `k` heaviest keys with their counts, heaviest first (ties by key).
    pub fn top(&self, k: usize) -> Vec<(K, u64)> {
        let mut all: Vec<(K, u64)> = self
            .counts
            .iter()
            .map(|(key, c)| (key.clone(), c.0))
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(k);
        all
    }

    /// The count of `key` (0 if untracked).
    pub fn get(&self, key: &K) -> u64 {
        self.counts.get(key).map_or(0, |c| c.0)
    }

    /// Adds another counter's counts (exact when both are exact and the union fits).
    pub fn merge(&mut self, other: &TopCounter<K>) {
        self.exact &= other.exact;
        for (key, &(count, _)) in &other.counts {
            self.add(key.clone(), count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Space-Saving as first written: a scan for the lightest key at every eviction.
    fn naive(capacity: usize, stream: &[(u32, u64)]) -> FastMap<u32, (u64, u64)> {
        let mut counts: FastMap<u32, (u64, u64)> = FastMap::default();
        for &(key, weight) in stream {
            if let Some(c) = counts.get_mut(&key) {
                c.0 = c.0.saturating_add(weight);
            } else if counts.len() < capacity {
                counts.insert(key, (weight, 0));
            } else {
                let (&lightest, &(count, _)) = counts
                    .iter()
                    .min_by(|a, b| a.1.0.cmp(&b.1.0).then_with(|| b.0.cmp(a.0)))
                    .unwrap();
                counts.remove(&lightest);
                counts.insert(key, (count.saturating_add(weight), count));
            }
        }
        counts
    }

    #[test]
    fn evicts_exactly_as_a_scan_for_the_lightest_would() {
        use rand::{Rng, SeedableRng};
        for seed in 0..20u64 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let capacity = rng.gen_range(1..40);
            let keys = rng.gen_range(1..400);
            let stream: Vec<(u32, u64)> = (0..3_000)
                .map(|_| (rng.gen_range(0..keys), rng.gen_range(0..4)))
                .collect();
            let mut c = TopCounter::new(capacity);
            for (i, &(key, weight)) in stream.iter().enumerate() {
                c.add(key, weight);
                if i == 1_500 {
                    // A restored counter (no candidate list) continues the same way.
                    c = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
                }
            }
            assert_eq!(c.counts, naive(capacity, &stream), "seed {seed}");
        }
    }

    #[test]
    fn exact_when_small_and_keeps_heavy_hitters_when_large() {
        let mut c = TopCounter::new(20);
        for i in 0..10u32 {
            c.add(i, u64::from(i) * 10);
        }
        assert!(c.is_exact());
        assert_eq!(c.top(2), vec![(9, 90), (8, 80)]);
        // Zipf-like stream over 1,000 keys with capacity 50: the true top 5 survive.
        let mut s = TopCounter::new(50);
        for round in 0..200u32 {
            for k in 0..1000u32 {
                if round % (k / 10 + 1) == 0 {
                    s.add(k, 1);
                }
            }
        }
        assert!(!s.is_exact());
        // Deserialised counters are checked; counts saturate.
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<TopCounter<u32>>(&json).unwrap(), s);
        for bad in [
            r#"{"capacity":0,"counts":{},"exact":true}"#,
            r#"{"capacity":1,"counts":{"1":[1,0],"2":[1,0]},"exact":true}"#,
            r#"{"capacity":1,"counts":{"1":[1,5]},"exact":true}"#,
        ] {
            assert!(
                serde_json::from_str::<TopCounter<u32>>(bad).is_err(),
                "{bad}"
            );
        }
        let mut big = TopCounter::new(1);
        big.add(1u32, u64::MAX);
        big.add(1, 5);
        big.add(2, u64::MAX);
        assert_eq!(big.top(1), vec![(2, u64::MAX)]);
        let top: Vec<u32> = s.top(5).into_iter().map(|(k, _)| k).collect();
        for k in 0..5 {
            assert!(top.contains(&k), "{top:?}");
        }
    }
}
