//! Message ids already judged, forgotten once their event time is far behind the traffic.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::hash::FastSet;

/// 64-bit hashes of message ids, and the same by the hour of their event time: duplicates
/// are found in O(1), and an hour's ids are dropped in one step once the frontier has left
/// it behind. Checkpoints store the hours only (the set is rebuilt from them; older
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
    /// Records `id`; false when it was already there.
    pub fn insert(&mut self, id: u64, at: DateTime<Utc>) -> bool {
        if !self.by_id.insert(id) {
            return false;
        }
        self.by_hour.entry(hour(at)).or_default().push(id);
        true
    }

    /// Forgets the ids of events from hours wholly before `horizon`.
    pub fn evict_before(&mut self, horizon: DateTime<Utc>) {
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

    #[test]
    fn remembers_until_evicted() {
        let t = |h: u32| DateTime::<Utc>::from_timestamp(i64::from(h) * 3600 + 60, 0).unwrap();
        let mut s = SeenIds::default();
        assert!(s.insert(1, t(10)));
        assert!(s.insert(2, t(12)));
        assert!(!s.insert(1, t(10)));
        s.evict_before(t(11));
        assert_eq!(s.len(), 1);
        assert!(s.insert(1, t(10)), "forgotten: judged again");
        assert!(!s.insert(2, t(12)));
        // A checkpoint holds the hours; one from before (with the map of ids) loads alike.
        let back: SeenIds = serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
        let older =
            serde_json::json!({"by_id": {"1": 10, "2": 12}, "by_hour": {"10": [1], "12": [2]}});
        for mut r in [back, serde_json::from_value(older).unwrap()] {
            assert_eq!(r.len(), 2);
            assert!(!r.insert(1, t(10)) && !r.insert(2, t(12)) && r.insert(3, t(12)));
            r.evict_before(t(11));
            assert_eq!(r.len(), 2);
        }
    }
}
