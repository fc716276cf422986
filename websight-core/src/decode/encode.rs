//! Events → Segment-spec JSON (what an SDK would have sent), the inverse of
//! [`decode_segment`](super::decode_segment).
//!
//! One encoder, written field by field straight to bytes ([`crate::json_write`]): every
//! object's keys in byte order (as `serde_json::Value`'s maps order them; free-form
//! properties too, whatever serde_json's features in the build), so [`segment_json`]'s text
//! is what serde_json writes of the `Value` [`encode_segment`] reads from it.

use std::io;

use serde_json::Value;

use crate::event::sorted::{Sorted, SortedMap};
use crate::event::{Event, MessageType, Money, ProductItem};
use crate::json_write::{Object, array, string, texts, value_to};

/// The Segment-spec JSON of an event as a `Value`: decoding it gives the event back.
pub fn encode_segment(event: &Event) -> Value {
    serde_json::from_slice(&segment_json(event)).unwrap_or_default()
}

/// The Segment-spec JSON of an event as one line of bytes (no trailing newline): the text of
/// [`encode_segment`], without building it.
pub fn segment_json(event: &Event) -> Vec<u8> {
    // Written in a buffer kept per thread, then copied out at its length: a fresh buffer is
    // reallocated whenever a long text's worst-case escaping outgrows it (about every second
    // event), and the line would keep that slack.
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with_borrow_mut(|scratch| {
        scratch.clear();
        let json = match write_segment(scratch, event) {
            Ok(()) => scratch.clone(),
            Err(_) => Vec::new(),
        };
        // One huge message does not pin its buffer for the thread's life.
        if scratch.capacity() > SCRATCH_BYTES {
            *scratch = Vec::new();
        }
        json
    })
}

/// The most a thread's encoding buffer keeps between messages.
const SCRATCH_BYTES: usize = 64 * 1024;

/// The message's keys in byte order; absent fields left out.
fn write_segment(out: &mut Vec<u8>, e: &Event) -> io::Result<()> {
    let t = &e.timestamps;
    let track = e.kind == MessageType::Track;
    // Identify calls carry traits at the top level, others in the context.
    let identify = e.kind == MessageType::Identify;
    let context_traits = !identify && !e.traits.is_empty();
    let mut o = Object::open(out);
    o.option("anonymousId", &e.anonymous_id);
    if has_context(e, context_traits) {
        o.key("context");
        context(o.out, e, context_traits)?;
    }
    if track {
        o.option("event", &e.name);
    }
    o.string("messageId", &e.message_id);
    if !track {
        o.option("name", &e.name);
    }
    o.time("originalTimestamp", t.original_timestamp);
    o.option("previousId", &e.previous_id);
    properties(&mut o, e)?;
    o.time("receivedAt", t.received_at);
    o.time("sentAt", t.sent_at);
    o.time("timestamp", t.timestamp);
    if identify && !e.traits.is_empty() {
        o.value("traits", &SortedMap(&e.traits))?;
    }
    o.string("type", e.kind.as_str());
    o.option("userId", &e.user_id);
    o.close();
    Ok(())
}

fn has_context(e: &Event, traits: bool) -> bool {
    e.ip.is_some()
        || e.user_agent.is_some()
        || e.locale.is_some()
        || e.session_id.is_some()
        || !e.page.is_empty()
        || !e.campaign.is_empty()
        || !e.denied_consent.is_empty()
        || e.library.is_some()
        || traits
}

/// `context`, with the event's traits when `traits`.
fn context(out: &mut Vec<u8>, e: &Event, traits: bool) -> io::Result<()> {
    let mut o = Object::open(out);
    if !e.campaign.is_empty() {
        let c = &e.campaign;
        o.key("campaign");
        texts(
            o.out,
            [
                ("content", &c.content),
                ("medium", &c.medium),
                ("name", &c.name),
                ("source", &c.source),
                ("term", &c.term),
            ],
        );
    }
    if !e.denied_consent.is_empty() {
        // As Segment stamps it: each denied category `false`.
        let denied: std::collections::BTreeMap<&str, bool> = e
            .denied_consent
            .iter()
            .map(|c| (c.as_str(), false))
            .collect();
        let consent = serde_json::json!({ "categoryPreferences": denied });
        o.value("consent", &consent)?;
    }
    o.ip("ip", e.ip);
    if e.library.is_some() {
        o.key("library");
        texts(o.out, [("name", &e.library)]);
    }
    o.option("locale", &e.locale);
    if !e.page.is_empty() {
        let p = &e.page;
        o.key("page");
        texts(
            o.out,
            [
                ("path", &p.path),
                ("referrer", &p.referrer),
                ("search", &p.search),
                ("title", &p.title),
                ("url", &p.url),
            ],
        );
    }
    o.option("sessionId", &e.session_id);
    if traits {
        o.value("traits", &SortedMap(&e.traits))?;
    }
    o.option("userAgent", &e.user_agent);
    o.close();
    Ok(())
}

/// A typed property's value.
enum Typed<'a> {
    Str(&'a str),
    Money(Money),
    Units(u32),
    Number(f64),
    Products(&'a [ProductItem]),
}

impl Typed<'_> {
    fn write(&self, out: &mut Vec<u8>) -> io::Result<()> {
        match self {
            Typed::Str(text) => {
                string(out, text);
                Ok(())
            }
            Typed::Money(m) => value_to(out, m),
            Typed::Units(n) => value_to(out, n),
            Typed::Number(x) => value_to(out, x),
            Typed::Products(items) => array(out, items, |out, item| {
                let mut o = Object::open(out);
                for (key, value) in product_fields(item) {
                    if let Some(value) = value {
                        o.key(key);
                        value.write(o.out)?;
                    }
                }
                o.close();
                Ok(())
            }),
        }
    }
}

/// A product's fields in key order, each present or not.
fn product_fields(item: &ProductItem) -> [(&'static str, Option<Typed<'_>>); 7] {
    [
        ("brand", item.brand.as_deref().map(Typed::Str)),
        ("category", item.category.as_deref().map(Typed::Str)),
        ("name", item.name.as_deref().map(Typed::Str)),
        ("price", item.price.map(Typed::Money)),
        ("product_id", item.product_id.as_deref().map(Typed::Str)),
        ("quantity", item.quantity.map(Typed::Units)),
        ("sku", item.sku.as_deref().map(Typed::Str)),
    ]
}

/// `properties`, unless empty: the typed fields (a product event's own product flattened
/// in, else the `products` list) merged with the kept extras, in key order; a typed field
/// wins over an extra of the same name.
fn properties<'a>(o: &mut Object<'_>, event: &'a Event) -> io::Result<()> {
    let p = &event.properties;
    let single = event.kind == MessageType::Track
        && p.products.len() == 1
        && event
            .name
            .as_deref()
            .is_some_and(|n| n.starts_with("Product ") && n != "Product List Viewed");
    let [brand, category, name, price, product_id, quantity, sku] = if single {
        product_fields(&p.products[0]).map(|(_, value)| value)
    } else {
        Default::default()
    };
    let products = (!single && !p.products.is_empty()).then(|| Typed::Products(&p.products));
    let text = |v: &'a Option<crate::event::CompactString>| v.as_deref().map(Typed::Str);
    let typed = [
        ("brand", brand),
        ("category", category),
        ("checkout_id", text(&p.checkout_id)),
        ("currency", text(&p.currency)),
        ("name", name),
        ("order_id", text(&p.order_id)),
        ("payment_method", text(&p.payment_method)),
        ("price", price),
        ("product_id", product_id),
        ("products", products),
        ("quantity", quantity),
        ("query", text(&p.query)),
        ("rating", p.rating.map(Typed::Number)),
        ("revenue", p.revenue.map(Typed::Money)),
        ("review_body", text(&p.review_body)),
        ("review_id", text(&p.review_id)),
        ("sku", sku),
        ("total", p.total.map(Typed::Money)),
    ];
    if p.extra.is_empty() && typed.iter().all(|(_, value)| value.is_none()) {
        return Ok(());
    }
    let mut extra: Vec<(&str, &Value)> = p.extra.iter().map(|(k, v)| (k.as_str(), v)).collect();
    // Already in order unless serde_json keeps insertion order (`preserve_order`).
    extra.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut extra = extra.into_iter().peekable();
    o.key("properties");
    let mut m = Object::open(o.out);
    for (key, value) in typed {
        let Some(value) = value else { continue };
        while let Some((k, v)) = extra.next_if(|(k, _)| *k <= key) {
            if k != key {
                m.any_key(k);
                value_to(m.out, &Sorted(v))?;
            }
        }
        m.key(key);
        value.write(m.out)?;
    }
    for (k, v) in extra {
        m.any_key(k);
        value_to(m.out, &Sorted(v))?;
    }
    m.close();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Whether every object's keys are in byte order, each once, at every depth.
    fn keys_in_order(value: &Value) -> bool {
        match value {
            Value::Object(map) => {
                map.keys().zip(map.keys().skip(1)).all(|(a, b)| a < b)
                    && map.values().all(keys_in_order)
            }
            Value::Array(items) => items.iter().all(keys_in_order),
            _ => true,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Whatever the event (any text, time, amount, map), its message is the text
        /// serde_json writes of the `Value` read from it: keys in byte order at every depth,
        /// each once, strings and numbers as serde_json writes them.
        #[test]
        fn a_message_is_serde_json_text(event in crate::event::arbitrary::event()) {
            let text = segment_json(&event);
            let value: Value = serde_json::from_slice(&text)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(keys_in_order(&value), "{}", String::from_utf8_lossy(&text));
            let again = serde_json::to_vec(&value).unwrap();
            prop_assert_eq!(String::from_utf8_lossy(&again), String::from_utf8_lossy(&text));
            prop_assert_eq!(encode_segment(&event), value);
        }

        /// The buffer kept per thread writes each message as a fresh one does, at its own
        /// length, whatever came before it.
        #[test]
        fn each_message_is_written_alone(
            events in proptest::collection::vec(crate::event::arbitrary::event(), 1..6)
        ) {
            for event in &events {
                let text = segment_json(event);
                prop_assert_eq!(text.capacity(), text.len());
                let mut fresh = Vec::new();
                write_segment(&mut fresh, event).unwrap();
                prop_assert_eq!(text, fresh);
            }
        }
    }
}
