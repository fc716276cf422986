//! Segment-spec messages and batches ↔ events.

use std::net::IpAddr;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value, json};

use super::{DeadLetter, DeadLetterReason, DecodeContext, Decoded, Limits};
use crate::event::{Campaign, Event, MessageType, Money, Page, ProductItem, Properties, clip};

type Object = Map<String, Value>;

/// Decodes one message or a `{"batch": […]}`: one result per message, in order.
///
/// A batch's own `sentAt` and `context` apply to messages that lack them (as Segment's HTTP
/// API does). A message without `messageId` gets a stable one from a hash of its content, so
/// an identical resend is still a duplicate.
pub fn decode_segment(raw: &[u8], context: &DecodeContext) -> Vec<Decoded> {
    let limits = &context.limits;
    if raw.len() > limits.max_batch_bytes {
        return vec![Err(DeadLetter::new(
            raw,
            DeadLetterReason::TooLarge(format!(
                "input is {} bytes, over the {}-byte limit",
                raw.len(),
                limits.max_batch_bytes
            )),
        ))];
    }
    let value: Value = match serde_json::from_slice(raw) {
        Ok(v) => v,
        Err(e) => return vec![Err(DeadLetter::new(raw, DeadLetterReason::of_json(&e)))],
    };
    let Value::Object(mut top) = value else {
        return vec![Err(DeadLetter::new(
            raw,
            DeadLetterReason::Shape("expected a JSON object".into()),
        ))];
    };
    match top.remove("batch") {
        Some(Value::Array(messages)) => {
            let sent_at = top.get("sentAt").cloned();
            let shared = top.get("context").and_then(Value::as_object).cloned();
            messages
                .into_iter()
                .map(|m| {
                    let Value::Object(mut m) = m else {
                        let text = m.to_string();
                        return Err(DeadLetter::new(
                            text.as_bytes(),
                            DeadLetterReason::Shape("a batch entry is not an object".into()),
                        ));
                    };
                    if let Some(sent) = &sent_at {
                        m.entry("sentAt").or_insert_with(|| sent.clone());
                    }
                    if let Some(shared) = &shared {
                        merge_context(&mut m, shared);
                    }
                    let text = serde_json::to_vec(&m).unwrap_or_default();
                    message(m, &text, context)
                })
                .collect()
        }
        Some(_) => vec![Err(DeadLetter::new(
            raw,
            DeadLetterReason::Shape("`batch` is not an array".into()),
        ))],
        None => vec![message(top, raw, context)],
    }
}

fn merge_context(message: &mut Object, shared: &Object) {
    let entry = message
        .entry("context")
        .or_insert_with(|| Value::Object(Object::new()));
    if let Value::Object(own) = entry {
        for (k, v) in shared {
            own.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}

/// One message object; `raw` is its text for the dead letter.
fn message(mut m: Object, raw: &[u8], context: &DecodeContext) -> Decoded {
    let refuse = |reason| Err(DeadLetter::new(raw, reason));
    let limits = &context.limits;
    if raw.len() > limits.max_message_bytes {
        return refuse(DeadLetterReason::TooLarge(format!(
            "message is {} bytes, over the {}-byte limit",
            raw.len(),
            limits.max_message_bytes
        )));
    }
    match parse(&mut m, raw, context) {
        Ok(event) => Ok(event),
        Err(reason) => refuse(reason),
    }
}

fn shape(text: impl Into<String>) -> DeadLetterReason {
    DeadLetterReason::Shape(text.into())
}

fn invalid(text: impl Into<String>) -> DeadLetterReason {
    DeadLetterReason::Invalid(text.into())
}

fn parse(m: &mut Object, raw: &[u8], context: &DecodeContext) -> Result<Event, DeadLetterReason> {
    let limits = &context.limits;
    let kind = match m.get("type") {
        Some(Value::String(t)) => MessageType::parse(t)
            .ok_or_else(|| shape(format!("unknown message type {:?}", clip(t))))?,
        None | Some(Value::Null) => context
            .default_type
            .ok_or_else(|| shape("missing `type`"))?,
        Some(_) => return Err(shape("`type` is not a string")),
    };
    let message_id = match id(m.get("messageId"), "messageId", limits)? {
        Some(id) => id,
        None => format!("ws-{:016x}", crate::hash::hash64(raw)),
    };
    let user_id = id(m.get("userId"), "userId", limits)?;
    let anonymous_id = id(m.get("anonymousId"), "anonymousId", limits)?;
    let previous_id = id(m.get("previousId"), "previousId", limits)?;
    if user_id.is_none() && anonymous_id.is_none() {
        return Err(invalid("neither userId nor anonymousId"));
    }
    if kind == MessageType::Alias && previous_id.is_none() {
        return Err(shape("alias without previousId"));
    }
    let name = match kind {
        MessageType::Track => {
            Some(text(m.get("event"), "event")?.ok_or_else(|| shape("track without `event`"))?)
        }
        MessageType::Page | MessageType::Screen => text(m.get("name"), "name")?,
        _ => None,
    };
    let mut timestamps = crate::event::Timestamps {
        timestamp: time(m.get("timestamp"), "timestamp")?,
        original_timestamp: time(m.get("originalTimestamp"), "originalTimestamp")?,
        sent_at: time(m.get("sentAt"), "sentAt")?,
        received_at: time(m.get("receivedAt"), "receivedAt")?,
    };
    if context.received_at.is_some() {
        timestamps.received_at = context.received_at;
    }
    let time = timestamps
        .event_time()
        .ok_or_else(|| invalid("no usable timestamp, originalTimestamp or receivedAt"))?;
    if let Some(received) = timestamps.received_at {
        let ahead = time.signed_duration_since(received);
        if ahead.num_seconds() > limits.max_future_skew_seconds {
            return Err(invalid(format!(
                "event time {} is {} s after its receipt {}, over the {} s limit",
                time.to_rfc3339(),
                ahead.num_seconds(),
                received.to_rfc3339(),
                limits.max_future_skew_seconds
            )));
        }
    }

    let mut ctx = match m.remove("context") {
        Some(Value::Object(c)) => c,
        None | Some(Value::Null) => Object::new(),
        Some(_) => return Err(shape("`context` is not an object")),
    };
    let mut props = match m.remove("properties") {
        Some(Value::Object(p)) => p,
        None | Some(Value::Null) => Object::new(),
        Some(_) => return Err(shape("`properties` is not an object")),
    };
    let session_id = id(
        ctx.get("sessionId").or(ctx.get("session_id")),
        "context.sessionId",
        limits,
    )?;
    let user_agent = text(ctx.get("userAgent"), "context.userAgent")?.map(|s| cap(s, 1024));
    // An unreadable address is no reason to lose the event; it just has none.
    let ip = text(ctx.get("ip"), "context.ip")?.and_then(|s| parse_ip(&s));
    let locale = text(ctx.get("locale"), "context.locale")?.map(|s| cap(s, 64));
    let mut page = match ctx.remove("page") {
        Some(Value::Object(p)) => page_of(&p)?,
        _ => Page::default(),
    };
    if kind == MessageType::Page {
        // analytics.js repeats the page in the properties; fill what the context lacks.
        let from_props = page_of(&props)?;
        fill(&mut page.url, from_props.url);
        fill(&mut page.path, from_props.path);
        fill(&mut page.title, from_props.title);
        fill(&mut page.referrer, from_props.referrer);
        fill(&mut page.search, from_props.search);
        for key in ["url", "path", "title", "referrer", "search"] {
            props.remove(key);
        }
    }
    let mut campaign = match ctx.get("campaign") {
        Some(Value::Object(c)) => campaign_of(c)?,
        _ => Campaign::default(),
    };
    if campaign.is_empty() {
        campaign = page
            .url
            .as_deref()
            .map(campaign_from_url)
            .unwrap_or_default();
    }
    let mut traits = match m.remove("traits") {
        Some(Value::Object(t)) => t,
        _ => Object::new(),
    };
    if let Some(Value::Object(t)) = ctx.remove("traits") {
        for (k, v) in t {
            traits.entry(k).or_insert(v);
        }
    }
    let properties = properties_of(props, kind, name.as_deref(), limits)?;
    Ok(Event {
        message_id,
        kind,
        name,
        time,
        timestamps,
        anonymous_id,
        user_id,
        previous_id,
        session_id,
        page,
        campaign,
        user_agent,
        ip,
        locale,
        properties,
        traits,
    })
}

fn fill(slot: &mut Option<String>, value: Option<String>) {
    if slot.is_none() {
        *slot = value;
    }
}

fn cap(mut s: String, max: usize) -> String {
    let end = crate::event::prefix(&s, max).len();
    s.truncate(end);
    s
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    // A list from proxies ("client, proxy"): the first is the client.
    let first = s.split(',').next().unwrap_or(s).trim();
    first.parse().ok().or_else(|| {
        // "1.2.3.4:5678" or "[::1]:80".
        first.parse::<std::net::SocketAddr>().ok().map(|a| a.ip())
    })
}

/// An id: a non-empty string or an integer (read as its decimal text); `null` or `""` is
/// none.
fn id(
    value: Option<&Value>,
    field: &str,
    limits: &Limits,
) -> Result<Option<String>, DeadLetterReason> {
    let text = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(shape(format!("`{field}` is not a string"))),
    };
    if text.len() > limits.max_id_bytes {
        return Err(DeadLetterReason::TooLarge(format!(
            "`{field}` is {} bytes, over the {}-byte limit",
            text.len(),
            limits.max_id_bytes
        )));
    }
    Ok((!text.is_empty()).then_some(text))
}

/// A string field (numbers and booleans are kept as their text); capped at 8 KiB.
fn text(value: Option<&Value>, field: &str) -> Result<Option<String>, DeadLetterReason> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(cap(s.clone(), 8 * 1024))),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(_) => Err(shape(format!("`{field}` is not a string"))),
    }
}

/// An RFC 3339 time; an ISO 8601 time without offset is read as UTC; an integer is epoch
/// milliseconds.
fn time(value: Option<&Value>, field: &str) -> Result<Option<DateTime<Utc>>, DeadLetterReason> {
    let bad = |what: &str| invalid(format!("`{field}` {what}"));
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Ok(Some(t.with_timezone(&Utc)));
            }
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .map(|t| Some(t.and_utc()))
                .map_err(|_| bad(&format!("{:?} is not an RFC 3339 time", clip(s))))
        }
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(DateTime::from_timestamp_millis)
            .map(Some)
            .ok_or_else(|| bad("is not a time in epoch milliseconds")),
        Some(_) => Err(bad("is not a time")),
    }
}

fn page_of(p: &Object) -> Result<Page, DeadLetterReason> {
    Ok(Page {
        url: text(p.get("url"), "page.url")?,
        path: text(p.get("path"), "page.path")?,
        title: text(p.get("title"), "page.title")?,
        referrer: text(p.get("referrer"), "page.referrer")?,
        search: text(p.get("search"), "page.search")?,
    })
}

fn campaign_of(c: &Object) -> Result<Campaign, DeadLetterReason> {
    let get = |a: &str, b: &str| text(c.get(a).or(c.get(b)), a);
    Ok(Campaign {
        source: get("source", "utm_source")?,
        medium: get("medium", "utm_medium")?,
        name: get("name", "utm_campaign")?,
        term: get("term", "utm_term")?,
        content: get("content", "utm_content")?,
    })
}

/// The `utm_*` parameters of a page URL.
pub fn campaign_from_url(url: &str) -> Campaign {
    let Some((_, query)) = url.split_once('?') else {
        return Campaign::default();
    };
    let query = query.split('#').next().unwrap_or(query);
    let mut c = Campaign::default();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match k.as_ref() {
            "utm_source" => &mut c.source,
            "utm_medium" => &mut c.medium,
            "utm_campaign" => &mut c.name,
            "utm_term" => &mut c.term,
            "utm_content" => &mut c.content,
            _ => continue,
        };
        if slot.is_none() && !v.is_empty() {
            *slot = Some(cap(v.into_owned(), 256));
        }
    }
    c
}

fn money(value: Option<Value>, field: &str) -> Result<Option<Money>, DeadLetterReason> {
    match value.as_ref().and_then(Money::from_json) {
        None => Ok(None),
        Some(Ok(m)) => Ok(Some(m)),
        Some(Err(e)) => Err(invalid(format!("`{field}`: {e}"))),
    }
}

fn product_of(mut p: Object, limits: &Limits) -> Result<(ProductItem, Object), DeadLetterReason> {
    let quantity = match p.remove("quantity") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let n = match &v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse::<u64>().ok(),
                _ => None,
            };
            match n.and_then(|n| u32::try_from(n).ok()) {
                Some(n) if n <= 1_000_000 => Some(n),
                _ => {
                    return Err(invalid(format!(
                        "`quantity` {} is not a whole number of units up to 1,000,000",
                        clip(&v.to_string())
                    )));
                }
            }
        }
    };
    let item = ProductItem {
        product_id: id(p.get("product_id").or(p.get("id")), "product_id", limits)?,
        sku: id(p.get("sku"), "sku", limits)?,
        name: text(p.get("name"), "name")?,
        category: text(p.get("category"), "category")?,
        brand: text(p.get("brand"), "brand")?,
        price: money(p.remove("price"), "price")?,
        quantity,
    };
    for key in ["product_id", "id", "sku", "name", "category", "brand"] {
        p.remove(key);
    }
    Ok((item, p))
}

fn properties_of(
    mut p: Object,
    kind: MessageType,
    name: Option<&str>,
    limits: &Limits,
) -> Result<Properties, DeadLetterReason> {
    let mut out = Properties::default();
    match p.remove("products") {
        Some(Value::Array(items)) => {
            if items.len() > limits.max_products {
                return Err(DeadLetterReason::TooLarge(format!(
                    "{} products, over the limit of {}",
                    items.len(),
                    limits.max_products
                )));
            }
            for item in items {
                let Value::Object(item) = item else {
                    return Err(shape("a `products` entry is not an object"));
                };
                // Per-product extras are few and rarely read: they are dropped with the item's
                // typed fields kept.
                out.products.push(product_of(item, limits)?.0);
            }
        }
        None | Some(Value::Null) => {}
        Some(other) => {
            p.insert("products".into(), other);
        }
    }
    // Product-level events carry one product in the properties themselves.
    let product_event = kind == MessageType::Track
        && name.is_some_and(|n| n.starts_with("Product ") && n != "Product List Viewed");
    if out.products.is_empty()
        && (product_event || p.contains_key("product_id") || p.contains_key("sku"))
    {
        let mut own = Object::new();
        for key in [
            "product_id",
            "sku",
            "name",
            "category",
            "brand",
            "price",
            "quantity",
        ] {
            if let Some(v) = p.remove(key) {
                own.insert(key.into(), v);
            }
        }
        let (item, _) = product_of(own, limits)?;
        if item.key().is_some() {
            out.products.push(item);
        }
    }
    out.order_id = id(p.remove("order_id").as_ref(), "order_id", limits)?;
    out.checkout_id = id(p.remove("checkout_id").as_ref(), "checkout_id", limits)?;
    out.revenue = money(p.remove("revenue"), "revenue")?;
    out.total = money(p.remove("total"), "total")?;
    out.currency = text(p.remove("currency").as_ref(), "currency")?
        .map(|c| cap(c.trim().to_ascii_uppercase(), 8));
    out.payment_method = text(p.remove("payment_method").as_ref(), "payment_method")?;
    out.review_id = id(p.remove("review_id").as_ref(), "review_id", limits)?;
    out.review_body = text(p.remove("review_body").as_ref(), "review_body")?;
    out.rating = match p.remove("rating") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => Some(
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|r| r.is_finite())
                .ok_or_else(|| invalid("`rating` is not a number"))?,
        ),
        Some(_) => return Err(invalid("`rating` is not a number")),
    };
    out.query = text(p.remove("query").as_ref(), "query")?;
    out.extra = p;
    Ok(out)
}

/// The Segment-spec JSON of an event (what an SDK would have sent), the inverse of
/// [`decode_segment`]: decoding the result gives the event back.
pub fn encode_segment(event: &Event) -> Value {
    let mut m = Object::new();
    m.insert("type".into(), json!(event.kind.as_str()));
    m.insert("messageId".into(), json!(event.message_id));
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(v) = value {
            m.insert(key.into(), v);
        }
    };
    put("anonymousId", event.anonymous_id.as_ref().map(|s| json!(s)));
    put("userId", event.user_id.as_ref().map(|s| json!(s)));
    put("previousId", event.previous_id.as_ref().map(|s| json!(s)));
    let name_key = if event.kind == MessageType::Track {
        "event"
    } else {
        "name"
    };
    put(name_key, event.name.as_ref().map(|s| json!(s)));
    let ts = |t: Option<DateTime<Utc>>| {
        t.map(|t| json!(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)))
    };
    let t = &event.timestamps;
    put("timestamp", ts(t.timestamp));
    put("originalTimestamp", ts(t.original_timestamp));
    put("sentAt", ts(t.sent_at));
    put("receivedAt", ts(t.received_at));
    let mut ctx = Object::new();
    let mut cput = |key: &str, value: Option<Value>| {
        if let Some(v) = value {
            ctx.insert(key.into(), v);
        }
    };
    cput("ip", event.ip.map(|ip| json!(ip.to_string())));
    cput("userAgent", event.user_agent.as_ref().map(|s| json!(s)));
    cput("locale", event.locale.as_ref().map(|s| json!(s)));
    cput("sessionId", event.session_id.as_ref().map(|s| json!(s)));
    if event.page != Page::default() {
        cput("page", serde_json::to_value(&event.page).ok());
    }
    if !event.campaign.is_empty() {
        cput("campaign", serde_json::to_value(&event.campaign).ok());
    }
    if !event.traits.is_empty() {
        let key = if event.kind == MessageType::Identify {
            None
        } else {
            Some("traits")
        };
        if let Some(key) = key {
            cput(key, Some(Value::Object(event.traits.clone())));
        }
    }
    if !ctx.is_empty() {
        m.insert("context".into(), Value::Object(ctx));
    }
    if event.kind == MessageType::Identify && !event.traits.is_empty() {
        m.insert("traits".into(), Value::Object(event.traits.clone()));
    }
    let props = encode_properties(event);
    if !props.is_empty() {
        m.insert("properties".into(), Value::Object(props));
    }
    Value::Object(m)
}

fn encode_product(item: &ProductItem) -> Object {
    match serde_json::to_value(item) {
        Ok(Value::Object(o)) => o,
        _ => Object::new(),
    }
}

fn encode_properties(event: &Event) -> Object {
    let p = &event.properties;
    let mut out = p.extra.clone();
    let single = event.kind == MessageType::Track
        && p.products.len() == 1
        && event
            .name
            .as_deref()
            .is_some_and(|n| n.starts_with("Product ") && n != "Product List Viewed");
    if single {
        out.extend(encode_product(&p.products[0]));
    } else if !p.products.is_empty() {
        out.insert(
            "products".into(),
            Value::Array(
                p.products
                    .iter()
                    .map(|i| Value::Object(encode_product(i)))
                    .collect(),
            ),
        );
    }
    let mut typed = match serde_json::to_value(Properties {
        products: Vec::new(),
        extra: Object::new(),
        ..p.clone()
    }) {
        Ok(Value::Object(o)) => o,
        _ => Object::new(),
    };
    out.append(&mut typed);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(json: &str) -> Decoded {
        let mut all = decode_segment(json.as_bytes(), &DecodeContext::default());
        assert_eq!(all.len(), 1);
        all.remove(0)
    }

    #[test]
    fn clock_skew_is_corrected_and_timestamp_wins() {
        let e = one(
            r#"{"type":"page","anonymousId":"a","originalTimestamp":"2026-01-01T10:00:00Z",
               "sentAt":"2026-01-01T10:00:05Z","receivedAt":"2026-01-01T12:00:06Z"}"#,
        )
        .unwrap();
        assert_eq!(e.time.to_rfc3339(), "2026-01-01T12:00:01+00:00");
        let e = one(
            r#"{"type":"page","anonymousId":"a","timestamp":"2025-06-01T00:00:00.250Z",
               "originalTimestamp":"2026-01-01T10:00:00Z","receivedAt":"2026-01-01T12:00:06Z"}"#,
        )
        .unwrap();
        assert_eq!(e.time.to_rfc3339(), "2025-06-01T00:00:00.250+00:00");
    }

    #[test]
    fn collector_receive_time_overrides_the_message() {
        let ctx = DecodeContext {
            received_at: Some("2026-02-02T00:00:10Z".parse().unwrap()),
            ..DecodeContext::default()
        };
        let raw = br#"{"type":"track","event":"X","anonymousId":"a","originalTimestamp":"2020-01-01T00:00:00Z",
            "sentAt":"2020-01-01T00:00:10Z","receivedAt":"1999-01-01T00:00:00Z"}"#;
        let e = decode_segment(raw, &ctx).remove(0).unwrap();
        assert_eq!(e.time.to_rfc3339(), "2026-02-02T00:00:00+00:00");
    }

    #[test]
    fn batch_shares_sent_at_and_context_and_isolates_bad_messages() {
        let raw = br#"{"batch":[
            {"type":"page","messageId":"1","anonymousId":"a","originalTimestamp":"2026-01-01T00:00:00Z"},
            {"type":"track","messageId":"2","anonymousId":"a"},
            {"type":"identify","messageId":"3","userId":42,"traits":{"email":"x@y.z"},
             "context":{"ip":"10.0.0.1"},"timestamp":"2026-01-01T00:00:01Z"},
            7],
            "sentAt":"2026-01-01T00:00:02Z","context":{"ip":"1.2.3.4","userAgent":"UA"}}"#;
        let out = decode_segment(raw, &DecodeContext::default());
        assert_eq!(out.len(), 4);
        let page = out[0].as_ref().unwrap();
        assert_eq!(page.user_agent.as_deref(), Some("UA"));
        assert_eq!(
            page.timestamps.sent_at.unwrap().to_rfc3339(),
            "2026-01-01T00:00:02+00:00"
        );
        let dead = out[1].as_ref().unwrap_err();
        assert_eq!(
            dead.reason,
            DeadLetterReason::Shape("track without `event`".into())
        );
        assert!(String::from_utf8_lossy(&dead.raw).contains("\"messageId\":\"2\""));
        let identify = out[2].as_ref().unwrap();
        assert_eq!(identify.user_id.as_deref(), Some("42"));
        assert_eq!(
            identify.ip.unwrap().to_string(),
            "10.0.0.1",
            "own context wins"
        );
        assert_eq!(identify.traits["email"], "x@y.z");
        assert!(out[3].is_err());
    }

    #[test]
    fn ecommerce_properties_are_typed_and_the_rest_kept() {
        let e = one(
            r#"{"type":"track","event":"Product Added","anonymousId":"a","timestamp":"2026-01-01T00:00:00Z",
               "properties":{"product_id":"p-1","sku":"S1","name":"Sofa","price":"499.99","quantity":"2",
                             "category":"living room","color":"red"}}"#,
        )
        .unwrap();
        let p = &e.properties.products[0];
        assert_eq!(p.product_id.as_deref(), Some("p-1"));
        assert_eq!(p.price.unwrap().to_string(), "499.99");
        assert_eq!(p.quantity, Some(2));
        assert_eq!(e.properties.extra["color"], "red");
        assert!(!e.properties.extra.contains_key("name"));

        let bad = one(
            r#"{"type":"track","event":"Order Completed","anonymousId":"a","timestamp":"2026-01-01T00:00:00Z",
               "properties":{"revenue":"lots"}}"#,
        );
        assert!(matches!(
            bad.unwrap_err().reason,
            DeadLetterReason::Invalid(_)
        ));
        let neg = one(
            r#"{"type":"track","event":"Product Added","anonymousId":"a","timestamp":"2026-01-01T00:00:00Z",
               "properties":{"product_id":"1","quantity":-1}}"#,
        );
        assert!(matches!(
            neg.unwrap_err().reason,
            DeadLetterReason::Invalid(_)
        ));
    }

    #[test]
    fn campaign_from_context_or_url_and_page_from_properties() {
        let e = one(
            r#"{"type":"page","anonymousId":"a","timestamp":"2026-01-01T00:00:00Z",
               "properties":{"url":"https://shop.example/?utm_source=newsletter&utm_medium=email&utm_campaign=spring%20sale",
                             "referrer":"https://mail.example/","title":"Home"}}"#,
        )
        .unwrap();
        assert_eq!(e.campaign.source.as_deref(), Some("newsletter"));
        assert_eq!(e.campaign.medium.as_deref(), Some("email"));
        assert_eq!(e.campaign.name.as_deref(), Some("spring sale"));
        assert_eq!(e.page.referrer.as_deref(), Some("https://mail.example/"));
        assert!(e.properties.extra.is_empty());
    }

    #[test]
    fn hostile_inputs_are_typed_dead_letters() {
        let long = format!(
            r#"{{"type":"page","anonymousId":"{}","timestamp":"2026-01-01T00:00:00Z"}}"#,
            "x".repeat(300)
        );
        assert!(matches!(
            one(&long).unwrap_err().reason,
            DeadLetterReason::TooLarge(_)
        ));
        let far = r#"{"type":"page","anonymousId":"a","timestamp":"+262142-12-31T23:59:30Z"}"#;
        assert!(matches!(
            one(far).unwrap_err().reason,
            DeadLetterReason::Invalid(_)
        ));
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(one(&deep).is_err());
        let nobody = r#"{"type":"page","timestamp":"2026-01-01T00:00:00Z"}"#;
        assert!(matches!(
            one(nobody).unwrap_err().reason,
            DeadLetterReason::Invalid(_)
        ));
        let undated = r#"{"type":"page","anonymousId":"a"}"#;
        assert!(one(undated).is_err());
        assert!(matches!(
            one("{\"type\": \"pa").unwrap_err().reason,
            DeadLetterReason::Truncated(_)
        ));
        let huge = format!(
            r#"{{"type":"page","anonymousId":"a","timestamp":"2026-01-01T00:00:00Z","properties":{{"x":"{}"}}}}"#,
            "y".repeat(40_000)
        );
        assert!(matches!(
            one(&huge).unwrap_err().reason,
            DeadLetterReason::TooLarge(_)
        ));
    }

    #[test]
    fn event_times_far_ahead_of_receipt_are_refused_and_old_imports_kept() {
        let ahead = r#"{"type":"page","anonymousId":"a","timestamp":"2026-03-02T10:00:00Z","receivedAt":"2026-03-01T09:00:00Z"}"#;
        assert!(matches!(
            one(ahead).unwrap_err().reason,
            DeadLetterReason::Invalid(_)
        ));
        let import = r#"{"type":"page","anonymousId":"a","timestamp":"2019-03-02T10:00:00Z","receivedAt":"2026-03-01T09:00:00Z"}"#;
        assert!(one(import).is_ok());
        let skewed = r#"{"type":"page","anonymousId":"a","timestamp":"2026-03-01T20:00:00Z","receivedAt":"2026-03-01T09:00:00Z"}"#;
        assert!(one(skewed).is_ok(), "within a day of receipt");
    }

    #[test]
    fn missing_message_ids_are_stable() {
        let raw = r#"{"type":"page","anonymousId":"a","timestamp":"2026-01-01T00:00:00Z"}"#;
        assert_eq!(one(raw).unwrap().message_id, one(raw).unwrap().message_id);
    }
}
