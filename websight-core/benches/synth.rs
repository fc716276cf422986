//! Generation throughput: sessions and arrival-ordered events per second.
//!
//! `cargo bench -p websight-core --bench synth`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use websight_core::synth::{Generator, SynthConfig};

fn generation(c: &mut Criterion) {
    let config = SynthConfig {
        sessions: 20_000,
        ..SynthConfig::default()
    };
    let generator = Generator::new(config).expect("valid config");
    let events: u64 = generator
        .sessions()
        .map(|s| s.session.page_views() as u64)
        .sum();
    let mut group = c.benchmark_group("synth");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events));
    group.bench_function("sessions", |b| {
        b.iter(|| {
            generator
                .sessions()
                .map(|s| s.session.events.len())
                .sum::<usize>()
        })
    });
    group.bench_function("event_stream", |b| b.iter(|| generator.events().count()));
    group.bench_function("event_stream_jsonl", |b| {
        b.iter(|| {
            generator
                .write_events(std::io::sink())
                .expect("sink never fails")
        })
    });
    group.finish();
}

criterion_group!(benches, generation);
criterion_main!(benches);
