//! Any bytes, split into lines, through ingest (decode, privacy) → gate → analytics →
//! embedded stores: no panic, and every input lands in exactly one output.
#![no_main]

use libfuzzer_sys::fuzz_target;
use websight_core::analytics::{AnalyticsConfig, ProductCatalogue, StreamAnalytics};
use websight_core::flow::{Flow, Ingest};
use websight_core::gate::{Gate, GateConfig};
use websight_core::privacy::{Privacy, PrivacyConfig};

fuzz_target!(|data: &[u8]| {
    let privacy = Privacy::new(PrivacyConfig {
        key: Some("the fuzzing key, sixteen bytes+".into()),
        ..PrivacyConfig::default()
    })
    .expect("valid key");
    let mut flow = Flow::new(
        Ingest::new(privacy),
        // A small known-visitor filter: a fresh one per input must be cheap.
        Gate::new(GateConfig {
            known_users_capacity: 1_000,
            ..GateConfig::default()
        })
        .expect("gate"),
        StreamAnalytics::new(AnalyticsConfig::default(), ProductCatalogue::default())
            .expect("default analytics"),
    )
    .batch_size(3);
    let lines: Vec<Vec<u8>> = data.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    let run = flow
        .run_embedded(lines, &mut ())
        .expect("embedded stores never fail");
    let c = run.counts;
    assert!(c.is_conserved(), "{c:?}");
    assert_eq!(run.checked.messages.len() as u64, c.checked);
    assert_eq!(
        run.dead_letters.messages.len() as u64,
        c.rejected + c.dead_letters + c.late
    );
    // What the flow vouches for to its sinks unread (`send_json`): checked events, and
    // rejected and late ones (its own encoding), each one line of JSON as it stands (read by
    // sonic-rs: serde_json stops at 128 levels of nesting). A dead letter's redacted copy may
    // be cut short: the flow reads those.
    let own = |m: &&websight_core::io::Message| {
        let reason: serde_json::Value = serde_json::from_str(&m.headers[0].1).expect("a reason");
        reason["kind"] == "rejected" || reason["kind"] == "late"
    };
    let dead = run.dead_letters.messages.iter().filter(own);
    for m in run.checked.messages.iter().chain(dead) {
        let p = &m.payload;
        assert!(
            p.trim_ascii().len() == p.len()
                && !p.iter().any(|&b| b == b'\n' || b == b'\r')
                && sonic_rs::from_slice::<sonic_rs::Value>(p).is_ok(),
            "not one JSON line: {}",
            String::from_utf8_lossy(p)
        );
    }
    let a = flow.analytics().counts();
    assert_eq!(a.ingested, a.sessionised + a.late + a.buffered);
    assert_eq!(a.buffered, 0, "everything closed at the end");
});
