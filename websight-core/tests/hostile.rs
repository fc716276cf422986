//! Hostile input through the whole flow: every poison case passes with exact counts and
//! leaves the documents of the clean traffic around it alone; random hostile messages never
//! panic and are conserved.

use std::collections::BTreeMap;

use proptest::prelude::*;
use websight_core::analytics::{KpiWindow, SessionSummary};
use websight_core::flow::{EmbeddedRun, Observer};
use websight_core::io::Message;
use websight_testkit::{flow, generator, lines, privacy};

#[derive(Default)]
struct Docs {
    sessions: BTreeMap<String, SessionSummary>,
    windows: BTreeMap<String, KpiWindow>,
}

impl Observer for Docs {
    fn documents(&mut self, d: &websight_core::analytics::Documents) {
        for s in &d.sessions {
            self.sessions.insert(s.document_id(), s.clone());
        }
        for w in &d.windows {
            self.windows.insert(w.document_id(), w.clone());
        }
    }
}

const POISON_ID: &str = "poison-visitor";

fn message(timestamp: &str, extra: &str) -> Vec<u8> {
    format!(
        r#"{{"type":"track","event":"Product Added","anonymousId":"{POISON_ID}","timestamp":{timestamp}{extra},
            "context":{{"userAgent":"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}},
            "properties":{{"product_id":"p1","quantity":1}}}}"#
    )
    .into_bytes()
}

#[test]
fn poison_cases_pass_with_exact_counts_and_leave_clean_documents_alone() {
    let g = generator(1_500, 31);
    let clean = lines(&g);
    let mut reference = Docs::default();
    let base = flow(&g)
        .run_embedded(clean.clone(), &mut reference)
        .unwrap();
    let poison_person = privacy().pseudonym(POISON_ID);
    let huge = format!(r#""{}""#, "x".repeat(600 * 1024));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("far future (RFC 3339 beyond chrono)", message(r#""+262142-12-31T23:59:30Z""#, "")),
        ("far past (RFC 3339 beyond chrono)", message(r#""-262143-01-01T00:05:00Z""#, "")),
        ("year 9999, received now", message(r#""9999-12-31T23:59:59Z""#, r#","receivedAt":"2026-01-20T00:00:00Z""#)),
        ("year 9999, no receipt", message(r#""9999-12-31T23:59:59Z""#, "")),
        ("year 1, no receipt", message(r#""0001-01-01T00:00:00Z""#, "")),
        ("epoch millis out of range", message("9223372036854775807", "")),
        ("an id longer than any store takes", {
            let mut m = message(r#""2026-01-10T10:00:00Z""#, "");
            let id = "i".repeat(600);
            m = String::from_utf8(m).unwrap().replace(POISON_ID, &id).into_bytes();
            m
        }),
        ("a product id beyond any integer", br#"{"type":"track","event":"Product Viewed","anonymousId":"poison-visitor","timestamp":"2026-01-10T10:00:00Z","properties":{"product_id":123456789012345678901234567890}}"#.to_vec()),
        ("absurd money", br#"{"type":"track","event":"Order Completed","anonymousId":"poison-visitor","timestamp":"2026-01-10T10:00:00Z","properties":{"revenue":1e300,"currency":"EUR"}}"#.to_vec()),
        ("a 600 KB string", message(r#""2026-01-10T10:00:00Z""#, &format!(r#","name":{huge}"#))),
        ("deep nesting", message(r#""2026-01-10T10:00:00Z""#, &format!(r#","n":{}1{}"#, "[".repeat(5_000), "]".repeat(5_000)))),
        ("invalid UTF-8", b"{\"type\":\"page\",\"anonymousId\":\"\xff\xfe\",\"timestamp\":\"2026-01-10T10:00:00Z\"}".to_vec()),
        ("a batch of poison", format!(r#"{{"batch":[{},{}]}}"#, String::from_utf8(message(r#""9999-12-31T23:59:59Z""#, "")).unwrap(), r#"{"type":"page"}"#).into_bytes()),
    ];
    for (name, poison) in cases {
        let mut input = clean.clone();
        input.insert(input.len() / 2, poison.clone());
        let mut docs = Docs::default();
        let run = flow(&g).run_embedded(input, &mut docs).unwrap();
        let c = run.counts;
        assert!(c.is_conserved(), "{name}: {c:?}");
        let messages = if name.starts_with("a batch") { 2 } else { 1 };
        assert_eq!(c.inputs, base.counts.inputs + messages, "{name}");
        // The clean traffic's documents are exactly those of the clean run.
        let theirs: BTreeMap<_, _> = docs
            .sessions
            .iter()
            .filter(|(_, s)| s.visitor != poison_person)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(
            theirs, reference.sessions,
            "{name}: session documents changed"
        );
        for (id, w) in &reference.windows {
            assert_eq!(docs.windows.get(id), Some(w), "{name}: window {id} changed");
        }
    }
}

#[test]
fn floods_pass_with_exact_counts_and_leave_clean_documents_alone() {
    let g = generator(1_500, 31);
    let clean = lines(&g);
    let mut reference = Docs::default();
    flow(&g)
        .run_embedded(clean.clone(), &mut reference)
        .unwrap();
    let at = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(1_768_039_200_000 + ms)
            .unwrap()
            .to_rfc3339()
    };
    let page = |id: String, extra: &str, t: String| {
        format!(
            r#"{{"type":"page","messageId":"{id}","anonymousId":"{POISON_ID}"{extra},"timestamp":"{t}","context":{{"ip":"203.0.113.9","userAgent":"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}}}}"#
        )
        .into_bytes()
    };
    let shapes: Vec<(&str, Vec<Vec<u8>>)> = vec![
        // Each event lands among the flood's open events (a stride through ten minutes).
        (
            "scrambled",
            (0..20_000i64)
                .map(|i| page(format!("s{i}"), "", at(i * 7_919 % 20_000 * 30)))
                .collect(),
        ),
        // Each event lands before every open one.
        (
            "backwards",
            (0..20_000i64)
                .map(|i| page(format!("b{i}"), "", at((20_000 - i) * 30)))
                .collect(),
        ),
        // Each login, a second before every event so far (a replayed queue), brings a new
        // user id seen as early as the anonymous id: the smaller pseudonym of the two names
        // the person, so the person is renamed again and again.
        (
            "ever-earlier user ids",
            (1..=250usize)
                .map(|k| {
                    page(
                        format!("u{k}"),
                        &format!(r#","userId":"{}b""#, "a".repeat(k)),
                        at((251 - k as i64) * 1_000),
                    )
                })
                .collect(),
        ),
    ];
    for (name, flood) in shapes {
        let mut input = clean.clone();
        let middle = input.len() / 2;
        let n = flood.len() as u64;
        input.splice(middle..middle, flood);
        let mut docs = Docs::default();
        let run = flow(&g).run_embedded(input, &mut docs).unwrap();
        let c = run.counts;
        assert!(c.is_conserved(), "{name}: {c:?}");
        assert_eq!(c.inputs, clean.len() as u64 + n, "{name}");
        assert!(
            c.late < n / 10,
            "{name}: the flood was judged, not merely late: {c:?}"
        );
        // The flood's persons: its anonymous id and every user id it logged in as.
        let poison: std::collections::BTreeSet<String> = std::iter::once(POISON_ID.to_owned())
            .chain((1..=250).map(|k| format!("{}b", "a".repeat(k))))
            .map(|id| privacy().pseudonym(&id))
            .collect();
        let theirs: BTreeMap<_, _> = docs
            .sessions
            .iter()
            .filter(|(_, s)| !poison.contains(s.visitor.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(
            theirs, reference.sessions,
            "{name}: session documents changed"
        );
    }
}

fn hostile_message() -> impl Strategy<Value = Vec<u8>> {
    let time = prop_oneof![
        Just("\"+262142-12-31T23:59:30Z\"".to_owned()),
        Just("\"-262143-01-01T00:05:00Z\"".to_owned()),
        Just("\"9999-12-31T23:59:59Z\"".to_owned()),
        Just("\"0001-01-01T00:00:00Z\"".to_owned()),
        Just("\"2026-01-10T10:00:00Z\"".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("null".to_owned()),
    ];
    let number = prop_oneof![
        any::<f64>().prop_map(|f| if f.is_finite() {
            f.to_string()
        } else {
            "1e308".into()
        }),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("1e999".to_owned()),
        Just("123456789012345678901234567890".to_owned()),
        Just("\"12,50\"".to_owned()),
    ];
    let text = prop_oneof![
        "[a-z]{0,12}",
        (0usize..70_000).prop_map(|n| "é".repeat(n)),
        Just("\\u0000\\ud800".to_owned()),
    ];
    (time, number.clone(), number, text.clone(), text, 0usize..200, any::<bool>(), proptest::collection::vec(any::<u8>(), 0..40))
        .prop_map(|(time, revenue, quantity, id, name, depth, batch, garbage)| {
            let nested = format!("{}0{}", "[".repeat(depth), "]".repeat(depth));
            let m = format!(
                r#"{{"type":"track","event":"Order Completed","messageId":"{id}","anonymousId":"{id}x","timestamp":{time},"receivedAt":{time},"properties":{{"revenue":{revenue},"products":[{{"product_id":{quantity},"quantity":{quantity},"name":"{name}"}}],"n":{nested}}}}}"#
            );
            let mut bytes = if batch { format!(r#"{{"batch":[{m},{m}]}}"#).into_bytes() } else { m.into_bytes() };
            if !garbage.is_empty() && garbage[0] % 5 == 0 {
                bytes.extend(garbage);
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn hostile_messages_never_panic_and_are_conserved(messages in proptest::collection::vec(hostile_message(), 1..12)) {
        let g = generator(30, 1);
        let mut input = lines(&g);
        for (i, m) in messages.into_iter().enumerate() {
            let at = (i * 7) % (input.len() + 1);
            input.insert(at, m);
        }
        let run = flow(&g).run_embedded(input.clone(), &mut ()).unwrap();
        prop_assert!(run.counts.is_conserved(), "{:?}", run.counts);
        prop_assert!(run.counts.inputs >= input.len() as u64);
        for m in vouched(&run) {
            prop_assert!(is_json_line(&m.payload), "{}", String::from_utf8_lossy(&m.payload));
        }
    }
}

/// The messages whose payloads the flow vouches for to its sinks unread (`send_json`):
/// checked events, and rejected and late ones (its own encoding). A dead letter's redacted
/// copy may be cut short, so the flow reads those.
fn vouched(run: &EmbeddedRun) -> impl Iterator<Item = &Message> {
    let own = |m: &&Message| {
        let reason: serde_json::Value = serde_json::from_str(&m.headers[0].1).unwrap();
        reason["kind"] == "rejected" || reason["kind"] == "late"
    };
    let dead = run.dead_letters.messages.iter().filter(own);
    run.checked.messages.iter().chain(dead)
}

/// One JSON value on one line, nothing around it (read by sonic-rs: serde_json stops at 128
/// levels of nesting, and a redacted copy keeps the input's).
fn is_json_line(bytes: &[u8]) -> bool {
    bytes.trim_ascii().len() == bytes.len()
        && !bytes.iter().any(|&b| b == b'\n' || b == b'\r')
        && sonic_rs::from_slice::<sonic_rs::Value>(bytes).is_ok()
}

/// Every input a fuzz target ever crashed on (`fuzz/regressions/<target>/`), through the
/// decoders and the whole flow: no panic, every reason under 1 KiB, every input conserved.
#[test]
fn inputs_fuzzing_found_pass_through_the_decoders_and_the_flow() {
    use websight_core::decode::{DecodeContext, Format, decode_line};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    let mut seen = 0;
    for target in ["segment", "original", "decode_gate_analytics"] {
        let Ok(dir) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        for file in dir {
            let bytes = std::fs::read(file.unwrap().path()).unwrap();
            for format in [Format::Segment, Format::Original, Format::Auto] {
                for item in decode_line(&bytes, format, &DecodeContext::default()) {
                    // The fuzz targets' bound on a reason (a quoted input once grew past it).
                    if let Err(dead) = item {
                        let reason = serde_json::to_string(&dead.reason).unwrap();
                        assert!(reason.len() <= 1024, "{target}: {reason}");
                    }
                }
            }
            let lines: Vec<Vec<u8>> = bytes.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
            let mut f = websight_core::flow::Flow::new(
                websight_core::flow::Ingest::new(privacy()),
                websight_core::gate::Gate::new(Default::default()).unwrap(),
                websight_core::analytics::StreamAnalytics::new(
                    Default::default(),
                    Default::default(),
                )
                .unwrap(),
            );
            let run = f.run_embedded(lines, &mut ()).unwrap();
            assert!(run.counts.is_conserved(), "{target}: {:?}", run.counts);
            for m in vouched(&run) {
                assert!(is_json_line(&m.payload), "{target}");
            }
            seen += 1;
        }
    }
    assert!(seen >= 1, "the regression inputs are where this test looks");
}
