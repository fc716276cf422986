//! The event-time frontier a watermark trails: robust to a few outlying clocks.
//!
//! A watermark that trails the newest event time can be dragged forward by one event from a
//! broken clock (one event dated 9999 would make every later event "late"). [`Frontier`]
//! trails the *k*-th newest time instead, so it takes `k` outliers to move it; with fewer
//! than `k` events seen it is the oldest of them (conservative: nothing is judged late too
//! early). Events are still bounded against their receipt at decoding
//! ([`crate::decode::Limits::max_future_skew_seconds`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

/// The k-th newest event time seen. See the [module docs](self).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use websight_core::watermark::Frontier;
///
/// let mut f = Frontier::new(3);
/// for h in [10, 11, 12] {
///     f.observe(Utc.with_ymd_and_hms(2026, 1, 1, h, 0, 0).unwrap());
/// }
/// f.observe(Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0).unwrap()); // a broken clock
/// assert_eq!(f.value(), Some(Utc.with_ymd_and_hms(2026, 1, 1, 11, 0, 0).unwrap()));
/// ```
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Frontier {
    k: usize,
    /// The k newest times, oldest first: in-order traffic (nearly all of it) appends at the
    /// end, cheaper than a heap's sift (it runs twice per event). Stored as a list, as the
    /// binary heap it replaced was (either loads into either).
    #[serde(deserialize_with = "oldest_first")]
    newest: Vec<DateTime<Utc>>,
}

fn oldest_first<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<DateTime<Utc>>, D::Error> {
    let mut times = Vec::<DateTime<Utc>>::deserialize(d)?;
    times.sort_unstable();
    Ok(times)
}

impl Frontier {
    /// A frontier that `k - 1` outliers cannot move (at least 1).
    pub fn new(k: usize) -> Frontier {
        Frontier {
            k: k.max(1),
            newest: Vec::new(),
        }
    }

    /// Takes one event time.
    pub fn observe(&mut self, t: DateTime<Utc>) {
        let place = |newest: &[DateTime<Utc>]| match newest.last() {
            Some(last) if t < *last => newest.partition_point(|x| *x <= t),
            _ => newest.len(),
        };
        if self.newest.len() < self.k {
            let at = place(&self.newest);
            self.newest.insert(at, t);
        } else if self.newest.first().is_some_and(|oldest| t > *oldest) {
            // The oldest goes; those older than `t` move down one to make its place.
            let at = place(&self.newest);
            self.newest.copy_within(1..at, 0);
            self.newest[at - 1] = t;
        }
    }

    /// Moves every time kept forward by `by` (saturating): what a quiet stretch of `by`
    /// on the wall clock says about event time when no event comes to say it.
    pub fn advance(&mut self, by: chrono::TimeDelta) {
        if by <= chrono::TimeDelta::zero() {
            return;
        }
        // Monotone: the order holds.
        for t in &mut self.newest {
            *t = t.checked_add_signed(by).unwrap_or(DateTime::<Utc>::MAX_UTC);
        }
    }

    /// The k-th newest time (the oldest seen while fewer than k), `None` before any.
    pub fn value(&self) -> Option<DateTime<Utc>> {
        self.newest.first().copied()
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The k newest times as a min-heap keeps them (what the frontier first was), through
        /// observations in any order, quiet stretches, and a checkpoint stored in heap order.
        #[test]
        fn holds_the_k_newest_as_a_heap_does(
            k in 1usize..20,
            steps in proptest::collection::vec((0i64..5_000, 0u8..12), 0..300),
        ) {
            let mut frontier = Frontier::new(k);
            let mut heap = BinaryHeap::<Reverse<DateTime<Utc>>>::new();
            for (secs, op) in steps {
                let t = DateTime::from_timestamp(1_767_225_600 + secs, 0).unwrap();
                match op {
                    0 => {
                        let by = chrono::TimeDelta::seconds(secs / 10);
                        frontier.advance(by);
                        if by > chrono::TimeDelta::zero() {
                            heap = heap.drain().map(|Reverse(t)| Reverse(t + by)).collect();
                        }
                    }
                    1 => {
                        let stored = serde_json::json!({"k": k, "newest": heap.clone().into_vec()});
                        frontier = serde_json::from_value(stored).unwrap();
                    }
                    _ => {
                        frontier.observe(t);
                        if heap.len() < k {
                            heap.push(Reverse(t));
                        } else if let Some(mut min) = heap.peek_mut()
                            && t > min.0
                        {
                            *min = Reverse(t);
                        }
                    }
                }
                prop_assert_eq!(frontier.value(), heap.peek().map(|r| r.0));
                let mut held: Vec<_> = heap.iter().map(|r| r.0).collect();
                held.sort_unstable();
                prop_assert_eq!(&frontier.newest, &held);
            }
        }
    }

    #[test]
    fn the_end_of_time_saturates() {
        let mut f = Frontier::new(2);
        f.observe(DateTime::<Utc>::MAX_UTC);
        f.observe(DateTime::from_timestamp(0, 0).unwrap());
        f.advance(chrono::TimeDelta::days(1));
        assert_eq!(
            f.value(),
            Some(DateTime::<Utc>::from_timestamp(86_400, 0).unwrap())
        );
        f.advance(chrono::TimeDelta::MAX);
        assert_eq!(f.value(), Some(DateTime::<Utc>::MAX_UTC));
    }
}
