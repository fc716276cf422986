//! Server-side sessions: events → [`Visit`]s per stitched person, closed on the watermark.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::buffer::{Buffer, secs};
use super::identity::{Identity, NOBODY, PersonId};
use super::visit::Visit;
use crate::enrich::{Acquisition, Agent, AgentParser};
use crate::event::{Campaign, Event};
use crate::hash::FastMap;
use crate::watermark::Frontier;
use crate::{CoreError, Result};

/// Sessionisation settings (seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionConfig {
    /// Inactivity that ends a visit (Google Analytics, Matomo, PostHog: 30 minutes).
    pub gap_seconds: i64,
    /// Longest visit (PostHog: 24 hours); a longer one is cut.
    pub max_seconds: i64,
    /// How far the watermark trails the newest event time.
    pub out_of_orderness_seconds: i64,
    /// How far behind the watermark an event may still be placed.
    pub allowed_lateness_seconds: i64,
    /// The site's own hosts: referrals from them are not a source.
    pub internal_hosts: Vec<String>,
    /// Outlying clocks the watermark ignores: it trails the (n+1)-th newest event time
    /// ([`Frontier`](crate::watermark::Frontier)).
    pub watermark_outliers: usize,
    /// Most open events one person may hold (a kiosk showing a page a second for a day
    /// holds 86,400). Past it — a flood — the person's first visit closes at once, so memory
    /// stays bounded; later events start new visits.
    pub max_open_events: usize,
    /// Silence after which a person's ids are forgotten (30 days): identity stitching spans
    /// that long, and the graph holds the ids of that period only. A person with a visit
    /// open is never forgotten; one who comes back later starts afresh.
    pub identity_retention_seconds: i64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            gap_seconds: 1800,
            max_seconds: 24 * 3600,
            out_of_orderness_seconds: 120,
            allowed_lateness_seconds: 1800,
            internal_hosts: Vec::new(),
            watermark_outliers: 16,
            max_open_events: 100_000,
            identity_retention_seconds: 30 * 86_400,
        }
    }
}

impl SessionConfig {
    /// Checks the durations.
    pub fn validate(&self) -> Result<()> {
        const YEAR: i64 = 366 * 86_400;
        if self.gap_seconds <= 0
            || !(self.gap_seconds..=10 * YEAR).contains(&self.identity_retention_seconds)
            || self.max_seconds < self.gap_seconds
            || self.max_seconds > YEAR
            || !(0..=YEAR).contains(&self.out_of_orderness_seconds)
            || !(0..=YEAR).contains(&self.allowed_lateness_seconds)
            || self.max_open_events == 0
        {
            return Err(CoreError::parameter(
                "sessions",
                "the gap must be positive, the longest visit at least one gap and at most a year, lateness and out-of-orderness between 0 and a year, identity retention between one gap and ten years, and a person must be allowed an open event",
            ));
        }
        Ok(())
    }
}

/// Builds visits from events in arrival order (any order within the allowed lateness).
///
/// Per person (after [`Identity`] stitching) events are kept in time order; a visit ends
/// where two consecutive events are more than `gap_seconds` apart, where both carry a client
/// session id and the ids differ, or where it would pass `max_seconds`. A visit closes once
/// the watermark (the newest event time, ignoring `watermark_outliers` outliers, −
/// out-of-orderness) passes its last event + gap + allowed lateness: no event that could
/// still be accepted can extend it. An event older
/// than watermark − allowed lateness is *late* and handed back.
///
/// ```
/// use websight_core::analytics::{SessionConfig, Sessionizer};
/// use websight_core::decode::{decode_segment, DecodeContext};
///
/// let lines = [
///   r#"{"type":"page","anonymousId":"a1","timestamp":"2026-01-01T10:00:00Z"}"#,
///   r#"{"type":"identify","anonymousId":"a1","userId":"u1","timestamp":"2026-01-01T10:05:00Z"}"#,
///   r#"{"type":"track","event":"Order Completed","userId":"u1","timestamp":"2026-01-01T10:06:00Z"}"#,
///   r#"{"type":"page","userId":"u1","timestamp":"2026-01-01T15:00:00Z"}"#,
/// ];
/// let mut s = Sessionizer::new(SessionConfig::default())?;
/// for line in lines {
///     let event = decode_segment(line.as_bytes(), &DecodeContext::default()).remove(0).unwrap();
///     s.ingest(event).unwrap();
/// }
/// s.flush();
/// let visits = s.drain();
/// assert_eq!(visits.len(), 2);
/// assert_eq!(visits[0].events.len(), 3, "the login joins one visit");
/// assert_eq!(visits[0].person, visits[1].person, "and one person");
/// # Ok::<(), websight_core::CoreError>(())
/// ```
#[derive(Serialize, Deserialize)]
pub struct Sessionizer {
    config: SessionConfig,
    identity: Identity,
    /// Rebuilt, not stored: the parsed rules are shared by every instance.
    #[serde(skip)]
    agents: AgentParser,
    frontier: Frontier,
    /// Open events per person (a root of the identity graph).
    buffers: FastMap<PersonId, Buffer>,
    /// When persons' first visits may close. Lazy: a person has one entry at their
    /// buffer's `scheduled` time (at or before the real closing time); other entries are
    /// stale and passed over.
    deadlines: BinaryHeap<Reverse<(DateTime<Utc>, PersonId)>>,
    closed: Vec<Visit>,
    buffered: u64,
    /// Events since silent persons were last forgotten.
    #[serde(default)]
    since_sweep: u64,
    /// The person of the event last placed (none after a late one, or before any).
    #[serde(skip)]
    last: Option<PersonId>,
}

/// Fewest events between sweeps of the identity graph for persons silent past the
/// retention.
const SWEEP_INTERVAL: u64 = 50_000;

/// Files a deadline for `person` when its first visit now closes earlier than the one filed:
/// a later closing time is found when the filed entry comes due.
fn schedule(
    config: &SessionConfig,
    deadlines: &mut BinaryHeap<Reverse<(DateTime<Utc>, PersonId)>>,
    person: PersonId,
    buffer: &mut Buffer,
) {
    let closes = buffer.closes(config);
    if buffer.scheduled.is_none_or(|s| closes < s) {
        buffer.scheduled = Some(closes);
        deadlines.push(Reverse((closes, person)));
    }
}

impl Sessionizer {
    /// A sessionizer with `config`.
    pub fn new(config: SessionConfig) -> Result<Sessionizer> {
        config.validate()?;
        Ok(Sessionizer {
            frontier: Frontier::new(config.watermark_outliers + 1),
            config,
            identity: Identity::new(),
            agents: AgentParser::new(),
            buffers: FastMap::default(),
            deadlines: BinaryHeap::new(),
            closed: Vec::new(),
            buffered: 0,
            since_sweep: 0,
            last: None,
        })
    }

    /// The settings.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The identity graph so far.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The person of the event last [ingested](Sessionizer::ingest) as identity names them
    /// now; `None` when it carried no id or was too late to place.
    pub fn last_person(&self) -> Option<&str> {
        self.last
            .filter(|&p| p != NOBODY)
            .map(|p| self.identity.person_name(p))
    }

    /// The user-agent parser (shared with whoever needs one).
    pub fn agents(&self) -> &AgentParser {
        &self.agents
    }

    /// Events in visits still open.
    pub fn buffered(&self) -> u64 {
        self.buffered
    }

    /// The event-time frontier (the newest time but for outliers) − out-of-orderness.
    pub fn watermark(&self) -> Option<DateTime<Utc>> {
        self.frontier
            .value()
            .and_then(|t| t.checked_sub_signed(secs(self.config.out_of_orderness_seconds)))
    }

    /// The oldest event time still accepted.
    fn horizon(&self) -> Option<DateTime<Utc>> {
        // The watermark − allowed lateness in one subtraction: both are durations of at
        // least zero, so the sum leaves the time's range exactly when two steps would.
        let c = &self.config;
        let by = c
            .out_of_orderness_seconds
            .saturating_add(c.allowed_lateness_seconds);
        self.frontier
            .value()
            .and_then(|t| t.checked_sub_signed(secs(by)))
    }

    /// Takes one event (an `Event` or a `Box<Event>`: boxed, it moves by pointer from the gate
    /// to its visit's buffer); hands it back when it is too late to place.
    pub fn ingest(&mut self, event: impl Into<Box<Event>>) -> std::result::Result<(), Box<Event>> {
        let event = event.into();
        self.last = None;
        if self.horizon().is_some_and(|h| event.time < h) {
            return Err(event);
        }
        self.frontier.observe(event.time);
        let (person, merged) = self.identity.observe(&event);
        self.last = Some(person);
        if !merged.is_empty() {
            self.join_buffers(person, merged);
        }
        self.buffered += 1;
        let buffer = self.buffers.entry(person).or_default();
        buffer.insert(&self.config, event);
        if buffer.len() <= self.config.max_open_events {
            schedule(&self.config, &mut self.deadlines, person, buffer);
        } else {
            self.close_first(person);
            if let Some(buffer) = self.buffers.get_mut(&person) {
                schedule(&self.config, &mut self.deadlines, person, buffer);
            }
        }
        self.close_due();
        self.since_sweep += 1;
        // A sweep visits every id: run after at least half as many events as ids held, so
        // it costs at most two steps per event however many ids the retention holds.
        if self.since_sweep >= SWEEP_INTERVAL.max(self.identity.len() as u64 / 2) {
            self.forget_silent();
        }
        Ok(())
    }

    /// Forgets the ids of persons silent for the retention period (none with open events)
    /// and renumbers the open buffers and deadlines after the graph.
    fn forget_silent(&mut self) {
        self.since_sweep = 0;
        let Some(now) = self.watermark() else {
            return;
        };
        let buffers = &self.buffers;
        let retention = self.config.identity_retention_seconds;
        let Some(remap) = self
            .identity
            .forget(now.timestamp(), retention, |p| buffers.contains_key(&p))
        else {
            return;
        };
        // `NOBODY` (events without ids) is past the end of the table and stays itself.
        let moved = |p: PersonId| remap.get(p as usize).copied().unwrap_or(p);
        self.last = self.last.map(moved);
        self.buffers = std::mem::take(&mut self.buffers)
            .into_iter()
            .map(|(p, b)| (moved(p), b))
            .collect();
        // Entries of forgotten persons are stale (they had no buffer): dropped.
        self.deadlines = std::mem::take(&mut self.deadlines)
            .into_iter()
            .filter_map(|Reverse((t, p))| {
                let now = moved(p);
                (now != NOBODY || p == NOBODY).then_some(Reverse((t, now)))
            })
            .collect();
    }

    /// Persons merged into `person`: their buffers become one, the smaller ones placed into
    /// the largest (ids chosen so each merge moves the big buffer would cost O(n) per event).
    fn join_buffers(&mut self, person: PersonId, merged: Vec<PersonId>) {
        let mut parts: Vec<Buffer> = std::iter::once(person)
            .chain(merged)
            .filter_map(|p| self.buffers.remove(&p))
            .collect();
        let Some(largest) = (0..parts.len()).max_by_key(|&i| parts[i].len()) else {
            return;
        };
        let mut buffer = parts.swap_remove(largest);
        for part in parts {
            buffer.absorb(part);
        }
        // Its deadline entry may be filed under a merged person: file a new one.
        buffer.scheduled = None;
        self.buffers.insert(person, buffer);
    }

    fn close_due(&mut self) {
        let Some(wm) = self.watermark() else { return };
        while let Some(&Reverse((deadline, person))) = self.deadlines.peek() {
            if deadline >= wm {
                break;
            }
            self.deadlines.pop();
            let current = self
                .buffers
                .get(&person)
                .is_some_and(|b| b.scheduled == Some(deadline));
            if current {
                self.close_person(person, Some(wm));
            }
        }
    }

    /// Emits the person's visits that can no longer change (all with `wm` = None).
    fn close_person(&mut self, person: PersonId, wm: Option<DateTime<Utc>>) {
        loop {
            let Some(buffer) = self.buffers.get_mut(&person) else {
                return;
            };
            if buffer.is_empty() {
                // Only a restored checkpoint can hold one.
                self.buffers.remove(&person);
                return;
            }
            let closes = buffer.closes(&self.config);
            if wm.is_some_and(|wm| closes >= wm) {
                buffer.scheduled = Some(closes);
                self.deadlines.push(Reverse((closes, person)));
                return;
            }
            self.close_first(person);
        }
    }

    /// Closes the person's first visit now, whatever the watermark.
    fn close_first(&mut self, person: PersonId) {
        let Some(buffer) = self.buffers.get_mut(&person) else {
            return;
        };
        let visit = buffer.take_first_visit(&self.config);
        if buffer.is_empty() {
            self.buffers.remove(&person);
        }
        self.buffered = self.buffered.saturating_sub(visit.len() as u64);
        if !visit.is_empty() {
            let visit = self.visit(person, visit);
            self.closed.push(visit);
        }
    }

    #[allow(
        clippy::vec_box,
        reason = "a visit's events stay boxed (`Visit::events`)"
    )]
    fn visit(&self, person: PersonId, events: Vec<Box<Event>>) -> Visit {
        let landing = events
            .iter()
            .find(|e| e.page.url.is_some() || e.page.referrer.is_some());
        let acquisition = match landing {
            Some(e) => Acquisition::of_landing(&e.page, &e.campaign, &self.config.internal_hosts),
            None => match events.iter().find(|e| !e.campaign.is_empty()) {
                Some(e) => Acquisition::of_landing(
                    &Default::default(),
                    &e.campaign,
                    &self.config.internal_hosts,
                ),
                None => Acquisition::of_landing(
                    &Default::default(),
                    &Campaign::default(),
                    &self.config.internal_hosts,
                ),
            },
        };
        let agent = self
            .agents
            .parse(events.iter().find_map(|e| e.user_agent.as_deref()));
        Visit {
            id: crate::event::format_compact!(
                "v{:016x}",
                crate::hash::hash64(events[0].message_id.as_bytes())
            ),
            person: self.identity.person_name(person).into(),
            acquisition,
            agent: Agent::clone(&agent),
            events,
        }
    }

    /// Moves the watermark forward by `by` without an event (a quiet site: wall-clock time
    /// passed), closing the visits that can no longer grow. Nothing is flushed: an event
    /// arriving later is judged against the advanced watermark.
    pub fn advance(&mut self, by: TimeDelta) {
        self.frontier.advance(by);
        self.close_due();
    }

    /// End of input: closes every visit.
    pub fn flush(&mut self) {
        let mut persons: Vec<PersonId> = self.buffers.keys().copied().collect();
        persons.sort_by(|a, b| {
            self.identity
                .person_name(*a)
                .cmp(self.identity.person_name(*b))
        });
        for person in persons {
            self.close_person(person, None);
        }
        self.deadlines.clear();
    }

    /// The first event time of the oldest visit still open.
    pub fn oldest_open(&self) -> Option<DateTime<Utc>> {
        self.buffers.values().filter_map(Buffer::start).min()
    }

    /// Takes the visits closed so far, in closing order.
    pub fn drain(&mut self) -> Vec<Visit> {
        std::mem::take(&mut self.closed)
    }

    /// Visits closed and not yet drained.
    pub fn closed(&self) -> &[Visit] {
        &self.closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::event;

    fn page(id: &str, anon: &str, user: Option<&str>, at: &str, extra: &str) -> Event {
        let user = user.map_or(String::new(), |u| format!(r#","userId":"{u}""#));
        event(&format!(
            r#"{{"type":"page","messageId":"{id}","anonymousId":"{anon}"{user},"timestamp":"{at}"{extra}}}"#
        ))
    }

    #[test]
    fn a_backwards_flood_builds_the_visits_the_same_events_in_order_do() {
        // One id, 20,000 events 50 ms apart arriving newest first (each before all the
        // others open): a sorted array shifted all of them every time.
        let events: Vec<Event> = (0..20_000i64)
            .map(|i| {
                let t = DateTime::from_timestamp_millis(1_767_225_600_000 + i * 50).unwrap();
                page(&format!("m{i}"), "a", None, &t.to_rfc3339(), "")
            })
            .collect();
        let visits = |events: &mut dyn Iterator<Item = Event>| {
            let mut s = Sessionizer::new(SessionConfig::default()).unwrap();
            for e in events {
                s.ingest(e).unwrap();
            }
            s.flush();
            s.drain()
        };
        let backwards = visits(&mut events.clone().into_iter().rev());
        assert_eq!(backwards.len(), 1);
        assert_eq!(backwards, visits(&mut events.into_iter()));
    }

    #[test]
    fn merges_keep_the_largest_buffer_and_its_visit_still_closes_on_time() {
        let mut s = Sessionizer::new(strict()).unwrap();
        let at = |ms: i64| {
            DateTime::from_timestamp_millis(1_767_225_600_000 + ms)
                .unwrap()
                .to_rfc3339()
        };
        for i in 0..3_000 {
            s.ingest(page(&format!("p{i}"), "z", None, &at(i * 100), ""))
                .unwrap();
        }
        // Each login, stamped a millisecond before every event so far (a replayed queue),
        // names a user id below every id so far ("ab" < "z", "aab" < "ab", …) seen as
        // early as the anonymous id: the person's name moves each time, its events need not.
        for k in 1..=250 {
            let user = format!("{}b", "a".repeat(k));
            let t = at(-(k as i64));
            s.ingest(page(&format!("i{k}"), "z", Some(&user), &t, ""))
                .unwrap();
        }
        assert_eq!(s.closed().len(), 0);
        s.ingest(page("later", "other", None, "2026-01-01T03:00:00Z", ""))
            .unwrap();
        let visits = s.drain();
        assert_eq!(visits.len(), 1, "closed by the watermark, not by a flush");
        assert_eq!(visits[0].events.len(), 3_250);
        assert_eq!(visits[0].person, format!("{}b", "a".repeat(250)));
    }

    #[test]
    fn a_checkpoint_with_an_empty_buffer_restores_without_harm() {
        let mut s = Sessionizer::new(strict()).unwrap();
        s.ingest(page("1", "a", None, "2026-01-01T10:00:00Z", ""))
            .unwrap();
        let mut json = serde_json::to_value(&s).unwrap();
        for buffer in json["buffers"].as_object_mut().unwrap().values_mut() {
            buffer["events"] = serde_json::json!([]);
        }
        let mut restored: Sessionizer = serde_json::from_value(json).unwrap();
        restored
            .ingest(page("2", "b", None, "2026-01-01T12:00:00Z", ""))
            .unwrap();
        restored.flush();
        assert_eq!(restored.drain().len(), 1);
    }

    #[test]
    fn a_flood_past_the_open_event_limit_closes_visits_early_and_loses_nothing() {
        let mut s = Sessionizer::new(SessionConfig {
            max_open_events: 1_000,
            ..strict()
        })
        .unwrap();
        // 5,000 events of one id within ten minutes, scrambled; the limit holds 1,000.
        let mut most = 0;
        for i in 0..5_000i64 {
            let k = i * 7_919 % 5_000;
            let t = DateTime::from_timestamp_millis(1_767_225_600_000 + k * 120).unwrap();
            s.ingest(page(&format!("m{k}"), "a", None, &t.to_rfc3339(), ""))
                .unwrap();
            most = most.max(s.buffered());
        }
        assert!(most <= 1_000, "{most} open events");
        s.flush();
        let visits = s.drain();
        assert!(visits.len() > 1);
        let mut ids: Vec<String> = visits
            .iter()
            .flat_map(|v| v.events.iter().map(|e| e.message_id.to_string()))
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 5_000, "every event in exactly one visit");
        assert_eq!(visits.iter().map(|v| v.events.len()).sum::<usize>(), 5_000);
        assert!(
            Sessionizer::new(SessionConfig {
                max_open_events: 0,
                ..SessionConfig::default()
            })
            .is_err()
        );
    }

    /// The watermark trails the newest event here (no outlier tolerance), as the tests assume.
    fn strict() -> SessionConfig {
        SessionConfig {
            watermark_outliers: 0,
            ..SessionConfig::default()
        }
    }

    #[test]
    fn a_few_outlying_clocks_do_not_drag_the_watermark() {
        let mut s = Sessionizer::new(SessionConfig {
            watermark_outliers: 2,
            ..SessionConfig::default()
        })
        .unwrap();
        for (i, at) in [
            "2026-01-01T10:00:00Z",
            "2026-01-01T10:01:00Z",
            "2026-01-01T10:02:00Z",
        ]
        .iter()
        .enumerate()
        {
            s.ingest(page(&i.to_string(), "a", None, at, "")).unwrap();
        }
        s.ingest(page("far1", "b", None, "9999-12-31T00:00:00Z", ""))
            .unwrap();
        s.ingest(page("far2", "c", None, "9999-12-31T00:00:00Z", ""))
            .unwrap();
        // Still on time after two broken clocks.
        s.ingest(page("3", "a", None, "2026-01-01T10:03:00Z", ""))
            .unwrap();
        assert_eq!(s.closed().len(), 0);
        s.flush();
        assert_eq!(s.drain().len(), 3);
    }

    #[test]
    fn gap_client_session_and_cap_split_visits() {
        let mut s = Sessionizer::new(strict()).unwrap();
        let events = [
            page("1", "a", None, "2026-01-01T10:00:00Z", ""),
            page("2", "a", None, "2026-01-01T10:29:00Z", ""),
            page("3", "a", None, "2026-01-01T11:00:00Z", ""),
            page(
                "4",
                "a",
                None,
                "2026-01-01T11:01:00Z",
                r#","context":{"sessionId":"s1"}"#,
            ),
            page(
                "5",
                "a",
                None,
                "2026-01-01T11:02:00Z",
                r#","context":{"sessionId":"s2"}"#,
            ),
        ];
        // Out of order within the lateness.
        for i in [1, 0, 4, 2, 3] {
            s.ingest(events[i].clone()).unwrap();
        }
        s.flush();
        let sizes: Vec<usize> = s.drain().iter().map(|v| v.events.len()).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
    }

    #[test]
    fn late_events_come_back_and_visits_close_on_the_watermark() {
        let mut s = Sessionizer::new(strict()).unwrap();
        s.ingest(page("1", "a", None, "2026-01-01T10:00:00Z", ""))
            .unwrap();
        s.ingest(page("2", "b", None, "2026-01-01T11:00:00Z", ""))
            .unwrap();
        assert_eq!(
            s.closed().len(),
            0,
            "10:00 + gap + lateness is not before 10:58"
        );
        s.ingest(page("3", "b", None, "2026-01-01T11:20:00Z", ""))
            .unwrap();
        assert_eq!(s.closed().len(), 1, "a's visit closed, b's still open");
        assert!(
            s.ingest(page("4", "a", None, "2026-01-01T10:01:00Z", ""))
                .is_err()
        );
        s.flush();
        assert_eq!(s.drain().len(), 2);
        assert_eq!(s.buffered(), 0);
    }

    #[test]
    fn a_quiet_site_closes_visits_and_a_paused_backfill_is_not_late() {
        let mut s = Sessionizer::new(strict()).unwrap();
        // A historical import, years before the wall clock.
        s.ingest(page("1", "a", None, "2020-05-01T10:00:00Z", ""))
            .unwrap();
        // It pauses for ten minutes: its own time moves by ten minutes, not to today.
        s.advance(TimeDelta::minutes(10));
        s.ingest(page("2", "a", None, "2020-05-01T10:05:00Z", ""))
            .expect("an import resuming after a pause is on time");
        assert_eq!(s.closed().len(), 0);
        // The site goes quiet for two hours: the visit closes without a flush.
        s.advance(TimeDelta::hours(2));
        let visits = s.drain();
        assert_eq!(visits.len(), 1);
        assert_eq!(visits[0].events.len(), 2);
        assert_eq!(s.buffered(), 0);
        // Nothing moves backwards or before any event.
        s.advance(TimeDelta::minutes(-5));
        assert!(Sessionizer::new(strict()).unwrap().watermark().is_none());
    }

    #[test]
    fn identify_and_alias_stitch_across_visits() {
        let mut s = Sessionizer::new(strict()).unwrap();
        s.ingest(page("1", "anon1", None, "2026-01-01T10:00:00Z", ""))
            .unwrap();
        s.ingest(page("2", "anon1", Some("u1"), "2026-01-01T10:10:00Z", ""))
            .unwrap();
        s.ingest(page("3", "anon2", None, "2026-01-02T10:00:00Z", ""))
            .unwrap();
        s.ingest(event(
            r#"{"type":"alias","previousId":"anon2","userId":"u1","timestamp":"2026-01-02T10:01:00Z"}"#,
        ))
        .unwrap();
        s.flush();
        let visits = s.drain();
        assert_eq!(visits.len(), 2);
        assert_eq!(visits[0].events.len(), 2);
        assert_eq!(s.identity().person("anon2"), s.identity().person("u1"));
        assert_eq!(s.identity().person("anon1"), s.identity().person("u1"));
    }

    #[test]
    fn silent_persons_are_forgotten_and_the_rest_is_the_same() {
        // A visitor a minute for 60 days, each seen once; "b1" logs in with "z1" on day 0
        // and "z1" comes back alone on day 59. A sweep runs every 50,000 events.
        let start = "2026-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let template = page("t", "t", None, "2026-01-01T00:00:00Z", "");
        let at = |minutes: i64| start + TimeDelta::minutes(minutes);
        let mut events = vec![page("login", "z1", Some("b1"), &at(0).to_rfc3339(), "")];
        for i in 1..86_400i64 {
            let mut e = template.clone();
            e.message_id = format!("m{i}").into();
            e.anonymous_id = Some(format!("v{i}").into());
            e.time = at(i);
            events.push(e);
        }
        events.push(page("back", "z1", None, &at(59 * 1_440).to_rfc3339(), ""));
        events.sort_by_key(|e| e.time);
        let run = |retention: i64, checkpoint_at: Option<usize>| {
            let mut s = Sessionizer::new(SessionConfig {
                identity_retention_seconds: retention,
                ..SessionConfig::default()
            })
            .unwrap();
            for (i, e) in events.iter().enumerate() {
                if checkpoint_at == Some(i) {
                    s = serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
                }
                s.ingest(e.clone()).unwrap();
            }
            let held = s.identity().len();
            s.flush();
            (s.drain(), held)
        };
        let (kept, all_ids) = run(10 * 366 * 86_400, None);
        let (forgot, held) = run(86_400, None);
        assert_eq!(all_ids, 86_401);
        // The sweep at event 50,000 kept the last day's ids; 36,401 came after it.
        assert!(held <= 36_401 + 1_440 + 40, "{held} ids held");
        assert_eq!(kept.len(), forgot.len());
        let person = |visits: &[Visit], id: &str| {
            let v = visits.iter().find(|v| v.events[0].message_id == id);
            v.map(|v| v.person.clone())
        };
        assert_eq!(person(&kept, "back").as_deref(), Some("b1"));
        assert_eq!(
            person(&forgot, "back").as_deref(),
            Some("z1"),
            "starts afresh"
        );
        // The rest alike (the flush closes visits in person order: compared by visit id).
        let others = |visits: &[Visit]| {
            let mut v: Vec<Visit> = visits
                .iter()
                .filter(|v| v.events[0].message_id != "back")
                .cloned()
                .collect();
            v.sort_by(|a, b| a.id.cmp(&b.id));
            v
        };
        assert_eq!(others(&kept), others(&forgot));
        // A checkpoint after the sweep (numbers renumbered) restores to the same visits.
        assert_eq!(run(86_400, Some(60_000)), (forgot, held));
    }
}
