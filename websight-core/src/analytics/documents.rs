//! The output documents: the original Elasticsearch indexes, for real traffic.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};

use super::catalogue::ProductCatalogue;
use super::visit::{Step, Visit};
use crate::event::CompactString;
use crate::hash::{FastMap, FastSet};
use crate::model::{PartOfDay, Sentiment, WEEKDAY_NAMES};

/// A closed visit (`session_summary` index).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    /// The visit's id.
    pub session_id: CompactString,
    /// The person (a keyed pseudonym).
    pub visitor: CompactString,
    /// First event time.
    #[serde(serialize_with = "crate::event::rfc3339::serialize")]
    pub timestamp: DateTime<Utc>,
    /// Seconds from the first to the last event.
    pub session_duration: f64,
    /// Page and screen views.
    pub page_views: u32,
    /// Events of any type.
    pub events: u32,
    /// Traffic source (`google`, `newsletter`, `(direct)`).
    pub source: CompactString,
    /// Medium (`organic`, `cpc`, `email`, `(none)`).
    pub medium: CompactString,
    /// Campaign name, `(not set)` without one.
    pub campaign: CompactString,
    /// GA4 default channel group (`Organic Search`, `Email`, …).
    pub channel: CompactString,
    /// Device type: desktop, mobile, tablet or unknown.
    pub device_type: CompactString,
    /// Operating system family.
    pub os: CompactString,
    /// Browser family.
    pub browser: CompactString,
    /// Path of the first page.
    pub landing_page: Option<CompactString>,
    /// Path of the last page.
    pub exit_page: Option<CompactString>,
    /// Furthest funnel step: browse, view, cart, checkout or purchase.
    pub step: Step,
    /// Whether an order was completed.
    pub purchase_made: bool,
    /// Orders completed.
    pub orders: u32,
    /// Their value (in `currency`; orders in other currencies are in the dashboard).
    pub amount_spent: f64,
    /// Currency of `amount_spent`.
    pub currency: Option<CompactString>,
    /// Payment method of the last order (or of the payment details entered).
    pub payment_method: Option<CompactString>,
    /// GA4 engagement: longer than 10 s, a conversion, or at least 2 page views.
    pub engaged: bool,
    /// Hour of the first event, 0–23 (UTC).
    pub hour_of_day: u32,
    /// Weekday name, e.g. "Monday".
    pub day_of_week: CompactString,
    /// Saturday or Sunday.
    pub is_weekend: bool,
    /// Month, 1–12.
    pub month: u32,
    /// ISO week number.
    pub week_of_year: u32,
    /// Morning / Afternoon / Evening / Night.
    pub part_of_day: PartOfDay,
}

/// One product seen in a visit (`product_details` index).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductDetail {
    /// Visit id.
    pub session_id: CompactString,
    /// Person.
    pub visitor: CompactString,
    /// Visit start.
    #[serde(serialize_with = "crate::event::rfc3339::serialize")]
    pub timestamp: DateTime<Utc>,
    /// Product id (or SKU, or name).
    pub product_id: CompactString,
    /// Product name (from the events, else the catalogue).
    pub product_name: CompactString,
    /// Unit price, when known.
    pub product_price: Option<f64>,
    /// Category, when known.
    pub product_category: Option<CompactString>,
    /// The review written for it in this visit, if any.
    pub product_review: Option<CompactString>,
    /// Seconds of attention (product events to the next event).
    pub time_spent_on_page: f64,
    /// Furthest step with this product: view, cart or purchase.
    pub step: Step,
    /// Whether the visit ordered.
    pub purchase_made: bool,
}

/// A reviewed product with its VADER sentiment (`product_sentiment` index).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductSentiment {
    /// The product detail.
    #[serde(flatten)]
    pub detail: ProductDetail,
    /// The review's rating, when sent.
    pub rating: Option<f64>,
    /// VADER compound score.
    pub compound: f64,
    /// Label with the original cut-offs.
    pub sentiment: Sentiment,
}

/// KPIs of one tumbling window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiWindow {
    /// Window start (inclusive).
    #[serde(serialize_with = "crate::event::rfc3339::serialize")]
    pub window_start: DateTime<Utc>,
    /// Window end (exclusive).
    #[serde(serialize_with = "crate::event::rfc3339::serialize")]
    pub window_end: DateTime<Utc>,
    /// Visits that started in the window.
    pub sessions: u64,
    /// Orders completed in the window.
    pub purchases: u64,
    /// Their value in the dashboard's currency.
    pub revenue: f64,
    /// Mean duration of the window's visits, seconds.
    pub avg_session_duration: f64,
    /// Distinct visitors active in the last 5 minutes of the window: persons as identity
    /// stitching knows them when the window closes (a visitor who logged in there, seen
    /// under both ids, is one).
    pub current_visitors: u64,
    /// GA4 bounce rate: share of visits not engaged.
    pub bounce_rate: f64,
    /// Engaged visits.
    pub engaged_sessions: u64,
    /// Page views of the window's visits.
    pub page_views: u64,
}

/// (hour_of_day, day_of_week, is_weekend, month, ISO week_of_year, part_of_day) of `t`.
pub(crate) fn time_fields(t: DateTime<Utc>) -> (u32, &'static str, bool, u32, u32, PartOfDay) {
    let day = t.weekday().num_days_from_monday() as usize;
    (
        t.hour(),
        WEEKDAY_NAMES[day],
        day >= 5,
        t.month(),
        t.iso_week().week(),
        PartOfDay::from_hour(t.hour()),
    )
}

impl SessionSummary {
    /// The summary of a closed visit.
    pub fn of(visit: &Visit) -> SessionSummary {
        let start = visit.started_at();
        let orders = visit.orders();
        let currency = orders.first().map(|o| o.currency);
        let amount = orders
            .iter()
            .filter(|o| Some(o.currency) == currency)
            .map(|o| o.value)
            .sum::<crate::event::Money>();
        let (hour_of_day, day_of_week, is_weekend, month, week_of_year, part_of_day) =
            time_fields(start);
        let a = &visit.acquisition;
        SessionSummary {
            session_id: visit.id.clone(),
            visitor: visit.person.clone(),
            timestamp: start,
            session_duration: visit.duration_seconds(),
            page_views: visit.page_views() as u32,
            events: visit.events.len() as u32,
            source: a.source.clone(),
            medium: a.medium.clone(),
            campaign: a.campaign.clone(),
            channel: a.channel.as_str().into(),
            device_type: visit.agent.device_type.as_str().into(),
            os: visit.agent.os.clone(),
            browser: visit.agent.browser.clone(),
            landing_page: visit.landing_page().map(CompactString::from),
            exit_page: visit.exit_page().map(CompactString::from),
            step: visit.step(),
            purchase_made: !orders.is_empty(),
            orders: orders.len() as u32,
            amount_spent: amount.to_f64(),
            currency: currency.map(CompactString::from),
            payment_method: visit.payment_method().map(CompactString::from),
            engaged: visit.engaged(),
            hour_of_day,
            day_of_week: day_of_week.into(),
            is_weekend,
            month,
            week_of_year,
            part_of_day,
        }
    }

    /// Deterministic document id: the visit id (rewriting a visit replaces it).
    pub fn document_id(&self) -> String {
        self.session_id.to_string()
    }
}

impl ProductDetail {
    /// One detail per product the visit viewed, added or bought, in first-seen order.
    pub fn of(visit: &Visit, catalogue: &ProductCatalogue) -> Vec<ProductDetail> {
        // Sets and maps, not scans: a visit may hold thousands of products.
        let orders = visit.orders();
        let carted: Vec<&str> = visit.cart_adds().iter().filter_map(|i| i.key()).collect();
        let bought: Vec<&str> = orders
            .iter()
            .flat_map(|o| o.products.iter().filter_map(|i| i.key()))
            .collect();
        let (carted_set, bought_set): (FastSet<&str>, FastSet<&str>) = (
            carted.iter().copied().collect(),
            bought.iter().copied().collect(),
        );
        // The first review of each product.
        let mut reviews: FastMap<&str, &str> = FastMap::default();
        for (item, body, _) in visit.reviews() {
            if let Some(key) = item.key() {
                reviews.entry(key).or_insert(body);
            }
        }
        let mut out = Vec::new();
        let mut keys = visit.dwell_by_product();
        let mut listed: FastSet<&str> = keys.iter().map(|(k, _)| *k).collect();
        let unlisted = carted
            .iter()
            .chain(&bought)
            .filter(|key| listed.insert(key));
        keys.extend(unlisted.map(|key| (*key, 0.0)));
        for (key, seconds) in keys {
            let info = catalogue.get(key);
            let step = if bought_set.contains(key) {
                Step::Purchase
            } else if carted_set.contains(key) {
                Step::Cart
            } else {
                Step::View
            };
            out.push(ProductDetail {
                session_id: visit.id.clone(),
                visitor: visit.person.clone(),
                timestamp: visit.started_at(),
                product_name: info.and_then(|i| i.name.as_deref()).unwrap_or(key).into(),
                product_price: info.and_then(|i| i.price).map(|p| p.to_f64()),
                product_category: info
                    .and_then(|i| i.category.as_deref())
                    .map(CompactString::from),
                product_review: reviews.get(key).map(|body| CompactString::from(*body)),
                product_id: key.into(),
                time_spent_on_page: seconds,
                step,
                purchase_made: !orders.is_empty(),
            });
        }
        out
    }

    /// Deterministic document id: visit and product (one document per pair).
    pub fn document_id(&self) -> String {
        format!(
            "{}:{:016x}",
            self.session_id,
            crate::hash::hash64(self.product_id.as_bytes())
        )
    }
}

impl ProductSentiment {
    /// Deterministic document id: that of its product detail.
    pub fn document_id(&self) -> String {
        self.detail.document_id()
    }
}

impl KpiWindow {
    /// Deterministic document id: the window's start in milliseconds since the epoch.
    pub fn document_id(&self) -> String {
        self.window_start.timestamp_millis().to_string()
    }
}
