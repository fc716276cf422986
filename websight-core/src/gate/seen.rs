//! Message ids already judged, forgotten a while after they arrived.
//!
//! The horizon is by arrival (`receivedAt`, the collector's clock; the event time when an
//! input has none), not by event time: an SDK retries a message minutes or hours after it
//! first sent it whatever the message's own date, so a retry of a backdated message (an
//! import, a visitor's queue flushed a day later) is still recognised however far the event
//! times have moved on. Arrival times are robust to a few broken clocks as event times are
//! ([`Frontier`]).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use crate::hash::FastSet;
use crate::watermark::Frontier;

/// Outliers the arrival frontier ignores, as the gate's event-time frontier does.
const ARRIVAL_OUTLIERS: usize = 16;

/// 64-bit hashes of message ids, and the same by the hour of their arrival: duplicates are
/// found in O(1), and an hour's ids are dropped in one step once arrivals have left it
/// behind. Checkpoints store the hours and the arrival frontier (the set is rebuilt from
/// the hours; older checkpoints, which stored the set too and no frontier, load too).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(from = "Stored")]
pub(crate) struct SeenIds {
    by_id: FastSet<u64>,
    by_hour: BTreeMap<i64, Vec<u64>>,
    arrivals: Frontier,
}

impl Default for SeenIds {
    fn default() -> SeenIds {
        SeenIds {
            by_id: FastSet::default(),
            by_hour: BTreeMap::new(),
            arrivals: arrivals(),
        }
    }
}

fn arrivals() -> Frontier {
    Frontier::new(ARRIVAL_OUTLIERS + 1)
}

/// [`SeenIds`] in a checkpoint.
#[derive(serde::Deserialize)]
struct Stored {
    by_hour: BTreeMap<i64, Vec<u64>>,
    #[serde(default = "arrivals")]
    arrivals: Frontier,
}

impl From<Stored> for SeenIds {
    fn from(stored: Stored) -> SeenIds {
        let by_id = stored.by_hour.values().flatten().copied().collect();
        SeenIds {
            by_id,
            by_hour: stored.by_hour,
            arrivals: stored.arrivals,
        }
    }
}

impl serde::Serialize for SeenIds {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Borrowed<'a> {
            by_hour: &'a BTreeMap<i64, Vec<u64>>,
            arrivals: &'a Frontier,
        }
        Borrowed {
            by_hour: &self.by_hour,
            arrivals: &self.arrivals,
        }
        .serialize(serializer)
    }
}

fn hour(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(3600)
}

impl SeenIds {
    /// Records `id`, arrived at `arrival`; false when it was already there.
    pub fn insert(&mut self, id: u64, arrival: DateTime<Utc>) -> bool {
        if !self.by_id.insert(id) {
            return false;
        }
        self.arrivals.observe(arrival);
        self.by_hour.entry(hour(arrival)).or_default().push(id);
        true
    }

    /// Forgets the ids that arrived in hours wholly more than `window` before the arrival
    /// frontier.
    pub fn evict(&mut self, window: TimeDelta) {
        let Some(horizon) = self
            .arrivals
            .value()
            .and_then(|t| t.checked_sub_signed(window))
        else {
            return;
        };
        let keep = self.by_hour.split_off(&hour(horizon));
        for ids in std::mem::replace(&mut self.by_hour, keep).into_values() {
            for id in ids {
                self.by_id.remove(&id);
            }
        }
    }

    /// Ids held.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(i64::from(h) * 3600 + 60, 0).unwrap()
    }

    #[test]
    fn remembers_until_arrivals_move_on() {
        let mut s = SeenIds::default();
        assert!(s.insert(1, t(10)));
        assert!(s.insert(2, t(12)));
        assert!(!s.insert(1, t(10)));
        for id in 100..120 {
            s.insert(id, t(12)); // the arrival frontier at hour 12
        }
        s.evict(TimeDelta::hours(1));
        assert_eq!(s.len(), 21);
        assert!(s.insert(1, t(10)), "forgotten: judged again");
        assert!(!s.insert(2, t(12)));
        // A checkpoint holds the hours and the frontier; one from before (with the map of
        // ids, without the frontier) loads alike and evicts once arrivals are seen again.
        let back: SeenIds = serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
        assert_eq!(back.arrivals.value(), s.arrivals.value());
        let older =
            serde_json::json!({"by_id": {"1": 10, "2": 12}, "by_hour": {"10": [1], "12": [2]}});
        for mut r in [back, serde_json::from_value(older).unwrap()] {
            assert!(!r.insert(1, t(10)) && !r.insert(2, t(12)) && r.insert(3, t(12)));
            for id in 200..220 {
                r.insert(id, t(12));
            }
            r.evict(TimeDelta::hours(1));
            assert!(!r.insert(2, t(12)) && r.insert(1, t(10)));
        }
    }

    #[test]
    fn a_few_broken_clocks_do_not_empty_it() {
        let mut s = SeenIds::default();
        for id in 0..100 {
            s.insert(id, t(10));
        }
        let year_9999 = DateTime::<Utc>::from_timestamp(253_402_214_400, 0).unwrap();
        for id in 1000..1000 + ARRIVAL_OUTLIERS as u64 {
            s.insert(id, year_9999);
        }
        s.evict(TimeDelta::hours(24));
        assert!(!s.insert(5, t(10)), "still remembered");
        // Extreme times neither panic nor evict everything.
        s.insert(5000, DateTime::<Utc>::MIN_UTC);
        s.evict(TimeDelta::MAX);
        assert!(!s.insert(6, t(10)));
    }
}
