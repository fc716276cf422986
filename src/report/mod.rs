//! The shop manager's report: one self-contained HTML page (inline SVG charts, no network)
//! with the live KPIs, sentiment, payments, top products, funnel, potential customers, the
//! security gate's verdicts, the purchase models compared (with ε for the private ones),
//! what drives purchases (SHAP) and similar users.
//!
//! Fill a [`Report`] (the `pipeline` example does it from every stage) and call
//! [`Report::to_html`]. Every chart is a `<figure class="chart">` holding an `<svg>`; a small
//! inline script marks `<body data-charts="ok/total">` after load so a browser test can tell
//! that every chart rendered.
//!
//! ```
//! use websight::report::Report;
//!
//! let mut report = Report::new("Demo shop");
//! report.dashboard.kpis.push(("Purchases".into(), "12".into()));
//! report.dashboard.payments = vec![("card".into(), 9), ("abandoned carts".into(), 4)];
//! let html = report.to_html();
//! // Self-contained: no stylesheet, script or image is fetched.
//! assert!(html.contains("<svg") && !html.contains("https://") && !html.contains("src="));
//! ```

mod dashboard;
mod html;
mod svg;

pub use dashboard::{DashboardView, TrafficSeries};
pub use websight_dp::dashboard::PrivateDashboard;

use serde::{Deserialize, Serialize};

/// Everything the report shows. Empty sections are rendered with a short "no data" note.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Page title.
    pub title: String,
    /// One line on what was run (size, seed, time).
    pub subtitle: String,
    /// The live dashboard's figures at the end of the stream (exact: for the shop's staff).
    pub dashboard: DashboardView,
    /// The dashboard's counts and sums released with differential privacy, when asked for.
    #[serde(default)]
    pub private_dashboard: Option<PrivateDashboard>,
    /// Purchase models on held-out users.
    pub models: Vec<ModelRow>,
    /// What drives the purchase model: (feature, mean |SHAP|), largest first.
    pub importance: Vec<(String, f64)>,
    /// Why a few visitors are likely to buy.
    pub explanations: Vec<SessionExplanation>,
    /// Users with similar browsing.
    pub similar_users: Vec<SimilarUsersRow>,
}

/// Review sentiment of one category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentimentRow {
    /// Product category.
    pub category: String,
    /// Positive reviews.
    pub positive: u64,
    /// Neutral reviews.
    pub neutral: u64,
    /// Negative reviews.
    pub negative: u64,
}

/// A visitor who spent long on a product without buying.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PotentialCustomerRow {
    /// User id.
    pub user: String,
    /// Product name.
    pub product: String,
    /// Seconds on the product page.
    pub seconds: f64,
}

/// Gate counts and detection quality against the planted labels.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GateSummary {
    /// Messages received.
    pub received: u64,
    /// Valid events passed on.
    pub valid: u64,
    /// Rejections per rule.
    pub rejected: Vec<(String, u64)>,
    /// Malformed messages (dead letters).
    pub dead_letters: u64,
    /// Duplicates dropped.
    pub duplicates: u64,
    /// Share of rejected sessions that were abusive (NaN without ground truth: not shown).
    pub precision: f64,
    /// Share of abusive sessions rejected (NaN without ground truth: not shown).
    pub recall: f64,
}

/// One purchase model's held-out scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRow {
    /// Model name.
    pub model: String,
    /// Privacy loss ε when trained with differential privacy.
    pub dp_epsilon: Option<f64>,
    /// ROC-AUC.
    pub roc_auc: f64,
    /// Average precision.
    pub pr_auc: f64,
    /// Accuracy at 0.5.
    pub accuracy: f64,
    /// At or below the shuffled-label baseline (or chance): it learned nothing usable.
    #[serde(default)]
    pub below_baseline: bool,
}

/// Why one visitor is likely to buy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionExplanation {
    /// Session id.
    pub session: String,
    /// The model's purchase probability.
    pub probability: f64,
    /// The average probability (the SHAP base value).
    pub average: f64,
    /// Top contributions: (feature, value, SHAP value).
    pub contributions: Vec<(String, f64, f64)>,
}

/// A user and their most similar users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarUsersRow {
    /// User id.
    pub user: String,
    /// (similar user, Jaccard similarity of browsed items).
    pub similar: Vec<(String, f64)>,
}

/// The live page of `serve`: the dashboard's sections of the report, swapped for the
/// fragment each server-sent event `dashboard` carries (`{"html": …}` from `/api/events`).
/// Self-contained like the report: no script, style or font is fetched.
///
/// ```
/// use websight::report::{DashboardView, live_page};
///
/// let page = live_page("My shop", &DashboardView::default());
/// assert!(page.contains("new EventSource('/api/events')") && page.contains("data-chart=\"traffic\""));
/// ```
pub fn live_page(title: &str, view: &DashboardView) -> String {
    html::live(title, view)
}

impl Report {
    /// An empty report with a title.
    pub fn new(title: impl Into<String>) -> Report {
        Report {
            title: title.into(),
            ..Report::default()
        }
    }

    /// The self-contained HTML page.
    pub fn to_html(&self) -> String {
        html::render(self)
    }

    /// Names of the charts [`Report::to_html`] draws (the `data-chart` attributes), in page
    /// order.
    pub fn chart_names() -> &'static [&'static str] {
        html::CHARTS
    }
}
