//! Heavy hitters: exact counts while the key space is small, Space-Saving (Metwally et al.
//! 2005) beyond that.

use std::collections::HashMap;
use std::hash::Hash;

use serde::{Deserialize, Serialize};

/// Weighted counts per key that stay exact up to `capacity` distinct keys, then keep only
/// the `capacity` heaviest (Space-Saving: a newcomer replaces the lightest key and inherits
/// its count as an over-estimate bound). Mergeable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopCounter<K: Eq + Hash> {
    capacity: usize,
    /// key → (count, over-estimate).
    counts: HashMap<K, (u64, u64)>,
    exact: bool,
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
            c.0 += weight;
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
        self.counts.insert(key, (count + weight, count));
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
        let top: Vec<u32> = s.top(5).into_iter().map(|(k, _)| k).collect();
        for k in 0..5 {
            assert!(top.contains(&k), "{top:?}");
        }
    }
}
