//! The event stream: tracker messages in arrival order, with realistic out-of-orderness.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp};

use super::config::{Disorder, SynthConfig};
use super::generator::{AbuseKind, Sessions, SyntheticSession};
use super::ordered::ByTime;
use super::rng::derived_rng;
use super::tracker::{session_skew, stamp, tracker_events};
use crate::decode::segment_json;
use crate::event::Event;
use crate::model::SessionId;

/// One tracker message as a collector receives it, with its ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticEvent {
    /// The message as the SDK sent it (personal data included, as real traffic has it).
    pub event: Event,
    /// The generated session it belongs to (ground truth; not on the wire).
    pub session: SessionId,
    /// When it reaches the consumer (event time plus delivery delay).
    pub arrival: DateTime<Utc>,
    /// The planted abuse of its session, `None` for a regular visitor.
    pub abuse: Option<AbuseKind>,
    /// Whether it was one of the very late events (see [`Disorder`]).
    pub very_late: bool,
    /// Whether it is the last of its session to arrive: a scorer can close the session.
    pub last_of_session: bool,
}

impl SyntheticEvent {
    /// Delivery delay in seconds.
    pub fn delay_seconds(&self) -> f64 {
        crate::model::seconds_between(self.event.time, self.arrival)
    }

    /// The Segment-spec JSON line a collector writes for it.
    pub fn to_json(&self) -> Vec<u8> {
        segment_json(&self.event)
    }
}

/// Iterator over [`SyntheticEvent`]s in arrival order.
///
/// Sessions come in start order and every event arrives after its session starts, so an
/// event can be released once no session still to come starts before its arrival. Memory is
/// bounded by the events in flight (open sessions and delayed events), not by stream length.
pub struct EventStream<'g> {
    sessions: Sessions<'g>,
    lookahead: Option<SyntheticSession>,
    /// Boxed: a heap moves its entries at every push and pop, and an event is ~1 KB.
    in_flight: BinaryHeap<Reverse<ByTime<Box<SyntheticEvent>>>>,
    /// Events still in flight per session.
    pending: HashMap<SessionId, usize>,
    rng: ChaCha8Rng,
    usual_delay: Option<Exp<f64>>,
    disorder: Disorder,
    seq: u64,
    peak_in_flight: usize,
    catalogue: crate::model::Catalogue,
    seed: u64,
}

impl<'g> EventStream<'g> {
    pub(crate) fn new(mut sessions: Sessions<'g>, config: &SynthConfig) -> Self {
        let disorder = config.disorder.clone();
        EventStream {
            lookahead: sessions.next(),
            sessions,
            in_flight: BinaryHeap::new(),
            pending: HashMap::new(),
            rng: derived_rng(config.seed, 0x4445_4c41, 0),
            usual_delay: (disorder.mean_delay_seconds > 0.0)
                .then(|| Exp::new(1.0 / disorder.mean_delay_seconds).expect("positive rate")),
            disorder,
            seq: 0,
            peak_in_flight: 0,
            catalogue: config.catalogue.clone(),
            seed: config.seed,
        }
    }

    /// Largest number of events held at once so far: stays flat as the stream grows.
    pub fn peak_in_flight(&self) -> usize {
        self.peak_in_flight
    }

    fn admit(&mut self, s: SyntheticSession) {
        let abuse = s.truth.abuse;
        let skew = session_skew(self.seed, s.session.user.id.as_str());
        let events = tracker_events(&s, &self.catalogue, self.seed);
        if !events.is_empty() {
            self.pending.insert(s.session.id.clone(), events.len());
        }
        for mut event in events {
            let very_late = self.rng.gen_bool(self.disorder.late_share);
            let delay = if very_late {
                self.rng
                    .gen_range(self.disorder.late_min_seconds..=self.disorder.late_max_seconds)
            } else {
                self.usual_delay.map_or(0.0, |d| d.sample(&mut self.rng))
            };
            let arrival = event.time + Duration::microseconds((delay * 1e6) as i64);
            stamp(&mut event, arrival, skew);
            self.seq += 1;
            self.in_flight.push(Reverse(ByTime {
                at: arrival,
                seq: self.seq,
                item: Box::new(SyntheticEvent {
                    event,
                    session: s.session.id.clone(),
                    arrival,
                    abuse,
                    very_late,
                    last_of_session: false,
                }),
            }));
        }
        self.peak_in_flight = self.peak_in_flight.max(self.in_flight.len());
    }
}

impl Iterator for EventStream<'_> {
    type Item = SyntheticEvent;

    fn next(&mut self) -> Option<SyntheticEvent> {
        loop {
            let release = match (self.in_flight.peek(), &self.lookahead) {
                (Some(Reverse(e)), Some(s)) => e.at < s.session.started_at,
                (Some(_), None) => true,
                (None, None) => return None,
                (None, Some(_)) => false,
            };
            if release {
                let mut e = *self.in_flight.pop().map(|Reverse(e)| e.item)?;
                if let Some(n) = self.pending.get_mut(&e.session) {
                    *n -= 1;
                    if *n == 0 {
                        self.pending.remove(&e.session);
                        e.last_of_session = true;
                    }
                }
                return Some(e);
            }
            let next = self.sessions.next();
            if let Some(s) = std::mem::replace(&mut self.lookahead, next) {
                self.admit(s);
            }
        }
    }
}
