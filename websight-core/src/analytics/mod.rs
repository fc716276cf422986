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
//! **Sessions.** A user's events split into sessions wherever two consecutive event times
//! are more than `session_gap` apart. A session closes once no event that could still be
//! accepted can extend it (watermark − lateness > last event + gap); its documents are
//! emitted and the dashboard updated then.
//!
//! **Windows.** Session metrics (sessions, duration, bounce, engagement, page views) count
//! in the window of the session's start; purchases and revenue in the window of the order's
//! event; current visitors are the distinct users active in the window's last 5 minutes. A
//! window is emitted once every session that can start in it has closed.
//!
//! Every aggregate is keyed by user or additive, so instances that each own a set of users
//! (Kafka partitions keyed by user) produce [`Dashboard`]s whose [`Dashboard::merge`] equals
//! the dashboard of one instance fed everything (given no event is too late for either).
//!
//! ```
//! use websight_core::analytics::{AnalyticsConfig, StreamAnalytics};
//! use websight_core::model::Catalogue;
//! use websight_core::synth::{Generator, SynthConfig};
//!
//! let generator = Generator::new(SynthConfig { sessions: 1_000, ..SynthConfig::default() })?;
//! let mut analytics = StreamAnalytics::new(AnalyticsConfig::default(), Catalogue::furniture())?;
//! for e in generator.events().filter(|e| e.abuse.is_none()) {
//!     analytics.ingest(e.record);
//! }
//! analytics.flush();
//! let docs = analytics.drain();
//! let dashboard = analytics.dashboard();
//! assert_eq!(dashboard.funnel.sessions as usize, docs.sessions.len());
//! println!("revenue {:.0}, bounce rate {:.2}", dashboard.revenue(), dashboard.bounce_rate());
//! # Ok::<(), websight_core::CoreError>(())
//! ```

mod dashboard;
mod documents;
mod identity;
mod sessionize;
mod topk;
mod visit;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

pub use dashboard::{Dashboard, Funnel, PotentialCustomer, ProductCounters, SentimentCounts};
pub use documents::{KpiWindow, ProductDetail, ProductSentiment, SessionSummary};
pub use identity::Identity;
pub use sessionize::{SessionConfig, Sessionizer};
pub use topk::TopCounter;
pub use visit::{DEFAULT_CURRENCY, OrderView, Step, Visit};

use crate::model::{Action, Catalogue, PaymentMethod, ProductId, UserId};
use crate::record::EventRecord;
use crate::sentiment::Vader;
use crate::{CoreError, Result};
use dashboard::cents;

/// Stream analytics settings (durations in seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnalyticsConfig {
    /// Inactivity that ends a session (GA: 30 minutes).
    pub session_gap_seconds: i64,
    /// How far the watermark trails the newest event.
    pub out_of_orderness_seconds: i64,
    /// How far behind the watermark an event may still be accepted.
    pub allowed_lateness_seconds: i64,
    /// Tumbling window size.
    pub window_seconds: i64,
    /// "Current visitors": users active in this last stretch of a window.
    pub current_visitor_seconds: i64,
    /// Unconverted attention on a product that makes a potential customer.
    pub potential_customer_seconds: f64,
    /// Potential customers kept (longest first).
    pub potential_customers_kept: usize,
    /// Products counted exactly before the heavy-hitters sketch takes over.
    pub product_capacity: usize,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            session_gap_seconds: 1800,
            out_of_orderness_seconds: 120,
            allowed_lateness_seconds: 1800,
            window_seconds: 3600,
            current_visitor_seconds: 300,
            potential_customer_seconds: 60.0,
            potential_customers_kept: 50,
            product_capacity: 10_000,
        }
    }
}

/// Documents emitted since the last [`StreamAnalytics::drain`].
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
    /// Events too late to place (the side output).
    pub late: Vec<EventRecord>,
}

/// Where every ingested event is: `ingested = sessionised + late + buffered`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamCounts {
    /// Events ingested.
    pub ingested: u64,
    /// Events in emitted sessions.
    pub sessionised: u64,
    /// Events sent to the late side output.
    pub late: u64,
    /// Events in sessions still open.
    pub buffered: u64,
}

/// The stream analytics engine. See the [module docs](self).
pub struct StreamAnalytics {
    config: AnalyticsConfig,
    catalogue: Catalogue,
    vader: Vader,
    newest: Option<DateTime<Utc>>,
    buffers: HashMap<UserId, Vec<EventRecord>>,
    deadlines: BinaryHeap<Reverse<(DateTime<Utc>, UserId)>>,
    dashboard: Dashboard,
    emitted_windows: Option<DateTime<Utc>>,
    out: Documents,
    counts: StreamCounts,
}

impl StreamAnalytics {
    /// An engine for `catalogue`'s products.
    pub fn new(config: AnalyticsConfig, catalogue: Catalogue) -> Result<Self> {
        let c = &config;
        if c.session_gap_seconds <= 0
            || c.window_seconds <= 0
            || c.out_of_orderness_seconds < 0
            || c.allowed_lateness_seconds < 0
            || c.current_visitor_seconds <= 0
            || c.current_visitor_seconds > c.window_seconds
        {
            return Err(CoreError::parameter(
                "analytics",
                "durations must be positive (lateness and out-of-orderness may be 0) and the visitor span within a window",
            ));
        }
        let dashboard = Dashboard::new(c.product_capacity, c.potential_customers_kept);
        Ok(StreamAnalytics {
            config,
            catalogue,
            vader: Vader::new(),
            newest: None,
            buffers: HashMap::new(),
            deadlines: BinaryHeap::new(),
            dashboard,
            emitted_windows: None,
            out: Documents::default(),
            counts: StreamCounts::default(),
        })
    }

    fn secs(s: i64) -> Duration {
        Duration::seconds(s)
    }

    /// The current watermark (newest event time − out-of-orderness).
    pub fn watermark(&self) -> Option<DateTime<Utc>> {
        self.newest
            .map(|t| t - Self::secs(self.config.out_of_orderness_seconds))
    }

    fn window_start(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let w = self.config.window_seconds;
        DateTime::from_timestamp(t.timestamp().div_euclid(w) * w, 0).unwrap_or(t)
    }

    /// Takes one valid event (normally the gate's output), in arrival order.
    pub fn ingest(&mut self, event: EventRecord) {
        self.counts.ingested += 1;
        if let Some(wm) = self.watermark()
            && event.timestamp < wm - Self::secs(self.config.allowed_lateness_seconds)
        {
            self.counts.late += 1;
            self.out.late.push(event);
            return;
        }
        self.newest = self.newest.max(Some(event.timestamp));
        // Current visitors: activity in the last stretch of the event's window.
        let start = self.window_start(event.timestamp);
        let end = start + Self::secs(self.config.window_seconds);
        if event.timestamp >= end - Self::secs(self.config.current_visitor_seconds) {
            let w = self.dashboard.windows.entry(start).or_default();
            w.recent_users.insert(event.user.id.0.clone());
        }
        let user = event.user.id.clone();
        let buffer = self.buffers.entry(user.clone()).or_default();
        let at = buffer.partition_point(|e| (e.timestamp, e.seq) <= (event.timestamp, event.seq));
        buffer.insert(at, event);
        self.counts.buffered += 1;
        let deadline = self.deadline(&user);
        self.deadlines.push(Reverse((deadline, user)));
        self.close_due();
    }

    /// End of input: closes every session and window.
    pub fn flush(&mut self) {
        let users: Vec<UserId> = self.buffers.keys().cloned().collect();
        for user in users {
            self.close_user(&user, None);
        }
        self.deadlines.clear();
        self.close_windows(None);
    }

    /// Takes the documents emitted so far.
    pub fn drain(&mut self) -> Documents {
        std::mem::take(&mut self.out)
    }

    /// The live dashboard (closed sessions).
    pub fn dashboard(&self) -> &Dashboard {
        &self.dashboard
    }

    /// Where the ingested events are.
    pub fn counts(&self) -> StreamCounts {
        self.counts
    }

    /// Index of the last event of the user's first session, and the time it closes at.
    fn first_session_end(&self, events: &[EventRecord]) -> (usize, DateTime<Utc>) {
        let gap = Self::secs(self.config.session_gap_seconds);
        let k = events
            .windows(2)
            .position(|w| w[1].timestamp - w[0].timestamp > gap)
            .unwrap_or(events.len() - 1);
        (
            k,
            events[k].timestamp + gap + Self::secs(self.config.allowed_lateness_seconds),
        )
    }

    fn deadline(&self, user: &UserId) -> DateTime<Utc> {
        self.first_session_end(&self.buffers[user]).1
    }

    fn close_due(&mut self) {
        let Some(wm) = self.watermark() else { return };
        while let Some(Reverse((deadline, _))) = self.deadlines.peek() {
            if *deadline >= wm {
                break;
            }
            let Reverse((_, user)) = self.deadlines.pop().expect("peeked");
            self.close_user(&user, Some(wm));
        }
        self.close_windows(Some(wm));
    }

    /// Emits the user's sessions that can no longer change (all of them when `wm` is None).
    fn close_user(&mut self, user: &UserId, wm: Option<DateTime<Utc>>) {
        loop {
            let Some(events) = self.buffers.get(user) else {
                return;
            };
            let (k, closes_at) = self.first_session_end(events);
            if wm.is_some_and(|wm| closes_at >= wm) {
                self.deadlines.push(Reverse((closes_at, user.clone())));
                return;
            }
            let events = self.buffers.get_mut(user).expect("present");
            let session: Vec<EventRecord> = events.drain(..=k).collect();
            if events.is_empty() {
                self.buffers.remove(user);
            }
            self.counts.buffered -= session.len() as u64;
            self.counts.sessionised += session.len() as u64;
            self.emit_session(session);
        }
    }

    /// Emits the windows no open or future session can still change: every session that
    /// started in them has closed, and no event old enough to start one is still accepted.
    fn close_windows(&mut self, wm: Option<DateTime<Utc>>) {
        let w = Self::secs(self.config.window_seconds);
        let settle =
            Self::secs(self.config.session_gap_seconds + self.config.allowed_lateness_seconds);
        let after = self
            .emitted_windows
            .map_or(DateTime::<Utc>::MIN_UTC, |t| t + Duration::nanoseconds(1));
        let candidates: Vec<DateTime<Utc>> = self
            .dashboard
            .windows
            .range(after..)
            .map(|(start, _)| *start)
            .take_while(|start| wm.is_none_or(|wm| *start + w + settle < wm))
            .collect();
        if candidates.is_empty() {
            return;
        }
        // Computed only when a window is due: the earliest start of a session still open.
        let oldest_open = self
            .buffers
            .values()
            .filter_map(|b| b.first())
            .map(|e| e.timestamp)
            .min();
        for start in candidates {
            if oldest_open.is_some_and(|open| open < start + w) {
                break;
            }
            let doc = self.dashboard.windows[&start].document(start, start + w);
            self.out.windows.push(doc);
            self.emitted_windows = Some(start);
        }
    }

    fn emit_session(&mut self, events: Vec<EventRecord>) {
        let first = &events[0];
        let last = events.last().expect("non-empty");
        let start = first.timestamp;
        let duration =
            (last.timestamp - start).num_milliseconds() as f64 / 1000.0 + last.dwell_seconds;
        // Usually one order; a user's two sessions less than a gap apart merge, orders and all.
        let orders: Vec<_> = events
            .iter()
            .filter_map(|e| e.order.as_ref().map(|o| (o, e.timestamp)))
            .collect();
        let order = orders.last().copied();
        let purchased = order.is_some();
        let has = |a: Action| events.iter().any(|e| e.action == a);
        let page_views = events.len() as u32;
        let name = |id: ProductId| {
            self.catalogue
                .get(id)
                .map_or_else(|| format!("#{id}"), |p| p.name.clone())
        };
        let (hour_of_day, day_of_week, is_weekend, month, week_of_year, part_of_day) =
            documents::time_fields(start);
        let summary = SessionSummary {
            session_id: first.session_id.0.clone(),
            user_id: first.user.id.0.clone(),
            timestamp: start,
            session_duration: duration,
            page_views,
            clicks: events.iter().map(|e| u64::from(e.clicks)).sum(),
            referrer: first.referrer.to_string(),
            device_type: first.device.device_type.to_string(),
            state: first.location.state.clone(),
            exit_page: events.iter().rev().find_map(|e| e.product_id).map(name),
            action: events
                .iter()
                .map(|e| e.action)
                .max_by_key(|a| a.funnel_rank())
                .unwrap_or(Action::ViewItem),
            purchase_made: purchased,
            amount_spent: orders.iter().map(|(o, _)| o.amount).sum(),
            payment_method_type: order.map_or(PaymentMethod::None, |(o, _)| o.payment),
            engaged: duration > 10.0 || purchased || page_views >= 2,
            hour_of_day,
            day_of_week,
            is_weekend,
            month,
            week_of_year,
            part_of_day,
        };

        // Per-product documents and counters.
        let reviews: Vec<_> = events.iter().flat_map(|e| e.reviews.iter()).collect();
        let mut products: Vec<ProductId> = Vec::new();
        for e in &events {
            if let Some(p) = e.product_id
                && !products.contains(&p)
            {
                products.push(p);
            }
            match (e.action, e.product_id) {
                (Action::ViewItem, Some(p)) => self.dashboard.products.views.add(p, 1),
                (Action::AddToCart, Some(p)) => self.dashboard.products.cart_adds.add(p, 1),
                _ => {}
            }
        }
        let mut potential = Vec::new();
        for &p in &products {
            let seconds: f64 = events
                .iter()
                .filter(|e| e.product_id == Some(p))
                .map(|e| e.dwell_seconds)
                .sum();
            let bought = orders.iter().any(|(o, _)| o.products.contains(&p));
            let carted = events
                .iter()
                .any(|e| e.action == Action::AddToCart && e.product_id == Some(p));
            let product = self.catalogue.get(p);
            let detail = ProductDetail {
                session_id: summary.session_id.clone(),
                user_id: summary.user_id.clone(),
                timestamp: start,
                product_id: p.0,
                product_name: name(p),
                product_price: product.map_or(0.0, |x| x.price),
                product_category: product.map_or_else(String::new, |x| x.category.to_string()),
                product_review: reviews
                    .iter()
                    .find(|r| r.product == p)
                    .map(|r| r.text.clone()),
                time_spent_on_page: seconds,
                action: if bought {
                    Action::Checkout
                } else if carted {
                    Action::AddToCart
                } else {
                    Action::ViewItem
                },
                purchase_made: purchased,
            };
            if let Some(text) = &detail.product_review {
                let scores = self.vader.polarity_scores(text);
                self.dashboard
                    .add_sentiment(&detail.product_category, scores.label());
                self.out.sentiments.push(ProductSentiment {
                    detail: detail.clone(),
                    compound: scores.compound,
                    sentiment: scores.label(),
                });
            }
            if !purchased && seconds >= self.config.potential_customer_seconds {
                potential.push(PotentialCustomer {
                    seconds_ms: (seconds * 1000.0).round() as u64,
                    user_id: summary.user_id.clone(),
                    product: detail.product_name.clone(),
                });
            }
            self.out.products.push(detail);
        }
        self.dashboard.add_potential(potential);

        // Funnel, payments, windows.
        let d = &mut self.dashboard;
        d.funnel.sessions += 1;
        d.funnel.viewed += u64::from(has(Action::ViewItem));
        d.funnel.carted += u64::from(has(Action::AddToCart));
        d.funnel.checkout += u64::from(has(Action::Checkout));
        d.funnel.purchased += u64::from(purchased);
        d.abandoned_carts += u64::from(has(Action::AddToCart) && !purchased);
        d.add_session(&summary, orders.iter().map(|(o, _)| o.payment));
        let window = self.window_start(start);
        let w = self.dashboard.windows.entry(window).or_default();
        w.sessions += 1;
        w.duration_ms += (duration * 1000.0).round() as u64;
        w.engaged += u64::from(summary.engaged);
        w.page_views += u64::from(page_views);
        for &(o, at) in &orders {
            for &p in &o.products {
                let price = self.catalogue.get(p).map_or(0.0, |x| x.price);
                self.dashboard.products.purchases.add(p, 1);
                self.dashboard
                    .products
                    .revenue_cents
                    .add(p, cents(price).max(0) as u64);
            }
            let ow = self.window_start(at);
            let w = self.dashboard.windows.entry(ow).or_default();
            w.purchases += 1;
            w.revenue_cents += cents(o.amount);
        }
        self.out.sessions.push(summary);
    }
}

/// Every document of a generator's traffic, sent as JSON through a default security gate into
/// default analytics (flushed): the embedded pipeline's output in one call, for demos and
/// tests.
pub fn documents_of(generator: &crate::synth::Generator) -> Result<Documents> {
    let mut gate = crate::gate::Gate::new(crate::gate::GateConfig::default())?;
    let mut analytics = StreamAnalytics::new(
        AnalyticsConfig::default(),
        generator.config().catalogue.clone(),
    )?;
    for e in generator.events() {
        if let crate::gate::Outcome::Valid(event) = gate.process(&serde_json::to_vec(&e.record)?) {
            analytics.ingest(event);
        }
    }
    analytics.flush();
    Ok(analytics.drain())
}
