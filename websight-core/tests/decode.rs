//! Decoders: Segment messages round-trip, original records expand, arbitrary bytes never
//! panic and are conserved.

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use websight_core::decode::{
    DeadLetterReason, DecodeContext, Format, decode_line, decode_original, decode_segment,
    encode_segment, segment_json,
};
use websight_core::event::{
    Campaign, Event, MessageType, Money, Page, ProductItem, Properties, Timestamps, names,
};
use websight_core::record::SessionRecord;
use websight_core::synth::{Generator, SynthConfig};

fn text() -> impl Strategy<Value = String> {
    // Unicode included: ids and names are arbitrary UTF-8.
    "[a-zA-Z0-9 _é漢-]{1,24}"
        .prop_map(|s| s.trim().to_owned())
        .prop_filter("non-empty", |s| !s.is_empty())
}

fn time() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..4_000_000_000, 0u32..1000).prop_map(|(s, ms)| {
        Utc.timestamp_opt(s, ms * 1_000_000)
            .single()
            .expect("in range")
    })
}

fn money() -> impl Strategy<Value = Money> {
    (-10_000_000_000i64..10_000_000_000).prop_map(Money::from_units)
}

fn product() -> impl Strategy<Value = ProductItem> {
    (
        proptest::option::of(text()),
        proptest::option::of(text()),
        text(),
        proptest::option::of(text()),
        proptest::option::of(money()),
        proptest::option::of(0u32..1000),
    )
        .prop_map(
            |(product_id, sku, name, category, price, quantity)| ProductItem {
                product_id: product_id.map(Into::into),
                sku: sku.map(Into::into),
                name: Some(name.into()),
                category: category.map(Into::into),
                brand: None,
                price,
                quantity,
            },
        )
}

fn event() -> impl Strategy<Value = Event> {
    let kinds = prop_oneof![
        Just(MessageType::Page),
        Just(MessageType::Track),
        Just(MessageType::Identify),
        Just(MessageType::Screen),
        Just(MessageType::Group),
    ];
    let names = prop_oneof![
        Just(names::PRODUCT_VIEWED.to_owned()),
        Just(names::ORDER_COMPLETED.to_owned()),
        Just("Newsletter Signed Up".to_owned()),
    ];
    (
        (text(), kinds, names, time(), proptest::option::of(text())),
        (
            text(),
            proptest::option::of(text()),
            proptest::option::of(text()),
        ),
        (proptest::option::of(text()), proptest::option::of(text())),
        (
            proptest::collection::vec(product(), 0..4),
            proptest::option::of(money()),
            proptest::option::of(text()),
        ),
        (
            proptest::option::of(any::<[u8; 4]>()),
            proptest::option::of(0i64..1000),
        ),
    )
        .prop_map(
            |(
                (id, kind, name, at, title),
                (anon, user, session),
                (source, referrer),
                (mut products, revenue, query),
                (ip, extra),
            )| {
                let name = match kind {
                    MessageType::Track => Some(name),
                    MessageType::Page | MessageType::Screen => title,
                    _ => None,
                };
                if name.as_deref() == Some(names::PRODUCT_VIEWED) {
                    products.truncate(1);
                    if products.is_empty() {
                        products.push(ProductItem {
                            product_id: Some("p".into()),
                            ..ProductItem::default()
                        });
                    }
                }
                let mut extra_props = Map::new();
                if let Some(n) = extra {
                    extra_props.insert("custom_number".into(), json!(n));
                    extra_props.insert("custom_list".into(), json!(["a", {"b": n}]));
                }
                let mut traits = Map::new();
                if kind == MessageType::Identify {
                    traits.insert("email".into(), json!("someone@example.com"));
                }
                Event {
                    message_id: id.into(),
                    kind,
                    name: name.map(Into::into),
                    time: at,
                    timestamps: Timestamps {
                        timestamp: Some(at),
                        ..Timestamps::default()
                    },
                    anonymous_id: Some(anon.into()),
                    user_id: user.map(Into::into),
                    previous_id: None,
                    session_id: session.as_deref().map(Into::into),
                    page: Page {
                        url: Some("https://shop.example/p?x=1".into()),
                        path: Some("/p".into()),
                        title: None,
                        referrer: referrer
                            .map(|r| format!("https://{}.example/", r.replace(' ', "")).into()),
                        search: None,
                    },
                    campaign: Campaign {
                        source: source.map(Into::into),
                        ..Campaign::default()
                    },
                    user_agent: Some("Mozilla/5.0".into()),
                    ip: ip.map(std::net::IpAddr::from),
                    locale: Some("de-DE".into()),
                    properties: Properties {
                        products,
                        revenue,
                        currency: revenue.map(|_| "EUR".into()),
                        query: query.map(Into::into),
                        extra: extra_props,
                        ..Properties::default()
                    },
                    traits,
                    // Visitors with a client session id denied advertising (their consent tool).
                    denied_consent: if session.is_some() {
                        vec!["Advertising".into()]
                    } else {
                        Vec::new()
                    },
                    library: None,
                    address_key: None,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn valid_segment_messages_round_trip(event in event()) {
        let wire = serde_json::to_vec(&encode_segment(&event)).unwrap();
        // The direct encoder writes exactly the text of the `Value` (keys in map order).
        prop_assert_eq!(&segment_json(&event), &wire);
        let mut back = decode_segment(&wire, &DecodeContext::default());
        prop_assert_eq!(back.len(), 1);
        let back = back.remove(0).map_err(|d| TestCaseError::fail(format!("{:?}", d.reason)))?;
        let mut want = event.clone();
        if want.campaign.is_empty() {
            want.campaign = websight_core::decode::campaign_from_url(want.page.url.as_deref().unwrap_or(""));
        }
        prop_assert_eq!(*back, want);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_are_conserved(raw in proptest::collection::vec(any::<u8>(), 0..300)) {
        for format in [Format::Auto, Format::Segment, Format::Original] {
            let out = decode_line(&raw, format, &DecodeContext::default());
            prop_assert!(!out.is_empty());
        }
    }

    #[test]
    fn hostile_json_never_panics(
        depth in 0usize..300,
        number in prop_oneof![Just("1e999".to_owned()), Just("-0".to_owned()), Just("123456789012345678901234567890".to_owned()), any::<f64>().prop_map(|f| f.to_string())],
        time in prop_oneof![Just("+262142-12-31T23:59:30Z"), Just("-262143-01-01T00:05:00Z"), Just("9999-12-31T23:59:59Z"), Just("0000-01-01T00:00:00Z"), Just("2026-13-45T99:99:99Z")],
        long in 0usize..40_000,
    ) {
        let nested = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let msg = format!(
            r#"{{"type":"track","event":"Order Completed","anonymousId":"a","timestamp":"{time}","properties":{{"revenue":{number},"total":"{number}","products":[{{"product_id":{number},"price":{number},"quantity":{number}}}],"n":{nested},"s":"{}"}}}}"#,
            "x".repeat(long)
        );
        let single = decode_segment(msg.as_bytes(), &DecodeContext::default());
        prop_assert_eq!(single.len(), 1);
        let batch = format!(r#"{{"batch":[{msg},{msg},7,null]}}"#);
        let out = decode_segment(batch.as_bytes(), &DecodeContext::default());
        // Each message of a batch is read on its own: as alone, and the batch's nesting does
        // not count against a message's depth.
        prop_assert_eq!(out.len(), 4);
        prop_assert_eq!(out[0].is_ok(), single[0].is_ok());
        prop_assert_eq!(out[1].is_ok(), single[0].is_ok());
        prop_assert!(out[2].is_err() && out[3].is_err());
    }
}

#[test]
fn invalid_utf8_is_a_syntax_dead_letter() {
    let raw = b"{\"type\":\"page\",\"anonymousId\":\"\xff\xfe\"}";
    let out = decode_segment(raw, &DecodeContext::default());
    assert!(matches!(
        out[0].as_ref().unwrap_err().reason,
        DeadLetterReason::Syntax(_)
    ));
}

#[test]
fn auto_routes_by_top_level_keys() {
    let ctx = DecodeContext::default();
    // A Segment message that merely mentions the record's keys is a Segment message.
    let nested =
        br#"{"type":"track","event":"X","anonymousId":"a","timestamp":"2026-01-01T00:00:00Z",
        "properties":{"sessionId":"s","productIds":[1]}}"#;
    let out = decode_line(nested, Format::Auto, &ctx);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].as_ref().unwrap().name.as_deref(), Some("X"));
    assert_eq!(out, decode_line(nested, Format::Segment, &ctx));
    // A record with both at the top goes to the original decoder, readable or not: its dead
    // letters are the original decoder's.
    for record in [
        &br#"{"sessionId":"s","productIds":"not a list"}"#[..],
        &br#"{"sessionId":"s","productIds":[1,"#[..],
        &b"\xff{\"sessionId\":1,\"productIds\":[]}"[..],
    ] {
        let auto = decode_line(record, Format::Auto, &ctx);
        assert_eq!(auto, decode_line(record, Format::Original, &ctx));
        assert!(auto[0].is_err());
    }
}

#[test]
fn original_records_expand_to_tracker_events() {
    let generator = Generator::new(SynthConfig {
        sessions: 300,
        seed: 3,
        ..SynthConfig::default()
    })
    .unwrap();
    let mut orders = 0;
    let mut completed = 0;
    for s in generator.sessions() {
        let record =
            SessionRecord::from_session(&s.session, &generator.config().catalogue).unwrap();
        let line = serde_json::to_vec(&record).unwrap();
        let auto = decode_line(&line, Format::Auto, &DecodeContext::default());
        let events = decode_original(&line, &DecodeContext::default()).unwrap();
        assert_eq!(auto.len(), events.len(), "auto detects the original shape");
        assert!(
            events
                .iter()
                .all(|e| e.user_id.is_some() || e.anonymous_id.is_some())
        );
        let ids: std::collections::HashSet<_> = events.iter().map(|e| &e.message_id).collect();
        assert_eq!(ids.len(), events.len(), "message ids are unique");
        assert!(events.windows(2).all(|w| w[0].time <= w[1].time));
        let views = events
            .iter()
            .filter(|e| e.is_track(names::PRODUCT_VIEWED))
            .count();
        assert_eq!(views, record.product_ids.len());
        if record.purchase_made {
            orders += 1;
            let order = events
                .iter()
                .find(|e| e.is_track(names::ORDER_COMPLETED))
                .unwrap();
            completed += 1;
            let amount: Money = record.amount_spent.0.to_string().parse().unwrap();
            assert_eq!(order.properties.revenue, Some(amount));
            let identify = events
                .iter()
                .find(|e| e.kind == MessageType::Identify)
                .unwrap();
            assert_eq!(
                identify.traits["email"],
                Value::String(record.email.clone())
            );
        }
        // Each expanded event survives the Segment wire format.
        for e in &events {
            let wire = serde_json::to_vec(&encode_segment(e)).unwrap();
            assert_eq!(
                decode_segment(&wire, &DecodeContext::default())
                    .remove(0)
                    .map(|e| *e)
                    .unwrap(),
                *e
            );
        }
    }
    assert!(orders > 0);
    assert_eq!(orders, completed);
}
