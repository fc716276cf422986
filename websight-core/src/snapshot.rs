//! State as a checkpoint holds it: JSON text.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::Result;

/// A state as JSON text: the analytics', the gate's, a gate state's
/// ([`Checkpoint`](crate::flow::Checkpoint)). The large ones hold every open visit's events
/// and every message id still deduplicated, so a state goes straight to its text and back,
/// with no [`serde_json::Value`] tree between: 247,012 open events (188 MB) are written in
/// 0.67–0.73 s and read in 1.0–1.3 s, against 1.9–2.4 s and 2.0–2.1 s through a tree
/// (`websight-core/examples/checkpoint_cost.rs`). Compared by its text.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Snapshot(Box<serde_json::value::RawValue>);

impl Snapshot {
    /// `state` as JSON text.
    pub fn of(state: &impl Serialize) -> Result<Snapshot> {
        Ok(Snapshot(serde_json::value::to_raw_value(state)?))
    }

    /// The state back from the text.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T> {
        Ok(serde_json::from_str(self.get())?)
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for Snapshot {
    fn eq(&self, other: &Snapshot) -> bool {
        self.get() == other.get()
    }
}
