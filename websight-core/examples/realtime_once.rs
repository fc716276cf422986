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
//!
//! With `--pairs N` it then times the bench's `floor` (the least any design of the path must
//! do: `benches/realtime/floor.rs`) and this path alternately, N times each over the same
//! lines, and prints the path's speed as a share of the floor's, pair by pair and their
//! median: the ratio the design can still improve, robust to a machine whose speed drifts
//! between criterion's entries (both run under the same counting allocator).

use std::time::{Duration, Instant};

#[path = "../benches/realtime/floor.rs"]
mod floor;

use websight_core::analytics::{AnalyticsConfig, ProductCatalogue, StreamAnalytics};
use websight_core::flow::Ingest;
use websight_core::gate::{Gate, GateConfig, MemoryGateState, Outcome};
use websight_core::io::block_on;
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

/// The path's speed as a share of the floor's over `pairs` alternating runs of each: every
/// pair's ratio, then their median.
fn floor_pairs(lines: &[Vec<u8>], pairs: usize) {
    let privacy = floor::privacy();
    let mut ratios = Vec::with_capacity(pairs);
    for _ in 0..pairs {
        let start = Instant::now();
        std::hint::black_box(floor::run(lines, &privacy));
        let floor = start.elapsed().as_secs_f64();
        let start = Instant::now();
        std::hint::black_box(run(lines, &mut Stages::default()));
        let path = start.elapsed().as_secs_f64();
        let n = lines.len() as f64;
        println!(
            "floor {:.0} lines/s, path {:.0} lines/s: {:.3}x the floor",
            n / floor,
            n / path,
            floor / path
        );
        ratios.push(floor / path);
    }
    ratios.sort_by(f64::total_cmp);
    if let Some(median) = ratios.get(ratios.len() / 2) {
        println!("median of {pairs} pairs: the path at {median:.3}x the floor's speed");
    }
}

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
    let ingest = Ingest::new(floor::privacy());
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
    const USAGE: &str = "usage: realtime_once FILE.jsonl [LINES] [--pairs N]";
    let mut args = std::env::args().skip(1);
    let (mut positional, mut pairs) = (Vec::new(), 0);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--pairs" => pairs = args.next().ok_or(USAGE)?.parse()?,
            _ => positional.push(arg),
        }
    }
    let path = positional.first().ok_or(USAGE)?;
    let limit: usize = match positional.get(1) {
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
    floor_pairs(&lines, pairs);
    Ok(())
}
