//! Segment-spec messages and batches ↔ events.
//!
//! Decoding reads the [`wire`](super::wire) shapes in one pass — no `serde_json::Value` for
//! the fields we type — and turns them into an [`Event`], or a dead letter naming the field.

use std::net::IpAddr;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use super::wire::{
    CampaignFields, ConsentFields, ConsentManagement, Field, ListOr, Message, PageFields,
    Preferences, ProductFields, Props, Scalar, Unread,
};
use super::{DeadLetter, DeadLetterReason, DecodeContext, Decoded, Limits};
use crate::event::{
    Campaign, CompactString, Event, MessageType, Money, Page, ProductItem, Properties, clip,
    format_compact, trim,
};
use crate::json_bytes::number_text;

type Object = Map<String, Value>;

/// Decodes one message or a `{"batch": […]}`: one result per message, in order.
///
/// A batch's own `sentAt` and `context` apply to messages that lack them (as Segment's HTTP
/// API does, field by field). A message without `messageId` gets a stable one from a hash of
/// its text, so an identical resend is still a duplicate.
pub fn decode_segment(raw: &[u8], context: &DecodeContext) -> Vec<Decoded> {
    let mut out = Vec::with_capacity(1);
    decode_segment_or_record(raw, context, |_| false, &mut out);
    out
}

/// [`decode_segment`] into `out`, or `false` (nothing pushed) for a line that `is_record`
/// (the original system's session record): asked with the parsed message's top-level keys
/// when the line is a JSON object, else (`None`) to sniff the bytes — so a line is read once
/// whatever it is.
pub(super) fn decode_segment_or_record(
    raw: &[u8],
    context: &DecodeContext,
    is_record: impl Fn(Option<&Message<'_>>) -> bool,
    out: &mut Vec<Decoded>,
) -> bool {
    let limits = &context.limits;
    if raw.len() > limits.max_batch_bytes {
        if is_record(None) {
            return false;
        }
        out.push(Err(DeadLetter::new(
            raw,
            DeadLetterReason::TooLarge(format!(
                "input is {} bytes, over the {}-byte limit",
                raw.len(),
                limits.max_batch_bytes
            )),
        )));
        return true;
    }
    let top = match read_object(raw, "expected a JSON object") {
        Ok(top) => top,
        Err(_) if is_record(None) => return false,
        Err(reason) => {
            out.push(Err(DeadLetter::new(raw, reason)));
            return true;
        }
    };
    if is_record(Some(&top)) {
        return false;
    }
    match top.batch {
        Some(ListOr::List(entries)) => {
            // A shared context that is not an object is ignored, as Segment does.
            let shared = Field::object(top.context).unwrap_or_default();
            out.extend(entries.into_iter().map(|entry| {
                let text = entry.get().as_bytes();
                let mut m = read_object(text, "a batch entry is not an object")
                    .map_err(|reason| DeadLetter::new(text, reason))?;
                if m.sent_at.is_none() {
                    m.sent_at.clone_from(&top.sent_at);
                }
                if let Some(shared) = &shared {
                    match &mut m.context {
                        None => m.context = Some(Field::Object(shared.clone())),
                        Some(Field::Object(own)) => own.inherit(shared),
                        Some(Field::Other) => {}
                    }
                }
                message(m, text, context)
            }));
        }
        Some(ListOr::Other(_)) => out.push(Err(DeadLetter::new(
            raw,
            DeadLetterReason::Shape("`batch` is not an array".into()),
        ))),
        None => out.push(message(top, raw, context)),
    }
    true
}

/// The wire message in `raw`, which must be a JSON object.
fn read_object<'a>(raw: &'a [u8], not_object: &str) -> Result<Box<Message<'a>>, DeadLetterReason> {
    let first = raw.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        // Say what is wrong with it: bad JSON, or JSON that is not an object.
        return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(raw) {
            Err(e) => DeadLetterReason::of_json(&e),
            Ok(_) => shape(not_object),
        });
    }
    // UTF-8 checked once for the whole text (SIMD), not string by string; on failure std
    // says where (and has the last word).
    let text = match simdutf8::basic::from_utf8(raw) {
        Ok(text) => text,
        Err(_) => std::str::from_utf8(raw)
            .map_err(|e| DeadLetterReason::Syntax(format!("not UTF-8: {e}")))?,
    };
    // The common shape by hand; anything else (and every error) by serde.
    match super::scan::message(text) {
        Some(m) => Ok(m),
        None => serde_json::from_str(text)
            .map(Box::new)
            .map_err(|e| DeadLetterReason::of_json(&e)),
    }
}

/// One message; `raw` is its text for the dead letter and the derived message id.
fn message(m: Box<Message<'_>>, raw: &[u8], context: &DecodeContext) -> Decoded {
    let limits = &context.limits;
    if raw.len() > limits.max_message_bytes {
        return Err(DeadLetter::new(
            raw,
            DeadLetterReason::TooLarge(format!(
                "message is {} bytes, over the {}-byte limit",
                raw.len(),
                limits.max_message_bytes
            )),
        ));
    }
    parse(m, raw, context).map_err(|reason| DeadLetter::new(raw, reason))
}

fn shape(text: impl Into<String>) -> DeadLetterReason {
    DeadLetterReason::Shape(text.into())
}

fn invalid(text: impl Into<String>) -> DeadLetterReason {
    DeadLetterReason::Invalid(text.into())
}

fn parse(
    m: Box<Message<'_>>,
    raw: &[u8],
    context: &DecodeContext,
) -> Result<Box<Event>, DeadLetterReason> {
    let limits = &context.limits;
    let kind = match m.kind {
        Some(Scalar::Str(t)) => MessageType::parse(&t)
            .ok_or_else(|| shape(format!("unknown message type {:?}", clip(&t))))?,
        None | Some(Scalar::Null) => context
            .default_type
            .ok_or_else(|| shape("missing `type`"))?,
        Some(_) => return Err(shape("`type` is not a string")),
    };
    let message_id = match id(m.message_id, "messageId", limits)? {
        Some(id) => id,
        None => format_compact!("ws-{:016x}", crate::hash::hash64(raw)),
    };
    let user_id = id(m.user_id, "userId", limits)?;
    let anonymous_id = id(m.anonymous_id, "anonymousId", limits)?;
    let previous_id = id(m.previous_id, "previousId", limits)?;
    if user_id.is_none() && anonymous_id.is_none() {
        return Err(invalid("neither userId nor anonymousId"));
    }
    if kind == MessageType::Alias && previous_id.is_none() {
        return Err(shape("alias without previousId"));
    }
    let name = match kind {
        MessageType::Track => {
            Some(text(m.event, "event")?.ok_or_else(|| shape("track without `event`"))?)
        }
        MessageType::Page | MessageType::Screen => text(m.name, "name")?,
        _ => None,
    };
    let mut timestamps = crate::event::Timestamps {
        timestamp: time(m.timestamp, "timestamp")?,
        original_timestamp: time(m.original_timestamp, "originalTimestamp")?,
        sent_at: time(m.sent_at, "sentAt")?,
        received_at: time(m.received_at, "receivedAt")?,
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

    // Read in their boxes, field by field: an absent context is a default one, absent
    // properties are typed as none.
    let ctx = Field::object(m.context)
        .map_err(|()| shape("`context` is not an object"))?
        .unwrap_or_default();
    let props = Field::object(m.properties).map_err(|()| shape("`properties` is not an object"))?;
    let session_id = id(
        ctx.session_id.or(ctx.session_id_snake),
        "context.sessionId",
        limits,
    )?;
    let user_agent = text(ctx.user_agent, "context.userAgent")?.map(|s| cap(s, 1024));
    // An unreadable address is no reason to lose the event; it just has none.
    let ip = text(ctx.ip, "context.ip")?.and_then(|s| parse_ip(&s));
    let locale = text(ctx.locale, "context.locale")?.map(|s| cap(s, 64));
    let library = match ctx.library {
        Some(Field::Object(l)) => text(l.name, "context.library.name")?
            .filter(|s| !s.is_empty())
            .map(|s| cap(s, 128)),
        _ => None,
    };
    let mut page = match ctx.page {
        Some(Field::Object(p)) => page_of(p)?,
        _ => Page::default(),
    };
    let mut campaign = match ctx.campaign {
        Some(Field::Object(c)) => campaign_of(c)?,
        _ => Campaign::default(),
    };
    let traits = if context.drop_traits {
        Object::new()
    } else {
        traits_of(m.traits, ctx.traits)?
    };
    let denied_consent = denied_consent(ctx.consent, ctx.consent_management)?;
    let properties = properties_of(props, kind, name.as_deref(), &mut page, limits)?;
    if campaign.is_empty() {
        campaign = page
            .url
            .as_deref()
            .map(campaign_from_url)
            .unwrap_or_default();
    }
    Ok(Box::new(Event {
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
        denied_consent,
        library,
        address_key: None,
    }))
}

/// The message's traits and then its context's, each read only when it is an object.
fn traits_of(own: Option<Unread<'_>>, ctx: Option<Unread<'_>>) -> Result<Object, DeadLetterReason> {
    let read = |raw: Option<Unread<'_>>| match raw.map(|r| serde_json::from_str(r.0)) {
        Some(Ok(Field::Object(t))) => Ok(t),
        None | Some(Ok(Field::Other)) => Ok(Object::new()),
        Some(Err(e)) => Err(DeadLetterReason::of_json(&e)),
    };
    let mut traits = read(own)?;
    for (k, v) in read(ctx)? {
        traits.entry(k).or_insert(v);
    }
    Ok(traits)
}

/// The consent categories denied by `context.consent.categoryPreferences` (a category set
/// to `false`) and `context.consentManagement.deniedConsentIds`, sorted and distinct. Consent
/// that cannot be read is a dead letter: an event is never kept on consent that was not
/// understood.
fn denied_consent(
    consent: Option<Field<ConsentFields>>,
    management: Option<Field<ConsentManagement>>,
) -> Result<Vec<CompactString>, DeadLetterReason> {
    const MAX: usize = 64;
    let mut denied = Vec::new();
    let consent =
        Field::object(consent).map_err(|()| shape("`context.consent` is not an object"))?;
    match consent.and_then(|c| c.preferences) {
        None => {}
        Some(Field::Object(Preferences(preferences))) => {
            for (category, granted) in preferences {
                match granted {
                    Some(false) => denied.push(category),
                    Some(true) => {}
                    None => {
                        let what =
                            format!("consent for {:?} is not true or false", clip(&category));
                        return Err(shape(what));
                    }
                }
            }
        }
        Some(Field::Other) => {
            return Err(shape(
                "`context.consent.categoryPreferences` is not an object",
            ));
        }
    }
    let management = Field::object(management)
        .map_err(|()| shape("`context.consentManagement` is not an object"))?;
    match management.and_then(|m| m.denied) {
        None | Some(Value::Null) => {}
        Some(Value::Array(ids)) => {
            for id in ids {
                match id {
                    Value::String(id) => denied.push(id.into()),
                    _ => return Err(shape("a denied consent id is not a string")),
                }
            }
        }
        Some(_) => {
            return Err(shape(
                "`context.consentManagement.deniedConsentIds` is not an array",
            ));
        }
    }
    if denied.len() > MAX {
        return Err(DeadLetterReason::TooLarge(format!(
            "{} denied consent categories, over the {MAX} allowed",
            denied.len()
        )));
    }
    let mut denied: Vec<CompactString> = denied.into_iter().map(|c| cap(c, 256)).collect();
    denied.sort_unstable();
    denied.dedup();
    Ok(denied)
}

fn fill(slot: &mut Option<CompactString>, value: Option<CompactString>) {
    if slot.is_none() {
        *slot = value;
    }
}

fn cap(mut s: CompactString, max: usize) -> CompactString {
    let end = crate::event::prefix(&s, max).len();
    s.truncate(end);
    s
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    // A list from proxies ("client, proxy"): the first is the client.
    let first = trim(s.split_once(',').map_or(s, |(first, _)| first));
    first.parse().ok().or_else(|| {
        // "1.2.3.4:5678" or "[::1]:80".
        first.parse::<std::net::SocketAddr>().ok().map(|a| a.ip())
    })
}

/// An id: a non-empty string or an integer (read as its decimal text); `null` or `""` is
/// none.
fn id(
    value: Option<Scalar<'_>>,
    field: &str,
    limits: &Limits,
) -> Result<Option<CompactString>, DeadLetterReason> {
    let text: CompactString = match &value {
        None | Some(Scalar::Null) => return Ok(None),
        Some(Scalar::Str(s)) => trim(s).into(),
        Some(Scalar::Num(n)) => number_text(n, |t| CompactString::new(t)),
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
fn text(value: Option<Scalar<'_>>, field: &str) -> Result<Option<CompactString>, DeadLetterReason> {
    match value {
        None | Some(Scalar::Null) => Ok(None),
        Some(Scalar::Str(s)) => Ok(Some(crate::event::prefix(&s, 8 * 1024).into())),
        Some(Scalar::Num(n)) => Ok(Some(number_text(&n, |t| CompactString::new(t)))),
        Some(Scalar::Bool(b)) => Ok(Some(if b { "true" } else { "false" }.into())),
        Some(Scalar::Other(_)) => Err(shape(format!("`{field}` is not a string"))),
    }
}

/// An RFC 3339 time; an ISO 8601 time without offset is read as UTC; an integer is epoch
/// milliseconds.
fn time(value: Option<Scalar<'_>>, field: &str) -> Result<Option<DateTime<Utc>>, DeadLetterReason> {
    let bad = |what: &str| invalid(format!("`{field}` {what}"));
    match value {
        None | Some(Scalar::Null) => Ok(None),
        Some(Scalar::Str(s)) => {
            let s = trim(&s);
            if let Some(t) = crate::event::rfc3339::parse_utc(s) {
                return Ok(Some(t));
            }
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Ok(Some(t.with_timezone(&Utc)));
            }
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .map(|t| Some(t.and_utc()))
                .map_err(|_| bad(&format!("{:?} is not an RFC 3339 time", clip(s))))
        }
        Some(Scalar::Num(n)) => n
            .as_i64()
            .and_then(DateTime::from_timestamp_millis)
            .map(Some)
            .ok_or_else(|| bad("is not a time in epoch milliseconds")),
        Some(_) => Err(bad("is not a time")),
    }
}

fn page_of(p: PageFields<'_>) -> Result<Page, DeadLetterReason> {
    Ok(Page {
        url: text(p.url, "page.url")?,
        path: text(p.path, "page.path")?,
        title: text(p.title, "page.title")?,
        referrer: text(p.referrer, "page.referrer")?,
        search: text(p.search, "page.search")?,
    })
}

fn campaign_of(c: CampaignFields<'_>) -> Result<Campaign, DeadLetterReason> {
    Ok(Campaign {
        source: text(c.source.or(c.utm_source), "source")?,
        medium: text(c.medium.or(c.utm_medium), "medium")?,
        name: text(c.name.or(c.utm_campaign), "name")?,
        term: text(c.term.or(c.utm_term), "term")?,
        content: text(c.content.or(c.utm_content), "content")?,
    })
}

/// The `utm_*` parameters of a page URL.
pub fn campaign_from_url(url: &str) -> Campaign {
    let Some((_, query, _)) = crate::query::split_query(url) else {
        return Campaign::default();
    };
    let mut c = Campaign::default();
    for pair in crate::query::pairs(query) {
        let slot = match pair.name().as_ref() {
            "utm_source" => &mut c.source,
            "utm_medium" => &mut c.medium,
            "utm_campaign" => &mut c.name,
            "utm_term" => &mut c.term,
            "utm_content" => &mut c.content,
            _ => continue,
        };
        if slot.is_none() && !pair.sent_value().is_empty() {
            *slot = Some(cap(CompactString::from(pair.value()), 256));
        }
    }
    c
}

fn money(value: Option<Scalar<'_>>, field: &str) -> Result<Option<Money>, DeadLetterReason> {
    let parsed = match value {
        None | Some(Scalar::Null) => return Ok(None),
        Some(Scalar::Num(n)) => Money::from_number(&n),
        Some(Scalar::Str(s)) => trim(&s).parse(),
        Some(other) => Err(crate::event::MoneyError::NotDecimal(clip(
            &other.into_value().to_string(),
        ))),
    };
    parsed
        .map(Some)
        .map_err(|e| invalid(format!("`{field}`: {e}")))
}

fn quantity(value: Option<Scalar<'_>>) -> Result<Option<u32>, DeadLetterReason> {
    let n = match &value {
        None | Some(Scalar::Null) => return Ok(None),
        Some(Scalar::Num(n)) => n.as_u64(),
        Some(Scalar::Str(s)) => trim(s).parse::<u64>().ok(),
        Some(_) => None,
    };
    match n.and_then(|n| u32::try_from(n).ok()) {
        Some(n) if n <= 1_000_000 => Ok(Some(n)),
        _ => Err(invalid(format!(
            "`quantity` {} is not a whole number of units up to 1,000,000",
            clip(&value.map_or(Value::Null, Scalar::into_value).to_string())
        ))),
    }
}

fn product_of(p: ProductFields<'_>, limits: &Limits) -> Result<ProductItem, DeadLetterReason> {
    Ok(ProductItem {
        product_id: id(p.product_id.or(p.id), "product_id", limits)?,
        sku: id(p.sku, "sku", limits)?,
        name: text(p.name, "name")?,
        category: text(p.category, "category")?,
        brand: text(p.brand, "brand")?,
        price: money(p.price, "price")?,
        quantity: quantity(p.quantity)?,
    })
}

/// The typed properties; a `page` call's page fields fill what `page` (from the context)
/// lacks. None sent, none typed (what empty ones would give, without a box to read).
fn properties_of(
    p: Option<Box<Props<'_>>>,
    kind: MessageType,
    name: Option<&str>,
    page: &mut Page,
    limits: &Limits,
) -> Result<Properties, DeadLetterReason> {
    let mut out = Properties::default();
    let Some(p) = p else { return Ok(out) };
    let mut extra = p.extra;
    match p.products {
        Some(ListOr::List(items)) => {
            if items.len() > limits.max_products {
                return Err(DeadLetterReason::TooLarge(format!(
                    "{} products, over the limit of {}",
                    items.len(),
                    limits.max_products
                )));
            }
            // Exactly as many as listed: a buffered event holds its products until its
            // visit closes (growing one by one reserved room for four 144-byte items).
            out.products.reserve_exact(items.len());
            for item in items {
                let Field::Object(item) = item else {
                    return Err(shape("a `products` entry is not an object"));
                };
                // Per-product extras are few and rarely read: they are dropped with the item's
                // typed fields kept.
                out.products.push(product_of(item, limits)?);
            }
        }
        Some(ListOr::Other(Scalar::Null)) | None => {}
        Some(ListOr::Other(other)) => {
            extra.insert("products".into(), other.into_value());
        }
    }
    // Product-level events carry one product in the properties themselves.
    let product_event = kind == MessageType::Track
        && name.is_some_and(|n| n.starts_with("Product ") && n != "Product List Viewed");
    if out.products.is_empty() && (product_event || p.product.identified()) {
        let item = product_of(p.product, limits)?;
        if item.key().is_some() {
            out.products = vec![item];
        }
    } else {
        p.product.into_extra(&mut extra);
    }
    if kind == MessageType::Page {
        // analytics.js repeats the page in the properties; fill what the context lacks.
        let from_props = page_of(p.page)?;
        fill(&mut page.url, from_props.url);
        fill(&mut page.path, from_props.path);
        fill(&mut page.title, from_props.title);
        fill(&mut page.referrer, from_props.referrer);
        fill(&mut page.search, from_props.search);
    } else {
        p.page.into_extra(&mut extra);
    }
    out.order_id = id(p.order_id, "order_id", limits)?;
    out.checkout_id = id(p.checkout_id, "checkout_id", limits)?;
    out.revenue = money(p.revenue, "revenue")?;
    out.total = money(p.total, "total")?;
    out.currency =
        text(p.currency, "currency")?.map(|c| cap(trim(&c).to_ascii_uppercase().into(), 8));
    out.payment_method = text(p.payment_method, "payment_method")?;
    out.review_id = id(p.review_id, "review_id", limits)?;
    out.review_body = text(p.review_body, "review_body")?;
    out.rating = match p.rating {
        None | Some(Scalar::Null) => None,
        Some(Scalar::Num(n)) => n.as_f64(),
        Some(Scalar::Str(s)) => Some(
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|r| r.is_finite())
                .ok_or_else(|| invalid("`rating` is not a number"))?,
        ),
        Some(_) => return Err(invalid("`rating` is not a number")),
    };
    out.query = text(p.query, "query")?;
    out.extra = extra;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    fn traits_are_read_only_when_kept() {
        let decode = |drop_traits: bool, traits: &str| {
            let raw = format!(
                r#"{{"type":"track","event":"X","anonymousId":"a","timestamp":"2026-01-01T00:00:00Z",{traits}}}"#
            );
            let ctx = DecodeContext {
                drop_traits,
                ..DecodeContext::default()
            };
            decode_segment(raw.as_bytes(), &ctx).remove(0)
        };
        // The message's own traits first, then its context's (RudderStack's copy).
        let both =
            r#""traits":{"plan":"pro"},"context":{"traits":{"plan":"free","email":"a@b.co"}}"#;
        let kept = decode(false, both).unwrap();
        assert_eq!(kept.traits["plan"], "pro");
        assert_eq!(kept.traits["email"], "a@b.co");
        assert!(decode(true, both).unwrap().traits.is_empty());
        // Not an object: no traits, as before.
        assert!(
            decode(false, r#""traits":[1,2]"#)
                .unwrap()
                .traits
                .is_empty()
        );
        // Valid JSON that no map of values holds (a lone surrogate, a number beyond f64):
        // refused when the traits are read, dropped unread otherwise.
        for odd in [
            r#""traits":{"name":"\ud800"}"#,
            r#""context":{"traits":{"n":1e400}}"#,
        ] {
            assert!(decode(false, odd).is_err(), "{odd}");
            assert!(decode(true, odd).unwrap().traits.is_empty(), "{odd}");
        }
        // Unread is not unchecked: bad JSON in them is still refused.
        for bad in [r#""traits":{"a":tru}"#, r#""traits":{"a":1,}"#] {
            assert!(decode(true, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn denied_consent_is_read_in_segment_and_rudderstack_spelling() {
        let denied = |context: &str| {
            let raw = format!(
                r#"{{"type":"page","anonymousId":"a","timestamp":"2026-01-01T00:00:00Z","context":{context}}}"#
            );
            one(&raw).map(|e| e.denied_consent.clone())
        };
        // Segment's and Jitsu's: the categories set to false, sorted.
        let segment = r#"{"consent":{"categoryPreferences":{"Marketing":false,"Analytics":false,"Functional":true}}}"#;
        assert_eq!(denied(segment).unwrap(), ["Analytics", "Marketing"]);
        // RudderStack's: the denied ids; with both, the union, once each.
        let rudder = r#"{"consentManagement":{"provider":"oneTrust","allowedConsentIds":["C0001"],"deniedConsentIds":["C0004","C0002"]}}"#;
        assert_eq!(denied(rudder).unwrap(), ["C0002", "C0004"]);
        let both = r#"{"consent":{"categoryPreferences":{"C0002":false}},"consentManagement":{"deniedConsentIds":["C0002"]}}"#;
        assert_eq!(denied(both).unwrap(), ["C0002"]);
        for nothing in [
            r#"{}"#,
            r#"{"consent":null}"#,
            r#"{"consent":{}}"#,
            r#"{"consent":{"categoryPreferences":{"Analytics":true}}}"#,
        ] {
            assert!(denied(nothing).unwrap().is_empty(), "{nothing}");
        }
        // Consent that cannot be read is never taken as given.
        for unreadable in [
            r#"{"consent":"no"}"#,
            r#"{"consent":{"categoryPreferences":["Analytics"]}}"#,
            r#"{"consent":{"categoryPreferences":{"Analytics":"false"}}}"#,
            r#"{"consentManagement":{"deniedConsentIds":"C0002"}}"#,
            r#"{"consentManagement":{"deniedConsentIds":[2]}}"#,
        ] {
            let reason = denied(unreadable).unwrap_err().reason;
            assert_eq!(reason.kind(), "shape", "{unreadable}: {reason}");
        }
        let many: Vec<String> = (0..65).map(|i| format!(r#""c{i}":false"#)).collect();
        let many = format!(
            r#"{{"consent":{{"categoryPreferences":{{{}}}}}}}"#,
            many.join(",")
        );
        assert_eq!(denied(&many).unwrap_err().reason.kind(), "too_large");
        // A batch's shared context carries it to messages without their own.
        let batch = br#"{"batch":[
            {"type":"page","messageId":"1","anonymousId":"a","timestamp":"2026-01-01T00:00:00Z"},
            {"type":"page","messageId":"2","anonymousId":"a","timestamp":"2026-01-01T00:00:01Z",
             "context":{"consent":{"categoryPreferences":{"Analytics":true}}}}],
            "context":{"consent":{"categoryPreferences":{"Analytics":false}}}}"#;
        let out = decode_segment(batch, &DecodeContext::default());
        assert_eq!(out[0].as_ref().unwrap().denied_consent, ["Analytics"]);
        assert!(out[1].as_ref().unwrap().denied_consent.is_empty());
    }

    #[test]
    fn the_sdk_is_read_from_context_library() {
        let library = |context: &str| {
            let raw = format!(
                r#"{{"type":"track","event":"Order Completed","userId":"u","timestamp":"2026-01-01T00:00:00Z","context":{context}}}"#
            );
            one(&raw).map(|e| e.library.clone())
        };
        let node = r#"{"library":{"name":"@segment/analytics-node","version":"3.1.0"}}"#;
        assert_eq!(
            library(node).unwrap().as_deref(),
            Some("@segment/analytics-node")
        );
        // No SDK named: absent, null, a library that is no object or has no name.
        for none in [
            "{}",
            r#"{"library":null}"#,
            r#"{"library":"analytics.js"}"#,
            r#"{"library":{"version":"1"}}"#,
            r#"{"library":{"name":""}}"#,
        ] {
            assert_eq!(library(none).unwrap(), None, "{none}");
        }
        let long = format!(r#"{{"library":{{"name":"{}"}}}}"#, "x".repeat(500));
        assert_eq!(library(&long).unwrap().unwrap().len(), 128, "capped");
        let reason = library(r#"{"library":{"name":["a"]}}"#).unwrap_err().reason;
        assert_eq!(reason.kind(), "shape", "{reason}");
        // A batch's shared context names the SDK of all its messages.
        let batch = br#"{"batch":[{"type":"track","event":"x","messageId":"1","userId":"u","timestamp":"2026-01-01T00:00:00Z"}],
            "context":{"library":{"name":"analytics-python","version":"2.4.0"}}}"#;
        let out = decode_segment(batch, &DecodeContext::default());
        assert_eq!(
            out[0].as_ref().unwrap().library.as_deref(),
            Some("analytics-python")
        );
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
    fn absent_properties_are_empty_ones() {
        for head in [
            r#""type":"track","event":"Product Viewed""#,
            r#""type":"track","event":"Order Completed""#,
            r#""type":"page","name":"Home""#,
            r#""type":"identify""#,
        ] {
            let context = r#""context":{"page":{"url":"https://shop.example/?utm_source=x"}}"#;
            let without = format!(
                r#"{{{head},"anonymousId":"a","messageId":"m","timestamp":"2026-01-01T10:00:00Z",{context}}}"#
            );
            let empty = without.replacen(context, &format!(r#""properties":{{}},{context}"#), 1);
            assert_ne!(without, empty);
            assert_eq!(one(&without).unwrap(), one(&empty).unwrap(), "{head}");
        }
    }

    #[test]
    fn fields_read_in_one_pass_keep_what_is_not_typed() {
        // Escaped keys and strings are read like plain ones.
        let e = one(
            r#"{"\u0074ype":"track","event":"Signed \"Up\"","anonymousId":"a\u00e9","timestamp":"2026-01-01T00:00:00Z",
               "properties":{"url":"https://x.example/","name":"plan","products":"none","price":{"v":1},"plan":["a"]}}"#,
        )
        .unwrap();
        assert_eq!(e.kind, MessageType::Track);
        assert_eq!(e.name.as_deref(), Some("Signed \"Up\""));
        assert_eq!(e.anonymous_id.as_deref(), Some("aé"));
        // Not a product event and no product id: the product and page fields stay properties.
        let extra = &e.properties.extra;
        assert_eq!(extra["url"], "https://x.example/");
        assert_eq!(extra["name"], "plan");
        assert_eq!(extra["products"], "none");
        assert_eq!(extra["price"], json!({"v": 1}));
        assert_eq!(extra["plan"], json!(["a"]));
        assert!(e.properties.products.is_empty());
        // A field given twice is ambiguous: a dead letter, not a guess.
        let twice = r#"{"type":"page","type":"track","anonymousId":"a","timestamp":"2026-01-01T00:00:00Z"}"#;
        assert!(matches!(
            one(twice).unwrap_err().reason,
            DeadLetterReason::Shape(_)
        ));
        // Wrong types name their field.
        let bad =
            r#"{"type":"page","anonymousId":"a","timestamp":"2026-01-01T00:00:00Z","context":[1]}"#;
        assert_eq!(
            one(bad).unwrap_err().reason,
            DeadLetterReason::Shape("`context` is not an object".into())
        );
        let bad = r#"{"type":"page","anonymousId":{"a":1},"timestamp":"2026-01-01T00:00:00Z"}"#;
        assert_eq!(
            one(bad).unwrap_err().reason,
            DeadLetterReason::Shape("`anonymousId` is not a string".into())
        );
    }

    #[test]
    fn missing_message_ids_are_stable() {
        let raw = r#"{"type":"page","anonymousId":"a","timestamp":"2026-01-01T00:00:00Z"}"#;
        assert_eq!(one(raw).unwrap().message_id, one(raw).unwrap().message_id);
    }
}
