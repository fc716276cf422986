//! Inline SVG charts: horizontal bars, stacked bars and a pie, sized from their data.

use std::fmt::Write;

/// Text safe inside HTML and SVG.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Colours distinguishable in print and by most colour-blind readers (Okabe–Ito).
pub(crate) const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#999999",
];

const WIDTH: f64 = 640.0;
const LABEL: f64 = 240.0;
const ROW: f64 = 26.0;

fn open(height: f64, title: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet"><title>{}</title>"#,
        escape(title)
    )
}

fn no_data(title: &str) -> String {
    format!(
        "{}<text x=\"10\" y=\"24\" class=\"muted\">no data</text></svg>",
        open(40.0, title)
    )
}

/// The largest magnitude among `items` (what a chart scales to), `None` without items.
fn largest(items: &[(String, f64)]) -> Option<f64> {
    (!items.is_empty()).then(|| {
        items
            .iter()
            .map(|(_, v)| v.abs())
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE)
    })
}

/// One bar per item, scaled to the largest; the value printed by `label`.
pub(crate) fn bars(
    title: &str,
    items: &[(String, f64)],
    label: impl Fn(f64) -> String,
    color: &str,
) -> String {
    let Some(max) = largest(items) else {
        return no_data(title);
    };
    let height = ROW * items.len() as f64 + 8.0;
    let mut s = open(height, title);
    let span = WIDTH - LABEL - 90.0;
    for (i, (name, value)) in items.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let w = (value.abs() / max * span).max(1.0);
        let _ = write!(
            s,
            r#"<text x="{x}" y="{ty}" text-anchor="end">{name}</text><rect x="{LABEL}" y="{y}" width="{w:.1}" height="{h}" fill="{color}"><title>{name}: {v}</title></rect><text x="{vx:.1}" y="{ty}">{v}</text>"#,
            x = LABEL - 8.0,
            ty = y + 15.0,
            name = escape(name),
            h = ROW - 8.0,
            vx = LABEL + w + 6.0,
            v = escape(&label(*value)),
        );
    }
    s.push_str("</svg>");
    s
}

/// Stacked bars of three parts per row with a legend.
pub(crate) fn stacked(
    title: &str,
    rows: &[(String, [f64; 3])],
    parts: [&str; 3],
    colors: [&str; 3],
) -> String {
    if rows.is_empty() {
        return no_data(title);
    }
    let max = rows
        .iter()
        .map(|(_, v)| v.iter().sum::<f64>())
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let height = ROW * (rows.len() + 1) as f64 + 8.0;
    let mut s = open(height, title);
    let span = WIDTH - LABEL - 90.0;
    for (i, (name, values)) in rows.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            LABEL - 8.0,
            y + 15.0,
            escape(name)
        );
        let mut x = LABEL;
        for ((v, color), part) in values.iter().zip(colors).zip(parts) {
            let w = v / max * span;
            if w > 0.0 {
                let _ = write!(
                    s,
                    r#"<rect x="{x:.1}" y="{y}" width="{w:.1}" height="{h}" fill="{color}"><title>{n} {part}: {v}</title></rect>"#,
                    h = ROW - 8.0,
                    n = escape(name),
                );
            }
            x += w;
        }
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}">{}</text>"#,
            x + 6.0,
            y + 15.0,
            values.iter().sum::<f64>()
        );
    }
    let y = 4.0 + ROW * rows.len() as f64;
    for (k, (part, color)) in parts.iter().zip(colors).enumerate() {
        let x = LABEL + 110.0 * k as f64;
        let _ = write!(
            s,
            r#"<rect x="{x}" y="{y}" width="12" height="12" fill="{color}"/><text x="{}" y="{}">{part}</text>"#,
            x + 16.0,
            y + 11.0
        );
    }
    s.push_str("</svg>");
    s
}

/// One column per bucket, oldest left, a label under every few; the largest value on top.
pub(crate) fn columns(
    title: &str,
    items: &[(String, f64)],
    label: impl Fn(f64) -> String,
    color: &str,
) -> String {
    let Some(max) = largest(items) else {
        return no_data(title);
    };
    let (height, top, plot) = (200.0, 18.0, 150.0);
    let mut s = open(height, title);
    // Columns at most 40 wide: a few buckets do not fill the chart with one block.
    let step = ((WIDTH - 20.0) / items.len() as f64).min(40.0);
    let every = (items.len() / 8).max(1);
    let _ = write!(
        s,
        r#"<text x="10" y="12">max {}</text>"#,
        escape(&label(max))
    );
    for (i, (name, value)) in items.iter().enumerate() {
        let h = (value.abs() / max * plot).max(0.5);
        let x = 10.0 + step * i as f64;
        let _ = write!(
            s,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{color}"><title>{n}: {v}</title></rect>"#,
            y = top + plot - h,
            w = (step * 0.8).max(0.5),
            n = escape(name),
            v = escape(&label(*value)),
        );
        if i % every == 0 {
            let _ = write!(
                s,
                r#"<text x="{x:.1}" y="{}">{}</text>"#,
                top + plot + 16.0,
                escape(name)
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// A pie with a legend giving counts and shares.
pub(crate) fn pie(title: &str, items: &[(String, f64)]) -> String {
    let total: f64 = items.iter().map(|(_, v)| v.max(0.0)).sum();
    if items.is_empty() || total <= 0.0 {
        return no_data(title);
    }
    let (cx, cy, r) = (110.0, 110.0, 100.0);
    let height = (ROW * items.len() as f64 + 8.0).max(2.0 * cy);
    let mut s = open(height, title);
    let mut angle = -std::f64::consts::FRAC_PI_2;
    for (i, (name, value)) in items.iter().enumerate() {
        let share = value.max(0.0) / total;
        let color = PALETTE[i % PALETTE.len()];
        let tip = format!("{}: {value} ({:.1}%)", escape(name), 100.0 * share);
        if share >= 0.999_999 {
            let _ = write!(
                s,
                r#"<circle cx="{cx}" cy="{cy}" r="{r}" fill="{color}"><title>{tip}</title></circle>"#
            );
        } else if share > 0.0 {
            let end = angle + share * std::f64::consts::TAU;
            let (x0, y0) = (cx + r * angle.cos(), cy + r * angle.sin());
            let (x1, y1) = (cx + r * end.cos(), cy + r * end.sin());
            let large = u8::from(share > 0.5);
            let _ = write!(
                s,
                r#"<path d="M{cx},{cy} L{x0:.2},{y0:.2} A{r},{r} 0 {large} 1 {x1:.2},{y1:.2} Z" fill="{color}"><title>{tip}</title></path>"#
            );
            angle = end;
        }
        let ly = 8.0 + ROW * i as f64;
        let _ = write!(
            s,
            r#"<rect x="250" y="{ly}" width="14" height="14" fill="{color}"/><text x="272" y="{}">{} — {value} ({:.1}%)</text>"#,
            ly + 12.0,
            escape(name),
            100.0 * share
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_text_and_draw_shapes() {
        let b = bars(
            "t",
            &[("<b>&".into(), 3.0), ("x".into(), 1.0)],
            |v| format!("{v}"),
            "#000",
        );
        assert!(b.contains("&lt;b&gt;&amp;") && !b.contains("<b>"));
        assert_eq!(b.matches("<rect").count(), 2);
        let p = pie("p", &[("a".into(), 1.0), ("b".into(), 3.0)]);
        assert_eq!(p.matches("<path").count(), 2);
        assert!(pie("p", &[("only".into(), 5.0)]).contains("<circle"));
        assert!(pie("p", &[]).contains("no data"));
        let st = stacked(
            "s",
            &[("chairs".into(), [2.0, 1.0, 0.0])],
            ["pos", "neu", "neg"],
            ["#1", "#2", "#3"],
        );
        assert_eq!(st.matches("<rect").count(), 2 + 3);
    }
}
