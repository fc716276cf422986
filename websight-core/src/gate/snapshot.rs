//! The gate's own state in a checkpoint: per-person rule state, recent message ids, the
//! event-time frontier, counts, and each stateful rule's tallies (by rule name). What a
//! [`GateState`](super::GateState) holds is saved by the state itself.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};

use super::{Gate, GateStats, PersonState, SeenIds};
use crate::Result;
use crate::hash::FastMap;
use crate::snapshot::Snapshot;
use crate::watermark::Frontier;

/// The stored shape, generic over what holds the large parts: written from the gate's own
/// maps by reference (no copy of every person and message id), read back owned.
#[derive(Serialize, Deserialize)]
struct Stored<Persons, Seen, Name> {
    persons: Persons,
    seen: Seen,
    frontier: Frontier,
    since_eviction: u64,
    /// The frontier at the last sweep (absent in earlier versions' checkpoints: a sweep is
    /// then due as if none had run).
    #[serde(default)]
    swept_at: Option<DateTime<Utc>>,
    stats: GateStats,
    rules: Vec<(Name, Snapshot)>,
}

/// A person's state (the rule by name).
#[derive(Serialize, Deserialize)]
struct PersonSnapshot<Text> {
    last: DateTime<Utc>,
    rejected_by: Option<Text>,
    visit: Text,
    counted: bool,
}

/// The persons, written as a map without collecting it.
struct Persons<'a>(&'a FastMap<String, PersonState>);

impl Serialize for Persons<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(person, p)| {
            let snapshot = PersonSnapshot {
                last: p.last,
                rejected_by: p.rejected_by,
                visit: p.visit.as_str(),
                counted: p.counted,
            };
            (person, snapshot)
        }))
    }
}

type Owned = Stored<FastMap<String, PersonSnapshot<String>>, SeenIds, String>;

impl Gate {
    /// The gate's own state, for a checkpoint (see [`Gate::restore`]).
    pub fn snapshot(&self) -> Result<Snapshot> {
        let rules = self
            .rules
            .iter()
            .map(|r| Ok((r.name(), r.state()?)))
            .collect::<Result<_>>()?;
        Snapshot::of(&Stored {
            persons: Persons(&self.persons),
            seen: &self.seen,
            frontier: self.frontier.clone(),
            since_eviction: self.since_eviction,
            swept_at: self.swept_at,
            stats: self.stats.clone(),
            rules,
        })
    }

    /// Continues from a [`Gate::snapshot`]; its rules must be this gate's, in order.
    pub fn restore(&mut self, snapshot: &Snapshot) -> Result<()> {
        let snapshot: Owned = snapshot.parse()?;
        let names: Vec<&'static str> = self.rules.iter().map(|r| r.name()).collect();
        if snapshot.rules.len() != names.len()
            || snapshot.rules.iter().zip(&names).any(|((a, _), b)| a != b)
        {
            return Err(crate::CoreError::parameter(
                "checkpoint",
                "the gate's rules differ from the checkpoint's",
            ));
        }
        let rule = |name: Option<String>| -> Result<Option<&'static str>> {
            name.map(|n| {
                names.iter().copied().find(|r| *r == n).ok_or_else(|| {
                    crate::CoreError::parameter("checkpoint", format!("unknown rule {n:?}"))
                })
            })
            .transpose()
        };
        let mut persons = FastMap::default();
        for (person, p) in snapshot.persons {
            let state = PersonState {
                last: p.last,
                rejected_by: rule(p.rejected_by)?,
                visit: p.visit,
                counted: p.counted,
                agent: None,
            };
            persons.insert(person, state);
        }
        for (r, (_, state)) in self.rules.iter_mut().zip(&snapshot.rules) {
            r.restore(state)?;
        }
        self.persons = persons;
        self.seen = snapshot.seen;
        self.frontier = snapshot.frontier;
        self.since_eviction = snapshot.since_eviction;
        self.swept_at = snapshot.swept_at;
        self.stats = snapshot.stats;
        Ok(())
    }
}
