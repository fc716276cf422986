//! What a checkpoint costs when every event is still open (a busy collector within one visit
//! gap): the lines of a JSON-lines file through decode → gate → analytics with a visit gap of
//! 300 days, then a checkpoint of the gate, its state and the analytics written and read back
//! as stores keep it ([`Checkpoint::write_to`]: zstd-compressed JSON) and, for comparison, as
//! plain JSON (how checkpoints were stored before 2026-12-06). Three rounds.
//!
//! ```sh
//! cargo run --release --example pipeline -- --events-out /tmp/events.jsonl --stream-only
//! cargo run --release -p websight-core --example checkpoint_cost -- /tmp/events.jsonl 300000
//! ```

use std::time::Instant;

use websight_core::analytics::{AnalyticsConfig, ProductCatalogue, SessionConfig, StreamAnalytics};
use websight_core::flow::Ingest;
use websight_core::flow::{CHECKPOINT_VERSION, Checkpoint, FlowCounts};
use websight_core::gate::GateState;
use websight_core::gate::{Gate, GateConfig, MemoryGateState, Outcome};
use websight_core::io::block_on;
use websight_core::privacy::{Privacy, PrivacyConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
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
        for outcome in gate
            .process_batch(ingest.decode_batch(&batch), &mut state)
            .await?
        {
            match outcome {
                Outcome::Valid(e) => analytics.ingest(e),
                Outcome::Rejected { event, .. } => analytics.ingest_rejected(event),
                _ => {}
            }
        }
        analytics.drain();
    }
    println!("{} events open", analytics.counts().buffered);
    let checkpoint = Checkpoint {
        version: CHECKPOINT_VERSION,
        position: lines.len() as u64,
        counts: FlowCounts::default(),
        gate: gate.snapshot()?,
        state: state.snapshot().await?,
        analytics: analytics.snapshot()?,
        observer: serde_json::Value::Null,
        source: None,
        extra: serde_json::Value::Null,
    };
    for _ in 0..3 {
        let start = Instant::now();
        let json = serde_json::to_vec(&checkpoint)?;
        let json_write = start.elapsed();
        let start = Instant::now();
        drop(serde_json::from_slice::<Checkpoint>(&json)?);
        let json_read = start.elapsed();

        let start = Instant::now();
        let mut compressed = Vec::new();
        checkpoint.write_to(&mut compressed)?;
        let write = start.elapsed();
        let start = Instant::now();
        drop(Checkpoint::read_from(&compressed)?);
        let read = start.elapsed();
        let mb = |n: usize| n as f64 / 1e6;
        println!(
            "{:.1} MB written in {write:.2?}, read in {read:.2?}; as plain JSON {:.1} MB \
             ({:.1}x) in {json_write:.2?}, read in {json_read:.2?}",
            mb(compressed.len()),
            mb(json.len()),
            json.len() as f64 / compressed.len() as f64,
        );
    }
    Ok(())
}
