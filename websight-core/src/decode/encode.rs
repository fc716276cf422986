//! Events → Segment-spec JSON (what an SDK would have sent), the inverse of
//! [`decode_segment`](super::decode_segment).
//!
//! One encoder, written straight to bytes: every object's keys in byte order (as
//! `serde_json::Value`'s maps order them; free-form properties too, whatever serde_json's
//! features in the build), so [`segment_json`] and the `Value` of [`encode_segment`]
//! serialise to the same text.

use std::net::{IpAddr, Ipv4Addr};

use chrono::{DateTime, Utc};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

use crate::event::rfc3339::rfc3339;
use crate::event::sorted::{Sorted, SortedMap};
use crate::event::{Event, MessageType, Money, Page, ProductItem, StackText};

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

/// An event, serialised as Segment-spec JSON.
struct SegmentJson<'a>(&'a Event);

impl Serialize for SegmentJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        message(self.0).serialize(s)
    }
}

/// A JSON value borrowed from an event.
enum Node<'a> {
    Str(&'a str),
    Ip(IpAddr),
    Time(DateTime<Utc>),
    Money(Money),
    Units(u32),
    Number(f64),
    Json(&'a Value),
    Map(&'a Map<String, Value>),
    /// Keys in byte order, each once.
    Object(Vec<(&'a str, Node<'a>)>),
    Array(Vec<Node<'a>>),
}

impl Serialize for Node<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Str(text) => s.serialize_str(text),
            Node::Ip(IpAddr::V4(ip)) => s.serialize_str(ipv4_text(*ip).as_str()),
            Node::Ip(IpAddr::V6(ip)) => s.collect_str(ip),
            Node::Time(t) => s.serialize_str(rfc3339(*t).as_str()),
            Node::Money(m) => m.serialize(s),
            Node::Units(n) => s.serialize_u32(*n),
            Node::Number(x) => s.serialize_f64(*x),
            Node::Json(v) => Sorted(v).serialize(s),
            Node::Map(m) => SortedMap(m).serialize(s),
            Node::Object(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Node::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
        }
    }
}

/// `ip`'s dotted text (as `Display` writes it), without `fmt`.
fn ipv4_text(ip: Ipv4Addr) -> StackText {
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

/// An object of `fields` in key order; of a key given twice, the later value (as a map's
/// insert would keep).
fn object<'a>(mut fields: Vec<(&'a str, Node<'a>)>) -> Node<'a> {
    fields.reverse();
    // Stable: of equal keys the later-given one (now first) is kept.
    fields.sort_by(|a, b| a.0.cmp(b.0));
    fields.dedup_by(|later, earlier| later.0 == earlier.0);
    Node::Object(fields)
}

/// Pushes `(key, node)` when the value is present.
fn put<'a, T>(
    fields: &mut Vec<(&'a str, Node<'a>)>,
    key: &'a str,
    value: Option<T>,
    node: impl FnOnce(T) -> Node<'a>,
) {
    if let Some(v) = value {
        fields.push((key, node(v)));
    }
}

fn time<'a>(t: DateTime<Utc>) -> Node<'a> {
    Node::Time(t)
}

fn message(event: &Event) -> Node<'_> {
    let mut m = Vec::with_capacity(16);
    m.push(("type", Node::Str(event.kind.as_str())));
    m.push(("messageId", Node::Str(&event.message_id)));
    put(
        &mut m,
        "anonymousId",
        event.anonymous_id.as_deref(),
        Node::Str,
    );
    put(&mut m, "userId", event.user_id.as_deref(), Node::Str);
    put(
        &mut m,
        "previousId",
        event.previous_id.as_deref(),
        Node::Str,
    );
    let name_key = if event.kind == MessageType::Track {
        "event"
    } else {
        "name"
    };
    put(&mut m, name_key, event.name.as_deref(), Node::Str);
    let t = &event.timestamps;
    put(&mut m, "timestamp", t.timestamp, time);
    put(&mut m, "originalTimestamp", t.original_timestamp, time);
    put(&mut m, "sentAt", t.sent_at, time);
    put(&mut m, "receivedAt", t.received_at, time);
    let identify = event.kind == MessageType::Identify;
    let mut ctx = Vec::with_capacity(8);
    put(&mut ctx, "ip", event.ip, Node::Ip);
    put(
        &mut ctx,
        "userAgent",
        event.user_agent.as_deref(),
        Node::Str,
    );
    put(&mut ctx, "locale", event.locale.as_deref(), Node::Str);
    put(
        &mut ctx,
        "sessionId",
        event.session_id.as_deref(),
        Node::Str,
    );
    if event.page != Page::default() {
        ctx.push(("page", page(&event.page)));
    }
    if !event.campaign.is_empty() {
        let c = &event.campaign;
        let mut fields = Vec::with_capacity(5);
        put(&mut fields, "source", c.source.as_deref(), Node::Str);
        put(&mut fields, "medium", c.medium.as_deref(), Node::Str);
        put(&mut fields, "name", c.name.as_deref(), Node::Str);
        put(&mut fields, "term", c.term.as_deref(), Node::Str);
        put(&mut fields, "content", c.content.as_deref(), Node::Str);
        ctx.push(("campaign", object(fields)));
    }
    if !event.traits.is_empty() {
        // Identify calls carry traits at the top level, others in the context.
        let at = if identify { &mut m } else { &mut ctx };
        at.push(("traits", Node::Map(&event.traits)));
    }
    if !ctx.is_empty() {
        m.push(("context", object(ctx)));
    }
    let props = properties(event);
    if !props.is_empty() {
        m.push(("properties", object(props)));
    }
    object(m)
}

fn page(p: &Page) -> Node<'_> {
    let mut fields = Vec::with_capacity(5);
    put(&mut fields, "url", p.url.as_deref(), Node::Str);
    put(&mut fields, "path", p.path.as_deref(), Node::Str);
    put(&mut fields, "title", p.title.as_deref(), Node::Str);
    put(&mut fields, "referrer", p.referrer.as_deref(), Node::Str);
    put(&mut fields, "search", p.search.as_deref(), Node::Str);
    object(fields)
}

fn product_fields<'a>(item: &'a ProductItem, fields: &mut Vec<(&'a str, Node<'a>)>) {
    put(fields, "product_id", item.product_id.as_deref(), Node::Str);
    put(fields, "sku", item.sku.as_deref(), Node::Str);
    put(fields, "name", item.name.as_deref(), Node::Str);
    put(fields, "category", item.category.as_deref(), Node::Str);
    put(fields, "brand", item.brand.as_deref(), Node::Str);
    put(fields, "price", item.price, Node::Money);
    put(fields, "quantity", item.quantity, Node::Units);
}

/// The properties: kept extras, then the products, then the typed fields (a later one wins
/// over an extra of the same name).
fn properties(event: &Event) -> Vec<(&str, Node<'_>)> {
    let p = &event.properties;
    let mut out: Vec<(&str, Node<'_>)> = p
        .extra
        .iter()
        .map(|(k, v)| (k.as_str(), Node::Json(v)))
        .collect();
    let single = event.kind == MessageType::Track
        && p.products.len() == 1
        && event
            .name
            .as_deref()
            .is_some_and(|n| n.starts_with("Product ") && n != "Product List Viewed");
    if single {
        product_fields(&p.products[0], &mut out);
    } else if !p.products.is_empty() {
        let items = p
            .products
            .iter()
            .map(|item| {
                let mut fields = Vec::with_capacity(7);
                product_fields(item, &mut fields);
                object(fields)
            })
            .collect();
        out.push(("products", Node::Array(items)));
    }
    put(&mut out, "order_id", p.order_id.as_deref(), Node::Str);
    put(&mut out, "checkout_id", p.checkout_id.as_deref(), Node::Str);
    put(&mut out, "revenue", p.revenue, Node::Money);
    put(&mut out, "total", p.total, Node::Money);
    put(&mut out, "currency", p.currency.as_deref(), Node::Str);
    put(
        &mut out,
        "payment_method",
        p.payment_method.as_deref(),
        Node::Str,
    );
    put(&mut out, "review_id", p.review_id.as_deref(), Node::Str);
    put(&mut out, "review_body", p.review_body.as_deref(), Node::Str);
    put(&mut out, "rating", p.rating, Node::Number);
    put(&mut out, "query", p.query.as_deref(), Node::Str);
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
