//! The security gate (the original system's Redis stage, done right), embedded.
//!
//! [`Gate::process`] turns each input into exactly one [`Outcome`]: a valid event, an event
//! rejected by a named rule, a dead letter (bytes kept, reason typed) or a duplicate. The
//! counts obey `received = valid + rejected + dead letters + duplicates` exactly.
//!
//! Unlike the original: rules apply to known users too (only the unknown device/referrer
//! rule is for new users); unique users are counted in a [`HyperLogLog`] for every valid
//! event whatever the Bloom filter says; sessions per user are exact and include the first.
//!
//! ```
//! use websight_core::gate::{Gate, GateConfig, Outcome};
//! use websight_core::synth::{Generator, SynthConfig};
//!
//! let generator = Generator::new(SynthConfig { sessions: 2_000, ..SynthConfig::default() })?;
//! let mut gate = Gate::new(GateConfig::default())?;
//! for e in generator.events() {
//!     let bytes = serde_json::to_vec(&e.record)?;
//!     let _ = gate.process(&bytes);
//! }
//! assert!(matches!(gate.process(b"{not json"), Outcome::DeadLetter(_)));
//! let stats = gate.stats();
//! assert!(stats.is_conserved());
//! println!("{} valid, {:?} rejected, ~{:.0} unique users", stats.valid, stats.rejected, gate.unique_users());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod decode;
mod hll;
mod known_users;
mod rules;
mod score;
mod state;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use decode::{DeadLetter, DeadLetterReason, decode_event};
pub use hll::{HyperLogLog, hash64};
pub use known_users::KnownUsers;
pub use rules::{
    Blocklist, BotUserAgent, ImpossibleFigures, IpRate, RuleContext, SecurityRule, SubSecondDwell,
    UnknownDeviceOrReferrer, standard_rules,
};
pub use score::DetectionScore;
pub use state::{GateState, MemoryGateState, StateUpdate};

use crate::Result;
use crate::model::{SessionId, UserId};
use crate::record::EventRecord;

/// Gate settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GateConfig {
    /// Users the known-user Bloom filter is sized for.
    pub known_users_capacity: usize,
    /// Its false-positive rate.
    pub known_users_fp_rate: f64,
    /// Seed of its hash functions.
    pub seed: u64,
    /// HyperLogLog precision (14: 16,384 registers, ≈ 0.81% standard error).
    pub hll_precision: u8,
    /// Blocked IP addresses.
    pub blocked_ips: Vec<IpAddr>,
    /// Blocked e-mail domains.
    pub blocked_email_domains: Vec<String>,
}

impl Default for GateConfig {
    fn default() -> Self {
        GateConfig {
            known_users_capacity: 1_000_000,
            known_users_fp_rate: 0.01,
            seed: 0,
            hll_precision: 14,
            blocked_ips: Vec::new(),
            blocked_email_domains: Vec::new(),
        }
    }
}

/// What became of one input.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Passed every rule.
    Valid(EventRecord),
    /// Stopped by the named rule (every later event of its session is stopped with it).
    Rejected {
        /// The rule.
        rule: &'static str,
        /// The event.
        event: EventRecord,
    },
    /// Unreadable input, kept with its reason.
    DeadLetter(DeadLetter),
    /// An event already seen (same session and position); dropped.
    Duplicate {
        /// Its id.
        event_id: String,
    },
}

/// Counts of outcomes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateStats {
    /// Inputs received.
    pub received: u64,
    /// Valid events.
    pub valid: u64,
    /// Rejected events per rule.
    pub rejected: BTreeMap<String, u64>,
    /// Dead letters.
    pub dead_letters: u64,
    /// Duplicates dropped.
    pub duplicates: u64,
}

impl GateStats {
    /// All rejected events.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// received = valid + rejected + dead letters + duplicates.
    pub fn is_conserved(&self) -> bool {
        self.received == self.valid + self.rejected_total() + self.dead_letters + self.duplicates
    }
}

#[derive(Debug, Default)]
struct SessionState {
    seen: HashSet<u32>,
    rejected_by: Option<&'static str>,
    counted: bool,
}

/// The gate. See the [module docs](self).
///
/// [`Gate::process`] keeps the shared state (known users, unique users, sessions per user)
/// in the gate itself; [`Gate::process_batch`] reads and updates any [`GateState`] instead —
/// e.g. Redis, shared by several gate instances — one batch at a time.
pub struct Gate {
    rules: Vec<Box<dyn SecurityRule>>,
    state: MemoryGateState,
    sessions: HashMap<SessionId, SessionState>,
    stats: GateStats,
}

/// A judged event's effect on the shared state.
struct Verdict {
    outcome: Outcome,
    /// The event is valid and the first valid one of its session.
    new_session: bool,
}

impl Gate {
    /// A gate with the [`standard_rules`].
    pub fn new(config: GateConfig) -> Result<Self> {
        let blocklist = Blocklist {
            ips: config.blocked_ips.iter().copied().collect(),
            email_domains: config
                .blocked_email_domains
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
        };
        Gate::with_rules(config, standard_rules(blocklist))
    }

    /// A gate with the given rules, applied in order.
    pub fn with_rules(config: GateConfig, rules: Vec<Box<dyn SecurityRule>>) -> Result<Self> {
        Ok(Gate {
            rules,
            state: MemoryGateState::new(&config)?,
            sessions: HashMap::new(),
            stats: GateStats::default(),
        })
    }

    /// Decodes and judges one input.
    pub fn process(&mut self, raw: &[u8]) -> Outcome {
        match decode_event(raw) {
            Ok(event) => self.process_event(event),
            Err(dead) => self.dead_letter(dead),
        }
    }

    /// Judges one decoded event.
    pub fn process_event(&mut self, event: EventRecord) -> Outcome {
        let known = self.state.known.contains(event.user.id.as_str());
        let verdict = self.judge(event, known);
        if let Outcome::Valid(event) = &verdict.outcome {
            let user = event.user.id.as_str();
            if verdict.new_session {
                self.state.add_session(user);
            }
            self.state.add_user(user);
        }
        verdict.outcome
    }

    /// Decodes and judges a batch against `state`: one [`GateState::known`] lookup for the
    /// batch's users and one [`GateState::record`] of what the valid events add, so a remote
    /// state costs two round trips per batch. Within the batch a user becomes known at their
    /// first valid event, exactly as in [`Gate::process`]. Outcomes are in input order.
    ///
    /// On an error from `state` the batch's outcomes are lost and its events are marked seen:
    /// the caller should treat the gate as failed (a redelivered batch would count as
    /// duplicates).
    pub async fn process_batch<R, S>(&mut self, raws: &[R], state: &mut S) -> Result<Vec<Outcome>>
    where
        R: AsRef<[u8]> + Sync,
        S: GateState + ?Sized,
    {
        let decoded: Vec<_> = raws.iter().map(|r| decode_event(r.as_ref())).collect();
        let mut users: Vec<&str> = decoded
            .iter()
            .filter_map(|d| d.as_ref().ok().map(|e| e.user.id.as_str()))
            .collect();
        users.sort_unstable();
        users.dedup();
        let flags = state.known(&users).await?;
        let mut known: HashSet<String> = users
            .iter()
            .zip(flags)
            .filter(|(_, known)| *known)
            .map(|(user, _)| (*user).to_owned())
            .collect();
        let mut update = StateUpdate::default();
        let mut valid_users = HashSet::new();
        let mut outcomes = Vec::with_capacity(raws.len());
        for item in decoded {
            let event = match item {
                Ok(event) => event,
                Err(dead) => {
                    outcomes.push(self.dead_letter(dead));
                    continue;
                }
            };
            let user = event.user.id.as_str().to_owned();
            let verdict = self.judge(event, known.contains(&user));
            if let Outcome::Valid(event) = &verdict.outcome {
                if verdict.new_session {
                    update
                        .sessions
                        .push((user.clone(), event.session_id.as_str().to_owned()));
                }
                if valid_users.insert(user.clone()) {
                    update.users.push(user.clone());
                }
                known.insert(user);
            }
            outcomes.push(verdict.outcome);
        }
        if !update.is_empty() {
            state.record(&update).await?;
        }
        Ok(outcomes)
    }

    fn dead_letter(&mut self, dead: DeadLetter) -> Outcome {
        self.stats.received += 1;
        self.stats.dead_letters += 1;
        Outcome::DeadLetter(dead)
    }

    /// The rules and per-session bookkeeping; the caller applies the shared-state effects.
    fn judge(&mut self, event: EventRecord, known_user: bool) -> Verdict {
        self.stats.received += 1;
        let first_of_session = !self.sessions.contains_key(&event.session_id);
        let state = self.sessions.entry(event.session_id.clone()).or_default();
        if !state.seen.insert(event.seq) {
            self.stats.duplicates += 1;
            return Verdict {
                outcome: Outcome::Duplicate {
                    event_id: event.event_id,
                },
                new_session: false,
            };
        }
        let context = RuleContext {
            new_user: !known_user,
            first_of_session,
        };
        // Every rule sees every event, so stateful rules keep complete tallies.
        let mut fired = state.rejected_by;
        for rule in &mut self.rules {
            if rule.rejects(&event, &context) && fired.is_none() {
                fired = Some(rule.name());
            }
        }
        if let Some(rule) = fired {
            state.rejected_by = Some(rule);
            *self.stats.rejected.entry(rule.to_owned()).or_default() += 1;
            return Verdict {
                outcome: Outcome::Rejected { rule, event },
                new_session: false,
            };
        }
        let new_session = !state.counted;
        state.counted = true;
        self.stats.valid += 1;
        Verdict {
            outcome: Outcome::Valid(event),
            new_session,
        }
    }

    /// Outcome counts so far.
    pub fn stats(&self) -> &GateStats {
        &self.stats
    }

    /// Estimated distinct users with a valid event (embedded state: [`Gate::process`] only).
    pub fn unique_users(&self) -> f64 {
        self.state.unique.estimate()
    }

    /// The unique-user sketch (mergeable across gate instances).
    pub fn unique_sketch(&self) -> &HyperLogLog {
        &self.state.unique
    }

    /// Sessions of `user` with at least one valid event, exactly (the first one included).
    pub fn sessions_of(&self, user: &UserId) -> u64 {
        self.state.sessions_per_user.get(user).copied().unwrap_or(0)
    }

    /// Users with at least one valid session, exactly.
    pub fn users_with_sessions(&self) -> usize {
        self.state.users_with_sessions()
    }

    /// The known-user filter, e.g. to snapshot it.
    pub fn known_users(&self) -> &KnownUsers {
        &self.state.known
    }

    /// Replaces the known-user filter (e.g. restored from a snapshot).
    pub fn set_known_users(&mut self, known: KnownUsers) {
        self.state.known = known;
    }
}
