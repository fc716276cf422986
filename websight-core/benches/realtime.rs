//! The real-time path from Segment JSON bytes: bare `serde_json` parsing of each message into a
//! `serde_json::Value` (`serde_json_value`, the baseline), decode (typed events), decode →
//! privacy → gate, and decode → privacy → gate → stream analytics (`decode_gate_analytics`),
//! on the same bytes in the same run.
//!
//! `cargo bench -p websight-core --bench realtime`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use websight_core::analytics::{AnalyticsConfig, ProductCatalogue, StreamAnalytics};
use websight_core::decode::{DecodeContext, Format, decode_line};
use websight_core::flow::Ingest;
use websight_core::gate::{Gate, GateConfig, MemoryGateState, Outcome};
use websight_core::privacy::{Privacy, PrivacyConfig};
use websight_core::synth::{Generator, SynthConfig};

fn bench(c: &mut Criterion) {
    let generator = Generator::new(SynthConfig {
        sessions: 10_000,
        ..SynthConfig::default()
    })
    .unwrap();
    let lines: Vec<Vec<u8>> = generator.events().map(|e| e.to_json()).collect();
    let privacy = Privacy::new(PrivacyConfig {
        key: Some("benchmark key, not a secret".into()),
        ..PrivacyConfig::default()
    })
    .unwrap();
    let ingest = Ingest::new(privacy);
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
    group.bench_function("decode", |b| {
        let context = DecodeContext::default();
        b.iter(|| {
            lines
                .iter()
                .map(|l| decode_line(l, Format::Segment, &context).len())
                .sum::<usize>()
        })
    });
    group.bench_function("decode_gate", |b| {
        b.iter(|| {
            let (mut gate, mut state) = gate();
            lines
                .iter()
                .flat_map(|l| ingest.decode(l))
                .map(|i| gate.process(i, &mut state).unwrap())
                .filter(|o| matches!(o, Outcome::Valid(_)))
                .count()
        })
    });
    group.bench_function("decode_gate_analytics", |b| {
        b.iter(|| {
            let (mut gate, mut state) = gate();
            let mut analytics =
                StreamAnalytics::new(AnalyticsConfig::default(), ProductCatalogue::default())
                    .unwrap();
            for item in lines.iter().flat_map(|l| ingest.decode(l)) {
                if let Outcome::Valid(e) = gate.process(item, &mut state).unwrap() {
                    analytics.ingest(e);
                }
            }
            analytics.flush();
            analytics.drain().sessions.len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
