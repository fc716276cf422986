//! Events → Segment-spec JSON (what an SDK would have sent), the inverse of
//! [`decode_segment`](super::decode_segment).
//!
//! One encoder, written straight to bytes: every object's keys in byte order (as
//! `serde_json::Value`'s maps order them; free-form properties too, whatever serde_json's
//! features in the build), so [`segment_json`] and the `Value` of [`encode_segment`]
//! serialise to the same text.

use std::net::{IpAddr, Ipv4Addr};

use chrono::{DateTime, Utc};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use crate::event::rfc3339::rfc3339;
use crate::event::sorted::{Sorted, SortedMap};
use crate::event::{Campaign, Event, MessageType, Money, Page, ProductItem, StackText};

/// The Segment-spec JSON of an event as a `Value`: decoding it gives the event back.
pub fn encode_segment(event: &Event) -> Value {
    serde_json::to_value(SegmentJson(event)).unwrap_or_default()
}

/// The Segment-spec JSON of an event as one line of bytes (no trailing newline): the text of
/// [`encode_segment`], without building it.
pub fn segment_json(event: &Event) -> Vec<u8> {
    // Most events encode to under a kilobyte: one allocation, not a doubling series.
    let mut out = Vec::with_capacity(1024);
    match sonic_rs::to_writer(&mut out, &SegmentJson(event)) {
        Ok(()) => out,
        Err(_) => Vec::new(),
    }
}

/// An event, serialised as Segment-spec JSON: each object written in one pass, its keys in
/// byte order (the fixed keys listed in that order; free-form properties merged in).
struct SegmentJson<'a>(&'a Event);

/// Serialises `value` under `key` when it is present.
fn entry<M: SerializeMap, T: Serialize>(
    map: &mut M,
    key: &str,
    value: Option<T>,
) -> Result<(), M::Error> {
    match value {
        Some(v) => map.serialize_entry(key, &v),
        None => Ok(()),
    }
}

/// A time as chrono writes it.
struct Time(DateTime<Utc>);

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(rfc3339(self.0).as_str())
    }
}

struct Ip(IpAddr);

impl Serialize for Ip {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            IpAddr::V4(ip) => s.serialize_str(ipv4_text(ip).as_str()),
            IpAddr::V6(ip) => s.collect_str(&ip),
        }
    }
}

impl Serialize for SegmentJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let t = &e.timestamps;
        let track = e.kind == MessageType::Track;
        // Identify calls carry traits at the top level, others in the context.
        let identify = e.kind == MessageType::Identify;
        let context = ContextJson {
            event: e,
            traits: !identify && !e.traits.is_empty(),
        };
        let properties = PropertiesJson::of(e);
        let mut m = s.serialize_map(None)?;
        entry(&mut m, "anonymousId", e.anonymous_id.as_deref())?;
        if !context.is_empty() {
            m.serialize_entry("context", &context)?;
        }
        entry(&mut m, "event", e.name.as_deref().filter(|_| track))?;
        m.serialize_entry("messageId", e.message_id.as_str())?;
        entry(&mut m, "name", e.name.as_deref().filter(|_| !track))?;
        entry(&mut m, "originalTimestamp", t.original_timestamp.map(Time))?;
        entry(&mut m, "previousId", e.previous_id.as_deref())?;
        if !properties.is_empty() {
            m.serialize_entry("properties", &properties)?;
        }
        entry(&mut m, "receivedAt", t.received_at.map(Time))?;
        entry(&mut m, "sentAt", t.sent_at.map(Time))?;
        entry(&mut m, "timestamp", t.timestamp.map(Time))?;
        if identify && !e.traits.is_empty() {
            m.serialize_entry("traits", &SortedMap(&e.traits))?;
        }
        m.serialize_entry("type", e.kind.as_str())?;
        entry(&mut m, "userId", e.user_id.as_deref())?;
        m.end()
    }
}

/// `context`, with the event's traits when `traits`.
struct ContextJson<'a> {
    event: &'a Event,
    traits: bool,
}

impl ContextJson<'_> {
    fn is_empty(&self) -> bool {
        let e = self.event;
        e.ip.is_none()
            && e.user_agent.is_none()
            && e.locale.is_none()
            && e.session_id.is_none()
            && e.page == Page::default()
            && e.campaign.is_empty()
            && !self.traits
    }
}

impl Serialize for ContextJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.event;
        let mut m = s.serialize_map(None)?;
        if !e.campaign.is_empty() {
            m.serialize_entry("campaign", &campaign(&e.campaign))?;
        }
        entry(&mut m, "ip", e.ip.map(Ip))?;
        entry(&mut m, "locale", e.locale.as_deref())?;
        if e.page != Page::default() {
            m.serialize_entry("page", &page(&e.page))?;
        }
        entry(&mut m, "sessionId", e.session_id.as_deref())?;
        if self.traits {
            m.serialize_entry("traits", &SortedMap(&e.traits))?;
        }
        entry(&mut m, "userAgent", e.user_agent.as_deref())?;
        m.end()
    }
}

/// An object of fixed fields, given in key order; absent ones left out.
struct Fields<T, const N: usize>([(&'static str, Option<T>); N]);

impl<T: Serialize, const N: usize> Serialize for Fields<T, N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (key, value) in &self.0 {
            entry(&mut m, key, value.as_ref())?;
        }
        m.end()
    }
}

fn page(p: &Page) -> Fields<&str, 5> {
    Fields([
        ("path", p.path.as_deref()),
        ("referrer", p.referrer.as_deref()),
        ("search", p.search.as_deref()),
        ("title", p.title.as_deref()),
        ("url", p.url.as_deref()),
    ])
}

fn campaign(c: &Campaign) -> Fields<&str, 5> {
    Fields([
        ("content", c.content.as_deref()),
        ("medium", c.medium.as_deref()),
        ("name", c.name.as_deref()),
        ("source", c.source.as_deref()),
        ("term", c.term.as_deref()),
    ])
}

/// `properties.products`.
struct ProductsJson<'a>(&'a [ProductItem]);

impl Serialize for ProductsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|item| Fields(product_fields(item))))
    }
}

/// A typed property's value.
enum Typed<'a> {
    Str(&'a str),
    Money(Money),
    Units(u32),
    Number(f64),
    Products(&'a [ProductItem]),
}

impl Serialize for Typed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Typed::Str(text) => s.serialize_str(text),
            Typed::Money(m) => m.serialize(s),
            Typed::Units(n) => s.serialize_u32(*n),
            Typed::Number(x) => s.serialize_f64(*x),
            Typed::Products(items) => ProductsJson(items).serialize(s),
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

/// `properties`: the typed fields (a product event's own product flattened in, else the
/// `products` list) merged with the kept extras, in key order; a typed field wins over an
/// extra of the same name.
struct PropertiesJson<'a> {
    /// Present typed fields, in key order.
    typed: Vec<(&'static str, Typed<'a>)>,
    /// Extras, in key order.
    extra: Vec<(&'a str, &'a Value)>,
}

impl<'a> PropertiesJson<'a> {
    fn of(event: &'a Event) -> Self {
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
        let fields = [
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
        let typed = fields
            .into_iter()
            .filter_map(|(key, value)| Some((key, value?)))
            .collect();
        let mut extra: Vec<(&str, &Value)> = p.extra.iter().map(|(k, v)| (k.as_str(), v)).collect();
        // Already in order unless serde_json keeps insertion order (`preserve_order`).
        extra.sort_unstable_by(|a, b| a.0.cmp(b.0));
        PropertiesJson { typed, extra }
    }

    fn is_empty(&self) -> bool {
        self.typed.is_empty() && self.extra.is_empty()
    }
}

impl Serialize for PropertiesJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        let mut extra = self.extra.iter().peekable();
        for (key, value) in &self.typed {
            while let Some((k, v)) = extra.next_if(|(k, _)| k <= key) {
                if k != key {
                    m.serialize_entry(k, &Sorted(v))?;
                }
            }
            m.serialize_entry(key, value)?;
        }
        for (k, v) in extra {
            m.serialize_entry(k, &Sorted(v))?;
        }
        m.end()
    }
}

/// `ip`'s dotted text (as `Display` writes it), without `fmt`.
pub(crate) fn ipv4_text(ip: Ipv4Addr) -> StackText {
    let mut out = StackText::default();
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            out.push_bytes(b".");
        }
        let digits = [
            b'0' + octet / 100,
            b'0' + octet / 10 % 10,
            b'0' + octet % 10,
        ];
        let from = match octet {
            100.. => 0,
            10.. => 1,
            _ => 2,
        };
        out.push_bytes(&digits[from..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ipv4_text_is_display(bits in any::<u32>()) {
            let ip = Ipv4Addr::from(bits);
            let text = ipv4_text(ip);
            prop_assert_eq!(text.as_str(), ip.to_string());
        }
    }

    #[test]
    fn ipv4_text_edges() {
        for ip in ["0.0.0.0", "255.255.255.255", "10.0.99.100", "1.20.199.9"] {
            assert_eq!(ipv4_text(ip.parse().unwrap()).as_str(), ip);
        }
    }
}
