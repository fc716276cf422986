//! Proptest strategies for arbitrary events (tests only): any characters in every text
//! (quotes, backslashes, controls, every plane), any time chrono holds, leap seconds, any
//! money, NaN and infinite ratings, nested free-form maps, IPv4 and IPv6 — whatever the
//! writers of events must write as serde_json would.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::{
    Campaign, CompactString, Event, MessageType, Money, Page, ProductItem, Properties, Timestamps,
};

/// Any characters: quotes, backslashes, controls, every plane.
pub(crate) fn text() -> impl Strategy<Value = CompactString> {
    proptest::collection::vec(any::<char>(), 0..12).prop_map(|c| c.into_iter().collect())
}

fn maybe() -> impl Strategy<Value = Option<CompactString>> {
    proptest::option::of(text())
}

/// Any time chrono holds, leap seconds included.
pub(crate) fn at() -> impl Strategy<Value = DateTime<Utc>> {
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

pub(crate) fn event() -> impl Strategy<Value = Event> {
    (
        (text(), 0..MessageType::ALL.len(), maybe(), at()),
        [(); 4].map(|()| proptest::option::of(at())),
        (maybe(), maybe(), maybe(), maybe()),
        [maybe(), maybe(), maybe(), maybe(), maybe()],
        [maybe(), maybe(), maybe(), maybe(), maybe()],
        (
            maybe(),
            proptest::option::of(any::<IpAddr>()),
            maybe(),
            maybe(),
        ),
        properties(),
        map(),
        proptest::collection::vec(text(), 0..3),
    )
        .prop_map(
            |(
                (message_id, kind, name, time),
                [timestamp, original_timestamp, sent_at, received_at],
                (anonymous_id, user_id, previous_id, session_id),
                [url, path, title, referrer, search],
                [source, medium, campaign, term, content],
                (user_agent, ip, locale, library),
                properties,
                traits,
                denied_consent,
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
                denied_consent,
                library,
                address_key: None,
            },
        )
}
