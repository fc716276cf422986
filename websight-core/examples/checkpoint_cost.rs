//! What a checkpoint of the stream analytics costs when every event is still open (a busy
//! collector within one visit gap): the lines of a JSON-lines file through decode → gate →
//! analytics with a visit gap of 300 days, then the analytics' state written and read back
//! as a checkpoint holds it ([`Snapshot`], JSON text) and, for comparison, through a
//! `serde_json::Value` tree (how checkpoints held it before 2026-12-05). Three rounds.
//!
//! ```sh
//! cargo run --release --example pipeline -- --events-out /tmp/events.jsonl --stream-only
//! cargo run --release -p websight-core --example checkpoint_cost -- /tmp/events.jsonl 300000
//! ```

use std::time::Instant;

use websight_core::analytics::{AnalyticsConfig, ProductCatalogue, SessionConfig, StreamAnalytics};
use websight_core::flow::Ingest;
use websight_core::gate::{Gate, GateConfig, MemoryGateState, Outcome};
use websight_core::io::block_on;
use websight_core::privacy::{Privacy, PrivacyConfig};
use websight_core::snapshot::Snapshot;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: checkpoint_cost FILE.jsonl [LINES]")?;
    let limit = match args.next() {
        Some(n) => n.parse()?,
        None => usize::MAX,
    };
    let text = std::fs::read(path)?;
    let lines: Vec<&[u8]> = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .take(limit)
        .collect();
    let ingest = Ingest::new(Privacy::new(PrivacyConfig {
        key: Some("benchmark key, not a secret".into()),
        ..PrivacyConfig::default()
    })?);
    let config = GateConfig::default();
    let mut gate = Gate::new(config.clone())?;
    let mut state = MemoryGateState::new(&config)?;
    let days = |n: i64| n * 86_400;
    let open = AnalyticsConfig {
        sessions: SessionConfig {
            gap_seconds: days(300),
            max_seconds: days(360),
            identity_retention_seconds: days(360),
            ..SessionConfig::default()
        },
        ..AnalyticsConfig::default()
    };
    let mut analytics = StreamAnalytics::new(open, ProductCatalogue::default())?;
    for batch in lines.chunks(2_000) {
        let batch: Vec<Vec<u8>> = batch.iter().map(|l| l.to_vec()).collect();
        for outcome in block_on(gate.process_batch(ingest.decode_batch(&batch), &mut state))? {
            match outcome {
                Outcome::Valid(e) => analytics.ingest(e),
                Outcome::Rejected { event, .. } => analytics.ingest_rejected(event),
                _ => {}
            }
        }
        analytics.drain();
    }
    println!("{} events open", analytics.counts().buffered);
    for _ in 0..3 {
        let start = Instant::now();
        let text = serde_json::to_vec(&analytics.snapshot()?)?;
        let write = start.elapsed();
        let start = Instant::now();
        let snapshot: Snapshot = serde_json::from_slice(&text)?;
        drop(StreamAnalytics::restore(analytics.config(), &snapshot)?);
        let read = start.elapsed();

        let start = Instant::now();
        let tree = serde_json::to_value(&analytics)?;
        let bytes = serde_json::to_vec(&tree)?;
        drop(tree);
        let tree_write = start.elapsed();
        let start = Instant::now();
        let tree: serde_json::Value = serde_json::from_slice(&bytes)?;
        drop(serde_json::from_value::<StreamAnalytics>(tree)?);
        let tree_read = start.elapsed();
        println!(
            "{:.0} MB: written in {write:.2?} ({tree_write:.2?} through a Value tree), read in {read:.2?} ({tree_read:.2?})",
            text.len() as f64 / 1e6
        );
    }
    Ok(())
}
