//! The real-time path from JSON bytes: bare `serde_json` decoding of the events (baseline),
//! decode → gate, and decode → gate → stream analytics, on the same bytes in the same run.
//!
//! `cargo bench -p websight-core --bench realtime`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use websight_core::analytics::{AnalyticsConfig, StreamAnalytics};
use websight_core::gate::{Gate, GateConfig, Outcome};
use websight_core::model::Catalogue;
use websight_core::record::EventRecord;
use websight_core::synth::{Generator, SynthConfig};

fn bench(c: &mut Criterion) {
    let generator = Generator::new(SynthConfig {
        sessions: 20_000,
        ..SynthConfig::default()
    })
    .unwrap();
    let lines: Vec<Vec<u8>> = generator
        .events()
        .map(|e| serde_json::to_vec(&e.record).unwrap())
        .collect();
    let mut group = c.benchmark_group("realtime");
    group.sample_size(10);
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("serde_json_decode", |b| {
        b.iter(|| {
            lines
                .iter()
                .filter(|l| serde_json::from_slice::<EventRecord>(l).is_ok())
                .count()
        })
    });
    group.bench_function("decode_gate", |b| {
        b.iter(|| {
            let mut gate = Gate::new(GateConfig {
                known_users_capacity: 100_000,
                ..GateConfig::default()
            })
            .unwrap();
            lines
                .iter()
                .filter(|l| matches!(gate.process(l), Outcome::Valid(_)))
                .count()
        })
    });
    group.bench_function("decode_gate_analytics", |b| {
        b.iter(|| {
            let mut gate = Gate::new(GateConfig {
                known_users_capacity: 100_000,
                ..GateConfig::default()
            })
            .unwrap();
            let mut analytics =
                StreamAnalytics::new(AnalyticsConfig::default(), Catalogue::furniture()).unwrap();
            for l in &lines {
                if let Outcome::Valid(e) = gate.process(l) {
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
