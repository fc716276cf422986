//! Stream analytics (the original system's Flink job), embedded: event time with bounded
//! out-of-orderness watermarks, sessionisation by inactivity gap, tumbling-window KPIs,
//! top products, funnel, payment mix, sentiment per category, potential customers — and the
//! documents of the original Elasticsearch indexes.
//!
//! **Time.** The watermark trails the newest event time seen by `out_of_orderness`. An
//! event older than `watermark − allowed_lateness` is *too late*: it goes to the `late`
//! side output (kept and counted, never silently lost) and changes no aggregate. Anything
//! newer is placed in its user's session, however out of order it arrives.
//!
//! **Visits.** A [`Sessionizer`] builds server-side visits per stitched person ([`Identity`]):
//! a visit ends at 30 minutes of silence (or a new client session id, or 24 hours). A visit
//! closes once no event that could still be accepted can extend it (watermark − lateness >
//! last event + gap); its documents are emitted and the dashboard updated then. The product
//! catalogue is learned from the events ([`ProductCatalogue`]).
//!
//! **Windows.** Session metrics (sessions, duration, bounce, engagement, page views) count
//! in the window of the session's start; purchases and revenue in the window of the order's
//! event; current visitors are the distinct users active in the window's last 5 minutes. A
//! window is emitted once every session that can start in it has closed, and then leaves
//! the state: memory follows the traffic in flight, not the length of the stream.
//!
//! Every aggregate is keyed by user or additive, so instances that each own a set of users
//! (Kafka partitions keyed by user) produce [`Dashboard`]s whose [`Dashboard::merge`] equals
//! the dashboard of one instance fed everything (given no event is too late for either).
//!
//! ```
//! use websight_core::analytics::{AnalyticsConfig, ProductCatalogue, StreamAnalytics};
//! use websight_core::decode::{decode_segment, DecodeContext};
//!
//! let lines = [
//!     r#"{"type":"page","anonymousId":"a","timestamp":"2026-03-01T10:00:00Z",
//!        "context":{"page":{"path":"/","url":"https://shop.example/","referrer":"https://www.google.com/"}}}"#,
//!     r#"{"type":"track","event":"Product Viewed","anonymousId":"a","timestamp":"2026-03-01T10:00:20Z",
//!        "properties":{"product_id":"sku-1","name":"Sofa","price":499}}"#,
//!     r#"{"type":"track","event":"Order Completed","anonymousId":"a","timestamp":"2026-03-01T10:03:00Z",
//!        "properties":{"order_id":"o1","revenue":499,"currency":"EUR","products":[{"product_id":"sku-1"}]}}"#,
//! ];
//! let mut analytics = StreamAnalytics::new(AnalyticsConfig::default(), ProductCatalogue::default())?;
//! for line in lines {
//!     for event in decode_segment(line.as_bytes(), &DecodeContext::default()) {
//!         analytics.ingest(event.unwrap());
//!     }
//! }
//! analytics.flush();
//! let docs = analytics.drain();
//! assert_eq!(docs.sessions.len(), 1);
//! assert_eq!(docs.sessions[0].channel, "Organic Search");
//! assert_eq!(docs.products[0].product_name, "Sofa");
//! let dashboard = analytics.dashboard();
//! assert_eq!(dashboard.revenue["EUR"].to_string(), "499.00");
//! # Ok::<(), websight_core::CoreError>(())
//! ```

mod buffer;
mod catalogue;
mod dashboard;
mod documents;
mod identity;
pub mod labels;
mod series;
mod sessionize;
mod topk;
pub(crate) mod visit;

use std::ops::Bound::{Excluded, Unbounded};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

pub use catalogue::{ProductCatalogue, ProductInfo};
pub use dashboard::{Dashboard, Funnel, PotentialCustomer, ProductCounters, SentimentCounts};
pub use documents::{KpiWindow, ProductDetail, ProductSentiment, SessionSummary};
pub use identity::Identity;
pub use series::{Point, Resolution, TimeSeries};
pub use sessionize::{SessionConfig, Sessionizer};
pub use topk::TopCounter;
pub use visit::{DEFAULT_CURRENCY, OrderView, Step, Visit};

use crate::event::Event;
use crate::sentiment::Vader;
use crate::snapshot::Snapshot;
use crate::{CoreError, Result};

/// One decoded Segment message, for the analytics modules' tests.
#[cfg(test)]
pub(crate) fn event(json: &str) -> Event {
    crate::decode::decode_segment(json.as_bytes(), &crate::decode::DecodeContext::default())
        .remove(0)
        .map(|e| *e)
        .expect("a valid test message")
}

/// Stream analytics settings (durations in seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnalyticsConfig {
    /// Visits: gap, longest visit, out-of-orderness, lateness, the site's own hosts.
    pub sessions: SessionConfig,
    /// Tumbling window size.
    pub window_seconds: i64,
    /// "Current visitors": persons active in this last stretch of a window.
    pub current_visitor_seconds: i64,
    /// Unconverted attention on a product that makes a potential customer.
    pub potential_customer_seconds: f64,
    /// Potential customers kept (longest first).
    pub potential_customers_kept: usize,
    /// Products, sources, campaigns and pages counted exactly before the heavy-hitters
    /// sketch takes over.
    pub product_capacity: usize,
    /// The dashboard's currency (windows and product revenue); every currency is summed in
    /// [`Dashboard::revenue`].
    pub currency: String,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            sessions: SessionConfig::default(),
            window_seconds: 3600,
            current_visitor_seconds: 300,
            potential_customer_seconds: 60.0,
            potential_customers_kept: 50,
            product_capacity: 10_000,
            currency: DEFAULT_CURRENCY.to_owned(),
        }
    }
}

/// What the analytics emitted since the last [`StreamAnalytics::drain`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Documents {
    /// `session_summary` documents.
    pub sessions: Vec<SessionSummary>,
    /// `product_details` documents.
    pub products: Vec<ProductDetail>,
    /// `product_sentiment` documents.
    pub sentiments: Vec<ProductSentiment>,
    /// Closed KPI windows.
    pub windows: Vec<KpiWindow>,
    /// The closed visits themselves (for the session store and the offline stage).
    pub visits: Vec<Visit>,
    /// Events too late to place (the side output).
    pub late: Vec<Box<Event>>,
}

/// Where every ingested event is: `ingested = sessionised + late + buffered`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamCounts {
    /// Events ingested.
    pub ingested: u64,
    /// Events in emitted visits.
    pub sessionised: u64,
    /// Events sent to the late side output.
    pub late: u64,
    /// Events in visits still open.
    pub buffered: u64,
    /// Visits of rejected traffic (events a security rule stopped), closed so far.
    pub rejected_sessions: u64,
}

/// The stream analytics engine. See the [module docs](self).
///
/// Its whole state — open visits, identity graph, dashboard, open windows — serialises
/// ([`StreamAnalytics::snapshot`], [`StreamAnalytics::restore`]) for checkpoints.
#[derive(Serialize, Deserialize)]
pub struct StreamAnalytics {
    config: AnalyticsConfig,
    sessions: Sessionizer,
    rejected: Sessionizer,
    catalogue: ProductCatalogue,
    /// Rebuilt, not stored: the lexicon is the same for every instance.
    #[serde(skip, default = "Vader::new")]
    vader: Vader,
    dashboard: Dashboard,
    emitted_windows: Option<DateTime<Utc>>,
    /// The next due window waits for a visit still open: nothing can release it before a
    /// visit closes, so the open visits are not scanned again for every event meanwhile.
    #[serde(skip)]
    windows_blocked: bool,
    /// Drained after every batch, so empty at a checkpoint.
    #[serde(skip)]
    out: Documents,
    counts: StreamCounts,
    /// The event last ingested was too late to place (it is the last of `out.late`).
    #[serde(skip)]
    last_late: bool,
}

impl StreamAnalytics {
    /// An engine starting from `catalogue` (empty: everything is learned from the events).
    pub fn new(config: AnalyticsConfig, catalogue: ProductCatalogue) -> Result<Self> {
        let c = &config;
        if c.window_seconds <= 0
            || c.window_seconds > 366 * 86_400
            || c.current_visitor_seconds <= 0
            || c.current_visitor_seconds > c.window_seconds
        {
            return Err(CoreError::parameter(
                "analytics",
                "the window must be positive and at most a year, and the visitor span within a window",
            ));
        }
        let dashboard = Dashboard::new(&c.currency, c.product_capacity, c.potential_customers_kept);
        Ok(StreamAnalytics {
            sessions: Sessionizer::new(c.sessions.clone())?,
            // Rejected traffic only counts visits: its ids (often a bot's throwaway ones) are
            // kept no longer than a visit can still change.
            rejected: Sessionizer::new(SessionConfig {
                identity_retention_seconds: c
                    .sessions
                    .gap_seconds
                    .saturating_add(c.sessions.allowed_lateness_seconds),
                ..c.sessions.clone()
            })?,
            config,
            catalogue,
            vader: Vader::new(),
            dashboard,
            emitted_windows: None,
            windows_blocked: false,
            out: Documents::default(),
            counts: StreamCounts::default(),
            last_late: false,
        })
    }

    /// The state as JSON text, for a checkpoint. Documents not yet [drained](Self::drain)
    /// are not part of it: take it between batches.
    pub fn snapshot(&self) -> Result<Snapshot> {
        Snapshot::of(self)
    }

    /// The engine a [`StreamAnalytics::snapshot`] was taken of, checked: its settings must be
    /// `config` (a checkpoint of other settings would not continue the same stream).
    pub fn restore(config: &AnalyticsConfig, snapshot: &Snapshot) -> Result<Self> {
        let restored: StreamAnalytics = snapshot.parse()?;
        if &restored.config != config {
            return Err(CoreError::parameter(
                "checkpoint",
                "the analytics settings differ from the checkpoint's",
            ));
        }
        StreamAnalytics::new(restored.config.clone(), ProductCatalogue::default())?;
        Ok(restored)
    }

    /// The settings.
    pub fn config(&self) -> &AnalyticsConfig {
        &self.config
    }

    /// The current watermark (newest event time − out-of-orderness).
    pub fn watermark(&self) -> Option<DateTime<Utc>> {
        self.sessions.watermark()
    }

    fn window_start(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let w = self.config.window_seconds;
        DateTime::from_timestamp(t.timestamp().div_euclid(w) * w, 0).unwrap_or(t)
    }

    /// Whether `at` falls in the last [`AnalyticsConfig::current_visitor_seconds`] of its
    /// window, which opens at `start` (a window ending past the end of time has none).
    fn in_last_stretch(&self, at: DateTime<Utc>, start: DateTime<Utc>) -> bool {
        let (w, c) = (
            self.config.window_seconds,
            self.config.current_visitor_seconds,
        );
        if start.timestamp_subsec_nanos() == 0 {
            // A window starts on a whole second, so its last stretch does too: compared in
            // seconds, with no date arithmetic (a time is at or past a whole second when its
            // own second is).
            let end = start.timestamp().saturating_add(w);
            return end <= DateTime::<Utc>::MAX_UTC.timestamp()
                && at.timestamp() >= end.saturating_sub(c);
        }
        // A window before the first whole second chrono can hold starts at the event itself.
        start
            .checked_add_signed(Duration::seconds(w))
            .and_then(|end| end.checked_sub_signed(Duration::seconds(c)))
            .is_some_and(|stretch| at >= stretch)
    }

    /// Takes one valid event (normally the gate's output), in arrival order: an `Event` or
    /// a `Box<Event>` (boxed, it moves by pointer into its visit's buffer).
    pub fn ingest(&mut self, event: impl Into<Box<Event>>) {
        let event = event.into();
        self.counts.ingested += 1;
        for item in &event.properties.products {
            self.catalogue.learn(item);
        }
        // Current visitors: activity in the last stretch of the event's window (the person
        // copied only when new there).
        let at = event.time;
        let start = self.window_start(at);
        let recent = event
            .person()
            .filter(|_| self.in_last_stretch(at, start))
            .filter(|p| {
                !self
                    .dashboard
                    .windows
                    .get(&start)
                    .is_some_and(|w| w.recent_users.contains(*p))
            })
            .map(str::to_owned);
        let placed = self.sessions.ingest(event);
        self.last_late = placed.is_err();
        match placed {
            Err(late) => {
                self.counts.late += 1;
                self.out.late.push(late);
                return;
            }
            Ok(()) => self.counts.buffered += 1,
        }
        if let Some(person) = recent {
            let w = self.dashboard.windows.entry(start).or_default();
            w.recent_users.insert(person);
        }
        self.collect();
    }

    /// Takes one event a security rule rejected: only its visits are counted.
    pub fn ingest_rejected(&mut self, event: impl Into<Box<Event>>) {
        // Only what cuts visits and stitches persons is kept while the visit is open: a
        // flood of rejected events holds as little as it can.
        let mut event = event.into();
        // Every field named — kept (`_`) or cleared — so a new one must be placed.
        let Event {
            message_id: _,
            kind: _,
            time: _,
            anonymous_id: _,
            user_id: _,
            previous_id: _,
            session_id: _,
            campaign,
            ip,
            locale,
            name,
            page,
            properties,
            timestamps,
            traits,
            user_agent,
            denied_consent,
            library,
            address_key,
        } = &mut *event;
        *campaign = Default::default();
        *ip = None;
        *locale = None;
        *name = None;
        *page = Default::default();
        *properties = Default::default();
        *timestamps = Default::default();
        *traits = Default::default();
        *user_agent = None;
        *denied_consent = Vec::new();
        *address_key = None;
        *library = None;
        // A late rejected event changes no count but its own.
        let _ = self.rejected.ingest(event);
        self.counts.rejected_sessions += self.rejected.drain().len() as u64;
    }

    /// A quiet stretch: the watermark moves forward by `by` (wall-clock time that passed with
    /// no event), so visits and windows close on a site without traffic. Relative, not to
    /// the wall clock: a historical import that pauses moves its own time by the pause only,
    /// and its next events are not late.
    pub fn advance(&mut self, by: Duration) {
        self.sessions.advance(by);
        self.rejected.advance(by);
        self.counts.rejected_sessions += self.rejected.drain().len() as u64;
        self.collect();
    }

    /// End of input: closes every visit and window.
    pub fn flush(&mut self) {
        self.sessions.flush();
        self.rejected.flush();
        self.counts.rejected_sessions += self.rejected.drain().len() as u64;
        self.collect();
        self.close_windows(None);
    }

    fn collect(&mut self) {
        for visit in self.sessions.drain() {
            let n = visit.events.len() as u64;
            self.counts.buffered -= n;
            self.counts.sessionised += n;
            self.emit(visit);
            self.windows_blocked = false;
        }
        let wm = self.watermark();
        if wm.is_some() && !self.windows_blocked {
            self.close_windows(wm);
        }
    }

    /// Takes the documents emitted so far.
    pub fn drain(&mut self) -> Documents {
        // The next batch starts with room for as many as this one: growing from empty moved
        // every summary and visit again at each doubling.
        let o = &self.out;
        let next = Documents {
            sessions: Vec::with_capacity(o.sessions.len()),
            products: Vec::with_capacity(o.products.len()),
            sentiments: Vec::new(),
            windows: Vec::new(),
            visits: Vec::with_capacity(o.visits.len()),
            late: Vec::new(),
        };
        std::mem::replace(&mut self.out, next)
    }

    /// The live dashboard (closed visits).
    pub fn dashboard(&self) -> &Dashboard {
        &self.dashboard
    }

    /// The product catalogue learned so far.
    pub fn catalogue(&self) -> &ProductCatalogue {
        &self.catalogue
    }

    /// Distinct persons (after identity stitching) with a valid event within the identity
    /// retention ([`SessionConfig::identity_retention_seconds`]).
    pub fn visitors(&self) -> usize {
        self.sessions.identity().persons()
    }

    /// The identity graph of valid traffic.
    pub fn identity(&self) -> &Identity {
        self.sessions.identity()
    }

    /// The person of the event last [ingested](StreamAnalytics::ingest) as identity names
    /// them once it is placed, so a visitor is one person before and after a login: the key
    /// live visitor counts take ([`crate::flow::Observer::visitor`]). An event too late to
    /// place is named by the first of its ids identity knows, else by
    /// [`Event::person`]; `None` for an event without ids.
    pub fn last_person(&self) -> Option<&str> {
        if !self.last_late {
            return self.sessions.last_person();
        }
        let late = self.out.late.last()?;
        let identity = self.sessions.identity();
        late.ids()
            .find_map(|id| identity.known(id))
            .or_else(|| late.person())
    }

    /// Where the ingested events are.
    pub fn counts(&self) -> StreamCounts {
        self.counts
    }

    /// Emits the windows no open or future visit can still change: every visit that
    /// started in them has closed, and no event old enough to start one is still accepted.
    fn close_windows(&mut self, wm: Option<DateTime<Utc>>) {
        let w = Duration::seconds(self.config.window_seconds);
        let s = &self.config.sessions;
        let settle = Duration::seconds(s.gap_seconds.saturating_add(s.allowed_lateness_seconds));
        // Computed only when a window is due: the earliest start of a visit still open.
        let mut oldest_open = None;
        loop {
            let after = match self.emitted_windows {
                None => Unbounded,
                Some(t) => Excluded(t),
            };
            let windows = self.dashboard.windows.range((after, Unbounded));
            let Some(&start) = windows.map(|(s, _)| s).next() else {
                return;
            };
            let due = wm.is_none_or(|wm| {
                start
                    .checked_add_signed(w + settle)
                    .is_some_and(|end| end < wm)
            });
            if !due {
                return;
            }
            let end = start
                .checked_add_signed(w)
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            let open = *oldest_open.get_or_insert_with(|| self.sessions.oldest_open());
            if open.is_some_and(|open| open < end) {
                self.windows_blocked = true;
                return;
            }
            // Emitted windows leave the state: nothing accepted from now on can fall in them.
            if let Some(state) = self.dashboard.windows.remove(&start) {
                let identity = self.sessions.identity();
                let document = state.document(start, end, |id| identity.known(id).unwrap_or(id));
                self.out.windows.push(document);
            }
            self.emitted_windows = Some(start);
        }
    }

    fn emit(&mut self, visit: Visit) {
        let summary = SessionSummary::of(&visit);
        let details = ProductDetail::of(&visit, &self.catalogue);
        let mut potential = Vec::new();
        for detail in &details {
            if let Some(text) = &detail.product_review {
                let scores = self.vader.polarity_scores(text);
                let category = detail.product_category.as_deref().unwrap_or("(none)");
                self.dashboard.add_sentiment(category, scores.label());
                let rating = visit
                    .reviews()
                    .iter()
                    .find(|(item, _, _)| item.key() == Some(detail.product_id.as_str()))
                    .and_then(|(_, _, r)| *r);
                self.out.sentiments.push(ProductSentiment {
                    detail: detail.clone(),
                    rating,
                    compound: scores.compound,
                    sentiment: scores.label(),
                });
            }
            if !summary.purchase_made
                && detail.time_spent_on_page >= self.config.potential_customer_seconds
            {
                potential.push(PotentialCustomer {
                    seconds_ms: (detail.time_spent_on_page * 1000.0).round() as u64,
                    visitor: summary.visitor.clone(),
                    product: detail.product_name.clone(),
                });
            }
        }
        self.dashboard.add_potential(potential);
        self.dashboard.add_visit(&visit, &summary);
        let window = self.window_start(summary.timestamp);
        let w = self.dashboard.windows.entry(window).or_default();
        w.sessions += 1;
        w.duration_ms += (summary.session_duration * 1000.0).round() as u64;
        w.engaged += u64::from(summary.engaged);
        w.page_views += u64::from(summary.page_views);
        for order in visit.orders() {
            let ow = self.window_start(order.at);
            let w = self.dashboard.windows.entry(ow).or_default();
            w.purchases += 1;
            if order.currency == self.dashboard.currency {
                w.revenue_cents = w.revenue_cents.saturating_add(order.value.cents());
            }
        }
        self.out.sessions.push(summary);
        self.out.products.extend(details);
        self.out.visits.push(visit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The last stretch of a window, found in whole seconds, is the one the time
        /// arithmetic finds: around its first second, and at the ends of time.
        #[test]
        fn the_last_stretch_in_seconds_is_the_time_arithmetic_one(
            // Beside any length, the ones under a year that divide the last second chrono
            // holds (8,210,266,876,799): their last window ends on it.
            window in prop_oneof![1i64..=100_000, Just(1), Just(13), Just(617), Just(8_021)],
            share in 1i64..=100,
            place in 0.0f64..=1.0,
            end in prop_oneof![Just(-1i8), Just(0), Just(1), Just(2)],
            from_stretch in -2i64..=2,
            nanos in prop_oneof![Just(0u32), Just(999_999_999), 0u32..1_000_000_000],
        ) {
            let config = AnalyticsConfig {
                window_seconds: window,
                current_visitor_seconds: (window * share / 100).max(1),
                ..AnalyticsConfig::default()
            };
            let a = StreamAnalytics::new(config.clone(), ProductCatalogue::default()).unwrap();
            // The first whole window, the last whole one, the one past the end of time, or
            // any between.
            let (first, last) = (DateTime::<Utc>::MIN_UTC.timestamp(), DateTime::<Utc>::MAX_UTC.timestamp());
            let window_start = match end {
                -1 => first.div_euclid(window) * window + window,
                1 => last.div_euclid(window) * window,
                2 => last.div_euclid(window) * window - window,
                _ => (first + ((last - first) as f64 * place) as i64).div_euclid(window) * window,
            };
            let stretch_start = window - config.current_visitor_seconds;
            let seconds = window_start.saturating_add(stretch_start + from_stretch);
            let Some(at) = DateTime::from_timestamp(seconds, nanos) else { return Ok(()) };
            let start = a.window_start(at);
            let stretch = start
                .checked_add_signed(Duration::seconds(config.window_seconds))
                .and_then(|end| end.checked_sub_signed(Duration::seconds(config.current_visitor_seconds)));
            prop_assert_eq!(a.in_last_stretch(at, start), stretch.is_some_and(|s| at >= s));
        }
    }

    #[test]
    fn a_flood_of_rejected_throwaway_ids_is_forgotten_within_hours() {
        // A bot with a new id every 200 ms for seven hours: its visits are counted, its ids
        // kept only while a visit of theirs can still change.
        let mut a =
            StreamAnalytics::new(AnalyticsConfig::default(), ProductCatalogue::default()).unwrap();
        let template =
            event(r#"{"type":"page","anonymousId":"t","timestamp":"2026-01-01T00:00:00Z"}"#);
        let n = 126_000i64;
        for i in 0..n {
            let mut e = template.clone();
            e.message_id = format!("m{i}").into();
            e.anonymous_id = Some(format!("bot-{i}").into());
            e.time = template.time + Duration::milliseconds(200 * i);
            a.ingest_rejected(e);
        }
        let held = a.rejected.identity().len();
        // An hour of ids (18,000) and the events since the last sweep at most.
        assert!(held < 18_000 + 50_000, "{held} ids held");
        a.flush();
        assert_eq!(a.counts().rejected_sessions, n as u64);
    }

    #[test]
    fn orders_naming_a_new_long_payment_method_each_keep_the_dashboard_bounded() {
        let mut a =
            StreamAnalytics::new(AnalyticsConfig::default(), ProductCatalogue::default()).unwrap();
        let filler = "x".repeat(8_000);
        for i in 0..3_000 {
            a.ingest(event(&format!(
                r#"{{"type":"track","event":"Order Completed","messageId":"m{i}","anonymousId":"a{i}",
                "timestamp":"2026-01-01T10:00:00Z","properties":{{"order_id":"o{i}","revenue":"1.00",
                "currency":"C{i}","payment_method":"{i:04}{filler}"}}}}"#
            )));
        }
        a.flush();
        let d = a.dashboard();
        assert_eq!(d.orders, 3_000);
        for (name, len, total) in [
            (
                "payments",
                d.payments.len(),
                d.payments.values().sum::<u64>(),
            ),
            (
                "revenue",
                d.revenue.len(),
                d.revenue.values().map(|m| m.cents() as u64).sum(),
            ),
        ] {
            assert_eq!(len, labels::MAX_LABELS + 1, "{name}");
            assert_eq!(
                total,
                if name == "payments" { 3_000 } else { 300_000 },
                "{name}"
            );
        }
        assert!(
            d.payments
                .keys()
                .all(|k| k.len() <= labels::MAX_LABEL_BYTES)
        );
    }
}
