//! One pass of the `realtime` benchmark's path — Segment JSON lines → decode → privacy → gate
//! → stream analytics, in batches of 2,000 as the flow does — over a JSON-lines file, for
//! comparing builds by instruction count where wall time is too noisy (a shared VM):
//!
//! ```sh
//! cargo run --release --example pipeline -- --events-out /tmp/events.jsonl --stream-only
//! head -n 60000 /tmp/events.jsonl > /tmp/60k.jsonl
//! cargo build --release -p websight-core --example realtime_once
//! valgrind --tool=callgrind --toggle-collect='*measured*' \
//!     target/release/examples/realtime_once /tmp/60k.jsonl
//! ```
//!
//! Callgrind counts only `measured` (set-up, reading the file and a warm-up over the first
//! 100 lines — which builds the user-agent parser once — excluded); the count is the same run
//! to run for the same build and input. Run natively, it also prints the time per line of
//! each stage: decode (with privacy), gate, analytics, and taking the documents; and how
//! many allocations each makes per line (counted by a wrapper around the allocator: two
//! instructions each, the same in every build).

use std::time::{Duration, Instant};

use websight_core::analytics::{AnalyticsConfig, ProductCatalogue, StreamAnalytics};
use websight_core::flow::Ingest;
use websight_core::gate::{Gate, GateConfig, MemoryGateState, Outcome};
use websight_core::io::block_on;
use websight_core::privacy::{Privacy, PrivacyConfig};
use websight_testkit::alloc::{Counting, allocations};

// jemalloc, not glibc's malloc: the stream path allocates per event (1.4x the events/s);
// each allocation counted, as the stage it falls in is what the next step of the stream
// path's redesign removes.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: Counting<tikv_jemallocator::Jemalloc> = Counting(tikv_jemallocator::Jemalloc);
#[cfg(target_env = "msvc")]
#[global_allocator]
static ALLOCATOR: Counting<std::alloc::System> = Counting(std::alloc::System);

/// Time spent and allocations made in each stage.
#[derive(Default)]
struct Stages {
    decode: Stage,
    gate: Stage,
    analytics: Stage,
    drain: Stage,
}

#[derive(Default)]
struct Stage {
    time: Duration,
    allocations: u64,
}

/// The counted run.
#[inline(never)]
fn measured(lines: &[Vec<u8>], stages: &mut Stages) -> usize {
    run(lines, stages)
}

/// Decode → gate → analytics over `lines`; the visits closed.
fn run(lines: &[Vec<u8>], stages: &mut Stages) -> usize {
    let privacy = Privacy::new(PrivacyConfig {
        key: Some("benchmark key, not a secret".into()),
        ..PrivacyConfig::default()
    })
    .expect("a valid key");
    let ingest = Ingest::new(privacy);
    let config = GateConfig {
        known_users_capacity: 100_000,
        ..GateConfig::default()
    };
    let mut gate = Gate::new(config.clone()).expect("valid settings");
    let mut state = MemoryGateState::new(&config).expect("valid settings");
    let mut analytics =
        StreamAnalytics::new(AnalyticsConfig::default(), ProductCatalogue::default())
            .expect("valid settings");
    let mut visits = 0;
    let mut clock = (Instant::now(), allocations());
    // The time and allocations since the last lap, added to `stage`.
    let mut lap = |stage: &mut Stage| {
        let now = (Instant::now(), allocations());
        stage.time += now.0 - clock.0;
        stage.allocations += now.1 - clock.1;
        clock = now;
    };
    for batch in lines.chunks(2_000) {
        let items = ingest.decode_batch(batch);
        lap(&mut stages.decode);
        let outcomes = block_on(gate.process_batch(items, &mut state)).expect("memory state");
        lap(&mut stages.gate);
        for outcome in outcomes {
            match outcome {
                Outcome::Valid(e) => analytics.ingest(e),
                // As the flow does: rejected events still cut visits and stitch persons.
                Outcome::Rejected { event, .. } => analytics.ingest_rejected(event),
                _ => {}
            }
        }
        lap(&mut stages.analytics);
        visits += analytics.drain().sessions.len();
        lap(&mut stages.drain);
    }
    analytics.flush();
    lap(&mut stages.analytics);
    visits += analytics.drain().sessions.len();
    lap(&mut stages.drain);
    visits
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: realtime_once FILE.jsonl [LINES]")?;
    let limit: usize = match std::env::args().nth(2) {
        Some(n) => n.parse()?,
        None => usize::MAX,
    };
    let text = std::fs::read(path)?;
    let lines: Vec<Vec<u8>> = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .take(limit)
        .map(<[u8]>::to_vec)
        .collect();
    run(&lines[..lines.len().min(100)], &mut Stages::default());
    let mut stages = Stages::default();
    let start = Instant::now();
    let visits = measured(&lines, &mut stages);
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{} lines, {visits} visits closed, {:.0} lines/s",
        lines.len(),
        lines.len() as f64 / seconds
    );
    let n = lines.len().max(1) as f64;
    let all = [
        &stages.decode,
        &stages.gate,
        &stages.analytics,
        &stages.drain,
    ];
    let [d, g, a, t] = all.map(|s| s.time.as_secs_f64() * 1e6 / n);
    println!("µs per line: decode {d:.2}, gate {g:.2}, analytics {a:.2}, documents taken {t:.2}");
    let [d, g, a, t] = all.map(|s| s.allocations as f64 / n);
    println!(
        "allocations per line: decode {d:.2}, gate {g:.2}, analytics {a:.2}, documents taken {t:.2}"
    );
    Ok(())
}
