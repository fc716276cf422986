//! A visit as one line of JSON, written field by field: the session file's format is the
//! serde text of [`Visit`] (what `serde_json` writes, and what reading the file back
//! expects), but going through serde cost twice as much. Each key is a constant, so it is
//! copied, not escaped, and no serializer state is kept between fields; strings are escaped
//! by sonic-rs's SIMD routine, the one its serializer uses. The rare values (money, ratings,
//! free-form maps, IPv6, the visit's acquisition and agent) still go through their own
//! `Serialize`.
//!
//! Tests hold the text equal to `serde_json`'s, for generated visits and for arbitrary
//! events.

use std::net::IpAddr;

use serde::Serialize;
use sonic_rs::format::{CompactFormatter, Formatter};

use crate::analytics::Visit;
use crate::decode::ipv4_text;
use crate::event::rfc3339::rfc3339;
use crate::event::sorted::SortedMap;
use crate::event::{Campaign, CompactString, Event, Page, ProductItem, Properties};

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
    for (key, at) in [
        ("timestamp", t.timestamp),
        ("original_timestamp", t.original_timestamp),
        ("sent_at", t.sent_at),
        ("received_at", t.received_at),
    ] {
        if let Some(at) = at {
            times.key(key);
            time(times.out, at);
        }
    }
    times.close();
    o.option("anonymous_id", &e.anonymous_id);
    o.option("user_id", &e.user_id);
    o.option("previous_id", &e.previous_id);
    o.option("session_id", &e.session_id);
    if e.page != Page::default() {
        o.key("page");
        page(o.out, &e.page);
    }
    if !e.campaign.is_empty() {
        o.key("campaign");
        campaign(o.out, &e.campaign);
    }
    o.option("user_agent", &e.user_agent);
    if let Some(ip) = e.ip {
        o.key("ip");
        match ip {
            IpAddr::V4(v4) => string(o.out, ipv4_text(v4).as_str()),
            IpAddr::V6(v6) => string(o.out, &v6.to_string()),
        }
    }
    o.option("locale", &e.locale);
    if e.properties != Properties::default() {
        o.key("properties");
        properties(o.out, &e.properties)?;
    }
    if !e.traits.is_empty() {
        o.value("traits", &SortedMap(&e.traits))?;
    }
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

/// An object of optional texts, in the order given.
fn texts<const N: usize>(out: &mut Vec<u8>, fields: [(&str, &Option<CompactString>); N]) {
    let mut o = Object::open(out);
    for (key, text) in fields {
        o.option(key, text);
    }
    o.close();
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

/// An object being written: `{`, then `,` before every key but the first.
struct Object<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Object<'a> {
    fn open(out: &'a mut Vec<u8>) -> Object<'a> {
        out.push(b'{');
        Object { out, first: true }
    }

    /// `"key":` — a field name: plain ASCII, nothing to escape.
    #[inline]
    fn key(&mut self, key: &str) {
        debug_assert!(key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    #[inline]
    fn string(&mut self, key: &str, text: &str) {
        self.key(key);
        string(self.out, text);
    }

    /// The field unless it is `None` (`skip_serializing_if = "Option::is_none"`).
    #[inline]
    fn option(&mut self, key: &str, text: &Option<CompactString>) {
        if let Some(text) = text {
            self.string(key, text);
        }
    }

    /// `"key":[…]`, each item written by `item`.
    fn array<T>(
        &mut self,
        key: &str,
        items: &[T],
        item: impl Fn(&mut Vec<u8>, &T) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        self.key(key);
        self.out.push(b'[');
        for (i, x) in items.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            item(self.out, x)?;
        }
        self.out.push(b']');
        Ok(())
    }

    fn value(&mut self, key: &str, value: &impl Serialize) -> std::io::Result<()> {
        self.key(key);
        sonic_rs::to_writer(&mut *self.out, value).map_err(std::io::Error::other)
    }

    fn optional_value(&mut self, key: &str, value: Option<&impl Serialize>) -> std::io::Result<()> {
        match value {
            Some(value) => self.value(key, value),
            None => Ok(()),
        }
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

/// `text` quoted and escaped, as serde_json escapes it.
#[inline]
fn string(out: &mut Vec<u8>, text: &str) {
    // Writing into a vector cannot fail.
    let _ = CompactFormatter.write_string_fast(out, text, true);
}

/// A time as chrono serialises it (digits and `-:.TZ+`: nothing to escape).
fn time(out: &mut Vec<u8>, at: chrono::DateTime<chrono::Utc>) {
    out.push(b'"');
    out.extend_from_slice(rfc3339(at).as_bytes());
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{MessageType, Money, Timestamps};
    use chrono::{DateTime, Utc};
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    /// Any characters: quotes, backslashes, controls, every plane.
    fn text() -> impl Strategy<Value = CompactString> {
        proptest::collection::vec(any::<char>(), 0..12).prop_map(|c| c.into_iter().collect())
    }

    fn maybe() -> impl Strategy<Value = Option<CompactString>> {
        proptest::option::of(text())
    }

    /// Any time chrono holds, leap seconds included.
    fn at() -> impl Strategy<Value = DateTime<Utc>> {
        let (min, max) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        (
            min.timestamp()..max.timestamp(),
            0u32..2_000_000_000,
            0usize..3,
        )
            .prop_map(|(secs, nanos, round)| {
                // Whole seconds and milliseconds are the common forms.
                let nanos = [nanos, 0, nanos / 1_000_000 * 1_000_000][round];
                DateTime::from_timestamp(secs, nanos)
                    .or_else(|| DateTime::from_timestamp(secs, 0))
                    .unwrap_or_default()
            })
    }

    fn money() -> impl Strategy<Value = Option<Money>> {
        // Any amount, to 1/10,000: the serde text of huge ones takes another route.
        proptest::option::of(any::<i64>().prop_map(Money::from_units))
    }

    fn map() -> impl Strategy<Value = Map<String, Value>> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            text().prop_map(|t| Value::from(t.as_str())),
        ];
        let value = leaf.prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                proptest::collection::vec((text(), inner), 0..3).prop_map(|kv| {
                    Value::Object(kv.into_iter().map(|(k, v)| (k.into(), v)).collect())
                }),
            ]
        });
        proptest::collection::vec((text(), value), 0..3)
            .prop_map(|kv| kv.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    fn product() -> impl Strategy<Value = ProductItem> {
        (
            (maybe(), maybe(), maybe(), maybe(), maybe()),
            money(),
            proptest::option::of(any::<u32>()),
        )
            .prop_map(
                |((product_id, sku, name, category, brand), price, quantity)| ProductItem {
                    product_id,
                    sku,
                    name,
                    category,
                    brand,
                    price,
                    quantity,
                },
            )
    }

    fn properties() -> impl Strategy<Value = Properties> {
        (
            proptest::collection::vec(product(), 0..3),
            (maybe(), maybe(), money(), money(), maybe(), maybe()),
            (
                maybe(),
                maybe(),
                proptest::option::of(any::<f64>()),
                maybe(),
            ),
            map(),
        )
            .prop_map(
                |(
                    products,
                    (order_id, checkout_id, revenue, total, currency, payment_method),
                    (review_id, review_body, rating, query),
                    extra,
                )| Properties {
                    products,
                    order_id,
                    checkout_id,
                    revenue,
                    total,
                    currency,
                    payment_method,
                    review_id,
                    review_body,
                    rating,
                    query,
                    extra,
                },
            )
    }

    fn event() -> impl Strategy<Value = Event> {
        (
            (text(), 0..MessageType::ALL.len(), maybe(), at()),
            [(); 4].map(|()| proptest::option::of(at())),
            (maybe(), maybe(), maybe(), maybe()),
            [maybe(), maybe(), maybe(), maybe(), maybe()],
            [maybe(), maybe(), maybe(), maybe(), maybe()],
            (maybe(), proptest::option::of(any::<IpAddr>()), maybe()),
            properties(),
            map(),
        )
            .prop_map(
                |(
                    (message_id, kind, name, time),
                    [timestamp, original_timestamp, sent_at, received_at],
                    (anonymous_id, user_id, previous_id, session_id),
                    [url, path, title, referrer, search],
                    [source, medium, campaign, term, content],
                    (user_agent, ip, locale),
                    properties,
                    traits,
                )| Event {
                    message_id,
                    kind: MessageType::ALL[kind],
                    name,
                    time,
                    timestamps: Timestamps {
                        timestamp,
                        original_timestamp,
                        sent_at,
                        received_at,
                    },
                    anonymous_id,
                    user_id,
                    previous_id,
                    session_id,
                    page: Page {
                        url,
                        path,
                        title,
                        referrer,
                        search,
                    },
                    campaign: Campaign {
                        source,
                        medium,
                        name: campaign,
                        term,
                        content,
                    },
                    user_agent,
                    ip,
                    locale,
                    properties,
                    traits,
                },
            )
    }

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
