//! Where the gate keeps what outlives a batch: known visitors, unique visitors and visits
//! per person. [`MemoryGateState`] is the embedded default; `websight-connectors` keeps the same
//! state in Redis so several gate instances share it.

use crate::hash::FastMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{HyperLogLog, KnownUsers};
use crate::Result;
use crate::model::UserId;
use crate::snapshot::Snapshot;

/// What one batch of the gate adds to its shared state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateUpdate {
    /// Users with a valid event in the batch, each once: they become known and are
    /// counted as unique users.
    pub users: Vec<String>,
    /// `(user, session)` for each session whose first valid event is in the batch.
    pub sessions: Vec<(String, String)>,
    /// The gate's event time after the batch (its frontier: the newest event time past a few
    /// outlying clocks; `None` before it has seen enough events). Visits are counted as of
    /// this time, and persons without a new visit for
    /// [`GateConfig::visit_count_retention_seconds`](super::GateConfig) before it are
    /// forgotten.
    pub at: Option<DateTime<Utc>>,
}

impl StateUpdate {
    /// Whether the batch changed nothing (a time alone changes nothing).
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
    async fn snapshot(&mut self) -> Result<Option<Snapshot>> {
        Ok(None)
    }
    /// Continues from a [`GateState::snapshot`].
    async fn restore(&mut self, _snapshot: &Snapshot) -> Result<()> {
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
    /// Each person's last counted visit (Unix seconds); absent in older checkpoints, whose
    /// persons' retention starts at the first sweep after the restore.
    #[serde(default)]
    last_visit: FastMap<UserId, i64>,
}

/// A person's visits and when the last was counted (Unix seconds; [`UNKNOWN`] when not
/// known: counted before the gate knew the time, or restored from an older checkpoint —
/// its retention starts at the next sweep).
#[derive(Debug, Clone, Copy)]
pub(super) struct Visits {
    pub(super) n: u64,
    last: i64,
}

/// The last-visit time of a person counted with none ([`Visits`]).
const UNKNOWN: i64 = i64::MAX;

/// Recorded visits between sweeps of the visits-per-person count (at least; or half the
/// persons held, so a sweep costs O(1) per visit).
const SWEEP_INTERVAL: usize = 50_000;

/// The embedded gate state: a Bloom filter, a HyperLogLog and a map, in memory.
#[derive(Debug)]
pub struct MemoryGateState {
    pub(super) known: KnownUsers,
    pub(super) unique: HyperLogLog,
    pub(super) sessions_per_user: FastMap<UserId, Visits>,
    retention_seconds: i64,
    since_sweep: usize,
}

impl MemoryGateState {
    /// Empty state with the sizes and retention of `config`.
    pub fn new(config: &super::GateConfig) -> Result<Self> {
        config.validate()?;
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
            retention_seconds: config.visit_count_retention_seconds,
            since_sweep: 0,
        })
    }

    pub(super) fn add_user(&mut self, user: &str) {
        self.known.insert(user);
        self.unique.insert(user.as_bytes());
    }

    /// Counts a visit of `user` at `at` (Unix seconds, or [`UNKNOWN`]).
    fn add_session(&mut self, user: &str, at: i64) {
        // Looked up by text first: a person already counted costs no allocation.
        let visits = match self.sessions_per_user.get_mut(user) {
            Some(visits) => visits,
            None => self
                .sessions_per_user
                .entry(UserId(user.to_owned()))
                .or_insert(Visits { n: 0, last: at }),
        };
        visits.n += 1;
        // A known time replaces an unknown one; an older batch never moves it back.
        if visits.last == UNKNOWN || (at != UNKNOWN && at > visits.last) {
            visits.last = at;
        }
    }

    /// Forgets persons whose last visit was counted more than the retention before `at`;
    /// a person whose last visit has no known time is taken as seen at `at` (so none is
    /// kept for ever).
    fn sweep(&mut self, at: i64) {
        self.since_sweep = 0;
        let horizon = at.saturating_sub(self.retention_seconds);
        self.sessions_per_user.retain(|_, v| {
            if v.last == UNKNOWN {
                v.last = at;
            }
            v.last >= horizon
        });
    }

    /// Persons with at least one valid visit, exactly.
    pub fn users_with_sessions(&self) -> usize {
        self.sessions_per_user.len()
    }

    /// Visits of `person` with at least one valid event, exactly (the first one included).
    pub fn visits_of(&self, person: &str) -> u64 {
        self.sessions_per_user
            .get(&UserId(person.to_owned()))
            .map_or(0, |v| v.n)
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
        let at = update.at.map_or(UNKNOWN, |t| t.timestamp());
        for (user, _) in &update.sessions {
            self.add_session(user, at);
        }
        self.since_sweep += update.sessions.len();
        if at != UNKNOWN && self.since_sweep >= SWEEP_INTERVAL.max(self.sessions_per_user.len() / 2)
        {
            self.sweep(at);
        }
        Ok(())
    }

    async fn unique_users(&mut self) -> Result<f64> {
        Ok(self.unique.estimate())
    }

    async fn sessions_of(&mut self, user: &str) -> Result<u64> {
        Ok(self.visits_of(user))
    }

    async fn known_filter(&mut self) -> Result<Option<super::FilterStats>> {
        Ok(Some(self.known.stats()))
    }

    async fn snapshot(&mut self) -> Result<Option<Snapshot>> {
        let mut known = String::new();
        crate::hash::push_hex(&mut known, &self.known.snapshot());
        let snapshot = MemorySnapshot {
            known,
            unique: self.unique.clone(),
            sessions_per_user: self
                .sessions_per_user
                .iter()
                .map(|(u, v)| (u.clone(), v.n))
                .collect(),
            last_visit: self
                .sessions_per_user
                .iter()
                .filter(|(_, v)| v.last != UNKNOWN)
                .map(|(u, v)| (u.clone(), v.last))
                .collect(),
        };
        Ok(Some(Snapshot::of(&snapshot)?))
    }

    async fn restore(&mut self, snapshot: &Snapshot) -> Result<()> {
        let s: MemorySnapshot = snapshot.parse()?;
        let bytes = crate::hash::from_hex(&s.known)
            .ok_or_else(|| crate::CoreError::invalid("known_users", "not hex"))?;
        self.known = KnownUsers::restore(bytes)?;
        self.unique = s.unique;
        let last = s.last_visit;
        self.sessions_per_user = s
            .sessions_per_user
            .into_iter()
            .map(|(u, n)| {
                let last = last.get(&u).copied().unwrap_or(UNKNOWN);
                (u, Visits { n, last })
            })
            .collect();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::GateConfig;
    use crate::io::block_on;

    fn visits(at: Option<i64>, users: impl IntoIterator<Item = String>) -> StateUpdate {
        StateUpdate {
            users: Vec::new(),
            sessions: users.into_iter().map(|u| (u.clone(), u)).collect(),
            at: at.and_then(|t| DateTime::from_timestamp(t, 0)),
        }
    }

    #[test]
    fn persons_without_a_visit_for_the_retention_leave_the_count() {
        const DAY: i64 = 86_400;
        let config = GateConfig::default();
        let mut state = MemoryGateState::new(&config).unwrap();
        let start = 1_767_225_600;
        // Before the gate knows the time: its retention starts at the first sweep (day 0).
        block_on(state.record(&visits(None, ["early".to_owned()]))).unwrap();
        // 60,000 one-visit persons on day 0, and a regular who comes back every 10 days.
        let once = |i: usize| format!("once-{i}");
        for chunk in (0..60_000).collect::<Vec<_>>().chunks(2_000) {
            let users = chunk.iter().map(|&i| once(i));
            block_on(state.record(&visits(Some(start), users))).unwrap();
        }
        for day in (0..=40).step_by(10) {
            let regular = visits(Some(start + day * DAY), ["regular".to_owned()]);
            block_on(state.record(&regular)).unwrap();
        }
        // Day 40: the day-0 persons are past 30 days; a flood of new persons sweeps.
        for chunk in (0..60_000).collect::<Vec<_>>().chunks(2_000) {
            let users = chunk.iter().map(|&i| format!("late-{i}"));
            block_on(state.record(&visits(Some(start + 40 * DAY), users))).unwrap();
        }
        assert_eq!(state.visits_of(&once(7)), 0, "forgotten after 30 days");
        assert_eq!(state.visits_of("regular"), 5, "kept: visits every 10 days");
        assert_eq!(state.visits_of("early"), 0, "no known time: from day 0 on");
        assert_eq!(state.visits_of("late-7"), 1);
        assert_eq!(state.users_with_sessions(), 60_000 + 1);

        // A checkpoint keeps the times: the restored state forgets alike. One from before
        // times were kept (no `last_visit`) holds its persons until 30 days after the
        // first sweep after the restore.
        let snapshot = block_on(state.snapshot()).unwrap().unwrap();
        let mut restored = MemoryGateState::new(&config).unwrap();
        block_on(restored.restore(&snapshot)).unwrap();
        let mut older: serde_json::Value = snapshot.parse().unwrap();
        older.as_object_mut().unwrap().remove("last_visit").unwrap();
        let mut migrated = MemoryGateState::new(&config).unwrap();
        block_on(migrated.restore(&Snapshot::of(&older).unwrap())).unwrap();
        for s in [&mut state, &mut restored] {
            s.sweep(start + 69 * DAY);
            assert_eq!(s.users_with_sessions(), 60_001, "day 40's persons: 29 days");
            assert_eq!(s.visits_of("regular"), 5);
            s.sweep(start + 71 * DAY);
            assert_eq!(s.users_with_sessions(), 0);
        }
        migrated.sweep(start + 71 * DAY);
        assert_eq!(
            migrated.users_with_sessions(),
            60_001,
            "their retention starts now"
        );
        migrated.sweep(start + 101 * DAY);
        assert_eq!(migrated.users_with_sessions(), 60_001);
        migrated.sweep(start + 102 * DAY);
        assert_eq!(migrated.users_with_sessions(), 0, "none kept for ever");
        let bad = GateConfig {
            visit_count_retention_seconds: 0,
            ..GateConfig::default()
        };
        assert!(MemoryGateState::new(&bad).is_err());
    }
}
