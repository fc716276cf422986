//! The real-time path from Segment JSON bytes, on the same bytes in the same run: two bare
//! parses as baselines — `serde_json` parsing each message into a `serde_json::Value`
//! (`serde_json_value`) and the fastest parse we know, sonic-rs into its `Value`
//! (`sonic_rs_value`) — and a third, `floor` (below); then decode (typed events), decode →
//! privacy → gate, and decode → privacy → gate → stream analytics (`decode_gate_analytics`),
//! the gate judging batches of 2,000 as the flow does; and the last on the same traffic with every page path distinct
//! (`decode_gate_analytics_distinct_paths`: a shop with more pages than the dashboard's
//! heavy-hitter counters hold), and with a visitor's traits in every message's context
//! (`decode_gate_analytics_context_traits`, as RudderStack's SDK sends them); and kiosks
//! whose visits last a day (`decode_gate_analytics_long_visits`: four ids, a page every 2 s
//! each, for 24 hours)
//! or hold a different product every 2 s for a day (`decode_gate_analytics_many_products`);
//! and one id whose half hour of pages arrives newest first
//! (`decode_gate_analytics_backwards`) or scrambled (`decode_gate_analytics_scrambled`).
//!
//! `floor` is the least any design of the path must do for a message — parse it as
//! `sonic_rs_value` does and read its fields once, resolve its time, key its ids, remember
//! its id and find its person's open visit — with no rules, no events kept and no documents
//! (`floor.rs`). How far `decode_gate_analytics` is from it is what this design costs; how far
//! `floor` is from 1 M messages/s is what the machine allows.
//!
//! `cargo bench -p websight-core --bench realtime`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use websight_core::analytics::{AnalyticsConfig, ProductCatalogue, StreamAnalytics};
use websight_core::decode::{DecodeContext, Format, decode_line};
use websight_core::flow::Ingest;
use websight_core::gate::{Gate, GateConfig, MemoryGateState, Outcome};
use websight_core::io::block_on;
use websight_core::synth::{Generator, SynthConfig};

mod floor;

// jemalloc, not glibc's malloc: the stream path allocates per event (1.4x the events/s);
// the baselines run with it too.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn bench(c: &mut Criterion) {
    let generator = Generator::new(SynthConfig {
        sessions: 10_000,
        ..SynthConfig::default()
    })
    .unwrap();
    let lines: Vec<Vec<u8>> = generator.events().map(|e| e.to_json()).collect();
    let ingest = Ingest::new(floor::privacy());
    let config = GateConfig {
        known_users_capacity: 100_000,
        ..GateConfig::default()
    };
    let gate = || {
        (
            Gate::new(config.clone()).unwrap(),
            MemoryGateState::new(&config).unwrap(),
        )
    };
    let mut group = c.benchmark_group("realtime");
    group.sample_size(10);
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("serde_json_value", |b| {
        b.iter(|| {
            lines
                .iter()
                .filter(|l| serde_json::from_slice::<serde_json::Value>(l).is_ok())
                .count()
        })
    });
    group.bench_function("sonic_rs_value", |b| {
        b.iter(|| {
            lines
                .iter()
                .filter(|l| sonic_rs::from_slice::<sonic_rs::Value>(l).is_ok())
                .count()
        })
    });
    group.bench_function("floor", |b| {
        let privacy = floor::privacy();
        b.iter(|| floor::run(&lines, &privacy))
    });
    group.bench_function("decode", |b| {
        let context = DecodeContext::default();
        b.iter(|| {
            lines
                .iter()
                .map(|l| decode_line(l, Format::Segment, &context).len())
                .sum::<usize>()
        })
    });
    // The gate judges a batch at a time, as the flow does.
    let judged = |gate: &mut Gate, state: &mut MemoryGateState, batch: &[Vec<u8>]| {
        block_on(gate.process_batch(ingest.decode_batch(batch), state)).unwrap()
    };
    // The floor reads what the path must: it takes every message the gate judges.
    let (mut g, mut st) = gate();
    let judged_by_gate = lines
        .chunks(2_000)
        .flat_map(|batch| judged(&mut g, &mut st, batch))
        .filter(|o| matches!(o, Outcome::Valid(_) | Outcome::Rejected { .. }))
        .count();
    assert_eq!(floor::run(&lines, &floor::privacy()).0, judged_by_gate);
    group.bench_function("decode_gate", |b| {
        b.iter(|| {
            let (mut gate, mut state) = gate();
            lines
                .chunks(2_000)
                .flat_map(|batch| judged(&mut gate, &mut state, batch))
                .filter(|o| matches!(o, Outcome::Valid(_)))
                .count()
        })
    });
    let whole = |lines: &[Vec<u8>]| {
        let (mut gate, mut state) = gate();
        let mut analytics =
            StreamAnalytics::new(AnalyticsConfig::default(), ProductCatalogue::default()).unwrap();
        for batch in lines.chunks(2_000) {
            // As the flow does: rejected events still cut visits and stitch persons.
            for outcome in judged(&mut gate, &mut state, batch) {
                match outcome {
                    Outcome::Valid(e) => analytics.ingest(e),
                    Outcome::Rejected { event, .. } => analytics.ingest_rejected(event),
                    _ => {}
                }
            }
            analytics.drain();
        }
        analytics.flush();
        analytics.drain().sessions.len()
    };
    group.bench_function("decode_gate_analytics", |b| b.iter(|| whole(&lines)));
    let distinct: Vec<Vec<u8>> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            String::from_utf8_lossy(l)
                .replace(r#""path":"/"#, &format!(r#""path":"/{i}/"#))
                .into_bytes()
        })
        .collect();
    group.bench_function("decode_gate_analytics_distinct_paths", |b| {
        b.iter(|| whole(&distinct))
    });
    // As RudderStack's SDK sends a logged-in visitor's traffic: the traits of the last
    // identify call copied into every message's context (privacy drops them unread).
    let with_traits: Vec<Vec<u8>> = lines
        .iter()
        .map(|l| {
            String::from_utf8_lossy(l)
                .replacen(
                    r#""context":{"#,
                    r#""context":{"traits":{"email":"alice@example.com","name":"Alice Smith","plan":"pro","createdAt":"2025-01-01T00:00:00Z","address":{"city":"Lyon","country":"FR"}},"#,
                    1,
                )
                .into_bytes()
        })
        .collect();
    group.bench_function("decode_gate_analytics_context_traits", |b| {
        b.iter(|| whole(&with_traits))
    });
    // Messages `i` = 0..n at `seconds(i)` after a start, with a Firefox user agent.
    let timed = |n: i64, seconds: fn(i64) -> i64, line: &dyn Fn(i64, String) -> String| {
        let start = chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap();
        (0..n)
            .map(|i| {
                let t = start + chrono::TimeDelta::seconds(seconds(i));
                line(i, t.to_rfc3339()).into_bytes()
            })
            .collect::<Vec<Vec<u8>>>()
    };
    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    // Kiosks: 4 screens showing a page every 2 s for 24 hours, interleaved as they arrive.
    let kiosks = timed(4 * 43_200, |i| i / 4 * 2, &|i, t| {
        format!(
            r#"{{"type":"page","messageId":"k{i}","anonymousId":"kiosk-{}","timestamp":"{t}","context":{{"page":{{"path":"/","url":"https://shop.example/"}},"userAgent":"{FIREFOX}"}}}}"#,
            i % 4
        )
    });
    group.throughput(Throughput::Elements(kiosks.len() as u64));
    group.bench_function("decode_gate_analytics_long_visits", |b| {
        b.iter(|| whole(&kiosks))
    });
    // A polite scraper: one product page every 2 s for 24 hours, every product different.
    let scraper = timed(43_200, |i| i * 2, &|i, t| {
        format!(
            r#"{{"type":"track","event":"Product Viewed","messageId":"s{i}","anonymousId":"scraper","timestamp":"{t}","properties":{{"product_id":"{i}"}},"context":{{"userAgent":"{FIREFOX}"}}}}"#
        )
    });
    group.throughput(Throughput::Elements(scraper.len() as u64));
    group.bench_function("decode_gate_analytics_many_products", |b| {
        b.iter(|| whole(&scraper))
    });
    // A backwards flood: one id, 25 pages a second over half an hour, newest first (a
    // replayed mobile queue, or hostile): every event lands before the person's open events.
    let backwards = timed(45_000, |i| 1_800 - i / 25, &|i, t| {
        format!(
            r#"{{"type":"page","messageId":"b{i}","anonymousId":"flood","timestamp":"{t}","context":{{"page":{{"path":"/","url":"https://shop.example/"}},"userAgent":"{FIREFOX}"}}}}"#
        )
    });
    group.throughput(Throughput::Elements(backwards.len() as u64));
    group.bench_function("decode_gate_analytics_backwards", |b| {
        b.iter(|| whole(&backwards))
    });
    // The same flood in a scrambled order (a stride through it): each event lands among the
    // person's open events and the gate's per-person and per-address times.
    let scrambled = timed(45_000, |i| (i * 7_919 % 45_000) / 25, &|i, t| {
        format!(
            r#"{{"type":"page","messageId":"x{i}","anonymousId":"flood","timestamp":"{t}","context":{{"ip":"203.0.113.9","page":{{"path":"/","url":"https://shop.example/"}},"userAgent":"{FIREFOX}"}}}}"#
        )
    });
    group.bench_function("decode_gate_analytics_scrambled", |b| {
        b.iter(|| whole(&scrambled))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
