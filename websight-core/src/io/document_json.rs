//! The documents every visit makes — its `session_summary` and a `product_details` per
//! product — as JSON written field by field ([`crate::json_write`]): the text sonic-rs
//! writes of their `Serialize`, at under half the cost (keys copied, not escaped). Floats
//! still go through the serializer, so their text is its own. The rarer documents
//! (sentiments, KPI windows) keep their `Serialize`.
//!
//! Tests hold the text equal to sonic-rs's for arbitrary documents.

use chrono::{DateTime, Utc};

use crate::analytics::{ProductDetail, SessionSummary};
use crate::json_write::{Object, time};

/// Appends `s`'s JSON (no newline) to `out`, its fields in declaration order.
pub(crate) fn write_session_summary(out: &mut Vec<u8>, s: &SessionSummary) -> std::io::Result<()> {
    let mut o = visit_fields(out, &s.session_id, &s.visitor, s.timestamp);
    o.value("session_duration", &s.session_duration)?;
    o.unsigned("page_views", s.page_views.into());
    o.unsigned("events", s.events.into());
    o.string("source", &s.source);
    o.string("medium", &s.medium);
    o.string("campaign", &s.campaign);
    o.string("channel", &s.channel);
    o.string("device_type", &s.device_type);
    o.string("os", &s.os);
    o.string("browser", &s.browser);
    o.nullable("landing_page", s.landing_page.as_deref());
    o.nullable("exit_page", s.exit_page.as_deref());
    o.string("step", s.step.as_str());
    o.boolean("purchase_made", s.purchase_made);
    o.unsigned("orders", s.orders.into());
    o.value("amount_spent", &s.amount_spent)?;
    o.nullable("currency", s.currency.as_deref());
    o.nullable("payment_method", s.payment_method.as_deref());
    o.boolean("engaged", s.engaged);
    o.unsigned("hour_of_day", s.hour_of_day.into());
    o.string("day_of_week", &s.day_of_week);
    o.boolean("is_weekend", s.is_weekend);
    o.unsigned("month", s.month.into());
    o.unsigned("week_of_year", s.week_of_year.into());
    o.string("part_of_day", s.part_of_day.as_str());
    o.close();
    Ok(())
}

/// Appends `d`'s JSON (no newline) to `out`, its fields in declaration order.
pub(crate) fn write_product_detail(out: &mut Vec<u8>, d: &ProductDetail) -> std::io::Result<()> {
    let mut o = visit_fields(out, &d.session_id, &d.visitor, d.timestamp);
    o.string("product_id", &d.product_id);
    o.string("product_name", &d.product_name);
    o.value("product_price", &d.product_price)?;
    o.nullable("product_category", d.product_category.as_deref());
    o.nullable("product_review", d.product_review.as_deref());
    o.value("time_spent_on_page", &d.time_spent_on_page)?;
    o.string("step", d.step.as_str());
    o.boolean("purchase_made", d.purchase_made);
    o.close();
    Ok(())
}

/// Opens a document with the fields both start with: the visit, its person and its start.
fn visit_fields<'a>(
    out: &'a mut Vec<u8>,
    session_id: &str,
    visitor: &str,
    timestamp: DateTime<Utc>,
) -> Object<'a> {
    let mut o = Object::open(out);
    o.string("session_id", session_id);
    o.string("visitor", visitor);
    o.key("timestamp");
    time(o.out, timestamp);
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::Step;
    use crate::event::CompactString;
    use crate::event::arbitrary::{at, text};
    use crate::model::PartOfDay;
    use proptest::prelude::*;

    fn maybe() -> impl Strategy<Value = Option<CompactString>> {
        proptest::option::of(text())
    }

    fn step() -> impl Strategy<Value = Step> {
        proptest::sample::select(vec![
            Step::Browse,
            Step::View,
            Step::Cart,
            Step::Checkout,
            Step::Purchase,
        ])
    }

    fn summary() -> impl Strategy<Value = SessionSummary> {
        (
            (
                text(),
                text(),
                at(),
                any::<f64>(),
                any::<u32>(),
                any::<u32>(),
            ),
            (text(), text(), text(), text(), text(), text()),
            (
                text(),
                maybe(),
                maybe(),
                step(),
                any::<bool>(),
                any::<u32>(),
            ),
            (any::<f64>(), maybe(), maybe(), any::<bool>(), any::<u32>()),
            (text(), any::<bool>(), any::<u32>(), any::<u32>()),
            proptest::sample::select(PartOfDay::ALL.to_vec()),
        )
            .prop_map(|(a, b, c, d, e, part_of_day)| SessionSummary {
                session_id: a.0,
                visitor: a.1,
                timestamp: a.2,
                session_duration: a.3,
                page_views: a.4,
                events: a.5,
                source: b.0,
                medium: b.1,
                campaign: b.2,
                channel: b.3,
                device_type: b.4,
                os: b.5,
                browser: c.0,
                landing_page: c.1,
                exit_page: c.2,
                step: c.3,
                purchase_made: c.4,
                orders: c.5,
                amount_spent: d.0,
                currency: d.1,
                payment_method: d.2,
                engaged: d.3,
                hour_of_day: d.4,
                day_of_week: e.0,
                is_weekend: e.1,
                month: e.2,
                week_of_year: e.3,
                part_of_day,
            })
    }

    fn detail() -> impl Strategy<Value = ProductDetail> {
        (
            (text(), text(), at(), text(), text()),
            (
                any::<Option<f64>>(),
                maybe(),
                maybe(),
                any::<f64>(),
                step(),
                any::<bool>(),
            ),
        )
            .prop_map(|(a, b)| ProductDetail {
                session_id: a.0,
                visitor: a.1,
                timestamp: a.2,
                product_id: a.3,
                product_name: a.4,
                product_price: b.0,
                product_category: b.1,
                product_review: b.2,
                time_spent_on_page: b.3,
                step: b.4,
                purchase_made: b.5,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn a_summary_is_its_serialized_text(s in summary()) {
            let mut line = b"x".to_vec();
            write_session_summary(&mut line, &s).unwrap();
            let want = [b"x".to_vec(), sonic_rs::to_vec(&s).unwrap()].concat();
            prop_assert_eq!(String::from_utf8_lossy(&line), String::from_utf8_lossy(&want));
        }

        #[test]
        fn a_product_detail_is_its_serialized_text(d in detail()) {
            let mut line = b"x".to_vec();
            write_product_detail(&mut line, &d).unwrap();
            let want = [b"x".to_vec(), sonic_rs::to_vec(&d).unwrap()].concat();
            prop_assert_eq!(String::from_utf8_lossy(&line), String::from_utf8_lossy(&want));
        }
    }
}
