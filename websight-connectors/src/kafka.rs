//! Kafka: [`KafkaSource`] (a consumer group member that commits only what the caller
//! acknowledged) and [`KafkaSink`] (an idempotent producer keyed by user id), for the
//! original system's topics — raw `user_session_info` → checked `valid_customer_session` —
//! and a dead-letter topic ([`Topics`], names configurable).
//!
//! Both sides reconnect by themselves (librdkafka): a producer keeps undelivered messages
//! and retries them until `message.timeout.ms` (2 minutes here), without duplicates thanks to
//! idempotence; a consumer resumes from the group's committed offsets.

use std::time::Duration;

use async_trait::async_trait;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, Message as _, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use websight_core::io::{EventSink, EventSource, Message};

use crate::backoff::Backoff;
use crate::{ConnectorError, Result};

/// The topics of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    /// Raw events from the shop (the original's `user_session_info`).
    pub raw: String,
    /// Events that passed the gate (the original's `valid_customer_session`).
    pub checked: String,
    /// Unreadable inputs and rejected events, with a reason header.
    pub dead_letters: String,
}

impl Default for Topics {
    fn default() -> Self {
        Topics {
            raw: "user_session_info".into(),
            checked: "valid_customer_session".into(),
            dead_letters: "websight_dead_letters".into(),
        }
    }
}

impl Topics {
    /// The default names with `prefix` in front (e.g. one set per test or tenant).
    pub fn prefixed(prefix: &str) -> Self {
        let d = Topics::default();
        Topics {
            raw: format!("{prefix}{}", d.raw),
            checked: format!("{prefix}{}", d.checked),
            dead_letters: format!("{prefix}{}", d.dead_letters),
        }
    }

    /// The three names.
    pub fn all(&self) -> [&str; 3] {
        [&self.raw, &self.checked, &self.dead_letters]
    }
}

/// What every client here shares: the brokers, and quick reconnects (50 ms doubling to 2 s).
fn client_config(brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("reconnect.backoff.ms", "50")
        .set("reconnect.backoff.max.ms", "2000");
    config
}

/// A consumer that stores and commits offsets only when told to.
fn consumer_config(brokers: &str, group: &str) -> ClientConfig {
    let mut config = client_config(brokers);
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false");
    config
}

/// A consumer error: transient (librdkafka reconnects by itself), so logged, then a short
/// pause before the next receive.
async fn transient(e: KafkaError) {
    tracing::warn!(error = %e, "kafka consumer error; retrying");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

fn kafka_err(e: KafkaError) -> ConnectorError {
    ConnectorError::Kafka(e)
}

/// Where a topic's partitions end: per partition, the offset after its last message.
pub type Ends = std::collections::BTreeMap<i32, i64>;

/// What [`tail`] found in one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tail {
    /// Messages read from the start offset on.
    pub messages: u64,
    /// The offset after the last one (the start offset when there were none).
    pub end: i64,
}

/// How long a metadata or watermark request may take.
const METADATA_WAIT: Duration = Duration::from_secs(10);

/// A reader outside any group, and `topic`'s partitions, each as `each` makes it.
/// librdkafka's metadata calls block: they run off the async threads.
async fn reader_of<T: Send + 'static>(
    brokers: &str,
    topic: &str,
    each: impl Fn(&StreamConsumer, &str, i32) -> Result<T> + Send + 'static,
) -> Result<(StreamConsumer, Vec<T>)> {
    let (brokers, name) = (brokers.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || -> Result<(StreamConsumer, Vec<T>)> {
        let consumer: StreamConsumer = consumer_config(&brokers, "websight-reader")
            .create()
            .map_err(kafka_err)?;
        let metadata = consumer
            .fetch_metadata(Some(&name), METADATA_WAIT)
            .map_err(kafka_err)?;
        let mut partitions = Vec::new();
        for t in metadata.topics().iter().filter(|t| t.name() == name) {
            for p in t.partitions() {
                partitions.push(each(&consumer, &name, p.id())?);
            }
        }
        Ok((consumer, partitions))
    })
    .await
    .map_err(|e| ConnectorError::Protocol {
        reason: format!("reading {topic}'s metadata: {e}"),
    })?
}

/// Reads `topic` to its end from `start` (per partition; a partition not named starts at its
/// last message), and says what each partition holds from there. The end is found by
/// reading, not from the broker's reported end offset, which some Kafka-protocol servers
/// report short of the last record batch. Ends after `idle` without a message.
pub async fn tail(
    brokers: &str,
    topic: &str,
    start: &Ends,
    idle: Duration,
) -> Result<std::collections::BTreeMap<i32, Tail>> {
    let wait = METADATA_WAIT;
    let (consumer, reported) = reader_of(brokers, topic, move |consumer, name, id| {
        let (_, end) = consumer
            .fetch_watermarks(name, id, wait)
            .map_err(kafka_err)?;
        Ok((id, end))
    })
    .await?;
    // Per partition: where reading starts, and what was found from there.
    let mut read: std::collections::BTreeMap<i32, (i64, Tail)> = Default::default();
    let mut partitions = TopicPartitionList::new();
    let mut expect_data = false;
    for (id, reported) in reported {
        let from = start.get(&id).copied().unwrap_or((reported - 1).max(0));
        // Even a short report says whether anything lies past the start.
        expect_data |= reported > from;
        read.insert(
            id,
            (
                from,
                Tail {
                    messages: 0,
                    end: from,
                },
            ),
        );
        partitions
            .add_partition_offset(topic, id, Offset::Offset(from))
            .map_err(kafka_err)?;
    }
    consumer.assign(&partitions).map_err(kafka_err)?;
    let mut received_any = false;
    loop {
        // Known data may take a while to be fetched: a first message is waited for longer,
        // since stopping short would misplace the end.
        let timeout = if expect_data && !received_any {
            wait
        } else {
            idle
        };
        let Ok(received) = tokio::time::timeout(timeout, consumer.recv()).await else {
            break;
        };
        let m = match received {
            Ok(m) => m,
            Err(e) => {
                transient(e).await;
                continue;
            }
        };
        received_any = true;
        if let Some((from, t)) = read.get_mut(&m.partition()) {
            // Messages from a named start on (a partition not named also reads its last
            // message, which only locates the end).
            if m.offset() >= *from && start.contains_key(&m.partition()) {
                t.messages += 1;
            }
            t.end = t.end.max(m.offset() + 1);
        }
    }
    Ok(read.into_iter().map(|(p, (_, t))| (p, t)).collect())
}

/// Creates the topics that do not exist yet, with `partitions` partitions each.
pub async fn create_topics(brokers: &str, topics: &[&str], partitions: i32) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> =
        client_config(brokers).create().map_err(kafka_err)?;
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin
        .create_topics(&new, &options)
        .await
        .map_err(kafka_err)?
    {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(ConnectorError::Protocol {
                    reason: format!("creating topic {topic}: {code}"),
                });
            }
        }
    }
    Ok(())
}

/// How long an idle source waits for the group to assign it partitions before it ends.
const JOIN_WAIT: Duration = Duration::from_secs(60);

/// An idempotent producer to one topic: `acks=all`, retries without duplicates or
/// reordering, messages keyed (the user id) so each user's events stay in order.
pub struct KafkaSink {
    producer: FutureProducer,
    topic: String,
    ends: Delivered,
}

/// What the broker acknowledged to a [`KafkaSink`]: the offset after the last acknowledged
/// message per partition, and how many acknowledgements came. Shared, so a checkpoint can
/// record where the sink's output stood.
///
/// The two differ only if the broker reused offsets, e.g. a broker that lost acknowledged
/// writes across its own restart: the count is what this sink was promised, the ends are
/// where the log stands.
#[derive(Debug, Clone, Default)]
pub struct Delivered(std::sync::Arc<std::sync::Mutex<Acks>>);

#[derive(Debug, Default)]
struct Acks {
    ends: Ends,
    count: u64,
}

impl Delivered {
    /// The ends now.
    pub fn ends(&self) -> Ends {
        self.0.lock().map(|a| a.ends.clone()).unwrap_or_default()
    }

    /// Messages acknowledged since this sink was made.
    pub fn acknowledged(&self) -> u64 {
        self.0.lock().map(|a| a.count).unwrap_or_default()
    }

    /// Starts from known ends (what the topic held when this sink took over).
    pub fn set(&self, ends: Ends) {
        if let Ok(mut held) = self.0.lock() {
            held.ends = ends;
        }
    }

    fn record(&self, partition: i32, offset: i64) {
        if let Ok(mut held) = self.0.lock() {
            held.count += 1;
            let end = held.ends.entry(partition).or_insert(0);
            *end = (*end).max(offset + 1);
        }
    }
}

impl std::fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink")
            .field("topic", &self.topic)
            .finish()
    }
}

impl KafkaSink {
    /// A producer to `topic` on `brokers` (`host:port[,…]`).
    pub fn new(brokers: &str, topic: &str) -> Result<Self> {
        let producer = client_config(brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "120000")
            .create()
            .map_err(kafka_err)?;
        Ok(KafkaSink {
            producer,
            topic: topic.to_owned(),
            ends: Delivered::default(),
        })
    }

    /// The topic written to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Where this sink's acknowledged messages end in each partition (shared handle).
    pub fn delivered(&self) -> Delivered {
        self.ends.clone()
    }
}

#[async_trait]
impl EventSink for KafkaSink {
    async fn send(&mut self, messages: &[Message]) -> websight_core::Result<()> {
        let mut deliveries = Vec::with_capacity(messages.len());
        for m in messages {
            let mut headers = OwnedHeaders::new_with_capacity(m.headers.len());
            for (key, value) in &m.headers {
                headers = headers.insert(Header {
                    key,
                    value: Some(value.as_bytes()),
                });
            }
            let mut record = FutureRecord::to(&self.topic)
                .payload(&m.payload)
                .headers(headers);
            if let Some(key) = &m.key {
                record = record.key(key);
            }
            loop {
                match self.producer.send_result(record) {
                    Ok(delivery) => {
                        deliveries.push(delivery);
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        // The local queue is full: let deliveries drain, then retry.
                        record = back;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err((e, _)) => return Err(kafka_err(e).into()),
                }
            }
        }
        for delivery in deliveries {
            match delivery.await {
                Ok(Ok(d)) => self.ends.record(d.partition, d.offset),
                Ok(Err((e, _))) => return Err(kafka_err(e).into()),
                Err(_) => {
                    return Err(ConnectorError::Protocol {
                        reason: "producer dropped a delivery".into(),
                    }
                    .into());
                }
            }
        }
        Ok(())
    }
}

/// A consumer-group member reading one topic. Offsets are committed only by
/// [`EventSource::commit`], i.e. after the caller's outputs acknowledged the batch
/// (at-least-once); a restarted member resumes there.
pub struct KafkaSource {
    consumer: StreamConsumer,
    idle: Option<Duration>,
    /// Next offset to commit, per partition.
    positions: TopicPartitionList,
    topic: String,
    /// A group member (commits) or a plain reader of every partition (no commits).
    grouped: bool,
    /// Next offset per partition delivered so far.
    delivered: std::collections::BTreeMap<i32, i64>,
    /// Offsets below which messages are passed over (resuming at a checkpoint).
    floor: std::collections::BTreeMap<i32, i64>,
}

impl std::fmt::Debug for KafkaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSource")
            .field("topic", &self.topic)
            .field("idle", &self.idle)
            .finish()
    }
}

impl KafkaSource {
    /// Joins consumer group `group` on `topic`; a new group starts at the earliest offset.
    pub fn new(brokers: &str, group: &str, topic: &str) -> Result<Self> {
        let consumer: StreamConsumer = consumer_config(brokers, group)
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "10000")
            .create()
            .map_err(kafka_err)?;
        consumer.subscribe(&[topic]).map_err(kafka_err)?;
        Ok(KafkaSource {
            consumer,
            idle: None,
            positions: TopicPartitionList::new(),
            topic: topic.to_owned(),
            grouped: true,
            delivered: Default::default(),
            floor: Default::default(),
        })
    }

    /// Reads every partition of `topic` from the beginning, outside any group (no joining,
    /// nothing committed) — e.g. to inspect a dead-letter topic.
    pub async fn from_beginning(brokers: &str, topic: &str) -> Result<Self> {
        let (consumer, ids) = reader_of(brokers, topic, |_, _, id| Ok(id)).await?;
        let mut partitions = TopicPartitionList::new();
        for id in ids {
            partitions
                .add_partition_offset(topic, id, Offset::Beginning)
                .map_err(kafka_err)?;
        }
        if partitions.count() == 0 {
            return Err(ConnectorError::Protocol {
                reason: format!("topic {topic} has no partitions"),
            });
        }
        consumer.assign(&partitions).map_err(kafka_err)?;
        Ok(KafkaSource {
            consumer,
            idle: None,
            positions: TopicPartitionList::new(),
            topic: topic.to_owned(),
            grouped: false,
            delivered: Default::default(),
            floor: Default::default(),
        })
    }

    /// Ends the stream (`next_batch` returns `None`) after `idle` without a message once
    /// the group assigned partitions (joining may take up to a minute); by default the
    /// source waits forever.
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = Some(idle);
        self
    }

    fn assigned(&self) -> bool {
        self.consumer.assignment().is_ok_and(|a| a.count() > 0)
    }

    /// Up to `max` whole messages (key, payload, headers) — e.g. to read a dead-letter topic.
    pub async fn next_messages(&mut self, max: usize) -> Result<Option<Vec<Message>>> {
        let mut batch = Vec::new();
        let joining = std::time::Instant::now();
        while batch.len() < max.max(1) {
            // The first message may wait for the idle timeout; the rest only for what has
            // already arrived, so batches fill without adding latency.
            let wait = if batch.is_empty() {
                self.idle
            } else {
                Some(Duration::from_millis(20))
            };
            let received = match wait {
                Some(wait) => match tokio::time::timeout(wait, self.consumer.recv()).await {
                    Ok(r) => r,
                    // Idle only counts once the group gave us partitions: joining a group
                    // can take seconds.
                    Err(_)
                        if batch.is_empty()
                            && !self.assigned()
                            && joining.elapsed() < JOIN_WAIT =>
                    {
                        continue;
                    }
                    Err(_) => break,
                },
                None => self.consumer.recv().await,
            };
            let m = match received {
                Ok(m) => m,
                Err(e) => {
                    transient(e).await;
                    continue;
                }
            };
            self.positions
                .add_partition_offset(m.topic(), m.partition(), Offset::Offset(m.offset() + 1))
                .map_err(kafka_err)?;
            if self
                .floor
                .get(&m.partition())
                .is_some_and(|floor| m.offset() < *floor)
            {
                continue; // delivered before the checkpoint resumed from
            }
            self.delivered.insert(m.partition(), m.offset() + 1);
            let headers = m
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| {
                            let value = h.value.map(String::from_utf8_lossy).unwrap_or_default();
                            (h.key.to_owned(), value.into_owned())
                        })
                        .collect()
                })
                .unwrap_or_default();
            batch.push(Message {
                key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                payload: m.payload().unwrap_or_default().to_vec(),
                headers,
            });
        }
        Ok((!batch.is_empty()).then_some(batch))
    }
}

#[async_trait]
impl EventSource for KafkaSource {
    async fn next_batch(&mut self, max: usize) -> websight_core::Result<Option<Vec<Vec<u8>>>> {
        Ok(self
            .next_messages(max)
            .await?
            .map(|batch| batch.into_iter().map(|m| m.payload).collect()))
    }

    /// The next offset per partition of what was delivered.
    fn position(&self) -> Option<serde_json::Value> {
        let next: serde_json::Map<String, serde_json::Value> = self
            .delivered
            .iter()
            .map(|(p, o)| (p.to_string(), (*o).into()))
            .collect();
        Some(serde_json::json!({ "topic": self.topic, "next": next }))
    }

    /// A consumer group restarts at its committed offsets, which a checkpointed flow commits
    /// right after each checkpoint: at the checkpoint's offsets, or — killed between the
    /// two — before them. Messages below the checkpoint's offsets are passed over as they
    /// arrive, so the flow continues exactly at the checkpoint.
    async fn resume(
        &mut self,
        _taken: u64,
        position: Option<&serde_json::Value>,
    ) -> websight_core::Result<()> {
        let Some(next) = position.and_then(|p| p["next"].as_object()) else {
            return Ok(());
        };
        for (partition, offset) in next {
            if let (Ok(p), Some(o)) = (partition.parse::<i32>(), offset.as_i64()) {
                self.floor.insert(p, o);
                self.delivered.insert(p, o);
            }
        }
        Ok(())
    }

    async fn commit(&mut self) -> websight_core::Result<()> {
        if !self.grouped || self.positions.count() == 0 {
            return Ok(());
        }
        // Retry while the broker is away: the batch is done, only its bookkeeping waits. The
        // positions stay until a commit succeeds, so a failed one is not forgotten.
        let mut backoff = Backoff::new(10, Duration::from_millis(50), Duration::from_secs(2));
        loop {
            match self.consumer.commit(&self.positions, CommitMode::Sync) {
                Ok(()) => {
                    self.positions = TopicPartitionList::new();
                    return Ok(());
                }
                Err(e) if backoff.retry("kafka commit", e.to_string()).await => {}
                Err(e) => return Err(kafka_err(e).into()),
            }
        }
    }
}
