//! Exact recovery on servers: a flow reading a Kafka consumer group, its gate state in Redis
//! and its checkpoints in Redis, dies after a few batches (everything in its process lost); a
//! new flow restored from the last checkpoint, on the same group and Redis, ends with exactly
//! the documents, visits, counts and summary of a run that never stopped.
#![cfg(all(feature = "kafka", feature = "redis"))]

mod common;

use std::time::Duration;

use websight_connectors::kafka::{KafkaSink, KafkaSource, Topics, create_topics};
use websight_connectors::redis::{RedisCheckpoints, RedisGateState};
use websight_core::flow::{Checkpoints, FlowCounts, Outputs};
use websight_core::io::{
    EventSink, MemoryIndex, MemorySessionStore, MemoryTopic, Message, SessionStore, StoredSessions,
};
use websight_core::summary::{Summary, SummaryTally};
use websight_testkit::{Dying, Expecting};

/// What a run leaves: in the durable stores (kept across its crashes) and its figures.
struct Ended {
    counts: FlowCounts,
    summary: Summary,
    index: MemoryIndex,
    visits: StoredSessions,
    restarts: usize,
}

/// Runs the flow over the raw topic as consumer group `name` with Redis keys under `name`,
/// dying after `die_after` batches on the first attempt, restarting until it completes;
/// each attempt reads until `expected` inputs in all were taken.
async fn run(
    g: &websight_core::synth::Generator,
    kafka: &str,
    redis: &str,
    topic: &str,
    name: &str,
    expected: u64,
    die_after: usize,
) -> Ended {
    let (mut index, mut sessions) = (MemoryIndex::default(), MemorySessionStore::default());
    let mut restarts = 0;
    for attempt in 0.. {
        let mut flow = websight_testkit::flow(g).batch_size(200);
        let mut state = RedisGateState::connect(redis, &format!("{name}:"))
            .await
            .unwrap();
        let mut checkpoints = RedisCheckpoints::new(&state, 2);
        let mut tally = SummaryTally::default();
        // Ended by the count sent, not by a silence: a stalled broker cannot end it early.
        let mut source = Expecting::new(
            Dying {
                inner: KafkaSource::new(kafka, name, topic)
                    .unwrap()
                    .idle_timeout(Duration::from_secs(2)),
                batches: if attempt == 0 { die_after } else { usize::MAX },
            },
            expected,
        );
        if let Some(checkpoint) = checkpoints.load().await.unwrap() {
            // Kept as `Checkpoint::write_to` writes it: one zstd frame, not the JSON.
            let mut raw = redis::Client::open(redis)
                .unwrap()
                .get_multiplexed_async_connection()
                .await
                .unwrap();
            let stored: Vec<u8> = redis::cmd("GET")
                .arg(format!("{name}:checkpoint"))
                .query_async(&mut raw)
                .await
                .unwrap();
            assert!(stored.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]));
            assert!(stored.len() < serde_json::to_vec(&checkpoint).unwrap().len());
            flow.restore(checkpoint, &mut source, &mut state, &mut tally)
                .await
                .unwrap();
            restarts += 1;
        }
        let (mut checked, mut dead) = (MemoryTopic::default(), MemoryTopic::default());
        let mut out = Outputs {
            state: &mut state,
            checked: &mut checked,
            dead_letters: &mut dead,
            sessions: &mut sessions,
            documents: &mut index,
        };
        let ran = flow
            .run_checkpointed(&mut source, &mut out, &mut tally, &mut checkpoints)
            .await;
        if let Ok(counts) = ran {
            let summary = tally.summary(&counts, flow.gate().stats(), flow.analytics());
            checkpoints.clear().await.unwrap();
            return Ended {
                counts,
                summary,
                index,
                visits: sessions.read_sessions().await.unwrap(),
                restarts,
            };
        }
    }
    unreachable!()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_on_kafka_and_redis_restored_from_its_checkpoint_ends_like_one_that_never_stopped() {
    let (Some(kafka), Some(redis)) = (
        common::server("WEBSIGHT_KAFKA_BROKERS"),
        common::server("WEBSIGHT_REDIS_URL"),
    ) else {
        return;
    };
    let g = websight_testkit::generator(800, 23);
    let raws = websight_testkit::hostile_lines(&g);
    let tag = format!("recovery-{}", std::process::id());
    let topics = Topics::prefixed(&format!("{tag}-"));
    create_topics(&kafka, &[topics.raw.as_str()], 1)
        .await
        .unwrap();
    let mut sink = KafkaSink::new(&kafka, &topics.raw).unwrap();
    for chunk in raws.chunks(1_000) {
        let messages: Vec<Message> = chunk
            .iter()
            .map(|payload| Message {
                payload: payload.clone(),
                ..Message::default()
            })
            .collect();
        sink.send(&messages).await.unwrap();
    }

    let clean = run(
        &g,
        &kafka,
        &redis,
        &topics.raw,
        &format!("{tag}-clean"),
        raws.len() as u64,
        usize::MAX,
    )
    .await;
    assert_eq!(clean.counts.inputs, raws.len() as u64);
    assert!(clean.counts.is_conserved() && clean.counts.rejected > 0);
    // Dies after 3 batches: one past its checkpoint at 2, whose Redis updates are undone.
    let crashed = run(
        &g,
        &kafka,
        &redis,
        &topics.raw,
        &format!("{tag}-crashed"),
        raws.len() as u64,
        3,
    )
    .await;
    assert_eq!(crashed.restarts, 1);
    assert_eq!(crashed.counts, clean.counts);
    assert_eq!(crashed.summary, clean.summary);
    assert_eq!(crashed.index, clean.index, "documents");
    assert_eq!(crashed.visits, clean.visits, "visits");
}
