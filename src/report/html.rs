//! The page: KPI tiles, charts and tables, with inline CSS and a tiny self-check script.

use std::fmt::Write;

use super::svg::{PALETTE, bars, columns, escape, pie, stacked};
use super::{DashboardView, Report};
use websight_core::analytics::{Point, Resolution};
use websight_explain::format_value;

/// The `data-chart` names, in page order.
pub(crate) const CHARTS: &[&str] = &[
    "traffic",
    "channels",
    "pages",
    "sentiment",
    "payments",
    "top_products",
    "funnel",
    "gate",
    "models",
    "importance",
];

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1100px;padding:1.5rem;color:#1d2330;background:#fafbfc}
h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #dde;padding-bottom:.3rem}
.muted,.sub{color:#667}.tiles{display:flex;flex-wrap:wrap;gap:1rem}
.tile{background:#fff;border:1px solid #dde;border-radius:8px;padding:.8rem 1.2rem;min-width:10rem}
.tile .v{font-size:1.7rem;font-weight:600}.tile .l{color:#667;font-size:.9rem}
figure.chart{background:#fff;border:1px solid #dde;border-radius:8px;padding:.8rem;margin:1rem 0}
figure.chart figcaption{font-weight:600;margin-bottom:.4rem}svg text{font-size:12px;fill:#1d2330}
table{border-collapse:collapse;background:#fff;margin:.8rem 0}td,th{border:1px solid #dde;padding:.3rem .6rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.up{color:#0a7a3c}.down{color:#b3261e}";

/// Marks `<body data-charts="ok/total">`: a chart counts when its SVG has drawn shapes with
/// a non-empty box.
const CHECK: &str = "window.addEventListener('load',function(){var f=document.querySelectorAll('figure.chart'),ok=0;
f.forEach(function(c){var v=[].slice.call(c.querySelectorAll('svg')).filter(function(s){var b=s.getBoundingClientRect();
return b.width>0&&b.height>0&&s.querySelectorAll('rect,path,circle').length>0;});if(v.length>0)ok++;});
document.body.setAttribute('data-charts',ok+'/'+f.length);});
document.addEventListener('click',function(e){var t=e.target,r=t.getAttribute('data-set-res'),m=t.getAttribute('data-set-metric');
if(r)document.body.setAttribute('data-res',r);if(m)document.body.setAttribute('data-metric',m);});";

/// Shows the traffic chart the buttons chose (`<body data-res data-metric>`).
fn series_style() -> String {
    let mut css = String::from(".series>div{display:none}.switch button{margin-right:.3rem}");
    for r in Resolution::ALL {
        for (m, _) in METRICS {
            let _ = write!(
                css,
                "body[data-res={r}][data-metric={m}] .s-{r}-{m}{{display:block}}",
                r = name(r)
            );
        }
    }
    css
}

/// `<!DOCTYPE html>` to the opening `<body>`, with the traffic chart at `resolution`.
pub(crate) fn head(h: &mut String, title: &str, subtitle: &str, resolution: Resolution) {
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{t}</title><style>{STYLE}{css}</style></head><body data-res=\"{res}\" data-metric=\"visitors\"><h1>{t}</h1><p class=\"sub\">{s}</p>",
        t = escape(title),
        s = escape(subtitle),
        css = series_style(),
        res = name(resolution),
    );
}

fn figure(out: &mut String, name: &str, caption: &str, note: &str, svg: String) {
    let _ = write!(
        out,
        "<figure class=\"chart\" data-chart=\"{name}\"><figcaption>{}</figcaption>{svg}<p class=\"muted\">{}</p></figure>",
        escape(caption),
        escape(note)
    );
}

/// The DP release: which figures are noised, their 95 % error bars, the budget left.
fn private_dashboard(h: &mut String, dp: &super::PrivateDashboard) {
    let b = &dp.bounds;
    let _ = write!(
        h,
        "<h2>Private dashboard</h2><section class=\"dp\" data-dp-epsilon=\"{eps}\"><p class=\"muted\">Every figure in this section is released with differential privacy: ε = {eps} per person for the whole section (exact discrete Laplace noise), counting at most {k} visits per person and at most {cap} {cur} of revenue per visit. 95 % of the counts lie within ±{ce} of the bounded truth, revenue within ±{re:.2} {cur}. Privacy budget: {left:.2} of ε = {total} left. Released {at}. The dashboard above is exact, for the shop's own staff.</p>",
        eps = dp.epsilon,
        k = b.visits_per_person,
        cap = b.revenue_cap,
        cur = escape(&b.currency),
        ce = dp.count_error95,
        re = dp.revenue_error95,
        left = dp.budget_left,
        total = dp.budget_epsilon,
        at = dp.released_at.format("%Y-%m-%d %H:%M:%S UTC"),
    );
    let table = |h: &mut String,
                 head: &str,
                 rows: Vec<(String, &websight_dp::dashboard::NoisyRow)>| {
        let _ = write!(
            h,
            "<table><tr><th>{head}</th><th>visitors</th><th>visits</th><th>orders</th><th>revenue</th></tr>"
        );
        for (label, r) in rows {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"n\" data-noised>{} ±{ce}</td><td class=\"n\" data-noised>{} ±{ce}</td><td class=\"n\" data-noised>{} ±{ce}</td><td class=\"n\" data-noised>{:.2} ±{re:.2}</td></tr>",
                escape(&label),
                r.visitors,
                r.sessions,
                r.orders,
                r.revenue,
                ce = dp.count_error95,
                re = dp.revenue_error95,
            );
        }
        h.push_str("</table>");
    };
    table(
        h,
        "channel",
        dp.by_channel.iter().map(|(c, r)| (c.clone(), r)).collect(),
    );
    table(
        h,
        "day (UTC)",
        dp.by_day.iter().map(|(d, r)| (d.to_string(), r)).collect(),
    );
    h.push_str("</section>");
}

/// Counts as chart values.
fn counts(items: &[(String, u64)]) -> Vec<(String, f64)> {
    items.iter().map(|(k, n)| (k.clone(), *n as f64)).collect()
}

fn count(v: f64) -> String {
    format!("{v:.0}")
}

/// Names a resolution in the page (button labels, CSS classes).
fn name(r: Resolution) -> &'static str {
    match r {
        Resolution::Minute => "minute",
        Resolution::Hour => "hour",
        Resolution::Day => "day",
    }
}

/// A bucket's label.
fn stamp(t: chrono::DateTime<chrono::Utc>, r: Resolution) -> String {
    match r {
        Resolution::Minute => t.format("%H:%M").to_string(),
        Resolution::Hour => t.format("%d %Hh").to_string(),
        Resolution::Day => t.format("%m-%d").to_string(),
    }
}

/// A metric of a traffic bucket.
type Metric = fn(&Point) -> f64;

/// The traffic charts' metrics.
const METRICS: [(&str, Metric); 5] = [
    ("visitors", |p| p.visitors as f64),
    ("sessions", |p| p.sessions as f64),
    ("page_views", |p| p.page_views as f64),
    ("orders", |p| p.orders as f64),
    ("revenue", |p| p.revenue),
];

/// The dashboard's sections: tiles, traffic, channels, products, funnel, gate.
pub(crate) fn dashboard(h: &mut String, d: &DashboardView) {
    h.push_str("<h2>Today at a glance</h2><div class=\"tiles\">");
    for (label, value) in &d.kpis {
        let _ = write!(
            h,
            "<div class=\"tile\"><div class=\"v\">{}</div><div class=\"l\">{}</div></div>",
            escape(value),
            escape(label)
        );
    }
    h.push_str("</div>");

    h.push_str("<h2>Traffic</h2><p class=\"switch\">");
    for r in Resolution::ALL {
        let _ = write!(
            h,
            "<button type=\"button\" data-set-res=\"{}\">per {}</button>",
            name(r),
            name(r)
        );
    }
    for (m, _) in METRICS {
        let _ = write!(
            h,
            "<button type=\"button\" data-set-metric=\"{m}\">{}</button>",
            m.replace('_', " ")
        );
    }
    h.push_str("</p><figure class=\"chart\" data-chart=\"traffic\"><figcaption>Traffic over time</figcaption><div class=\"series\">");
    for t in &d.traffic {
        for (m, pick) in METRICS {
            let items: Vec<(String, f64)> = t
                .points
                .iter()
                .map(|p| (stamp(p.start, t.resolution), pick(p)))
                .collect();
            let title = format!("{} per {}", m.replace('_', " "), name(t.resolution));
            let svg = columns(&title, &items, |v| format!("{v:.0}"), PALETTE[0]);
            let _ = write!(h, "<div class=\"s-{}-{m}\">{svg}</div>", name(t.resolution));
        }
    }
    h.push_str("</div><p class=\"muted\">Visitors, page views, orders and revenue as events arrive; visits when they close. Empty buckets are left out.</p></figure>");
    let channels = counts(&d.channels);
    figure(
        h,
        "channels",
        "Visits per channel",
        "GA4 default channel groups, from referrers and UTM tags.",
        pie("Visits per channel", &channels),
    );
    let pages = counts(&d.top_pages);
    figure(
        h,
        "pages",
        "Top pages",
        "Page views per path.",
        bars("Top pages", &pages, count, PALETTE[5]),
    );
    if !d.campaigns.is_empty() {
        h.push_str("<table><tr><th>campaign</th><th>visits</th></tr>");
        for (c, n) in &d.campaigns {
            let _ = write!(h, "<tr><td>{}</td><td class=\"n\">{n}</td></tr>", escape(c));
        }
        h.push_str("</table>");
    }

    h.push_str("<h2>Customers and products</h2>");
    let sentiment: Vec<(String, [f64; 3])> = d
        .sentiment
        .iter()
        .map(|s| {
            (
                s.category.clone(),
                [s.positive as f64, s.neutral as f64, s.negative as f64],
            )
        })
        .collect();
    figure(
        h,
        "sentiment",
        "Review sentiment per category",
        "Reviews classified by VADER sentiment.",
        stacked(
            "Review sentiment per category",
            &sentiment,
            ["positive", "neutral", "negative"],
            ["#009E73", "#999999", "#D55E00"],
        ),
    );
    let payments = counts(&d.payments);
    figure(
        h,
        "payments",
        "Payment methods and abandoned carts",
        "Completed orders per payment method, and carts left without an order.",
        pie("Payment methods and abandoned carts", &payments),
    );
    figure(
        h,
        "top_products",
        "Top 10 products by revenue",
        "",
        bars(
            "Top 10 products by revenue",
            &d.top_products,
            |v| format!("{v:.0}"),
            PALETTE[0],
        ),
    );
    let funnel = counts(&d.funnel);
    figure(
        h,
        "funnel",
        "Purchase funnel",
        "Sessions reaching each step.",
        bars("Purchase funnel", &funnel, count, PALETTE[2]),
    );

    h.push_str("<h3>Potential customers</h3><p class=\"muted\">Visitors who spent a long time on a product page and did not buy: candidates for a follow-up offer.</p>");
    if d.potential_customers.is_empty() {
        h.push_str("<p class=\"muted\">none</p>");
    } else {
        h.push_str("<table><tr><th>user</th><th>product</th><th>seconds on page</th></tr>");
        for p in &d.potential_customers {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{:.0}</td></tr>",
                escape(&p.user),
                escape(&p.product),
                p.seconds
            );
        }
        h.push_str("</table>");
    }

    h.push_str("<h2>Security gate</h2>");
    let g = &d.gate;
    let _ = write!(
        h,
        "<p>{} messages received, {} valid events passed on, {} malformed (kept as dead letters with their reason), {} duplicates dropped.",
        g.received, g.valid, g.dead_letters, g.duplicates
    );
    // Detection quality exists only where the traffic came with ground truth.
    if g.precision.is_finite() && g.recall.is_finite() {
        let _ = write!(
            h,
            " Checked against the planted abuse: <b>precision {:.3}</b> (share of blocked sessions that were abusive), <b>recall {:.3}</b> (share of abusive sessions blocked).",
            g.precision, g.recall
        );
    }
    h.push_str("</p>");
    let rejected = counts(&g.rejected);
    figure(
        h,
        "gate",
        "Events rejected per rule",
        "",
        bars("Events rejected per rule", &rejected, count, PALETTE[3]),
    );
}

/// Swaps in each update's fragment; counts updates in `<body data-updates>` (tests read it).
const LIVE: &str = "var n=0,es=new EventSource('/api/events');
es.addEventListener('dashboard',function(e){var m=JSON.parse(e.data);document.getElementById('live').innerHTML=m.html;
n++;document.body.setAttribute('data-updates',n);document.getElementById('updated').textContent=m.updated||'';});
es.onerror=function(){document.getElementById('updated').textContent='reconnecting…';};";

pub(crate) fn live(title: &str, view: &DashboardView) -> String {
    let mut h = String::with_capacity(64 * 1024);
    head(&mut h, title, "", Resolution::Minute);
    h.push_str("<p class=\"muted\">Live: <span id=\"updated\"></span></p><div id=\"live\">");
    dashboard(&mut h, view);
    let _ = write!(h, "</div><script>{CHECK}{LIVE}</script></body></html>");
    h
}

pub(crate) fn render(r: &Report) -> String {
    let mut h = String::with_capacity(64 * 1024);
    // A report covers days or weeks: per day first.
    head(&mut h, &r.title, &r.subtitle, Resolution::Day);

    dashboard(&mut h, &r.dashboard);
    if let Some(dp) = &r.private_dashboard {
        private_dashboard(&mut h, dp);
    }

    h.push_str("<h2>Who will buy</h2>");
    let models: Vec<(String, f64)> = r
        .models
        .iter()
        .map(|m| {
            (
                match m.dp_epsilon {
                    Some(e) => format!("{} (ε = {e:.1})", m.model),
                    None => m.model.clone(),
                },
                m.roc_auc,
            )
        })
        .collect();
    figure(
        &mut h,
        "models",
        "Purchase models: ROC-AUC on held-out users",
        "1.0 is perfect ranking of buyers above non-buyers; 0.5 is chance. ε marks models trained with differential privacy (smaller ε, stronger privacy).",
        bars(
            "Purchase models: ROC-AUC",
            &models,
            |v| format!("{v:.3}"),
            PALETTE[4],
        ),
    );
    if !r.models.is_empty() {
        h.push_str("<table><tr><th>model</th><th>privacy ε</th><th>ROC-AUC</th><th>PR-AUC</th><th>accuracy</th><th></th></tr>");
        for m in &r.models {
            let eps = m.dp_epsilon.map_or("—".to_owned(), |e| format!("{e:.2}"));
            let flag = if m.below_baseline {
                "<span class=\"down\" data-below-baseline>⚠ at or below the shuffled-label baseline: learned nothing</span>"
            } else {
                ""
            };
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"n\">{eps}</td><td class=\"n\">{:.3}</td><td class=\"n\">{:.3}</td><td class=\"n\">{:.3}</td><td>{flag}</td></tr>",
                escape(&m.model),
                m.roc_auc,
                m.pr_auc,
                m.accuracy
            );
        }
        h.push_str("</table>");
    }
    figure(
        &mut h,
        "importance",
        "What drives purchases (mean |SHAP|)",
        "How much each behaviour moves the predicted purchase probability on average (exact Tree SHAP of the random forest).",
        bars(
            "What drives purchases",
            &r.importance,
            |v| format!("{v:.4}"),
            PALETTE[1],
        ),
    );
    h.push_str("<h3>Why these visitors are likely to buy</h3>");
    for e in &r.explanations {
        let _ = write!(
            h,
            "<p><b>Session {}</b>: purchase probability {:.0}% against {:.0}% on average.</p><table><tr><th>behaviour</th><th>value</th><th>effect</th></tr>",
            escape(&e.session),
            100.0 * e.probability,
            100.0 * e.average
        );
        for (feature, value, shap) in &e.contributions {
            let (class, word) = if *shap >= 0.0 {
                ("up", "raises")
            } else {
                ("down", "lowers")
            };
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"{class}\">{word} by {:.1} points</td></tr>",
                escape(feature),
                format_value(*value),
                100.0 * shap.abs()
            );
        }
        h.push_str("</table>");
    }

    h.push_str("<h2>Similar users</h2><p class=\"muted\">Users whose browsed products overlap most (MinHash LSH, Jaccard similarity): recommend what one bought to the other.</p>");
    if r.similar_users.is_empty() {
        h.push_str("<p class=\"muted\">none</p>");
    } else {
        h.push_str("<table><tr><th>user</th><th>most similar users (Jaccard)</th></tr>");
        for s in &r.similar_users {
            let list: Vec<String> = s
                .similar
                .iter()
                .map(|(u, j)| format!("{} ({j:.2})", escape(u)))
                .collect();
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td></tr>",
                escape(&s.user),
                list.join(", ")
            );
        }
        h.push_str("</table>");
    }
    let _ = write!(h, "<script>{CHECK}</script></body></html>");
    h
}

#[cfg(test)]
mod tests {
    use super::super::*;

    #[test]
    fn every_chart_is_on_the_page_and_nothing_is_fetched() {
        let mut r = Report::new("Shop <1>");
        r.models.push(ModelRow {
            model: "forest".into(),
            dp_epsilon: Some(3.0),
            roc_auc: 0.9,
            pr_auc: 0.6,
            accuracy: 0.8,
            below_baseline: false,
        });
        let html = r.to_html();
        for name in Report::chart_names() {
            assert!(html.contains(&format!("data-chart=\"{name}\"")), "{name}");
        }
        assert_eq!(
            html.matches("<figure class=\"chart\"").count(),
            Report::chart_names().len()
        );
        assert!(html.contains("Shop &lt;1&gt;") && html.contains("ε = 3.0"));
        // Self-contained: the only URL is the SVG namespace.
        assert_eq!(
            html.matches("http").count(),
            html.matches("http://www.w3.org/2000/svg").count()
        );
        assert!(!html.contains("src=") && !html.contains("<link"));
    }
}
