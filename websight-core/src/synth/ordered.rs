//! Heap entries ordered by time, ties broken by insertion order (so output is deterministic).

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

/// `item` due at `at`; the `seq`-th entry pushed.
pub(crate) struct ByTime<T> {
    pub at: DateTime<Utc>,
    pub seq: u64,
    pub item: T,
}

impl<T> ByTime<T> {
    fn key(&self) -> (DateTime<Utc>, u64) {
        (self.at, self.seq)
    }
}

impl<T> PartialEq for ByTime<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl<T> Eq for ByTime<T> {}

impl<T> PartialOrd for ByTime<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for ByTime<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}
