//! The output documents, shaped like the original Elasticsearch indexes.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Action, PartOfDay, PaymentMethod, Sentiment, WEEKDAY_NAMES};

/// A closed session (`session_summary` index).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    /// The session id of its first event.
    pub session_id: String,
    /// User id.
    pub user_id: String,
    /// First event time.
    pub timestamp: DateTime<Utc>,
    /// Seconds from the first page to leaving the last.
    pub session_duration: f64,
    /// Pages opened.
    pub page_views: u32,
    /// Clicks.
    pub clicks: u64,
    /// Referrer.
    pub referrer: String,
    /// Device type.
    pub device_type: String,
    /// State.
    pub state: String,
    /// Name of the last product page, if any.
    pub exit_page: Option<String>,
    /// Furthest funnel action.
    pub action: Action,
    /// Whether an order was placed.
    pub purchase_made: bool,
    /// Order total.
    pub amount_spent: f64,
    /// Payment method (`None` without an order).
    pub payment_method_type: PaymentMethod,
    /// GA4 engagement: longer than 10 s, a conversion, or at least 2 page views.
    pub engaged: bool,
    /// Hour of the first event, 0–23.
    pub hour_of_day: u32,
    /// Weekday name, e.g. "Monday".
    pub day_of_week: String,
    /// Saturday or Sunday.
    pub is_weekend: bool,
    /// Month, 1–12.
    pub month: u32,
    /// ISO week number.
    pub week_of_year: u32,
    /// Morning / Afternoon / Evening / Night.
    pub part_of_day: PartOfDay,
}

/// (hour_of_day, day_of_week, is_weekend, month, ISO week_of_year, part_of_day) of `t`.
pub(crate) fn time_fields(t: DateTime<Utc>) -> (u32, String, bool, u32, u32, PartOfDay) {
    let day = t.weekday().num_days_from_monday() as usize;
    (
        t.hour(),
        WEEKDAY_NAMES[day].to_owned(),
        day >= 5,
        t.month(),
        t.iso_week().week(),
        PartOfDay::from_hour(t.hour()),
    )
}

/// One product viewed in a session (`product_details` index).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductDetail {
    /// Session id.
    pub session_id: String,
    /// User id.
    pub user_id: String,
    /// Session start.
    pub timestamp: DateTime<Utc>,
    /// Product id.
    pub product_id: u32,
    /// Product name.
    pub product_name: String,
    /// Unit price.
    pub product_price: f64,
    /// Category.
    pub product_category: String,
    /// The review written for it in this session, if any.
    pub product_review: Option<String>,
    /// Seconds on its pages.
    pub time_spent_on_page: f64,
    /// Furthest action on this product (view, cart, or checkout when bought).
    pub action: Action,
    /// Whether the session ordered.
    pub purchase_made: bool,
}

/// A reviewed product with its VADER sentiment (`product_sentiment` index).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductSentiment {
    /// The product detail.
    #[serde(flatten)]
    pub detail: ProductDetail,
    /// VADER compound score.
    pub compound: f64,
    /// Label with the original cut-offs.
    pub sentiment: Sentiment,
}

/// KPIs of one tumbling window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiWindow {
    /// Window start (inclusive).
    pub window_start: DateTime<Utc>,
    /// Window end (exclusive).
    pub window_end: DateTime<Utc>,
    /// Sessions that started in the window.
    pub sessions: u64,
    /// Orders placed in the window.
    pub purchases: u64,
    /// Their revenue.
    pub revenue: f64,
    /// Mean duration of the window's sessions, seconds.
    pub avg_session_duration: f64,
    /// Distinct users active in the last 5 minutes of the window.
    pub current_visitors: u64,
    /// GA4 bounce rate: share of sessions not engaged.
    pub bounce_rate: f64,
    /// Engaged sessions.
    pub engaged_sessions: u64,
    /// Page views of the window's sessions.
    pub page_views: u64,
}

impl SessionSummary {
    /// Deterministic document id: the session id (rewriting a session replaces it).
    pub fn document_id(&self) -> String {
        self.session_id.clone()
    }
}

impl ProductDetail {
    /// Deterministic document id: session and product (one document per pair).
    pub fn document_id(&self) -> String {
        format!("{}:{}", self.session_id, self.product_id)
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
