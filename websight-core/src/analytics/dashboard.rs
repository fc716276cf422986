//! Mergeable dashboard aggregates: what the live dashboards show.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::documents::{KpiWindow, SessionSummary};
use super::labels;
use super::topk::TopCounter;
use super::visit::Visit;
use crate::event::{CompactString, Money};
use crate::model::Sentiment;

/// Per-product counters, by product key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductCounters {
    /// `Product Viewed` events.
    pub views: TopCounter<String>,
    /// Units added to carts.
    pub cart_adds: TopCounter<String>,
    /// Units bought.
    pub purchases: TopCounter<String>,
    /// Revenue in cents of the dashboard's currency (price × quantity).
    pub revenue_cents: TopCounter<String>,
}

/// The view → cart → checkout → purchase funnel, in visits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Funnel {
    /// Closed visits.
    pub sessions: u64,
    /// …with a product view.
    pub viewed: u64,
    /// …with a cart add.
    pub carted: u64,
    /// …that opened the checkout.
    pub checkout: u64,
    /// …that ordered.
    pub purchased: u64,
}

impl Funnel {
    /// Conversion rates view→cart, cart→checkout, checkout→purchase (0 for empty steps).
    pub fn rates(&self) -> (f64, f64, f64) {
        let r = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        (
            r(self.carted, self.viewed),
            r(self.checkout, self.carted),
            r(self.purchased, self.checkout),
        )
    }
}

/// Sentiment counts of one category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentimentCounts {
    /// Positive reviews.
    pub positive: u64,
    /// Neutral reviews.
    pub neutral: u64,
    /// Negative reviews.
    pub negative: u64,
}

impl SentimentCounts {
    fn add(&mut self, o: SentimentCounts) {
        self.positive += o.positive;
        self.neutral += o.neutral;
        self.negative += o.negative;
    }
}

/// A visitor who spent long on a product without buying.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PotentialCustomer {
    /// Milliseconds on the product in one visit.
    pub seconds_ms: u64,
    /// The person (pseudonym).
    pub visitor: CompactString,
    /// Product name.
    pub product: CompactString,
}

/// Window state before it closes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct WindowState {
    pub sessions: u64,
    pub purchases: u64,
    pub revenue_cents: i64,
    pub duration_ms: u64,
    pub engaged: u64,
    pub page_views: u64,
    pub recent_users: BTreeSet<String>,
}

impl WindowState {
    pub fn merge(&mut self, o: &WindowState) {
        self.sessions += o.sessions;
        self.purchases += o.purchases;
        self.revenue_cents = self.revenue_cents.saturating_add(o.revenue_cents);
        self.duration_ms += o.duration_ms;
        self.engaged += o.engaged;
        self.page_views += o.page_views;
        self.recent_users.extend(o.recent_users.iter().cloned());
    }

    /// The window's document; `person` names the person of each recent id (identity
    /// stitching, when the window closes).
    pub fn document<'a>(
        &'a self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        person: impl Fn(&'a str) -> &'a str,
    ) -> KpiWindow {
        let visitors: BTreeSet<&str> = self.recent_users.iter().map(|id| person(id)).collect();
        let per_session = |x: f64| {
            if self.sessions == 0 {
                0.0
            } else {
                x / self.sessions as f64
            }
        };
        KpiWindow {
            window_start: start,
            window_end: end,
            sessions: self.sessions,
            purchases: self.purchases,
            revenue: self.revenue_cents as f64 / 100.0,
            avg_session_duration: per_session(self.duration_ms as f64 / 1000.0),
            current_visitors: visitors.len() as u64,
            bounce_rate: per_session(self.sessions.saturating_sub(self.engaged) as f64),
            engaged_sessions: self.engaged,
            page_views: self.page_views,
        }
    }
}

/// Everything the live dashboards show; mergeable across partitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// The currency of product revenue and windows (orders in others count in
    /// [`Dashboard::revenue`] only).
    pub currency: String,
    /// Per-product counters (exact up to the configured capacity).
    pub products: ProductCounters,
    /// Funnel.
    pub funnel: Funnel,
    /// Orders per payment method (`unknown` when not sent; [bounded](super::labels)).
    pub payments: BTreeMap<String, u64>,
    /// Visits that filled a cart and did not order.
    pub abandoned_carts: u64,
    /// Review sentiment per product category ([bounded](super::labels)).
    pub sentiment: BTreeMap<String, SentimentCounts>,
    /// Longest unconverted product attention, longest first.
    pub potential_customers: Vec<PotentialCustomer>,
    /// Completed orders.
    pub orders: u64,
    /// Revenue per currency, exact ([bounded](super::labels): past a thousand currencies
    /// the rest are summed under `(other)`).
    pub revenue: BTreeMap<String, Money>,
    /// Visits per GA4 channel.
    pub channels: BTreeMap<String, u64>,
    /// Visits per source.
    pub sources: TopCounter<String>,
    /// Visits per campaign (`(not set)` excluded).
    pub campaigns: TopCounter<String>,
    /// Page views per path.
    pub pages: TopCounter<String>,
    /// Visits per device type.
    pub devices: BTreeMap<String, u64>,
    /// Sum of closed visits' durations, milliseconds.
    pub duration_ms: u64,
    /// Engaged visits.
    pub engaged: u64,
    pub(crate) windows: BTreeMap<DateTime<Utc>, WindowState>,
    potential_limit: usize,
}

impl Dashboard {
    pub(crate) fn new(currency: &str, capacity: usize, potential_limit: usize) -> Self {
        Dashboard {
            currency: currency.to_owned(),
            products: ProductCounters {
                views: TopCounter::new(capacity),
                cart_adds: TopCounter::new(capacity),
                purchases: TopCounter::new(capacity),
                revenue_cents: TopCounter::new(capacity),
            },
            funnel: Funnel::default(),
            payments: BTreeMap::new(),
            abandoned_carts: 0,
            sentiment: BTreeMap::new(),
            potential_customers: Vec::new(),
            orders: 0,
            revenue: BTreeMap::new(),
            channels: BTreeMap::new(),
            sources: TopCounter::new(capacity),
            campaigns: TopCounter::new(capacity),
            pages: TopCounter::new(capacity),
            devices: BTreeMap::new(),
            duration_ms: 0,
            engaged: 0,
            windows: BTreeMap::new(),
            potential_limit,
        }
    }

    pub(crate) fn add_sentiment(&mut self, category: &str, label: Sentiment) {
        let mut one = SentimentCounts::default();
        match label {
            Sentiment::Positive => one.positive = 1,
            Sentiment::Neutral => one.neutral = 1,
            Sentiment::Negative => one.negative = 1,
        }
        labels::tally(&mut self.sentiment, category, one, SentimentCounts::add);
    }

    pub(crate) fn add_potential(
        &mut self,
        candidates: impl IntoIterator<Item = PotentialCustomer>,
    ) {
        self.potential_customers.extend(candidates);
        self.potential_customers.sort_by(|a, b| b.cmp(a));
        self.potential_customers.truncate(self.potential_limit);
    }

    /// Counts a closed visit (everything but sentiment and potential customers, which need
    /// the product details).
    pub(crate) fn add_visit(&mut self, visit: &Visit, summary: &SessionSummary) {
        let f = &mut self.funnel;
        f.sessions += 1;
        f.viewed += u64::from(summary.step >= super::Step::View);
        f.carted += u64::from(!visit.cart_adds().is_empty());
        f.checkout += u64::from(visit.checkout_started());
        f.purchased += u64::from(summary.purchase_made);
        self.abandoned_carts += u64::from(!visit.cart_adds().is_empty() && !summary.purchase_made);
        self.duration_ms += (summary.session_duration * 1000.0).round() as u64;
        self.engaged += u64::from(summary.engaged);
        // Closed sets, so never capped: a label copied only the first time it is seen.
        labels::tally(&mut self.channels, &summary.channel, 1, labels::count);
        labels::tally(&mut self.devices, &summary.device_type, 1, labels::count);
        self.sources.add_ref(summary.source.as_str(), 1);
        if summary.campaign != "(not set)" {
            self.campaigns.add_ref(summary.campaign.as_str(), 1);
        }
        for e in &visit.events {
            if e.kind.is_view()
                && let Some(path) = &e.page.path
            {
                self.pages.add_ref(path.as_str(), 1);
            }
        }
        for item in visit.product_views() {
            if let Some(key) = item.key() {
                self.products.views.add_ref(key, 1);
            }
        }
        for item in visit.cart_adds() {
            if let Some(key) = item.key() {
                self.products
                    .cart_adds
                    .add_ref(key, u64::from(item.units()));
            }
        }
        for order in visit.orders() {
            self.orders += 1;
            let method = order.payment_method.unwrap_or("unknown");
            labels::tally(&mut self.payments, method, 1, labels::count);
            labels::tally(
                &mut self.revenue,
                order.currency,
                order.value,
                labels::money,
            );
            if order.currency != self.currency {
                continue;
            }
            for item in order.products {
                let Some(key) = item.key() else { continue };
                self.products
                    .purchases
                    .add_ref(key, u64::from(item.units()));
                let value = item
                    .price
                    .and_then(|p| p.checked_mul(i64::from(item.units())))
                    .map_or(0, |m| m.cents().max(0) as u64);
                self.products.revenue_cents.add_ref(key, value);
            }
        }
    }

    /// Completed orders' revenue in the dashboard's currency.
    pub fn revenue_in_currency(&self) -> Money {
        self.revenue
            .get(&self.currency)
            .copied()
            .unwrap_or_default()
    }

    /// Average visit duration over closed visits, seconds.
    pub fn average_session_seconds(&self) -> f64 {
        if self.funnel.sessions == 0 {
            0.0
        } else {
            self.duration_ms as f64 / 1000.0 / self.funnel.sessions as f64
        }
    }

    /// GA4 bounce rate over closed visits.
    pub fn bounce_rate(&self) -> f64 {
        if self.funnel.sessions == 0 {
            0.0
        } else {
            1.0 - self.engaged as f64 / self.funnel.sessions as f64
        }
    }

    /// Makes this the dashboard of both inputs (e.g. two partitions of persons).
    pub fn merge(&mut self, o: &Dashboard) {
        self.products.views.merge(&o.products.views);
        self.products.cart_adds.merge(&o.products.cart_adds);
        self.products.purchases.merge(&o.products.purchases);
        self.products.revenue_cents.merge(&o.products.revenue_cents);
        let f = &o.funnel;
        self.funnel.sessions += f.sessions;
        self.funnel.viewed += f.viewed;
        self.funnel.carted += f.carted;
        self.funnel.checkout += f.checkout;
        self.funnel.purchased += f.purchased;
        labels::merge(&mut self.payments, &o.payments, labels::count);
        self.abandoned_carts += o.abandoned_carts;
        labels::merge(&mut self.sentiment, &o.sentiment, SentimentCounts::add);
        self.add_potential(o.potential_customers.iter().cloned());
        self.orders += o.orders;
        labels::merge(&mut self.revenue, &o.revenue, labels::money);
        for (k, v) in &o.channels {
            *self.channels.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.devices {
            *self.devices.entry(k.clone()).or_default() += v;
        }
        self.sources.merge(&o.sources);
        self.campaigns.merge(&o.campaigns);
        self.pages.merge(&o.pages);
        self.duration_ms += o.duration_ms;
        self.engaged += o.engaged;
        for (start, w) in &o.windows {
            self.windows.entry(*start).or_default().merge(w);
        }
    }
}
