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
pub struct Gate {
    rules: Vec<Box<dyn SecurityRule>>,
    known: KnownUsers,
    unique: HyperLogLog,
    sessions: HashMap<SessionId, SessionState>,
    sessions_per_user: HashMap<UserId, u64>,
    stats: GateStats,
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
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&config.seed.to_le_bytes());
        Ok(Gate {
            rules,
            known: KnownUsers::new(
                config.known_users_capacity,
                config.known_users_fp_rate,
                seed,
            )?,
            unique: HyperLogLog::new(config.hll_precision)?,
            sessions: HashMap::new(),
            sessions_per_user: HashMap::new(),
            stats: GateStats::default(),
        })
    }

    /// Decodes and judges one input.
    pub fn process(&mut self, raw: &[u8]) -> Outcome {
        match decode_event(raw) {
            Ok(event) => self.process_event(event),
            Err(dead) => {
                self.stats.received += 1;
                self.stats.dead_letters += 1;
                Outcome::DeadLetter(dead)
            }
        }
    }

    /// Judges one decoded event.
    pub fn process_event(&mut self, event: EventRecord) -> Outcome {
        self.stats.received += 1;
        let first_of_session = !self.sessions.contains_key(&event.session_id);
        let state = self.sessions.entry(event.session_id.clone()).or_default();
        if !state.seen.insert(event.seq) {
            self.stats.duplicates += 1;
            return Outcome::Duplicate {
                event_id: event.event_id,
            };
        }
        let context = RuleContext {
            new_user: !self.known.contains(event.user.id.as_str()),
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
            return Outcome::Rejected { rule, event };
        }
        if !state.counted {
            state.counted = true;
            *self
                .sessions_per_user
                .entry(event.user.id.clone())
                .or_default() += 1;
        }
        self.known.insert(event.user.id.as_str());
        self.unique.insert(event.user.id.as_str().as_bytes());
        self.stats.valid += 1;
        Outcome::Valid(event)
    }

    /// Outcome counts so far.
    pub fn stats(&self) -> &GateStats {
        &self.stats
    }

    /// Estimated distinct users with a valid event.
    pub fn unique_users(&self) -> f64 {
        self.unique.estimate()
    }

    /// The unique-user sketch (mergeable across gate instances).
    pub fn unique_sketch(&self) -> &HyperLogLog {
        &self.unique
    }

    /// Sessions of `user` with at least one valid event, exactly (the first one included).
    pub fn sessions_of(&self, user: &UserId) -> u64 {
        self.sessions_per_user.get(user).copied().unwrap_or(0)
    }

    /// Users with at least one valid session, exactly.
    pub fn users_with_sessions(&self) -> usize {
        self.sessions_per_user.len()
    }

    /// The known-user filter, e.g. to snapshot it.
    pub fn known_users(&self) -> &KnownUsers {
        &self.known
    }

    /// Replaces the known-user filter (e.g. restored from a snapshot).
    pub fn set_known_users(&mut self, known: KnownUsers) {
        self.known = known;
    }
}
