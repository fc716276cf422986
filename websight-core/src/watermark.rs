//! The event-time frontier a watermark trails: robust to a few outlying clocks.
//!
//! A watermark that trails the newest event time can be dragged forward by one event from a
//! broken clock (one event dated 9999 would make every later event "late"). [`Frontier`]
//! trails the *k*-th newest time instead, so it takes `k` outliers to move it; with fewer
//! than `k` events seen it is the oldest of them (conservative: nothing is judged late too
//! early). Events are still bounded against their receipt at decoding
//! ([`crate::decode::Limits::max_future_skew_seconds`]).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use chrono::{DateTime, Utc};

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
    newest: BinaryHeap<Reverse<DateTime<Utc>>>,
}

impl Frontier {
    /// A frontier that `k - 1` outliers cannot move (at least 1).
    pub fn new(k: usize) -> Frontier {
        Frontier {
            k: k.max(1),
            newest: BinaryHeap::new(),
        }
    }

    /// Takes one event time.
    pub fn observe(&mut self, t: DateTime<Utc>) {
        if self.newest.len() < self.k {
            self.newest.push(Reverse(t));
        } else if let Some(mut min) = self.newest.peek_mut()
            && t > min.0
        {
            // Replaced in place: one sift instead of a pop and a push.
            *min = Reverse(t);
        }
    }

    /// Moves every time kept forward by `by` (saturating): what a quiet stretch of `by`
    /// on the wall clock says about event time when no event comes to say it.
    pub fn advance(&mut self, by: chrono::TimeDelta) {
        if by <= chrono::TimeDelta::zero() {
            return;
        }
        self.newest = self
            .newest
            .drain()
            .map(|Reverse(t)| Reverse(t.checked_add_signed(by).unwrap_or(DateTime::<Utc>::MAX_UTC)))
            .collect();
    }

    /// The k-th newest time (the oldest seen while fewer than k), `None` before any.
    pub fn value(&self) -> Option<DateTime<Utc>> {
        self.newest.peek().map(|Reverse(t)| *t)
    }
}
