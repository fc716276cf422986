//! Message ids already judged, forgotten once their event time is far behind the traffic.

use hashbrown::hash_map::Entry;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::hash::FastMap;

/// 64-bit hashes of message ids by the hour of their event time: duplicates are found in
/// O(1), and an hour's ids are dropped in one step once the frontier has left it behind.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct SeenIds {
    by_id: FastMap<u64, i64>,
    by_hour: BTreeMap<i64, Vec<u64>>,
}

fn hour(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(3600)
}

impl SeenIds {
    /// Records `id`; false when it was already there.
    pub fn insert(&mut self, id: u64, at: DateTime<Utc>) -> bool {
        let Entry::Vacant(slot) = self.by_id.entry(id) else {
            return false;
        };
        let h = hour(at);
        slot.insert(h);
        self.by_hour.entry(h).or_default().push(id);
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
    }
}
