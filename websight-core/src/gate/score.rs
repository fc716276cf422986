//! Scoring detection against ground-truth labels, per session.

use crate::hash::FastMap;

use crate::model::SessionId;

/// Per-session confusion counts: a session counts as detected when any of its events was
/// rejected. Open sessions are held as 64-bit hashes of their ids; [`DetectionScore::end`]
/// folds an ended session into the counts, so scoring a stream of millions of sessions
/// holds only those in flight.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DetectionScore {
    sessions: FastMap<u64, (bool, bool)>,
    ended: (u64, u64, u64, u64),
}

fn tally(c: &mut (u64, u64, u64, u64), abuse: bool, detected: bool) {
    match (abuse, detected) {
        (true, true) => c.0 += 1,
        (false, true) => c.1 += 1,
        (true, false) => c.2 += 1,
        (false, false) => c.3 += 1,
    }
}

impl DetectionScore {
    /// Records one event's outcome for its session.
    pub fn record(&mut self, session: &SessionId, is_abuse: bool, rejected: bool) {
        let entry = self
            .sessions
            .entry(crate::hash::hash64(session.as_str().as_bytes()))
            .or_insert((is_abuse, false));
        entry.1 |= rejected;
    }

    /// The session had its last event: counts it and forgets it.
    pub fn end(&mut self, session: &SessionId) {
        let key = crate::hash::hash64(session.as_str().as_bytes());
        if let Some((abuse, detected)) = self.sessions.remove(&key) {
            tally(&mut self.ended, abuse, detected);
        }
    }

    /// (true positives, false positives, false negatives, true negatives).
    pub fn confusion(&self) -> (u64, u64, u64, u64) {
        let mut c = self.ended;
        for &(abuse, detected) in self.sessions.values() {
            tally(&mut c, abuse, detected);
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
