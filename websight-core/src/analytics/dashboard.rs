//! Mergeable dashboard aggregates: what the live dashboards show.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::documents::{KpiWindow, SessionSummary};
use super::topk::TopCounter;
use crate::model::{PaymentMethod, ProductId, Sentiment};

/// Money in cents, so sums are exact and merge in any order.
pub(crate) fn cents(amount: f64) -> i64 {
    (amount * 100.0).round() as i64
}

/// Per-product counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductCounters {
    /// Product page views.
    pub views: TopCounter<ProductId>,
    /// Cart adds.
    pub cart_adds: TopCounter<ProductId>,
    /// Units bought.
    pub purchases: TopCounter<ProductId>,
    /// Revenue in cents.
    pub revenue_cents: TopCounter<ProductId>,
}

/// The view → cart → checkout → purchase funnel, in sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Funnel {
    /// Closed sessions.
    pub sessions: u64,
    /// …with a product view.
    pub viewed: u64,
    /// …with a cart add.
    pub carted: u64,
    /// …that opened the checkout page.
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

/// A visitor who spent long on a product without buying.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PotentialCustomer {
    /// Seconds on the product's pages in one session.
    pub seconds_ms: u64,
    /// User id.
    pub user_id: String,
    /// Product name.
    pub product: String,
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
        self.revenue_cents += o.revenue_cents;
        self.duration_ms += o.duration_ms;
        self.engaged += o.engaged;
        self.page_views += o.page_views;
        self.recent_users.extend(o.recent_users.iter().cloned());
    }

    pub fn document(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> KpiWindow {
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
            current_visitors: self.recent_users.len() as u64,
            bounce_rate: per_session((self.sessions - self.engaged) as f64),
            engaged_sessions: self.engaged,
            page_views: self.page_views,
        }
    }
}

/// Everything the live dashboards show; mergeable across partitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Per-product counters (exact for small catalogues).
    pub products: ProductCounters,
    /// Funnel.
    pub funnel: Funnel,
    /// Orders per payment method (abandoned carts are [`Dashboard::abandoned_carts`]).
    pub payments: BTreeMap<PaymentMethod, u64>,
    /// Sessions that filled a cart and did not order.
    pub abandoned_carts: u64,
    /// Review sentiment per product category.
    pub sentiment: BTreeMap<String, SentimentCounts>,
    /// Longest unconverted product attention, longest first.
    pub potential_customers: Vec<PotentialCustomer>,
    /// Total revenue in cents.
    pub revenue_cents: i64,
    /// Sum of closed sessions' durations, milliseconds.
    pub duration_ms: u64,
    /// Engaged sessions.
    pub engaged: u64,
    pub(crate) windows: BTreeMap<DateTime<Utc>, WindowState>,
    potential_limit: usize,
}

impl Dashboard {
    pub(crate) fn new(product_capacity: usize, potential_limit: usize) -> Self {
        Dashboard {
            products: ProductCounters {
                views: TopCounter::new(product_capacity),
                cart_adds: TopCounter::new(product_capacity),
                purchases: TopCounter::new(product_capacity),
                revenue_cents: TopCounter::new(product_capacity),
            },
            funnel: Funnel::default(),
            payments: BTreeMap::new(),
            abandoned_carts: 0,
            sentiment: BTreeMap::new(),
            potential_customers: Vec::new(),
            revenue_cents: 0,
            duration_ms: 0,
            engaged: 0,
            windows: BTreeMap::new(),
            potential_limit,
        }
    }

    pub(crate) fn add_sentiment(&mut self, category: &str, label: Sentiment) {
        let c = self.sentiment.entry(category.to_owned()).or_default();
        match label {
            Sentiment::Positive => c.positive += 1,
            Sentiment::Neutral => c.neutral += 1,
            Sentiment::Negative => c.negative += 1,
        }
    }

    pub(crate) fn add_potential(
        &mut self,
        candidates: impl IntoIterator<Item = PotentialCustomer>,
    ) {
        self.potential_customers.extend(candidates);
        self.potential_customers.sort_by(|a, b| b.cmp(a));
        self.potential_customers.truncate(self.potential_limit);
    }

    pub(crate) fn add_session(
        &mut self,
        s: &SessionSummary,
        payments: impl Iterator<Item = PaymentMethod>,
    ) {
        self.duration_ms += (s.session_duration * 1000.0).round() as u64;
        self.engaged += u64::from(s.engaged);
        for payment in payments {
            *self.payments.entry(payment).or_default() += 1;
        }
        self.revenue_cents += cents(s.amount_spent);
    }

    /// Average session duration over closed sessions, seconds.
    pub fn average_session_seconds(&self) -> f64 {
        if self.funnel.sessions == 0 {
            0.0
        } else {
            self.duration_ms as f64 / 1000.0 / self.funnel.sessions as f64
        }
    }

    /// Total revenue.
    pub fn revenue(&self) -> f64 {
        self.revenue_cents as f64 / 100.0
    }

    /// GA4 bounce rate over closed sessions.
    pub fn bounce_rate(&self) -> f64 {
        if self.funnel.sessions == 0 {
            0.0
        } else {
            1.0 - self.engaged as f64 / self.funnel.sessions as f64
        }
    }

    /// Makes this the dashboard of both inputs (e.g. two partitions of users).
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
        for (k, v) in &o.payments {
            *self.payments.entry(*k).or_default() += v;
        }
        self.abandoned_carts += o.abandoned_carts;
        for (k, v) in &o.sentiment {
            let c = self.sentiment.entry(k.clone()).or_default();
            c.positive += v.positive;
            c.neutral += v.neutral;
            c.negative += v.negative;
        }
        self.add_potential(o.potential_customers.iter().cloned());
        self.revenue_cents += o.revenue_cents;
        self.duration_ms += o.duration_ms;
        self.engaged += o.engaged;
        for (start, w) in &o.windows {
            self.windows.entry(*start).or_default().merge(w);
        }
    }
}
