//! Kafka against the real broker of `scripts/services.sh` (`WEBSIGHT_KAFKA_BROKERS`): keyed
//! idempotent production, a consumer group over several partitions, commits that hold, and
//! redelivery of what was not committed.
#![cfg(feature = "kafka")]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use websight_connectors::kafka::{KafkaSink, KafkaSource, Topics, create_topics};
use websight_core::io::{EventSink, EventSource, Message};

fn messages(n: usize) -> Vec<Message> {
    (0..n)
        .map(|i| Message {
            key: Some(format!("user-{}", i % 37)),
            payload: format!("{{\"n\":{i}}}").into_bytes(),
            headers: vec![("websight.reason".into(), format!("r{i}"))],
        })
        .collect()
}

async fn drain(source: &mut KafkaSource) -> Vec<Message> {
    let mut all = Vec::new();
    while let Some(batch) = source.next_messages(700).await.unwrap() {
        all.extend(batch);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_group_reads_every_message_once_and_commits_hold() {
    let Some(brokers) = common::server("WEBSIGHT_KAFKA_BROKERS") else {
        return;
    };
    let topics = Topics::prefixed(&format!("k{}-", std::process::id()));
    create_topics(&brokers, &topics.all(), 3).await.unwrap();
    // Creating them again is fine.
    create_topics(&brokers, &topics.all(), 3).await.unwrap();

    let sent = messages(5_000);
    let mut sink = KafkaSink::new(&brokers, &topics.raw).unwrap();
    for chunk in sent.chunks(1_000) {
        sink.send(chunk).await.unwrap();
    }

    let idle = Duration::from_secs(2);
    let group = format!("g{}", std::process::id());
    // A member that reads half and dies without committing: its messages come again.
    let mut first = KafkaSource::new(&brokers, &group, &topics.raw)
        .unwrap()
        .idle_timeout(idle);
    let half = first.next_messages(2_500).await.unwrap().unwrap();
    assert!(!half.is_empty());
    drop(first);

    let mut member = KafkaSource::new(&brokers, &group, &topics.raw)
        .unwrap()
        .idle_timeout(idle);
    let got = drain(&mut member).await;
    assert_eq!(got.len(), sent.len(), "every message exactly once");
    // Per key, order is kept; payloads and headers arrive intact.
    let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for m in &got {
        let n: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
        let n = n["n"].as_u64().unwrap() as usize;
        assert_eq!(m.headers, sent[n].headers);
        assert_eq!(m.key, sent[n].key);
        by_key.entry(m.key.clone().unwrap()).or_default().push(n);
    }
    assert_eq!(by_key.len(), 37);
    for ns in by_key.values() {
        assert!(ns.windows(2).all(|w| w[0] < w[1]), "order within a key");
    }
    EventSource::commit(&mut member).await.unwrap();
    drop(member);

    // The group's commit holds: a new member has nothing left to read...
    let mut again = KafkaSource::new(&brokers, &group, &topics.raw)
        .unwrap()
        .idle_timeout(idle);
    assert_eq!(drain(&mut again).await.len(), 0);
    // ...but sees what arrives next.
    sink.send(&messages(10)).await.unwrap();
    assert_eq!(drain(&mut again).await.len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_tail_counts_what_was_written_after_the_recorded_ends() {
    let Some(brokers) = common::server("WEBSIGHT_KAFKA_BROKERS") else {
        return;
    };
    let topics = Topics::prefixed(&format!("tail{}-", std::process::id()));
    create_topics(&brokers, &topics.all(), 1).await.unwrap();
    let idle = Duration::from_millis(1_500);
    let none = BTreeMap::new();
    let tail = |start| websight_connectors::kafka::tail(&brokers, &topics.checked, start, idle);
    assert_eq!(tail(&none).await.unwrap()[&0].end, 0, "empty");
    let mut sink = KafkaSink::new(&brokers, &topics.checked).unwrap();
    // Batches of several sizes: some servers report a topic's end short of its last batch.
    for n in [1, 700, 299] {
        sink.send(&messages(n)).await.unwrap();
    }
    let ends = sink.delivered().ends();
    assert_eq!(ends, BTreeMap::from([(0, 1_000)]), "acknowledged ends");
    assert_eq!(sink.delivered().acknowledged(), 1_000, "acknowledgements");
    let fresh = tail(&none).await.unwrap();
    assert_eq!(
        (fresh[&0].end, fresh[&0].messages),
        (1_000, 0),
        "found by reading"
    );
    for n in [450, 1] {
        sink.send(&messages(n)).await.unwrap();
    }
    let after = tail(&ends).await.unwrap();
    assert_eq!((after[&0].end, after[&0].messages), (1_451, 451));
}
