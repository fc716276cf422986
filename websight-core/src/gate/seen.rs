//! Message ids already judged, forgotten a while after they arrived.
//!
//! The horizon is by arrival (`receivedAt`, the collector's clock; the event time when an
//! input has none), not by event time: an SDK retries a message minutes or hours after it
//! first sent it whatever the message's own date, so a retry of a backdated message (an
//! import, a visitor's queue flushed a day later) is still recognised however far the event
//! times have moved on. The horizon trails the newest arrivals but a few, so a few broken
//! clocks cannot empty it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::OUTLIERS;
use crate::hash::FastSet;

/// 64-bit hashes of message ids, and the same by the hour of their arrival: duplicates are
/// found in O(1), and an hour's ids are dropped in one step once arrivals have left it
/// behind. Checkpoints store the hours only (the set is rebuilt from them; older
/// checkpoints, which stored both, load too).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(from = "Stored")]
pub(crate) struct SeenIds {
    by_id: FastSet<u64>,
    by_hour: BTreeMap<i64, Vec<u64>>,
}

/// [`SeenIds`] in a checkpoint.
#[derive(serde::Deserialize)]
struct Stored {
    by_hour: BTreeMap<i64, Vec<u64>>,
}

impl From<Stored> for SeenIds {
    fn from(stored: Stored) -> SeenIds {
        let by_id = stored.by_hour.values().flatten().copied().collect();
        SeenIds {
            by_id,
            by_hour: stored.by_hour,
        }
    }
}

impl serde::Serialize for SeenIds {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Borrowed<'a> {
            by_hour: &'a BTreeMap<i64, Vec<u64>>,
        }
        Borrowed {
            by_hour: &self.by_hour,
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
        self.by_hour.entry(hour(arrival)).or_default().push(id);
        true
    }

    /// Forgets the ids that arrived in hours wholly more than `window_seconds` before the
    /// hour of the newest arrival held but [`OUTLIERS`] (so that many broken clocks cannot
    /// empty it).
    pub fn evict(&mut self, window_seconds: i64) {
        let mut newer = 0;
        let Some(newest) = self.by_hour.iter().rev().find_map(|(&h, ids)| {
            newer += ids.len();
            (newer > OUTLIERS).then_some(h)
        }) else {
            return;
        };
        let horizon = newest
            .saturating_mul(3600)
            .saturating_sub(window_seconds)
            .div_euclid(3600);
        let keep = self.by_hour.split_off(&horizon);
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
        s.evict(3600);
        assert_eq!(
            s.len(),
            2,
            "fewer arrivals than the outliers ignored: nothing forgotten"
        );
        for id in 100..120 {
            s.insert(id, t(12));
        }
        s.evict(3600);
        assert_eq!(s.len(), 21);
        assert!(s.insert(1, t(10)), "forgotten: judged again");
        assert!(!s.insert(2, t(12)));
        // A checkpoint holds the hours; one from before (with the map of ids) loads alike.
        let back: SeenIds = serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
        assert_eq!((back.len(), back.by_hour.len()), (22, 2));
        let older =
            serde_json::json!({"by_id": {"1": 10, "2": 12}, "by_hour": {"10": [1], "12": [2]}});
        for mut r in [back, serde_json::from_value(older).unwrap()] {
            assert!(!r.insert(1, t(10)) && !r.insert(2, t(12)) && r.insert(3, t(12)));
            for id in 200..220 {
                r.insert(id, t(12));
            }
            r.evict(3600);
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
        for id in 1000..1000 + OUTLIERS as u64 {
            s.insert(id, year_9999);
        }
        s.evict(86_400);
        assert!(!s.insert(5, t(10)), "still remembered");
        // One more is a new frontier: the old hours go.
        s.insert(2000, year_9999);
        s.evict(86_400);
        assert!(s.insert(5, t(10)));
        // Extreme times and windows neither panic nor misbehave.
        s.insert(5000, DateTime::<Utc>::MIN_UTC);
        s.insert(5001, DateTime::<Utc>::MAX_UTC);
        s.evict(i64::MAX);
        s.evict(0);
        assert!(!s.insert(5001, DateTime::<Utc>::MAX_UTC));
    }
}
