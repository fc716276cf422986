//! Heavy hitters: exact counts while the key space is small, Space-Saving (Metwally et al.
//! 2005) beyond that.

use std::collections::HashMap;
use std::hash::Hash;

use serde::{Deserialize, Serialize};

/// Weighted counts per key that stay exact up to `capacity` distinct keys, then keep only
/// the `capacity` heaviest (Space-Saving: a newcomer replaces the lightest key and inherits
/// its count as an over-estimate bound). Mergeable. Counts saturate instead of
/// overflowing. A deserialised counter is checked: capacity at least 1, at most `capacity`
/// keys, no over-estimate above its count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    try_from = "TopParts<K>",
    bound(deserialize = "K: Eq + Hash + Deserialize<'de>")
)]
pub struct TopCounter<K: Eq + Hash> {
    capacity: usize,
    /// key → (count, over-estimate).
    counts: HashMap<K, (u64, u64)>,
    exact: bool,
}

/// The serialised form, checked on the way in.
#[derive(Deserialize)]
#[serde(bound(deserialize = "K: Eq + Hash + Deserialize<'de>"))]
struct TopParts<K: Eq + Hash> {
    capacity: usize,
    counts: HashMap<K, (u64, u64)>,
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
        })
    }
}

impl<K: Eq + Hash + Clone + Ord> TopCounter<K> {
    /// A counter that is exact for up to `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        TopCounter {
            capacity: capacity.max(1),
            counts: HashMap::new(),
            exact: true,
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
        let (lightest, &(count, _)) = self
            .counts
            .iter()
            .min_by(|a, b| a.1.0.cmp(&b.1.0).then_with(|| b.0.cmp(a.0)))
            .expect("capacity >= 1");
        let lightest = lightest.clone();
        self.counts.remove(&lightest);
        self.counts
            .insert(key, (count.saturating_add(weight), count));
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
