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
//! to run for the same build and input.

use websight_core::analytics::{AnalyticsConfig, ProductCatalogue, StreamAnalytics};
use websight_core::flow::Ingest;
use websight_core::gate::{Gate, GateConfig, MemoryGateState, Outcome};
use websight_core::io::block_on;
use websight_core::privacy::{Privacy, PrivacyConfig};

// jemalloc, not glibc's malloc: the stream path allocates per event (1.4x the events/s).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The counted run.
#[inline(never)]
fn measured(lines: &[Vec<u8>]) -> usize {
    run(lines)
}

/// Decode → gate → analytics over `lines`; the visits closed.
fn run(lines: &[Vec<u8>]) -> usize {
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
    for batch in lines.chunks(2_000) {
        let items = ingest.decode_batch(batch);
        for outcome in block_on(gate.process_batch(items, &mut state)).expect("memory state") {
            match outcome {
                Outcome::Valid(e) => analytics.ingest(e),
                // As the flow does: rejected events still cut visits and stitch persons.
                Outcome::Rejected { event, .. } => analytics.ingest_rejected(event),
                _ => {}
            }
        }
        visits += analytics.drain().sessions.len();
    }
    analytics.flush();
    visits + analytics.drain().sessions.len()
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
    run(&lines[..lines.len().min(100)]);
    let start = std::time::Instant::now();
    let visits = measured(&lines);
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{} lines, {visits} visits closed, {:.0} lines/s",
        lines.len(),
        lines.len() as f64 / seconds
    );
    Ok(())
}
