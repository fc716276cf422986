//! Event times as a multiset in time order, for the rules' rates: placed and counted in
//! O(log n) whatever order events arrive in.
//!
//! A sorted array made an event arriving in the middle of a person's (or an address's) times
//! shift all the later ones — quadratic in a flood arriving out of order. Counts are taken
//! only up to the limit a rule compares them with, so a crowded window costs no more than
//! the limit.

use std::collections::BTreeMap;
use std::ops::Bound::{Excluded, Included};
use std::ops::RangeBounds;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Event times, each with how often it occurred. Serialised as the sorted list of times.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Times {
    counts: BTreeMap<DateTime<Utc>, u64>,
    /// Occurrences held, over all times: when no more than a limit, no window exceeds it.
    total: u64,
}

impl Times {
    /// Adds one occurrence of `t`.
    pub fn insert(&mut self, t: DateTime<Utc>) {
        *self.counts.entry(t).or_default() += 1;
        self.total += 1;
    }

    /// Whether more than `max` times are held at all: if not, no range holds more (a rate
    /// rule's usual case, answered before it computes its window).
    pub fn may_exceed(&self, max: usize) -> bool {
        self.total > max as u64
    }

    /// Whether more than `max` times fall in `range`: without a search while all the times
    /// held are no more than `max`.
    pub fn exceeds_in(&self, range: impl RangeBounds<DateTime<Utc>>, max: usize) -> bool {
        self.may_exceed(max) && self.count_in(range, max.saturating_add(1)) > max
    }

    /// How many times fall in `range`, counted up to `cap`: `min(count, cap)`.
    pub fn count_in(&self, range: impl RangeBounds<DateTime<Utc>>, cap: usize) -> usize {
        // An empty range (a window clamped at the end of time) counts nothing; `range`
        // would panic on it.
        match (range.start_bound(), range.end_bound()) {
            (Included(a) | Excluded(a), Included(b) | Excluded(b)) if a > b => return 0,
            (Excluded(a), Excluded(b)) if a == b => return 0,
            _ => {}
        }
        let mut n = 0u64;
        for &k in self.counts.range(range).map(|(_, k)| k) {
            n = n.saturating_add(k);
            if n >= cap as u64 {
                return cap;
            }
        }
        n as usize
    }

    /// Forgets the times before `horizon`.
    pub fn evict_before(&mut self, horizon: DateTime<Utc>) {
        // Most tallies hold nothing that old: no new tree for them.
        if self
            .counts
            .first_key_value()
            .is_some_and(|(t, _)| *t < horizon)
        {
            self.counts = self.counts.split_off(&horizon);
            self.total = self.counts.values().sum();
        }
    }

    /// No time held.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

impl Serialize for Times {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(
            self.counts
                .iter()
                .flat_map(|(t, &k)| std::iter::repeat_n(t, k as usize)),
        )
    }
}

impl<'de> Deserialize<'de> for Times {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Times, D::Error> {
        let mut times = Times::default();
        for t in Vec::<DateTime<Utc>>::deserialize(deserializer)? {
            times.insert(t);
        }
        Ok(times)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn counts_equal_a_sorted_array_in_any_arrival_order() {
        let t = |s: i64| DateTime::from_timestamp(1_767_225_600 + s, 0).unwrap();
        for seed in 0..20u64 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut times = Times::default();
            let mut sorted: Vec<DateTime<Utc>> = Vec::new();
            for _ in 0..300 {
                let at = t(rng.gen_range(0..400));
                times.insert(at);
                let i = sorted.partition_point(|x| *x <= at);
                sorted.insert(i, at);
                let (lo, hi) = (t(rng.gen_range(0..400)), t(rng.gen_range(0..400)));
                let cap = rng.gen_range(1..50);
                let half_open = sorted.iter().filter(|x| **x >= lo && **x < hi).count();
                assert_eq!(times.count_in(lo..hi, cap), half_open.min(cap));
                assert_eq!(times.exceeds_in(lo..hi, cap), half_open > cap);
                assert_eq!(times.may_exceed(cap), sorted.len() > cap);
                let open = sorted.iter().filter(|x| **x > lo && **x < hi).count();
                assert_eq!(
                    times.count_in((Excluded(lo), Excluded(hi)), cap),
                    open.min(cap)
                );
                let closed = sorted.iter().filter(|x| **x >= lo && **x <= hi).count();
                assert_eq!(
                    times.count_in((Included(lo), Included(hi)), cap),
                    closed.min(cap)
                );
            }
            let json = serde_json::to_value(&times).unwrap();
            assert_eq!(
                json,
                serde_json::to_value(&sorted).unwrap(),
                "stored as the sorted list"
            );
            assert_eq!(serde_json::from_value::<Times>(json).unwrap(), times);
            times.evict_before(t(200));
            sorted.retain(|x| *x >= t(200));
            assert_eq!(times.count_in(.., usize::MAX), sorted.len());
            assert_eq!(
                times.total,
                sorted.len() as u64,
                "the total follows evictions"
            );
        }
    }
}
