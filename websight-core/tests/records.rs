//! The original record: lossless decoding, round trips, typed errors; tracker messages on the
//! wire.

use proptest::prelude::*;
use serde_json::Value;
use websight_core::CoreError;
use websight_core::decode::{DecodeContext, decode_original, decode_segment};
use websight_core::event::names;
use websight_core::model::{Action, Catalogue, DeviceType, PaymentMethod, ProductId, Referrer};
use websight_core::record::{JsonNumber, NaiveUtc, SessionRecord};
use websight_core::synth::{Generator, SynthConfig};

/// A record written by hand in the original generator's exact shape (Python json.dumps
/// separators, integer prices, a null review, user-agent strings in the device fields).
const ORIGINAL: &str = r#"{"sessionId": "5f0c6e3a-2b7d-4c1e-9a8f-3d2e1c0b9a87", "userId": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", "sessionTimestamp": "2024-04-02T21:14:07", "productIds": [2, 1, 3, 7], "productNames": ["coffee table", "sofa", "accent chair", "office desk"], "productPrices": [500, 5000, 750, 1150], "productCategories": ["living room", "living room", "living room", "office"], "productReviews": ["The coffee table is perfect, just what I was looking for!", "The sofa is less comfortable than I expected.", "Decent chair, but I wouldn't rave about it.", null], "name": "Jennifer Lopez", "gender": "Female", "email": "jlopez@example.net", "deviceInformation": {"deviceType": "tablet", "operatingSystem": "Mozilla/5.0 (iPad; CPU iPad OS 9_3_6 like Mac OS X) AppleWebKit/533.0 (KHTML, like Gecko) FxiOS/13.4r5049.0 Mobile/75Q084 Safari/533.0", "browserType": "Opera/9.33.(X11; Linux i686; ks-IN) Presto/2.9.162 Version/12.00"}, "locationData": {"country": "United States", "state": "Nebraska", "city": "Port Justinfurt", "zipCode": "04598"}, "ipAddress": "181.12.93.4", "sessionDuration": 431, "pageViews": 4, "browsingPattern": [2, 1, 3, 7], "timeSpentonEachPage": [44, 113, 27, 90], "clicks": 23, "actions": "checkout", "referrer": "WorldMarket", "exitPage": "sofa", "purchaseMade": true, "amountSpent": 7400, "paymentMethodType": "CreditCard"}"#;

#[test]
fn hand_written_original_record_decodes_and_re_encodes_losslessly() {
    let record: SessionRecord = serde_json::from_str(ORIGINAL).unwrap();
    assert_eq!(record.product_ids, vec![2, 1, 3, 7]);
    assert_eq!(record.device_information.device_type, DeviceType::Tablet);
    assert_eq!(record.referrer, Referrer::WorldMarket);
    assert_eq!(record.actions, Action::Checkout);
    assert_eq!(record.payment_method_type, PaymentMethod::CreditCard);
    assert_eq!(record.location_data.zip_code, "04598");
    assert_eq!(record.session_timestamp.to_string(), "2024-04-02T21:14:07");
    assert_eq!(record.product_reviews[3], None);

    let original: Value = serde_json::from_str(ORIGINAL).unwrap();
    let encoded = serde_json::to_value(&record).unwrap();
    assert_eq!(encoded, original);
}

#[test]
fn original_record_becomes_a_typed_session() {
    let record: SessionRecord = serde_json::from_str(ORIGINAL).unwrap();
    let session = record.to_session().unwrap();
    session.validate().unwrap();
    assert_eq!(
        session.viewed_products(),
        vec![ProductId(2), ProductId(1), ProductId(3), ProductId(7)]
    );
    assert_eq!(session.clicks(), 23);
    assert_eq!(session.order.as_ref().unwrap().amount, 7400.0);
    assert_eq!(session.reviews.len(), 3);
    assert_eq!(session.started_at.to_rfc3339(), "2024-04-02T21:14:07+00:00");
    assert_eq!(session.furthest_action(), Action::Checkout);

    // Back to the original shape: the fields the session keeps come back unchanged.
    let again = SessionRecord::from_session(&session, &Catalogue::furniture()).unwrap();
    assert_eq!(again.product_ids, record.product_ids);
    assert_eq!(again.product_names, record.product_names);
    assert_eq!(again.product_prices, record.product_prices);
    assert_eq!(again.product_reviews, record.product_reviews);
    assert_eq!(again.time_spenton_each_page, record.time_spenton_each_page);
    assert_eq!(again.clicks, record.clicks);
    assert_eq!(again.amount_spent, record.amount_spent);
    assert_eq!(again.purchase_made, record.purchase_made);
    assert_eq!(again.device_information, record.device_information);
    assert_eq!(again.location_data, record.location_data);
}

fn with_field(field: &str, value: Value) -> String {
    let mut v: Value = serde_json::from_str(ORIGINAL).unwrap();
    v[field] = value;
    v.to_string()
}

#[test]
fn malformed_original_records_get_typed_errors() {
    let decode = |json: &str| serde_json::from_str::<SessionRecord>(json);
    assert!(decode("{").is_err());
    assert!(decode(&with_field("referrer", "Bing".into())).is_err());
    assert!(decode(&with_field("sessionTimestamp", "yesterday".into())).is_err());
    assert!(decode(&with_field("clicks", (-1).into())).is_err());
    assert!(
        decode(&with_field("surprise", 1.into())).is_err(),
        "unknown fields are refused"
    );

    let to_session = |json: &str| decode(json).unwrap().to_session();
    match to_session(&with_field("productNames", serde_json::json!(["sofa"]))) {
        Err(CoreError::InvalidRecord { field, .. }) => assert_eq!(field, "productNames"),
        other => panic!("expected a length error, got {other:?}"),
    }
    match to_session(&with_field("ipAddress", "999.1.1.1".into())) {
        Err(CoreError::InvalidRecord { field, .. }) => assert_eq!(field, "ipAddress"),
        other => panic!("expected an IP error, got {other:?}"),
    }
    match to_session(&with_field("paymentMethodType", "None".into())) {
        Err(CoreError::InvalidRecord { field, .. }) => assert_eq!(field, "paymentMethodType"),
        other => panic!("expected a payment error, got {other:?}"),
    }
    match to_session(&with_field(
        "timeSpentonEachPage",
        serde_json::json!([1, -5, 2, 3]),
    )) {
        Err(CoreError::InvalidRecord { field, .. }) => assert_eq!(field, "timeSpentonEachPage"),
        other => panic!("expected a dwell error, got {other:?}"),
    }
}

#[test]
fn tracker_messages_are_rfc3339_utc_and_decode_back() {
    let generator = Generator::new(SynthConfig {
        sessions: 300,
        seed: 3,
        ..SynthConfig::default()
    })
    .unwrap();
    for e in generator.events().take(3_000) {
        let json: Value = serde_json::from_slice(&e.to_json()).unwrap();
        for field in ["timestamp", "originalTimestamp", "sentAt", "receivedAt"] {
            if let Some(ts) = json[field].as_str() {
                assert!(ts.ends_with('Z'), "{ts} is not UTC");
                chrono::DateTime::parse_from_rfc3339(ts).unwrap();
            }
        }
        let back = decode_segment(&e.to_json(), &DecodeContext::default())
            .remove(0)
            .unwrap();
        assert_eq!(
            back.time, e.event.time,
            "the spec's clock correction recovers the event time"
        );
        assert_eq!(*back, e.event);
    }
}

fn number() -> impl Strategy<Value = JsonNumber> {
    prop_oneof![
        (0u32..100_000).prop_map(|n| JsonNumber(f64::from(n))),
        (0.0f64..1e6).prop_map(JsonNumber),
    ]
}

prop_compose! {
    fn record()(
        n in 0usize..6,
        ids in proptest::collection::vec(1u32..11, 6),
        text in "\\PC{0,24}",
        reviews in proptest::collection::vec(proptest::option::of("\\PC{0,40}"), 6),
        prices in proptest::collection::vec(number(), 6),
        dwell in proptest::collection::vec(number(), 6),
        seconds in 0i64..4_000_000_000,
        micros in prop_oneof![Just(0u32), 1u32..1_000_000],
        clicks in any::<u32>(),
        duration in number(),
        amount in number(),
        referrer in proptest::sample::select(Referrer::ALL),
        device in proptest::sample::select(DeviceType::ALL),
        action in proptest::sample::select(Action::ALL),
        payment in proptest::sample::select(PaymentMethod::ALL),
        purchase in any::<bool>(),
    ) -> SessionRecord {
        let ts = chrono::DateTime::from_timestamp(seconds, micros * 1000).unwrap();
        SessionRecord {
            session_id: format!("s-{text}"),
            user_id: text.clone(),
            session_timestamp: NaiveUtc(ts),
            product_ids: ids[..n].to_vec(),
            product_names: ids[..n].iter().map(|i| format!("product {i}")).collect(),
            product_prices: prices[..n].to_vec(),
            product_categories: ids[..n].iter().map(|i| format!("cat {i} {text}").into()).collect(),
            product_reviews: reviews[..n].to_vec(),
            name: text.clone(),
            gender: websight_core::model::Gender::Other,
            email: format!("{text}@example.org"),
            device_information: websight_core::record::DeviceInformation {
                device_type: device,
                operating_system: text.clone(),
                browser_type: "Mozilla/5.0 \"quoted\"".into(),
            },
            location_data: websight_core::record::LocationData {
                country: "United States".into(),
                state: text.clone(),
                city: "Dayton".into(),
                zip_code: "00501".into(),
            },
            ip_address: "2001:db8::1".into(),
            session_duration: duration,
            page_views: n as u32,
            browsing_pattern: ids[..n].to_vec(),
            time_spenton_each_page: dwell[..n].to_vec(),
            clicks,
            actions: action,
            referrer,
            exit_page: text,
            purchase_made: purchase,
            amount_spent: amount,
            payment_method_type: payment,
        }
    }
}

proptest! {
    #[test]
    fn original_records_round_trip(r in record()) {
        let json = serde_json::to_string(&r).unwrap();
        let back: SessionRecord = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &r);
        // And the text itself is stable: encode(decode(text)) == text.
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }

    #[test]
    fn generated_sessions_round_trip_through_both_shapes(seed in any::<u64>()) {
        let generator = Generator::new(SynthConfig { sessions: 40, users: 30, seed, ..SynthConfig::default() }).unwrap();
        let catalogue = Catalogue::furniture();
        for s in generator.sessions() {
            let record = SessionRecord::from_session(&s.session, &catalogue).unwrap();
            let json = serde_json::to_string(&record).unwrap();
            let back: SessionRecord = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&back, &record);
            let rebuilt = back.to_session().unwrap();
            prop_assert_eq!(rebuilt.purchased(), s.session.purchased());
            prop_assert_eq!(rebuilt.clicks(), s.session.clicks());
            prop_assert_eq!(rebuilt.reviews.len(), s.session.reviews.len());
            let events = decode_original(json.as_bytes(), &DecodeContext::default()).unwrap();
            let views = events.iter().filter(|e| e.is_track(names::PRODUCT_VIEWED)).count();
            prop_assert_eq!(views, record.product_ids.len());
        }
    }
}

/// A purchase's identify call carries the record's name, e-mail and gender as traits, unless
/// the decoder is told to leave traits out (as `Ingest` does when privacy keeps none).
#[test]
fn an_original_records_traits_are_left_out_when_asked() {
    let identify = |drop_traits: bool| {
        let context = DecodeContext {
            drop_traits,
            ..DecodeContext::default()
        };
        decode_original(ORIGINAL.as_bytes(), &context)
            .unwrap()
            .into_iter()
            .find(|e| e.kind == websight_core::event::MessageType::Identify)
            .expect("a purchase identifies its buyer")
    };
    assert_eq!(identify(false).traits["email"], "jlopez@example.net");
    assert!(identify(true).traits.is_empty());
}
