//! One person's open events, in time order, and where their first visit ends — at
//! O(log n) per event whatever order they arrive in.
//!
//! A sorted `Vec` made an event that arrives before the person's open events (a reverse-time
//! flood, a mobile batch replayed backwards) shift every event after it: quadratic in the
//! flood. A B-tree keyed by [`Slot`] places any event in O(log n), and the first visit's end
//! is kept as a slot, moved by local checks only ([`Buffer::insert`]).

use std::collections::BTreeMap;
use std::ops::Bound::{Excluded, Unbounded};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::sessionize::SessionConfig;
use crate::event::Event;
use crate::hash::order_hash;

/// Where an event sits: its time, then a hash of its message id (an order that does not
/// depend on arrival, so a replay builds the same visits), then its arrival in the buffer
/// (the same message twice, or a hash collision).
type Slot = (DateTime<Utc>, u64, u64);

/// One person's open events, in [`Slot`] order.
#[derive(Default)]
pub(super) struct Buffer {
    /// Boxed: a B-tree leaf holds room for eleven values, and an event is large.
    events: BTreeMap<Slot, Box<Event>>,
    /// The last event of the first visit (meaningless when empty; `None` after a restore
    /// until the settings are known: recomputed, so a checkpoint cannot make it inconsistent).
    first_end: Option<Slot>,
    arrivals: u64,
    /// When the sessionizer's deadline for this person is set (at or before
    /// [`Buffer::closes`]).
    pub(super) scheduled: Option<DateTime<Utc>>,
}

/// Whether `b`, right after `a`, starts a new visit in one whose first event is at `start`:
/// more than a gap apart, two different client session ids, or past the longest visit.
fn splits(config: &SessionConfig, start: DateTime<Utc>, a: &Event, b: &Event) -> bool {
    let apart = b.time.signed_duration_since(a.time) > secs(config.gap_seconds);
    let other_client_session = matches!(
        (&a.session_id, &b.session_id),
        (Some(x), Some(y)) if x != y
    );
    apart || other_client_session || b.time.signed_duration_since(start) > secs(config.max_seconds)
}

pub(super) fn secs(s: i64) -> TimeDelta {
    TimeDelta::try_seconds(s).unwrap_or(TimeDelta::MAX)
}

impl Buffer {
    /// No open event.
    pub(super) fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Open events.
    pub(super) fn len(&self) -> usize {
        self.events.len()
    }

    /// The first open event's time.
    pub(super) fn start(&self) -> Option<DateTime<Utc>> {
        self.events.first_key_value().map(|(slot, _)| slot.0)
    }

    /// Places `event` and moves the first visit's end by what the event can change: a new
    /// first event may only cut the visit shorter (the longest visit counts from it), one
    /// inside the visit may only split it at its own client session id (gaps only shrink),
    /// one right after it may extend it.
    pub(super) fn insert(&mut self, config: &SessionConfig, event: Box<Event>) {
        let first_end = self.first_end(config);
        let slot = self.slot_of(&event);
        if let Some((&last_slot, last)) = self.events.last_key_value()
            && slot > last_slot
        {
            // After every open event (events mostly arrive in time order): it extends the
            // first visit only if that visit ends at the last event and it does not split
            // from it — what the general case below finds with four searches.
            let extends = last_slot == first_end
                && self
                    .events
                    .first_key_value()
                    .is_some_and(|(_, first)| !splits(config, first.time, last, &event));
            self.events.insert(slot, event);
            self.first_end = Some(if extends { slot } else { first_end });
            return;
        }
        self.events.insert(slot, event);
        if self.events.len() == 1 {
            self.first_end = Some(slot);
            return;
        }
        let Some(new) = self.events.get(&slot) else {
            return;
        };
        let before = self.events.range(..slot).next_back();
        let after = self.events.range((Excluded(slot), Unbounded)).next();
        let first_end = match (before, after) {
            (None, Some((_, next))) => {
                if splits(config, new.time, new, next) {
                    slot
                } else {
                    // The old first visit, cut at the longest visit from the new start.
                    let limit = new
                        .time
                        .checked_add_signed(secs(config.max_seconds))
                        .unwrap_or(DateTime::<Utc>::MAX_UTC);
                    let last_in_time = self
                        .events
                        .range(..=(limit, u64::MAX, u64::MAX))
                        .next_back()
                        .map_or(slot, |(s, _)| *s);
                    last_in_time.min(first_end)
                }
            }
            (Some((&prev_slot, prev)), Some(_)) if slot < first_end => {
                let start = self
                    .events
                    .first_key_value()
                    .map_or(new.time, |(_, e)| e.time);
                let next = after.map(|(_, e)| e).unwrap_or(new);
                if splits(config, start, prev, new) {
                    prev_slot
                } else if splits(config, start, new, next) {
                    slot
                } else {
                    first_end
                }
            }
            (Some((&prev_slot, _)), _) if prev_slot == first_end => {
                self.first_visit_end(config, first_end)
            }
            _ => first_end,
        };
        self.first_end = Some(first_end);
    }

    /// The first visit's end, recomputed if unknown.
    fn first_end(&mut self, config: &SessionConfig) -> Slot {
        match (self.first_end, self.events.first_key_value()) {
            (Some(end), _) => end,
            (None, Some((&first, _))) => {
                let end = self.first_visit_end(config, first);
                self.first_end = Some(end);
                end
            }
            (None, None) => (DateTime::<Utc>::MIN_UTC, 0, 0),
        }
    }

    /// The slot of the last event of the first visit, given that it ends at `from` or later.
    fn first_visit_end(&self, config: &SessionConfig, from: Slot) -> Slot {
        let (Some((_, first)), Some(mut last)) =
            (self.events.first_key_value(), self.events.get(&from))
        else {
            return from;
        };
        let mut end = from;
        for (&slot, event) in self.events.range((Excluded(from), Unbounded)) {
            if splits(config, first.time, last, event) {
                break;
            }
            (end, last) = (slot, event);
        }
        end
    }

    /// When the first visit closes: its last event + gap + allowed lateness.
    pub(super) fn closes(&mut self, config: &SessionConfig) -> DateTime<Utc> {
        // One addition: gap and lateness are durations of at least zero, so their sum leaves
        // the time's range exactly when adding them one after the other would.
        let by = config
            .gap_seconds
            .saturating_add(config.allowed_lateness_seconds);
        self.first_end(config)
            .0
            .checked_add_signed(secs(by))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Takes the first visit's events, in order.
    #[allow(
        clippy::vec_box,
        reason = "events stay in the boxes they came in, not copied out"
    )]
    pub(super) fn take_first_visit(&mut self, config: &SessionConfig) -> Vec<Box<Event>> {
        let end = self.first_end(config);
        let rest = match self.events.range((Excluded(end), Unbounded)).next() {
            Some((&next, _)) => self.events.split_off(&next),
            None => BTreeMap::new(),
        };
        let visit = std::mem::replace(&mut self.events, rest);
        self.first_end = None;
        visit.into_values().collect()
    }

    /// Takes in another buffer's events (two persons became one).
    pub(super) fn absorb(&mut self, other: Buffer) {
        for event in other.events.into_values() {
            self.place(event);
        }
        self.first_end = None;
    }

    fn place(&mut self, event: Box<Event>) {
        let slot = self.slot_of(&event);
        self.events.insert(slot, event);
    }

    /// The slot of an arriving event (counted as arrived).
    fn slot_of(&mut self, event: &Event) -> Slot {
        let slot = (
            event.time,
            order_hash(event.message_id.as_bytes()),
            self.arrivals,
        );
        self.arrivals += 1;
        slot
    }

    /// The events in order (tests compare with a rescan).
    #[cfg(test)]
    fn events(&self) -> impl Iterator<Item = &Event> {
        self.events.values().map(|e| &**e)
    }
}

/// A buffer as a checkpoint stores it: its events in order and its deadline.
#[derive(Serialize, Deserialize)]
struct Stored<E> {
    events: E,
    scheduled: Option<DateTime<Utc>>,
}

/// The events of a buffer, serialised as a sequence without collecting them.
struct InOrder<'a>(&'a BTreeMap<Slot, Box<Event>>);

impl Serialize for InOrder<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.values())
    }
}

impl Serialize for Buffer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Stored {
            events: InOrder(&self.events),
            scheduled: self.scheduled,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Buffer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Buffer, D::Error> {
        let stored = Stored::<Vec<Box<Event>>>::deserialize(deserializer)?;
        let mut buffer = Buffer {
            scheduled: stored.scheduled,
            ..Buffer::default()
        };
        for event in stored.events {
            buffer.place(event);
        }
        Ok(buffer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::event;
    use rand::{Rng, SeedableRng};

    /// How many events the first visit holds, by a plain scan of the ordered events.
    fn first_visit_len(config: &SessionConfig, events: &[&Event]) -> usize {
        let Some(first) = events.first() else {
            return 0;
        };
        1 + events
            .windows(2)
            .take_while(|w| !splits(config, first.time, w[0], w[1]))
            .count()
    }

    fn kept_len(buffer: &mut Buffer, config: &SessionConfig) -> usize {
        let end = buffer.first_end(config);
        buffer.events.range(..=end).count()
    }

    #[test]
    fn the_first_visit_kept_as_events_arrive_equals_a_rescan() {
        let config = SessionConfig {
            gap_seconds: 60,
            max_seconds: 600,
            ..SessionConfig::default()
        };
        for seed in 0..40u64 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut buffer = Buffer::default();
            for i in 0..160i64 {
                // In order, backwards, or anywhere; shared seconds; gaps that split; client
                // sessions; the same message twice; now and then the first visit taken.
                let at = match rng.gen_range(0..10) {
                    0..=4 => i * 20,
                    5 | 6 => 3_000 - i * 15,
                    7 => rng.gen_range(0..200) * 15,
                    _ => rng.gen_range(0..3_000),
                };
                let t = DateTime::from_timestamp(1_767_225_600 + at, 0).unwrap();
                let session = match rng.gen_range(0..10) {
                    0 => r#","context":{"sessionId":"s1"}"#,
                    1 => r#","context":{"sessionId":"s2"}"#,
                    _ => "",
                };
                let id = if rng.gen_bool(0.05) { 0 } else { i };
                buffer.insert(
                    &config,
                    Box::new(event(&format!(
                        r#"{{"type":"page","messageId":"m{id}","anonymousId":"a","timestamp":"{}"{session}}}"#,
                        t.to_rfc3339()
                    ))),
                );
                let ordered: Vec<&Event> = buffer.events().collect();
                let expected = first_visit_len(&config, &ordered);
                let firsts: Vec<String> = ordered[..expected]
                    .iter()
                    .map(|e| e.message_id.to_string())
                    .collect();
                assert_eq!(
                    kept_len(&mut buffer, &config),
                    expected,
                    "seed {seed}, event {i}"
                );
                if rng.gen_bool(0.05) {
                    let taken = buffer.take_first_visit(&config);
                    let taken: Vec<String> =
                        taken.into_iter().map(|e| e.message_id.into()).collect();
                    assert_eq!(taken, firsts, "seed {seed}, event {i}");
                }
            }
        }
    }

    #[test]
    fn a_checkpoint_restores_the_same_buffer() {
        let config = SessionConfig::default();
        let mut buffer = Buffer::default();
        for (i, at) in ["10:00", "09:00", "10:10", "09:05", "12:00"]
            .iter()
            .enumerate()
        {
            buffer.insert(
                &config,
                Box::new(event(&format!(
                    r#"{{"type":"page","messageId":"m{i}","anonymousId":"a","timestamp":"2026-01-01T{at}:00Z"}}"#
                ))),
            );
        }
        buffer.scheduled = Some(DateTime::from_timestamp(1_767_225_600, 0).unwrap());
        let json = serde_json::to_value(&buffer).unwrap();
        let mut restored: Buffer = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&restored).unwrap(), json);
        assert_eq!(restored.closes(&config), buffer.closes(&config));
        let ids = |b: &mut Buffer| -> Vec<String> {
            b.take_first_visit(&config)
                .into_iter()
                .map(|e| e.message_id.into())
                .collect()
        };
        let first = ids(&mut restored);
        assert_eq!(first, ["m1", "m3"]);
        assert_eq!(first, ids(&mut buffer));
        assert_eq!(ids(&mut restored), ["m0", "m2"]);
    }
}
