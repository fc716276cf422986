//! What a dashboard shows, taken from the stream analytics: one mapping for the static
//! report, the live page of `serve` and users' own apps.

use serde::{Deserialize, Serialize};
use websight_core::analytics::{Point, Resolution, StreamAnalytics, TimeSeries};
use websight_core::gate::GateStats;

use super::{GateSummary, PotentialCustomerRow, SentimentRow};

/// The traffic over time at one resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrafficSeries {
    /// Bucket width.
    pub resolution: Resolution,
    /// The buckets, oldest first.
    pub points: Vec<Point>,
}

/// The live dashboard's figures. Build it with [`DashboardView::of`]; it serialises as the
/// JSON of `serve`'s `GET /api/dashboard`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DashboardView {
    /// KPI tiles: (label, formatted value).
    pub kpis: Vec<(String, String)>,
    /// Visitors, sessions, page views, orders and revenue per minute, hour and day.
    pub traffic: Vec<TrafficSeries>,
    /// Visits per GA4 default channel group, largest first.
    pub channels: Vec<(String, u64)>,
    /// Visits per campaign (`utm_campaign`), largest first.
    pub campaigns: Vec<(String, u64)>,
    /// Most viewed pages (paths).
    pub top_pages: Vec<(String, u64)>,
    /// Top products: (name, revenue).
    pub top_products: Vec<(String, f64)>,
    /// Reviews per product category.
    pub sentiment: Vec<SentimentRow>,
    /// Orders per payment method, plus abandoned carts.
    pub payments: Vec<(String, u64)>,
    /// Funnel steps: (step, sessions).
    pub funnel: Vec<(String, u64)>,
    /// Visitors who lingered on a product and did not buy.
    pub potential_customers: Vec<PotentialCustomerRow>,
    /// The security gate's verdicts.
    pub gate: GateSummary,
}

fn largest_first(mut items: Vec<(String, u64)>, n: usize) -> Vec<(String, u64)> {
    items.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    items.truncate(n);
    items
}

impl DashboardView {
    /// The figures of `analytics` (closed visits), `series` (every valid event so far) and
    /// the gate's verdicts. Ground-truth detection scores are left unset (NaN).
    pub fn of(analytics: &StreamAnalytics, series: &TimeSeries, gate: &GateStats) -> Self {
        let d = analytics.dashboard();
        let catalogue = analytics.catalogue();
        let revenue = if d.revenue.is_empty() {
            "0".to_owned()
        } else {
            d.revenue
                .iter()
                .map(|(currency, m)| format!("{:.0} {currency}", m.to_f64()))
                .collect::<Vec<_>>()
                .join(" + ")
        };
        let now = series.visitors_now(analytics.config().current_visitor_seconds);
        let kpis = vec![
            ("Visitors now".to_owned(), now.to_string()),
            ("Visits".to_owned(), d.funnel.sessions.to_string()),
            ("Orders".to_owned(), d.orders.to_string()),
            ("Revenue".to_owned(), revenue),
            (
                "Average visit".to_owned(),
                format!("{:.0} s", d.average_session_seconds()),
            ),
            (
                "Bounce rate".to_owned(),
                format!("{:.1}%", 100.0 * d.bounce_rate()),
            ),
        ];
        let mut payments: Vec<(String, u64)> =
            d.payments.iter().map(|(m, n)| (m.clone(), *n)).collect();
        payments.push(("abandoned carts".into(), d.abandoned_carts));
        let f = &d.funnel;
        DashboardView {
            kpis,
            traffic: Resolution::ALL
                .iter()
                .map(|&resolution| TrafficSeries {
                    resolution,
                    points: series.points(resolution),
                })
                .collect(),
            channels: largest_first(
                d.channels.iter().map(|(c, n)| (c.clone(), *n)).collect(),
                19,
            ),
            campaigns: d.campaigns.top(10),
            top_pages: d.pages.top(10),
            top_products: d
                .products
                .revenue_cents
                .top(10)
                .iter()
                .map(|(key, cents)| (catalogue.name(key).to_owned(), *cents as f64 / 100.0))
                .collect(),
            sentiment: d
                .sentiment
                .iter()
                .map(|(category, s)| SentimentRow {
                    category: category.clone(),
                    positive: s.positive,
                    neutral: s.neutral,
                    negative: s.negative,
                })
                .collect(),
            payments,
            funnel: vec![
                ("visits".into(), f.sessions),
                ("viewed a product".into(), f.viewed),
                ("added to cart".into(), f.carted),
                ("reached checkout".into(), f.checkout),
                ("bought".into(), f.purchased),
            ],
            potential_customers: d
                .potential_customers
                .iter()
                .take(10)
                .map(|p| PotentialCustomerRow {
                    user: p.visitor.to_string(),
                    product: p.product.to_string(),
                    seconds: p.seconds_ms as f64 / 1000.0,
                })
                .collect(),
            gate: GateSummary {
                received: gate.received,
                valid: gate.valid,
                rejected: gate.rejected.iter().map(|(r, n)| (r.clone(), *n)).collect(),
                dead_letters: gate.dead_letters,
                duplicates: gate.duplicates,
                precision: f64::NAN,
                recall: f64::NAN,
            },
        }
    }

    /// The dashboard's sections as an HTML fragment (what the live page swaps in on every
    /// update; the static report holds the same).
    pub fn to_html(&self) -> String {
        let mut h = String::with_capacity(32 * 1024);
        super::html::dashboard(&mut h, self);
        h
    }
}
