//! [`Observer`]: what watches a flow (its outcomes, visitors, documents and progress) and
//! keeps its tallies in the flow's checkpoints; the empty, optional and paired observers and
//! the live series.

use chrono::{DateTime, Utc};

use super::Flow;
use crate::Result;
use crate::analytics::Documents;
use crate::gate::Outcome;

/// Sees what the flow does, e.g. to score detection or keep the documents.
pub trait Observer: Send {
    /// Each input's outcome, in order.
    fn outcome(&mut self, _outcome: &Outcome) {}
    /// Each valid event's time and person ([`StreamAnalytics::last_person`]: as identity
    /// names them once the event is placed, so one visitor before and after a login), in
    /// input order after the outcomes of its batch; none for an event without ids. Where
    /// live visitor counts take their key.
    ///
    /// [`StreamAnalytics::last_person`]: crate::analytics::StreamAnalytics::last_person
    fn visitor(&mut self, _at: DateTime<Utc>, _person: &str) {}
    /// Each batch of documents, after the document sink acknowledged it.
    fn documents(&mut self, _documents: &Documents) {}
    /// What it has tallied, for a [`Checkpoint`](super::Checkpoint) (`null` when it keeps
    /// nothing).
    fn snapshot(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
    /// Continues from a [`Observer::snapshot`].
    fn restore(&mut self, _snapshot: serde_json::Value) -> Result<()> {
        Ok(())
    }
    /// After every batch and every quiet tick, with the flow as it now is (its dashboard,
    /// counts and gate): where a live view takes its figures.
    fn progress(&mut self, _flow: &Flow) {}
}

impl Observer for () {}

/// An observer that may be absent (e.g. one a flag turns on). A checkpoint taken with it
/// restores only with it, and one taken without it only without it.
impl<O: Observer> Observer for Option<O> {
    fn outcome(&mut self, outcome: &Outcome) {
        if let Some(o) = self {
            o.outcome(outcome);
        }
    }
    fn visitor(&mut self, at: DateTime<Utc>, person: &str) {
        if let Some(o) = self {
            o.visitor(at, person);
        }
    }
    fn documents(&mut self, documents: &Documents) {
        if let Some(o) = self {
            o.documents(documents);
        }
    }
    fn snapshot(&self) -> serde_json::Value {
        self.as_ref().map_or(
            serde_json::Value::Null,
            |o| serde_json::json!({ "some": o.snapshot() }),
        )
    }
    fn restore(&mut self, mut snapshot: serde_json::Value) -> Result<()> {
        let null = snapshot.is_null();
        match (self, snapshot.get_mut("some")) {
            (Some(o), Some(inner)) => o.restore(inner.take()),
            (None, None) if null => Ok(()),
            _ => Err(crate::CoreError::parameter(
                "checkpoint",
                "taken with another set of observers (a DP release turned on or off?)",
            )),
        }
    }
    fn progress(&mut self, flow: &Flow) {
        if let Some(o) = self {
            o.progress(flow);
        }
    }
}

/// Both observers see everything, the first first.
impl<A: Observer, B: Observer> Observer for (A, B) {
    fn outcome(&mut self, outcome: &Outcome) {
        self.0.outcome(outcome);
        self.1.outcome(outcome);
    }
    fn visitor(&mut self, at: DateTime<Utc>, person: &str) {
        self.0.visitor(at, person);
        self.1.visitor(at, person);
    }
    fn documents(&mut self, documents: &Documents) {
        self.0.documents(documents);
        self.1.documents(documents);
    }
    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!([self.0.snapshot(), self.1.snapshot()])
    }
    fn progress(&mut self, flow: &Flow) {
        self.0.progress(flow);
        self.1.progress(flow);
    }
    fn restore(&mut self, snapshot: serde_json::Value) -> Result<()> {
        let serde_json::Value::Array(mut both) = snapshot else {
            return Err(crate::CoreError::parameter(
                "checkpoint",
                "a pair of observers needs a pair of snapshots",
            ));
        };
        let second = both.pop().unwrap_or_default();
        self.0.restore(both.pop().unwrap_or_default())?;
        self.1.restore(second)
    }
}

/// The live series of every valid event, its visitors the persons identity names (and of
/// visits as they close).
impl Observer for crate::analytics::TimeSeries {
    fn outcome(&mut self, outcome: &Outcome) {
        if let Outcome::Valid(event) = outcome {
            self.observe_activity(event);
        }
    }
    fn visitor(&mut self, at: DateTime<Utc>, person: &str) {
        self.observe_visitor(at, person);
    }
    fn documents(&mut self, documents: &Documents) {
        for s in &documents.sessions {
            self.observe_session(s.timestamp);
        }
    }
    fn snapshot(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
    fn restore(&mut self, snapshot: serde_json::Value) -> Result<()> {
        *self = serde_json::from_value(snapshot)?;
        Ok(())
    }
}
