//! Where the gate keeps what outlives a batch: known visitors, unique visitors and visits
//! per person. [`MemoryGateState`] is the embedded default; `websight-connectors` keeps the same
//! state in Redis so several gate instances share it.

use crate::hash::FastMap;

use async_trait::async_trait;

use super::{HyperLogLog, KnownUsers};
use crate::Result;
use crate::model::UserId;

/// What one batch of the gate adds to its shared state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateUpdate {
    /// Users with a valid event in the batch, each once: they become known and are
    /// counted as unique users.
    pub users: Vec<String>,
    /// `(user, session)` for each session whose first valid event is in the batch.
    pub sessions: Vec<(String, String)>,
}

impl StateUpdate {
    /// Whether the batch changed nothing.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.sessions.is_empty()
    }
}

/// The gate's shared state. Each call takes a whole batch, so a remote store costs a round
/// trip per batch, not per event.
#[async_trait]
pub trait GateState: Send {
    /// Whether each user is (probably) known: no false negatives, rare false positives.
    async fn known(&mut self, users: &[&str]) -> Result<Vec<bool>>;
    /// Applies a batch's update; returns when it is stored.
    async fn record(&mut self, update: &StateUpdate) -> Result<()>;
    /// Estimated distinct users with a valid event.
    async fn unique_users(&mut self) -> Result<f64>;
    /// Sessions of `user` with a valid event.
    async fn sessions_of(&mut self, user: &str) -> Result<u64>;
    /// The known-visitor filter's fill and false-positive rate (`None` when the store
    /// cannot tell).
    async fn known_filter(&mut self) -> Result<Option<super::FilterStats>> {
        Ok(None)
    }
    /// The state for a checkpoint when it lives in this process; `None` (the default) when
    /// it is kept durably where it is (a server).
    async fn snapshot(&mut self) -> Result<Option<serde_json::Value>> {
        Ok(None)
    }
    /// Continues from a [`GateState::snapshot`].
    async fn restore(&mut self, _snapshot: serde_json::Value) -> Result<()> {
        Err(crate::CoreError::parameter(
            "checkpoint",
            "this gate state keeps no snapshots",
        ))
    }
}

/// [`MemoryGateState`] in a checkpoint: the Bloom filter's bytes as hex.
#[derive(serde::Serialize, serde::Deserialize)]
struct MemorySnapshot {
    known: String,
    unique: HyperLogLog,
    sessions_per_user: FastMap<UserId, u64>,
}

/// The embedded gate state: a Bloom filter, a HyperLogLog and a map, in memory.
#[derive(Debug)]
pub struct MemoryGateState {
    pub(super) known: KnownUsers,
    pub(super) unique: HyperLogLog,
    pub(super) sessions_per_user: FastMap<UserId, u64>,
}

impl MemoryGateState {
    /// Empty state with the sizes of `config`.
    pub fn new(config: &super::GateConfig) -> Result<Self> {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&config.seed.to_le_bytes());
        Ok(MemoryGateState {
            known: KnownUsers::new(
                config.known_users_capacity,
                config.known_users_fp_rate,
                seed,
            )?,
            unique: HyperLogLog::new(config.hll_precision)?,
            sessions_per_user: FastMap::default(),
        })
    }

    pub(super) fn add_user(&mut self, user: &str) {
        self.known.insert(user);
        self.unique.insert(user.as_bytes());
    }

    pub(super) fn add_session(&mut self, user: &str) {
        *self
            .sessions_per_user
            .entry(UserId(user.to_owned()))
            .or_default() += 1;
    }

    /// Persons with at least one valid visit, exactly.
    pub fn users_with_sessions(&self) -> usize {
        self.sessions_per_user.len()
    }

    /// Visits of `person` with at least one valid event, exactly (the first one included).
    pub fn visits_of(&self, person: &str) -> u64 {
        self.sessions_per_user
            .get(&UserId(person.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// Estimated distinct visitor ids with a valid event.
    pub fn unique_estimate(&self) -> f64 {
        self.unique.estimate()
    }

    /// The unique-visitor sketch (mergeable across gate instances).
    pub fn unique_sketch(&self) -> &HyperLogLog {
        &self.unique
    }

    /// The known-visitor filter, e.g. to snapshot it.
    pub fn known_users(&self) -> &KnownUsers {
        &self.known
    }

    /// Replaces the known-visitor filter (e.g. restored from a snapshot).
    pub fn set_known_users(&mut self, known: KnownUsers) {
        self.known = known;
    }
}

#[async_trait]
impl GateState for MemoryGateState {
    async fn known(&mut self, users: &[&str]) -> Result<Vec<bool>> {
        Ok(users.iter().map(|u| self.known.contains(u)).collect())
    }

    async fn record(&mut self, update: &StateUpdate) -> Result<()> {
        for user in &update.users {
            self.add_user(user);
        }
        for (user, _) in &update.sessions {
            self.add_session(user);
        }
        Ok(())
    }

    async fn unique_users(&mut self) -> Result<f64> {
        Ok(self.unique.estimate())
    }

    async fn sessions_of(&mut self, user: &str) -> Result<u64> {
        Ok(self
            .sessions_per_user
            .get(&UserId(user.to_owned()))
            .copied()
            .unwrap_or(0))
    }

    async fn known_filter(&mut self) -> Result<Option<super::FilterStats>> {
        Ok(Some(self.known.stats()))
    }

    async fn snapshot(&mut self) -> Result<Option<serde_json::Value>> {
        let mut known = String::new();
        crate::hash::push_hex(&mut known, &self.known.snapshot());
        let snapshot = MemorySnapshot {
            known,
            unique: self.unique.clone(),
            sessions_per_user: self.sessions_per_user.clone(),
        };
        Ok(Some(serde_json::to_value(snapshot)?))
    }

    async fn restore(&mut self, snapshot: serde_json::Value) -> Result<()> {
        let s: MemorySnapshot = serde_json::from_value(snapshot)?;
        let bytes = crate::hash::from_hex(&s.known)
            .ok_or_else(|| crate::CoreError::invalid("known_users", "not hex"))?;
        self.known = KnownUsers::restore(bytes)?;
        self.unique = s.unique;
        self.sessions_per_user = s.sessions_per_user;
        Ok(())
    }
}
