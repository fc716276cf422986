//! The generator and its session iterator.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, Zipf};
use serde::{Deserialize, Serialize};

use super::behaviour::{abusive_session, regular_session};
use super::calendar::{Calendar, SortedUniforms};
use super::config::SynthConfig;
use super::ordered::ByTime;
use super::people::UserTraits;
use super::rng::{derived_rng, mix64};
use super::stream::EventStream;
use crate::Result;
use crate::model::{Sentiment, Session};
use crate::record::SessionRecord;

/// The planted kinds of abusive traffic; each is a ground-truth label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbuseKind {
    /// A crawler or script announcing itself in its user agent; many fast pages.
    Bot,
    /// A scraper with a browser user agent but sub-second dwell on every page.
    SubSecondDwell,
    /// One of 20–50 sessions from a single IP address within a minute.
    IpBurst,
    /// A first-time visitor reporting neither device nor referrer (the original rule's case).
    UnknownDeviceReferrer,
    /// Figures no human produces: hundreds of clicks on a page, or a page open for hours.
    ImpossibleSession,
}

impl AbuseKind {
    /// Every kind.
    pub const ALL: [AbuseKind; 5] = [
        AbuseKind::Bot,
        AbuseKind::SubSecondDwell,
        AbuseKind::IpBurst,
        AbuseKind::UnknownDeviceReferrer,
        AbuseKind::ImpossibleSession,
    ];
}

/// What the generator knows about a session that a consumer does not see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionTruth {
    /// P(purchase | the session's behaviour) under the config's purchase model: rank by this
    /// for the Bayes-optimal classifier. 0 for abusive sessions and empty carts.
    pub purchase_probability: f64,
    /// The planted abuse, `None` for a regular visitor.
    pub abuse: Option<AbuseKind>,
    /// Whether the user had an earlier session.
    pub returning: bool,
    /// The latent purchase intent on the log-odds scale (regular visitors only).
    pub intent: Option<f64>,
    /// True sentiment of each review, parallel to `session.reviews`.
    pub review_sentiments: Vec<Sentiment>,
}

/// A generated session with its ground truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticSession {
    /// What a consumer sees.
    pub session: Session,
    /// What only the generator knows.
    pub truth: SessionTruth,
}

/// A seeded, streaming generator of shop traffic. See the [module docs](super) for the
/// behaviour model.
#[derive(Debug, Clone)]
pub struct Generator {
    config: SynthConfig,
    calendar: Calendar,
    /// Per-product quality on the log-odds scale: drives review sentiment.
    quality: Vec<f64>,
}

impl Generator {
    /// Validates the config and prepares the calendar.
    pub fn new(config: SynthConfig) -> Result<Generator> {
        config.validate()?;
        let calendar = Calendar::new(config.start, config.days);
        let mut rng = derived_rng(config.seed, 0x5155_414c, 0);
        let quality = config
            .catalogue
            .products()
            .iter()
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                0.3 + 0.6 * z
            })
            .collect();
        Ok(Generator {
            config,
            calendar,
            quality,
        })
    }

    /// The validated configuration.
    pub fn config(&self) -> &SynthConfig {
        &self.config
    }

    /// Exactly `config.sessions` sessions in start-time order.
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions::new(self)
    }

    /// Every tracker message of every session, in arrival order: event-time order disturbed
    /// by the config's [`Disorder`](super::Disorder).
    pub fn events(&self) -> EventStream<'_> {
        EventStream::new(self.sessions(), &self.config)
    }

    /// Writes the sessions as JSON lines in the original record shape; returns the count.
    pub fn write_session_records(&self, mut out: impl Write) -> Result<u64> {
        let mut n = 0;
        for s in self.sessions() {
            let record = SessionRecord::from_session(&s.session, &self.config.catalogue)?;
            serde_json::to_writer(&mut out, &record)?;
            out.write_all(b"\n")?;
            n += 1;
        }
        Ok(n)
    }

    /// Writes the message stream as Segment-spec JSON lines; returns the count.
    pub fn write_events(&self, mut out: impl Write) -> Result<u64> {
        let mut n = 0;
        for e in self.events() {
            out.write_all(&e.to_json())?;
            out.write_all(b"\n")?;
            n += 1;
        }
        Ok(n)
    }
}

/// Mean size of an IP burst (sizes are uniform on 20..=50).
const MEAN_BURST: f64 = 35.0;

/// Iterator over generated sessions, in start-time order. Memory is one bit per user plus
/// the sessions of at most one pending IP burst.
pub struct Sessions<'g> {
    generator: &'g Generator,
    rng: ChaCha8Rng,
    slots: SortedUniforms,
    hour_hint: usize,
    next_slot: Option<DateTime<Utc>>,
    /// Burst sessions waiting for their start time.
    pending: BinaryHeap<Reverse<ByTime<SyntheticSession>>>,
    pending_seq: u64,
    seen: Vec<u64>,
    popularity: Zipf<f64>,
    user_stride: u64,
    burst_probability: f64,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl<'g> Sessions<'g> {
    fn new(generator: &'g Generator) -> Self {
        let c = &generator.config;
        let users = u64::from(c.users);
        // Ranks map to users through a stride coprime with the population (a bijection), so
        // the most active users are spread over the id space.
        let mut user_stride = mix64(c.seed) % users;
        while gcd(user_stride, users) != 1 {
            user_stride = (user_stride + 1) % users;
        }
        // A burst of ~35 sessions is triggered with probability π per slot so that bursts make
        // up a quarter of the abuse share f of all sessions: π·K / (1 + π(K−1)) = f.
        let f = c.abuse_share / 4.0;
        let burst_probability = f / (MEAN_BURST - f * (MEAN_BURST - 1.0));
        let mut it = Sessions {
            generator,
            rng: derived_rng(c.seed, 0x5345_5353, 0),
            slots: SortedUniforms::new(c.sessions),
            hour_hint: 0,
            next_slot: None,
            pending: BinaryHeap::new(),
            pending_seq: 0,
            seen: vec![0; users.div_ceil(64) as usize],
            popularity: Zipf::new(users, 0.6).expect("users >= 1 and s > 0"),
            user_stride,
            burst_probability,
        };
        it.advance_slot();
        it
    }

    fn advance_slot(&mut self) {
        self.next_slot = self
            .slots
            .next(&mut self.rng)
            .map(|u| self.generator.calendar.instant(u, &mut self.hour_hint));
    }

    /// Marks user `index` as seen; returns whether it had been seen before.
    fn test_and_set(&mut self, index: u64) -> bool {
        let (word, bit) = ((index / 64) as usize, 1u64 << (index % 64));
        let seen = self.seen[word] & bit != 0;
        self.seen[word] |= bit;
        seen
    }

    fn pick_user(&mut self) -> u64 {
        let users = u64::from(self.generator.config.users);
        if self.rng.gen_bool(0.6) {
            self.rng.gen_range(0..users)
        } else {
            let rank = self.popularity.sample(&mut self.rng) as u64 - 1;
            (rank % users * self.user_stride) % users
        }
    }

    /// Generates the session(s) of the slot at `start`; bursts go to `pending`.
    fn generate(&mut self, start: DateTime<Utc>) -> Option<SyntheticSession> {
        let c = &self.generator.config;
        let roll: f64 = self.rng.r#gen();
        let other = c.abuse_share * 3.0 / 4.0;
        if roll < c.bot_share {
            return Some(abusive_session(
                &mut self.rng,
                c,
                AbuseKind::Bot,
                start,
                None,
            ));
        }
        if roll < c.bot_share + other {
            let kinds = [
                AbuseKind::SubSecondDwell,
                AbuseKind::UnknownDeviceReferrer,
                AbuseKind::ImpossibleSession,
            ];
            let kind = kinds[((roll - c.bot_share) / other * 3.0) as usize % 3];
            return Some(abusive_session(&mut self.rng, c, kind, start, None));
        }
        if roll < c.bot_share + other + self.burst_probability {
            let size = self.rng.gen_range(20..=50u32);
            let ip = super::people::random_public_ip(&mut self.rng);
            for i in 0..size {
                // The anchor used this slot; each further session uses up one more slot so
                // the total stays exact.
                if i > 0 {
                    if self.next_slot.is_none() {
                        break;
                    }
                    self.advance_slot();
                }
                let offset = Duration::milliseconds(self.rng.gen_range(0..60_000));
                let s = abusive_session(
                    &mut self.rng,
                    c,
                    AbuseKind::IpBurst,
                    start + offset,
                    Some(ip),
                );
                self.pending_seq += 1;
                self.pending.push(Reverse(ByTime {
                    at: s.session.started_at,
                    seq: self.pending_seq,
                    item: s,
                }));
            }
            return None;
        }
        let index = self.pick_user();
        let returning = self.test_and_set(index);
        let traits = UserTraits::of_user(c.seed, index as u32, c.catalogue.co_viewed().len());
        Some(regular_session(
            &mut self.rng,
            c,
            &self.generator.quality,
            traits,
            start,
            returning,
        ))
    }
}

impl Iterator for Sessions<'_> {
    type Item = SyntheticSession;

    fn next(&mut self) -> Option<SyntheticSession> {
        loop {
            let due = match (self.pending.peek(), self.next_slot) {
                (Some(Reverse(p)), Some(slot)) => p.at <= slot,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if due {
                return self.pending.pop().map(|Reverse(p)| p.item);
            }
            let start = self.next_slot?;
            self.advance_slot();
            if let Some(s) = self.generate(start) {
                return Some(s);
            }
        }
    }
}
