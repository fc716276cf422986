//! A visit as one line of JSON, written field by field ([`crate::json_write`]): the session
//! file's format is the serde text of [`Visit`] (what `serde_json` writes, and what reading
//! the file back expects), but going through serde cost twice as much. The rare values
//! (money, ratings, free-form maps, the visit's acquisition and agent) still go through their
//! own `Serialize`.
//!
//! Tests hold the text equal to `serde_json`'s, for generated visits and for arbitrary
//! events.

use crate::analytics::Visit;
use crate::event::sorted::SortedMap;
use crate::event::{Campaign, Event, Page, ProductItem, Properties};
use crate::json_write::{Object, string, texts, time};

/// Appends `visit`'s JSON (no newline) to `out`.
pub(crate) fn write_visit(out: &mut Vec<u8>, visit: &Visit) -> std::io::Result<()> {
    let mut o = Object::open(out);
    o.string("id", &visit.id);
    o.string("person", &visit.person);
    o.value("acquisition", &visit.acquisition)?;
    o.value("agent", &visit.agent)?;
    o.array("events", &visit.events, |out, event| {
        write_event(out, event)
    })?;
    o.close();
    Ok(())
}

/// Appends `event`'s JSON: the fields in declaration order, each skipped as its
/// `skip_serializing_if` says.
pub(crate) fn write_event(out: &mut Vec<u8>, e: &Event) -> std::io::Result<()> {
    let mut o = Object::open(out);
    o.string("message_id", &e.message_id);
    o.key("kind");
    string(o.out, e.kind.as_str());
    o.option("name", &e.name);
    o.key("time");
    time(o.out, e.time);
    o.key("timestamps");
    let t = &e.timestamps;
    let mut times = Object::open(o.out);
    times.time("timestamp", t.timestamp);
    times.time("original_timestamp", t.original_timestamp);
    times.time("sent_at", t.sent_at);
    times.time("received_at", t.received_at);
    times.close();
    o.option("anonymous_id", &e.anonymous_id);
    o.option("user_id", &e.user_id);
    o.option("previous_id", &e.previous_id);
    o.option("session_id", &e.session_id);
    if !e.page.is_empty() {
        o.key("page");
        page(o.out, &e.page);
    }
    if !e.campaign.is_empty() {
        o.key("campaign");
        campaign(o.out, &e.campaign);
    }
    o.option("user_agent", &e.user_agent);
    o.ip("ip", e.ip);
    o.option("locale", &e.locale);
    if e.properties != Properties::default() {
        o.key("properties");
        properties(o.out, &e.properties)?;
    }
    if !e.traits.is_empty() {
        o.value("traits", &SortedMap(&e.traits))?;
    }
    if !e.denied_consent.is_empty() {
        o.value("denied_consent", &e.denied_consent)?;
    }
    o.option("library", &e.library);
    o.close();
    Ok(())
}

fn page(out: &mut Vec<u8>, p: &Page) {
    texts(
        out,
        [
            ("url", &p.url),
            ("path", &p.path),
            ("title", &p.title),
            ("referrer", &p.referrer),
            ("search", &p.search),
        ],
    );
}

fn campaign(out: &mut Vec<u8>, c: &Campaign) {
    texts(
        out,
        [
            ("source", &c.source),
            ("medium", &c.medium),
            ("name", &c.name),
            ("term", &c.term),
            ("content", &c.content),
        ],
    );
}

fn properties(out: &mut Vec<u8>, p: &Properties) -> std::io::Result<()> {
    let mut o = Object::open(out);
    if !p.products.is_empty() {
        o.array("products", &p.products, product)?;
    }
    o.option("order_id", &p.order_id);
    o.option("checkout_id", &p.checkout_id);
    o.optional_value("revenue", p.revenue.as_ref())?;
    o.optional_value("total", p.total.as_ref())?;
    o.option("currency", &p.currency);
    o.option("payment_method", &p.payment_method);
    o.option("review_id", &p.review_id);
    o.option("review_body", &p.review_body);
    o.optional_value("rating", p.rating.as_ref())?;
    o.option("query", &p.query);
    if !p.extra.is_empty() {
        o.value("extra", &SortedMap(&p.extra))?;
    }
    o.close();
    Ok(())
}

fn product(out: &mut Vec<u8>, p: &ProductItem) -> std::io::Result<()> {
    let mut o = Object::open(out);
    o.option("product_id", &p.product_id);
    o.option("sku", &p.sku);
    o.option("name", &p.name);
    o.option("category", &p.category);
    o.option("brand", &p.brand);
    o.optional_value("price", p.price.as_ref())?;
    o.optional_value("quantity", p.quantity.as_ref())?;
    o.close();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::arbitrary::event;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn an_event_is_its_serde_json_text(event in event()) {
            let mut line = Vec::new();
            write_event(&mut line, &event).unwrap();
            let want = serde_json::to_vec(&event).unwrap();
            prop_assert_eq!(String::from_utf8_lossy(&line), String::from_utf8_lossy(&want));
        }
    }
}
