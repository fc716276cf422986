//! Scoring detection against ground-truth labels, per session.

use std::collections::HashMap;

use crate::model::SessionId;

/// Per-session confusion counts: a session counts as detected when any of its events was
/// rejected.
#[derive(Debug, Clone, Default)]
pub struct DetectionScore {
    sessions: HashMap<SessionId, (bool, bool)>,
}

impl DetectionScore {
    /// Records one event's outcome for its session.
    pub fn record(&mut self, session: &SessionId, is_abuse: bool, rejected: bool) {
        let entry = self
            .sessions
            .entry(session.clone())
            .or_insert((is_abuse, false));
        entry.1 |= rejected;
    }

    /// (true positives, false positives, false negatives, true negatives).
    pub fn confusion(&self) -> (u64, u64, u64, u64) {
        let mut c = (0, 0, 0, 0);
        for &(abuse, detected) in self.sessions.values() {
            match (abuse, detected) {
                (true, true) => c.0 += 1,
                (false, true) => c.1 += 1,
                (true, false) => c.2 += 1,
                (false, false) => c.3 += 1,
            }
        }
        c
    }

    /// Detected abusive sessions / detected sessions (1 when nothing was detected).
    pub fn precision(&self) -> f64 {
        let (tp, fp, _, _) = self.confusion();
        if tp + fp == 0 {
            1.0
        } else {
            tp as f64 / (tp + fp) as f64
        }
    }

    /// Detected abusive sessions / abusive sessions (1 when there were none).
    pub fn recall(&self) -> f64 {
        let (tp, _, fn_, _) = self.confusion();
        if tp + fn_ == 0 {
            1.0
        } else {
            tp as f64 / (tp + fn_) as f64
        }
    }
}
