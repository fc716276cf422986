//! The live time series: visitors, sessions, page views, orders and revenue per minute, hour
//! and day, from the valid events as they arrive (visits: when they close).
//!
//! Visitors are counted exactly up to 4,096 per bucket, then by a HyperLogLog (about 1.6 %
//! error), so memory stays bounded for any traffic.
//!
//! Unlike the KPI windows (emitted once settled), the series moves with every event, so a
//! dashboard can show "visitors now". Each resolution keeps a bounded number of the newest
//! buckets; visitors are counted as 64-bit hashes of the person — in a flow, as identity
//! names them once the event is placed ([`Observer::visitor`]), so a visitor who logs in is
//! one visitor, not one under each id — and two instances that own different persons
//! [merge](TimeSeries::merge) into the series of one instance.
//!
//! [`Observer::visitor`]: crate::flow::Observer::visitor

use std::collections::BTreeMap;

use crate::hash::FastSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{Event, MessageType, names};
use crate::gate::HyperLogLog;

/// A bucket width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One day (UTC).
    Day,
}

impl Resolution {
    /// Every resolution, finest first.
    pub const ALL: [Resolution; 3] = [Resolution::Minute, Resolution::Hour, Resolution::Day];

    /// Seconds in a bucket.
    pub fn seconds(self) -> i64 {
        match self {
            Resolution::Minute => 60,
            Resolution::Hour => 3_600,
            Resolution::Day => 86_400,
        }
    }

    /// Buckets kept: three hours of minutes, four days of hours, 90 days.
    pub fn kept(self) -> usize {
        match self {
            Resolution::Minute => 180,
            Resolution::Hour => 96,
            Resolution::Day => 90,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Distinct ids counted exactly per bucket before a sketch takes over.
const EXACT_VISITORS: usize = 4_096;

/// A bucket's visitors: exact up to [`EXACT_VISITORS`] ids, then a HyperLogLog (p = 12,
/// about 1.6 % error, 4 KiB) — so a bucket's memory is bounded however busy the shop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Visitors {
    Exact(FastSet<u64>),
    Sketch(HyperLogLog),
}

impl Default for Visitors {
    fn default() -> Self {
        Visitors::Exact(FastSet::default())
    }
}

impl Visitors {
    fn sketch(ids: &FastSet<u64>) -> HyperLogLog {
        let mut sketch = HyperLogLog::new(12).expect("12 is a valid precision");
        for &id in ids {
            sketch.insert_hash(id);
        }
        sketch
    }

    fn insert(&mut self, id: u64) {
        match self {
            Visitors::Exact(ids) => {
                ids.insert(id);
                if ids.len() > EXACT_VISITORS {
                    *self = Visitors::Sketch(Visitors::sketch(ids));
                }
            }
            Visitors::Sketch(sketch) => sketch.insert_hash(id),
        }
    }

    fn merge(&mut self, other: &Visitors) {
        match (&mut *self, other) {
            (Visitors::Exact(a), Visitors::Exact(b)) => {
                a.extend(b);
                if a.len() > EXACT_VISITORS {
                    *self = Visitors::Sketch(Visitors::sketch(a));
                }
            }
            (Visitors::Sketch(a), Visitors::Exact(b)) => {
                for &id in b {
                    a.insert_hash(id);
                }
            }
            (Visitors::Exact(a), Visitors::Sketch(b)) => {
                let mut sketch = b.clone();
                for &id in a.iter() {
                    sketch.insert_hash(id);
                }
                *self = Visitors::Sketch(sketch);
            }
            (Visitors::Sketch(a), Visitors::Sketch(b)) => {
                // Both p = 12: merging cannot fail.
                let _ = a.merge(b);
            }
        }
    }

    fn count(&self) -> u64 {
        match self {
            Visitors::Exact(ids) => ids.len() as u64,
            Visitors::Sketch(sketch) => sketch.estimate().round() as u64,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Bucket {
    visitors: Visitors,
    sessions: u64,
    page_views: u64,
    orders: u64,
    revenue_cents: i64,
}

impl Bucket {
    fn merge(&mut self, other: &Bucket) {
        self.visitors.merge(&other.visitors);
        self.sessions += other.sessions;
        self.page_views += other.page_views;
        self.orders += other.orders;
        self.revenue_cents = self.revenue_cents.saturating_add(other.revenue_cents);
    }
}

/// One bucket of the series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Start of the bucket.
    pub start: DateTime<Utc>,
    /// Distinct visitors with an event in it.
    pub visitors: u64,
    /// Visits that started in it (counted when they close).
    pub sessions: u64,
    /// Page and screen views.
    pub page_views: u64,
    /// Orders completed.
    pub orders: u64,
    /// Revenue of those orders in the series' currency.
    pub revenue: f64,
}

/// Visitors, sessions, page views, orders and revenue per minute, hour and day, from the
/// valid events as they arrive (visits: when they close). Each resolution keeps a bounded
/// number of the newest buckets ([`Resolution::kept`]); visitors are 64-bit hashes of the
/// person id, so instances that own different persons [merge](TimeSeries::merge) into the
/// series of one instance.
///
/// ```
/// use websight_core::analytics::{Resolution, TimeSeries};
/// use websight_core::decode::{decode_segment, DecodeContext};
///
/// let mut series = TimeSeries::new("EUR");
/// for (who, at) in [("a", "10:00:05"), ("b", "10:00:40"), ("a", "10:01:10")] {
///     let line = format!(r#"{{"type":"page","anonymousId":"{who}","timestamp":"2026-03-01T{at}Z"}}"#);
///     let event = decode_segment(line.as_bytes(), &DecodeContext::default()).remove(0)?;
///     series.observe(&event);
/// }
/// let minutes = series.points(Resolution::Minute);
/// assert_eq!(minutes.iter().map(|p| p.visitors).collect::<Vec<_>>(), [2, 1]);
/// assert_eq!(series.points(Resolution::Hour)[0].page_views, 3);
/// assert_eq!(series.visitors_now(300), 2);
/// # Ok::<(), websight_core::decode::DeadLetter>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeSeries {
    currency: String,
    buckets: [BTreeMap<i64, Bucket>; 3],
    newest: Option<DateTime<Utc>>,
}

fn person_hash(person: &str) -> u64 {
    crate::hash::hash64(person.as_bytes())
}

impl TimeSeries {
    /// An empty series summing revenue in `currency` (other currencies' orders count as
    /// orders, not revenue).
    pub fn new(currency: &str) -> TimeSeries {
        TimeSeries {
            currency: currency.to_owned(),
            buckets: Default::default(),
            newest: None,
        }
    }

    fn update(&mut self, at: DateTime<Utc>, f: impl Fn(&mut Bucket)) {
        let t = at.timestamp();
        for r in Resolution::ALL {
            let map = &mut self.buckets[r.index()];
            let key = t.div_euclid(r.seconds());
            // Events arrive mostly in time order: the newest bucket, without a search.
            if let Some(mut newest) = map.last_entry()
                && *newest.key() == key
            {
                f(newest.get_mut());
                continue;
            }
            // Older than every bucket kept, with the series full: nothing to update.
            if map.len() >= r.kept() && map.first_key_value().is_some_and(|(k, _)| key < *k) {
                continue;
            }
            f(map.entry(key).or_default());
            while map.len() > r.kept() {
                map.pop_first();
            }
        }
    }

    /// Takes one valid event, its visitor keyed by [`Event::person`] (a flow keys them by
    /// the person identity names: [`TimeSeries::observe_activity`] and
    /// [`TimeSeries::observe_visitor`]).
    pub fn observe(&mut self, event: &Event) {
        self.observe_activity(event);
        if let Some(person) = event.person() {
            self.observe_visitor(event.time, person);
        }
    }

    /// Counts `person` a visitor at `at`.
    pub fn observe_visitor(&mut self, at: DateTime<Utc>, person: &str) {
        let person = person_hash(person);
        self.update(at, |b| b.visitors.insert(person));
    }

    /// Takes one valid event's page views, orders and revenue, not its visitor.
    pub fn observe_activity(&mut self, event: &Event) {
        let view = matches!(event.kind, MessageType::Page | MessageType::Screen);
        let order = event.is_track(names::ORDER_COMPLETED);
        let revenue = match event.properties.order_value() {
            Some(value)
                if order
                    && event
                        .properties
                        .currency
                        .as_deref()
                        .unwrap_or(crate::analytics::DEFAULT_CURRENCY)
                        == self.currency =>
            {
                value.cents()
            }
            _ => 0,
        };
        self.newest = self.newest.max(Some(event.time));
        self.update(event.time, |b| {
            b.page_views += u64::from(view);
            b.orders += u64::from(order);
            b.revenue_cents = b.revenue_cents.saturating_add(revenue);
        });
    }

    /// Takes one closed visit that started at `start`.
    pub fn observe_session(&mut self, start: DateTime<Utc>) {
        self.update(start, |b| b.sessions += 1);
    }

    /// The buckets at `resolution`, oldest first (empty ones between are left out).
    pub fn points(&self, resolution: Resolution) -> Vec<Point> {
        let r = resolution;
        self.buckets[r.index()]
            .iter()
            .map(|(key, b)| Point {
                start: DateTime::from_timestamp(key.saturating_mul(r.seconds()), 0)
                    .unwrap_or_default(),
                visitors: b.visitors.count(),
                sessions: b.sessions,
                page_views: b.page_views,
                orders: b.orders,
                revenue: b.revenue_cents as f64 / 100.0,
            })
            .collect()
    }

    /// Distinct visitors in the last `seconds` (whole minutes) before the newest event.
    pub fn visitors_now(&self, seconds: i64) -> u64 {
        let Some(newest) = self.newest else { return 0 };
        let last = newest.timestamp().div_euclid(60);
        let first = last - (seconds.max(60) / 60 - 1);
        let mut seen = Visitors::default();
        for (_, b) in self.buckets[Resolution::Minute.index()].range(first..=last) {
            seen.merge(&b.visitors);
        }
        seen.count()
    }

    /// The newest event time seen.
    pub fn newest(&self) -> Option<DateTime<Utc>> {
        self.newest
    }

    /// Adds another instance's series (same currency): the series of both inputs.
    pub fn merge(&mut self, other: &TimeSeries) {
        for r in Resolution::ALL {
            for (key, bucket) in &other.buckets[r.index()] {
                self.buckets[r.index()]
                    .entry(*key)
                    .or_default()
                    .merge(bucket);
            }
            let map = &mut self.buckets[r.index()];
            while map.len() > r.kept() {
                map.pop_first();
            }
        }
        self.newest = self.newest.max(other.newest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::event;

    #[test]
    fn orders_revenue_sessions_and_merge() {
        let lines = [
            r#"{"type":"page","anonymousId":"a","timestamp":"2026-03-01T10:00:00Z"}"#,
            r#"{"type":"track","event":"Order Completed","anonymousId":"a","timestamp":"2026-03-01T10:05:00Z","properties":{"order_id":"o1","revenue":12.5,"currency":"EUR"}}"#,
            r#"{"type":"track","event":"Order Completed","anonymousId":"b","timestamp":"2026-03-02T09:00:00Z","properties":{"order_id":"o2","revenue":99,"currency":"USD"}}"#,
        ];
        let (mut one, mut a, mut b) = (
            TimeSeries::new("EUR"),
            TimeSeries::new("EUR"),
            TimeSeries::new("EUR"),
        );
        for (i, line) in lines.iter().enumerate() {
            let e = event(line);
            one.observe(&e);
            if i < 2 { &mut a } else { &mut b }.observe(&e);
        }
        let start = event(lines[0]).time;
        one.observe_session(start);
        a.observe_session(start);
        let days = one.points(Resolution::Day);
        assert_eq!(days.len(), 2);
        assert_eq!(
            (days[0].orders, days[0].revenue, days[0].sessions),
            (1, 12.5, 1)
        );
        assert_eq!(
            (days[1].orders, days[1].revenue),
            (1, 0.0),
            "USD is not EUR"
        );
        assert_eq!(one.points(Resolution::Minute).len(), 3);
        a.merge(&b);
        assert_eq!(a, one);
    }

    #[test]
    fn busy_buckets_switch_to_a_sketch_and_still_merge() {
        let (mut a, mut b, mut one) = (
            Visitors::default(),
            Visitors::default(),
            Visitors::default(),
        );
        for id in 0..20_000u64 {
            let h = crate::hash::hash64(&id.to_le_bytes());
            one.insert(h);
            if id % 2 == 0 { &mut a } else { &mut b }.insert(h);
        }
        assert!(matches!(one, Visitors::Sketch(_)));
        let n = one.count() as f64;
        assert!((n / 20_000.0 - 1.0).abs() < 0.05, "{n}");
        a.merge(&b);
        assert_eq!(a, one, "the union's sketch, whichever way it was built");
        let mut small = Visitors::default();
        small.insert(1);
        small.insert(1);
        assert_eq!(small.count(), 1);
    }

    #[test]
    fn buckets_are_bounded() {
        let mut s = TimeSeries::new("USD");
        for m in 0..500 {
            let t = DateTime::from_timestamp(1_700_000_000 + m * 60, 0).unwrap();
            s.update(t, |b| b.page_views += 1);
        }
        // An event older than everything kept changes nothing where the series is full.
        s.update(DateTime::from_timestamp(0, 0).unwrap(), |b| {
            b.page_views += 1
        });
        let minutes = s.points(Resolution::Minute);
        assert_eq!(minutes.len(), Resolution::Minute.kept());
        assert_eq!(minutes.iter().map(|p| p.page_views).sum::<u64>(), 180);
        let hours = s.points(Resolution::Hour);
        assert_eq!(hours.iter().map(|p| p.page_views).sum::<u64>(), 501);
    }
}
