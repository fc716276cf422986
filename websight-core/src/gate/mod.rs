//! The security gate (the original system's Redis stage, done right), embedded.
//!
//! The gate judges decoded, protected [`Event`]s ([`crate::decode`], [`crate::privacy`]).
//! Each input becomes exactly one [`Outcome`]: a valid event, an event rejected by a named
//! rule, a dead letter (reason typed) or a duplicate (same `messageId`, as SDKs retry). The
//! counts obey `received = valid + rejected + dead letters + duplicates` exactly.
//!
//! State stays bounded by recent traffic, not the stream's length: persons and rule tallies
//! are forgotten an hour (of event time, behind the watermark's frontier) after they fall
//! silent, message ids a day after they arrived ([`GateConfig::dedupe_window_seconds`], by
//! `receivedAt`: an SDK's retry of a message dated days back is still a duplicate); a
//! redelivery later than that is judged again. In the shared state, a person without a new
//! visit for [`GateConfig::visit_count_retention_seconds`] (30 days) leaves the
//! visits-per-person count, and Redis remembers session ids for a day.
//!
//! Rules see every event, known visitors included (only [`NoUserAgent`] is for new
//! visitors); once a rule fires for a person, the rest of that person's visit (until 30
//! minutes of silence) is rejected with it — except [`SubSecondDwell`], which judges each
//! event by the visit's pace so far ([`SecurityRule::condemns_visit`]), so a human whose
//! first pages came fast is not lost with the order that followed. A person is the user id,
//! else the anonymous id; a login (an event with both while the device's visit is open and
//! the user has none) continues that visit under the user id — no new visit for the
//! sender's rate (three colleagues behind one office address logging in were six), the
//! verdict that holds for it holds on, and the rules' tallies per person move to the user
//! id ([`SecurityRule::continue_as`]). Unique visitors are counted in a [`HyperLogLog`] for
//! every valid event whatever the Bloom filter says; visits per person are exact within the
//! retention and include the first.
//!
//! ```
//! use websight_core::decode::{decode_segment, DecodeContext};
//! use websight_core::gate::{Gate, GateConfig, MemoryGateState, Outcome};
//!
//! let mut gate = Gate::new(GateConfig::default())?;
//! let mut state = MemoryGateState::new(&GateConfig::default())?;
//! let human = br#"{"type":"page","messageId":"m1","anonymousId":"a","timestamp":"2026-01-01T10:00:00Z",
//!   "context":{"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"}}"#;
//! let crawler = br#"{"type":"page","messageId":"m2","anonymousId":"b","timestamp":"2026-01-01T10:00:00Z",
//!   "context":{"userAgent":"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}}"#;
//! let ctx = DecodeContext::default();
//! for raw in [&human[..], &crawler[..], &human[..], b"{not json"] {
//!     for item in decode_segment(raw, &ctx) {
//!         gate.process(item, &mut state)?;
//!     }
//! }
//! let stats = gate.stats();
//! assert_eq!((stats.valid, stats.duplicates, stats.dead_letters), (1, 1, 1));
//! assert_eq!(stats.rejected["bot_user_agent"], 1);
//! assert!(stats.is_conserved());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod hll;
mod known_users;
mod rules;
mod scale;
mod score;
mod seen;
mod snapshot;
mod state;
mod times;

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

pub use crate::decode::{DeadLetter, DeadLetterReason};
pub use crate::hash::hash64;
pub use hll::HyperLogLog;
pub use known_users::{FilterStats, KnownUsers, bloom_size};
pub use rules::{
    Blocklist, BotUserAgent, ImpossibleFigures, IpRate, NoUserAgent, RuleContext, SecurityRule,
    SubSecondDwell, standard_rules,
};
pub use score::DetectionScore;
pub use state::{GateState, MemoryGateState, StateUpdate};

use crate::Result;
use crate::decode::Decoded;
use crate::enrich::{Agent, AgentParser};
use crate::event::Event;
use crate::hash::{FastMap, FastSet};
use crate::watermark::Frontier;
use seen::SeenIds;

/// Gate settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GateConfig {
    /// Visitor ids the known-visitor Bloom filter is sized for.
    pub known_users_capacity: usize,
    /// Its false-positive rate.
    pub known_users_fp_rate: f64,
    /// Seed of its hash functions.
    pub seed: u64,
    /// HyperLogLog precision (14: 16,384 registers, ≈ 0.81% standard error).
    pub hll_precision: u8,
    /// Blocked IP addresses (a /24 or /48 after truncation).
    pub blocked_ips: Vec<IpAddr>,
    /// Silence after which a person's next event starts a new visit, seconds.
    pub visit_gap_seconds: i64,
    /// Event time after which a person without a new visit leaves the visits-per-person
    /// count of the shared state (30 days), so it holds the persons of that period only.
    pub visit_count_retention_seconds: i64,
    /// How long a message id is remembered after it arrives (`receivedAt`, else its event
    /// time), seconds: a redelivery within it is a duplicate whatever the message's date.
    /// A day, Segment's own look-back.
    pub dedupe_window_seconds: i64,
    /// Visits one sender may start within [`GateConfig::ip_rate_window_seconds`] before the
    /// `ip_rate` rule rejects the next (a sender: an IPv4 address, an IPv6 /64, counted by
    /// [`Event::address_key`]). Raise it for a shop whose visitors share addresses — an
    /// office, a campus, a mobile carrier's NAT.
    pub ip_rate_max_visits: usize,
    /// The window of `ip_rate`, seconds (1 to a day).
    pub ip_rate_window_seconds: i64,
    /// Most units of one product in one event before `impossible_figures` rejects it (at
    /// least 1; default 10,000). A trade shop whose customers order by the pallet may need
    /// more.
    pub max_quantity: u32,
}

impl Default for GateConfig {
    fn default() -> Self {
        GateConfig {
            known_users_capacity: 1_000_000,
            known_users_fp_rate: 0.01,
            seed: 0,
            hll_precision: 14,
            blocked_ips: Vec::new(),
            visit_gap_seconds: 1800,
            visit_count_retention_seconds: 30 * 86_400,
            dedupe_window_seconds: 86_400,
            ip_rate_max_visits: 5,
            ip_rate_window_seconds: 60,
            max_quantity: 10_000,
        }
    }
}

impl GateConfig {
    /// Checks the durations: a positive visit gap, a visit-count retention of at least that
    /// gap and at most ten years, a dedupe window of one second to a year, an IP rate of at
    /// least one visit in a window of one second to a day, and a quantity limit of at least 1.
    pub fn validate(&self) -> Result<()> {
        if self.visit_gap_seconds <= 0
            || !(self.visit_gap_seconds..=10 * 366 * 86_400)
                .contains(&self.visit_count_retention_seconds)
        {
            return Err(crate::CoreError::parameter(
                "gate",
                "the visit gap must be positive and the visit-count retention between one gap and ten years",
            ));
        }
        if !(1..=366 * 86_400).contains(&self.dedupe_window_seconds) {
            return Err(crate::CoreError::parameter(
                "gate",
                "the dedupe window must be between one second and a year",
            ));
        }
        if self.ip_rate_max_visits == 0 || !(1..=86_400).contains(&self.ip_rate_window_seconds) {
            return Err(crate::CoreError::parameter(
                "gate",
                "ip_rate needs at least one visit per window and a window of one second to a day",
            ));
        }
        if self.max_quantity == 0 {
            return Err(crate::CoreError::parameter(
                "gate",
                "impossible_figures needs a quantity limit of at least 1",
            ));
        }
        Ok(())
    }
}

/// What became of one input.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Passed every rule. (Events are boxed from here on: they move by pointer through the
    /// stream to their visit.)
    Valid(Box<Event>),
    /// Stopped by the named rule.
    Rejected {
        /// The rule.
        rule: &'static str,
        /// The event.
        event: Box<Event>,
    },
    /// Unreadable input, kept with its reason.
    DeadLetter(DeadLetter),
    /// A message already seen (same `messageId`); dropped.
    Duplicate {
        /// Its id.
        message_id: String,
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

/// What the gate remembers of a person between events.
#[derive(Debug)]
struct PersonState {
    last: DateTime<Utc>,
    /// The rule that condemned the rest of the visit ([`SecurityRule::condemns_visit`]).
    rejected_by: Option<&'static str>,
    visit: String,
    counted: bool,
    /// The last user agent header and what it says: a person's next event almost always
    /// sends the same, found by comparing it (not kept in checkpoints: parsed again).
    agent: Option<(Arc<str>, Arc<Agent>)>,
}

impl Default for PersonState {
    fn default() -> Self {
        PersonState {
            last: DateTime::<Utc>::MIN_UTC,
            rejected_by: None,
            visit: String::new(),
            counted: false,
            agent: None,
        }
    }
}

/// The gate. See the [module docs](self).
///
/// What outlives a batch and may be shared by several gate instances (known visitors,
/// unique visitors, visits per person) lives in a [`GateState`] — [`MemoryGateState`]
/// embedded, Redis on a server — and there is one way to use it:
/// [`Gate::process_batch`] (two state round trips per batch); [`Gate::process`] is a batch
/// of one. The gate itself keeps only its per-person rule state.
pub struct Gate {
    config: GateConfig,
    rules: Vec<Box<dyn SecurityRule>>,
    agents: AgentParser,
    persons: FastMap<String, PersonState>,
    seen: SeenIds,
    frontier: Frontier,
    since_eviction: u64,
    /// The frontier at the last sweep.
    swept_at: Option<DateTime<Utc>>,
    stats: GateStats,
}

/// A judged event's effect on the shared state.
struct Verdict {
    outcome: Outcome,
    /// `(person, visit)` when the event is valid and the first valid one of its visit.
    new_visit: Option<(String, String)>,
}

/// Broken clocks the gate's horizons ignore: its event-time frontier, and the arrivals its
/// message-id dedupe trails.
const OUTLIERS: usize = 16;

/// Events between sweeps of rule and person state older than an hour (and message ids that
/// arrived more than the dedupe window ago) whatever the event times do: the bound on what
/// backdated input can pile up. A sweep visits every person held, so it also waits for half
/// as many events as there are persons (at most two steps an event).
const EVICTION_INTERVAL: u64 = 50_000;

/// Fewer events suffice once the frontier has moved [`SWEEP_ADVANCE_MINUTES`] since the last
/// sweep: the state then stays near the last hours' (a quiet shop's gate held 60 hours' worth,
/// 20× more, between sweeps every 50,000 events). A flood dated behind the frontier does not
/// move it, so the rules keep its tallies whole and judge it as one.
const SWEEP_MIN_EVENTS: u64 = 2_000;

/// See [`SWEEP_MIN_EVENTS`].
const SWEEP_ADVANCE_MINUTES: i64 = 10;

impl Gate {
    /// A gate with the [`standard_rules`].
    pub fn new(config: GateConfig) -> Result<Self> {
        let rules = standard_rules(&config);
        Gate::with_rules(config, rules)
    }

    /// A gate with the given rules, applied in order.
    pub fn with_rules(config: GateConfig, rules: Vec<Box<dyn SecurityRule>>) -> Result<Self> {
        config.validate()?;
        Ok(Gate {
            config,
            rules,
            agents: AgentParser::new(),
            persons: FastMap::default(),
            seen: SeenIds::default(),
            frontier: Frontier::new(OUTLIERS + 1),
            since_eviction: 0,
            swept_at: None,
            stats: GateStats::default(),
        })
    }

    /// Judges one decoded input against `state`: [`Gate::process_batch`] of one (with the
    /// embedded [`MemoryGateState`] no runtime is needed).
    pub fn process<S>(&mut self, item: Decoded, state: &mut S) -> Result<Outcome>
    where
        S: GateState + ?Sized,
    {
        let mut outcomes = crate::io::block_on(self.process_batch(vec![item], state))?;
        Ok(outcomes.remove(0))
    }

    /// Judges a batch against `state`: one [`GateState::known`] lookup for the batch's ids
    /// and one [`GateState::record`] of what the valid events add, so a remote state costs
    /// two round trips per batch. Within the batch an id becomes known at its first valid
    /// event, exactly as in [`Gate::process`]. Outcomes are in input order.
    ///
    /// On an error from `state` the batch's outcomes are lost and its messages are marked
    /// seen: the caller should treat the gate as failed (a redelivered batch would count as
    /// duplicates).
    pub async fn process_batch<S>(
        &mut self,
        items: Vec<Decoded>,
        state: &mut S,
    ) -> Result<Vec<Outcome>>
    where
        S: GateState + ?Sized,
    {
        let mut lookup: Vec<&str> = items
            .iter()
            .filter_map(|d| d.as_deref().ok())
            .flat_map(ids)
            .collect();
        let mut distinct = FastSet::default();
        lookup.retain(|id| distinct.insert(*id));
        drop(distinct);
        let flags = state.known(&lookup).await?;
        // Ids by a 64-bit key, foldhash seeded afresh for the batch (the keys never leave it,
        // so they need not be `hash64`'s stable ones): no input can be made to collide.
        let keyer = foldhash::fast::RandomState::default();
        let key64 = |id: &str| keyer.hash_one(id);
        let mut known: FastSet<u64> = lookup
            .iter()
            .zip(flags)
            .filter(|(_, known)| *known)
            .map(|(id, _)| key64(id))
            .collect();
        drop(lookup);
        let mut update = StateUpdate::default();
        let mut added = FastSet::default();
        let mut outcomes = Vec::with_capacity(items.len());
        for item in items {
            let event = match item {
                Ok(event) => event,
                Err(dead) => {
                    outcomes.push(self.dead_letter(dead));
                    continue;
                }
            };
            // Each id hashed once: looked up now, added below if the event is valid.
            let hashes = id_slots(&event).map(|id| id.map(key64));
            let is_known = hashes.iter().flatten().any(|h| known.contains(h));
            let verdict = self.judge(event, is_known);
            if let Outcome::Valid(event) = &verdict.outcome {
                if let Some(visit) = verdict.new_visit {
                    update.sessions.push(visit);
                }
                let hashed = id_slots(event).into_iter().zip(hashes);
                for (id, hash) in hashed.filter_map(|(id, hash)| id.zip(hash)) {
                    if added.insert(hash) {
                        update.users.push(id.to_owned());
                    }
                    known.insert(hash);
                }
            }
            outcomes.push(verdict.outcome);
        }
        if !update.is_empty() {
            update.at = self.frontier.value();
            state.record(&update).await?;
        }
        Ok(outcomes)
    }

    fn dead_letter(&mut self, dead: DeadLetter) -> Outcome {
        self.stats.received += 1;
        self.stats.dead_letters += 1;
        Outcome::DeadLetter(dead)
    }

    /// The rules and per-person bookkeeping; the caller applies the shared-state effects.
    fn judge(&mut self, mut event: Box<Event>, known: bool) -> Verdict {
        self.stats.received += 1;
        // Taken: nothing after the gate holds the sender's key.
        let address = rules::sender(&mut event);
        let arrival = event.timestamps.received_at.unwrap_or(event.time);
        if !self
            .seen
            .insert(hash64(event.message_id.as_bytes()), arrival)
        {
            self.stats.duplicates += 1;
            return Verdict {
                outcome: Outcome::Duplicate {
                    message_id: event.message_id.into(),
                },
                new_visit: None,
            };
        }
        self.frontier.observe(event.time);
        self.since_eviction += 1;
        if self.sweep_due() {
            self.evict();
        }
        let person = event.person().unwrap_or_default();
        let gap = TimeDelta::seconds(self.config.visit_gap_seconds);
        let live = |s: &PersonState| {
            !s.visit.is_empty() && event.time.signed_duration_since(s.last) <= gap
        };
        let mut state = crate::hash::slot(&mut self.persons, person);
        let mut visit_start = !live(state);
        // A login: the device's open visit goes on under the user id, so it is no new visit
        // (for the sender's visit rate, and a verdict that holds for the visit holds on).
        if let (true, Some(_), Some(anon)) = (visit_start, &event.user_id, &event.anonymous_id) {
            let device = self.persons.get(anon.as_str()).filter(|s| live(s));
            let carried = device.map(|d| (d.last, d.rejected_by, d.visit.clone(), d.agent.clone()));
            state = crate::hash::slot(&mut self.persons, person);
            if let Some((last, rejected_by, visit, agent)) = carried {
                (state.last, state.rejected_by, state.visit, state.agent) =
                    (last, rejected_by, visit, agent);
                // Counted again, under the user: visits per person are the user's.
                state.counted = false;
                visit_start = false;
                for rule in &mut self.rules {
                    rule.continue_as(anon, person);
                }
            }
        }
        if visit_start {
            state.rejected_by = None;
            state.counted = false;
            state.visit = event.message_id.to_string();
        }
        state.last = state.last.max(event.time);
        let header = AgentParser::key(event.user_agent.as_deref());
        let agent = match &state.agent {
            Some((last, agent)) if **last == *header => Arc::clone(agent),
            _ => {
                let (header, agent) = self.agents.parse_shared(Some(header));
                state.agent = Some((header, Arc::clone(&agent)));
                agent
            }
        };
        let context = RuleContext {
            new_visitor: !known,
            visit_start,
            agent: &agent,
            person,
            address,
        };
        // Every rule sees every event, so stateful rules keep complete tallies.
        let mut fired = state.rejected_by;
        for rule in &mut self.rules {
            if rule.rejects(&event, &context) && fired.is_none() {
                fired = Some(rule.name());
                if rule.condemns_visit() {
                    state.rejected_by = fired;
                }
            }
        }
        if let Some(rule) = fired {
            // The rule's name copied only the first time it fires.
            match self.stats.rejected.get_mut(rule) {
                Some(count) => *count += 1,
                None => {
                    self.stats.rejected.insert(rule.to_owned(), 1);
                }
            }
            return Verdict {
                outcome: Outcome::Rejected { rule, event },
                new_visit: None,
            };
        }
        let new_visit = (!state.counted).then(|| (person.to_owned(), state.visit.clone()));
        state.counted = true;
        self.stats.valid += 1;
        Verdict {
            outcome: Outcome::Valid(event),
            new_visit,
        }
    }

    /// Whether to sweep now ([`EVICTION_INTERVAL`], [`SWEEP_MIN_EVENTS`]); the times are
    /// compared only once enough events have passed.
    fn sweep_due(&self) -> bool {
        let (n, half) = (self.since_eviction, self.persons.len() as u64 / 2);
        if n < SWEEP_MIN_EVENTS.max(half) {
            return false;
        }
        n >= EVICTION_INTERVAL.max(half)
            || match (self.frontier.value(), self.swept_at) {
                (Some(now), Some(then)) => {
                    now.signed_duration_since(then) >= TimeDelta::minutes(SWEEP_ADVANCE_MINUTES)
                }
                (Some(_), None) => true,
                (None, _) => false,
            }
    }

    /// Forgets persons silent for an hour of event time and the rules' state before then,
    /// and message ids that arrived more than [`GateConfig::dedupe_window_seconds`] ago.
    fn evict(&mut self) {
        self.since_eviction = 0;
        self.swept_at = self.frontier.value();
        self.seen.evict(self.config.dedupe_window_seconds);
        let Some(horizon) = self
            .frontier
            .value()
            .and_then(|t| t.checked_sub_signed(TimeDelta::hours(1)))
        else {
            return;
        };
        self.persons.retain(|_, p| p.last >= horizon);
        for rule in &mut self.rules {
            rule.evict(horizon);
        }
    }

    /// The settings.
    pub fn config(&self) -> &GateConfig {
        &self.config
    }

    /// Outcome counts so far.
    pub fn stats(&self) -> &GateStats {
        &self.stats
    }

    /// What the gate holds in memory now (bounded by recent traffic, see the module docs).
    pub fn held(&self) -> GateHeld {
        GateHeld {
            persons: self.persons.len(),
            message_ids: self.seen.len(),
        }
    }
}

/// Sizes of the gate's own state ([`Gate::held`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateHeld {
    /// Persons with rule state.
    pub persons: usize,
    /// Message ids remembered for duplicate detection.
    pub message_ids: usize,
}

/// The ids an event is known by (user id, anonymous id).
fn ids(event: &Event) -> impl Iterator<Item = &str> {
    id_slots(event).into_iter().flatten()
}

/// The user id and the anonymous id, each if set.
fn id_slots(event: &Event) -> [Option<&str>; 2] {
    [event.user_id.as_deref(), event.anonymous_id.as_deref()]
}
