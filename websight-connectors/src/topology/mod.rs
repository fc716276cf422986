//! The stores of a run, each embedded or on its server, opened from one set of options
//! ([`TopologyOptions`], [`Servers`]) — so the `pipeline`, `serve` and `throughput` examples
//! and users' own programs wire a [`Flow`] the same way, from everything in process to the
//! original system's four servers, or any mix.
//!
//! | store | embedded | with `out_dir` | on its server |
//! |---|---|---|---|
//! | input | the source | the source | the Kafka raw topic (the source sent to it once, or a collector's) |
//! | gate state | in process | in process | Redis |
//! | checked / dead-letter outputs | counted | `checked.jsonl`, `dead_letters.jsonl` | Kafka topics |
//! | visits | counted (or a temporary file, read back) | `sessions.jsonl` | MongoDB |
//! | documents | counted | `documents/<index>.jsonl` | Elasticsearch / OpenSearch |
//!
//! Every embedded store appends to its file as the stream goes, so memory stays flat; a
//! checkpoint ([`TopologyOptions::checkpoint`]) records the files' lengths with the flow's
//! state, and a run opened on it cuts the files back to them before it continues — ending
//! with exactly the files of a run that never stopped.
//!
//! ```
//! use websight_connectors::topology::{Input, Topology, TopologyOptions};
//! use websight_core::analytics::{AnalyticsConfig, ProductCatalogue, StreamAnalytics};
//! use websight_core::flow::{Flow, Ingest};
//! use websight_core::gate::{Gate, GateConfig};
//! use websight_core::io::MemorySource;
//! use websight_core::privacy::{Privacy, PrivacyConfig};
//!
//! let line = br#"{"type":"page","anonymousId":"a","timestamp":"2026-03-01T10:00:00Z",
//!     "context":{"userAgent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"}}"#;
//! let source = Box::new(MemorySource::new(vec![line.to_vec()]));
//! let flow = Flow::new(
//!     Ingest::new(Privacy::new(PrivacyConfig::default())?),
//!     Gate::new(GateConfig::default())?,
//!     StreamAnalytics::new(AnalyticsConfig::default(), ProductCatalogue::default())?,
//! );
//! let outcome = websight_core::io::block_on(async {
//!     let topology = Topology::open(Input::Source(source), &TopologyOptions::default()).await?;
//!     topology.run(flow, &mut ()).await
//! })?;
//! assert_eq!(outcome.counts.checked, 1);
//! assert_eq!(outcome.held[0], 1, "one session_summary document");
//! # Ok::<(), websight_connectors::ConnectorError>(())
//! ```

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use websight_core::analytics::{Documents, StreamAnalytics, Visit};
use websight_core::flow::{
    Checkpoint, Checkpoints, FileCheckpoints, Flow, FlowCounts, Observer, Outputs,
};
use websight_core::gate::{GateConfig, GateState, GateStats, MemoryGateState};
use websight_core::io::segments;
use websight_core::io::{
    DocumentSink, EventSink, EventSource, INDEX_NAMES, IndexCounts, JsonLinesIndex,
    JsonLinesSessionStore, JsonLinesSink, SessionStore, StoredSessions, WriteReport,
};

use crate::{ConnectorError, Result};

/// What a run reads.
pub enum Input<'s> {
    /// Lines from a source (a file, the generator, a collector's raw log). On servers they
    /// are first sent to the Kafka raw topic, then read back from it.
    Source(Box<dyn EventSource + 's>),
    /// Servers only: the Kafka raw topic a collector writes, read as it grows — quiet
    /// stretches are empty batches (a live flow's idle ticks) — until `Closing` says no more
    /// will come and everything is read.
    RawTopic(Closing),
}

/// Tells a live input to end once it has read everything written.
#[derive(Clone, Default, Debug)]
pub struct Closing(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Closing {
    /// No more writes will come: the input ends at its end.
    pub fn close(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether [`Closing::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The Kafka raw topic as the flow reads it: to the end of what the run sent to it
/// (`remaining` inputs), or — live, what a collector writes — with quiet stretches as empty
/// batches until `closing` is closed.
#[cfg(feature = "kafka")]
struct RawTopicSource<S> {
    /// A consumer that ends when idle (its idle timeout).
    inner: S,
    remaining: Option<usize>,
    closing: Option<Closing>,
}

#[cfg(feature = "kafka")]
#[async_trait]
impl<S: EventSource> websight_core::io::WrapsSource for RawTopicSource<S> {
    type Inner = S;

    fn inner(&self) -> &S {
        &self.inner
    }

    /// The inner source commits and resumes; `remaining` already counts from the checkpoint.
    fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    async fn take_batch(&mut self, max: usize) -> websight_core::Result<Option<Vec<Vec<u8>>>> {
        if self.remaining == Some(0) {
            return Ok(None);
        }
        // Closed before this read: an idle read is then the end.
        let closed = self.closing.as_ref().is_none_or(Closing::is_closed);
        let max = self.remaining.map_or(max, |r| max.min(r));
        match self.inner.next_batch(max).await? {
            Some(batch) => {
                if let Some(r) = &mut self.remaining {
                    *r = r.saturating_sub(batch.len());
                }
                Ok(Some(batch))
            }
            None if closed => Ok(None),
            None => Ok(Some(Vec::new())),
        }
    }
}

/// Which stores are on a server: each named here runs there, the others embedded. None:
/// everything embedded; all four: the original system's deployment.
#[derive(Debug, Clone, Default)]
pub struct Servers {
    /// Kafka bootstrap servers (`host:port`): the raw topic as input, checked and
    /// dead-letter topics as outputs.
    pub kafka: Option<String>,
    /// Redis URL: the gate's state (and checkpoints, when asked for as `redis`).
    pub redis: Option<String>,
    /// MongoDB URL: the visits.
    pub mongodb: Option<String>,
    /// Elasticsearch / OpenSearch URL: the documents.
    pub search: Option<String>,
    /// Prefix of topic, key, collection and index names.
    pub prefix: String,
}

impl Servers {
    /// Every store on its server.
    pub fn all(kafka: &str, redis: &str, mongodb: &str, search: &str, prefix: &str) -> Servers {
        Servers {
            kafka: Some(kafka.to_owned()),
            redis: Some(redis.to_owned()),
            mongodb: Some(mongodb.to_owned()),
            search: Some(search.to_owned()),
            prefix: prefix.to_owned(),
        }
    }

    /// Whether no store is on a server.
    pub fn is_embedded(&self) -> bool {
        self.kafka.is_none()
            && self.redis.is_none()
            && self.mongodb.is_none()
            && self.search.is_none()
    }

    /// A server named without the feature that speaks to it is an error, not a silent
    /// fallback to the embedded store.
    fn check_features(&self) -> Result<()> {
        let missing = [
            (self.kafka.is_some() && !cfg!(feature = "kafka"), "kafka"),
            (self.redis.is_some() && !cfg!(feature = "redis"), "redis"),
            (
                self.mongodb.is_some() && !cfg!(feature = "mongodb"),
                "mongodb",
            ),
            (
                self.search.is_some() && !cfg!(feature = "elasticsearch"),
                "elasticsearch",
            ),
        ];
        match missing.iter().find(|(m, _)| *m) {
            Some((_, feature)) => Err(config(format!("that server needs the `{feature}` feature"))),
            None => Ok(()),
        }
    }
}

#[cfg(feature = "redis")]
type RedisStateOf = crate::redis::RedisGateState;
/// Never built without the `redis` feature.
#[cfg(not(feature = "redis"))]
type RedisStateOf = Box<dyn GateState>;

#[cfg(feature = "redis")]
fn boxed(state: RedisStateOf) -> Box<dyn GateState> {
    Box::new(state)
}
#[cfg(not(feature = "redis"))]
fn boxed(state: RedisStateOf) -> Box<dyn GateState> {
    state
}

#[cfg(all(feature = "kafka", feature = "redis"))]
async fn counter(state: &mut RedisStateOf, name: &str) -> Result<Option<u64>> {
    state.counter(name).await
}
#[cfg(all(feature = "kafka", feature = "redis"))]
async fn set_counter(state: &mut RedisStateOf, name: &str, n: u64) -> Result<()> {
    state.set_counter(name, n).await
}
#[cfg(all(feature = "kafka", feature = "redis"))]
async fn increment(state: &mut RedisStateOf, name: &str) -> Result<u64> {
    state.increment(name).await
}
#[cfg(all(feature = "kafka", not(feature = "redis")))]
async fn counter(_: &mut RedisStateOf, _: &str) -> Result<Option<u64>> {
    Ok(None)
}
#[cfg(all(feature = "kafka", not(feature = "redis")))]
async fn set_counter(_: &mut RedisStateOf, _: &str, _: u64) -> Result<()> {
    Ok(())
}
#[cfg(all(feature = "kafka", not(feature = "redis")))]
async fn increment(_: &mut RedisStateOf, _: &str) -> Result<u64> {
    Ok(0)
}

/// How the stage runs and what it keeps.
#[derive(Default)]
pub struct TopologyOptions {
    /// The stores on a server (default: none, everything embedded).
    pub servers: Servers,
    /// Where the topics, documents and visits are written as JSON lines.
    pub out_dir: Option<PathBuf>,
    /// Whether the visits are read back for the offline stage. Without, every store
    /// streams to files (or only counts), so memory does not grow with the input.
    pub keep_sessions: bool,
    /// Checkpoints and every how many batches: a file, or `redis` (with a Redis server).
    /// Embedded stores are then files in `out_dir`, cut back to the checkpoint on a restart;
    /// server stores are written idempotently (Kafka output topics may repeat what was
    /// written after the checkpoint).
    pub checkpoint: Option<(PathBuf, u64)>,
    /// What the input is (path and size, or the generator's settings): a checkpoint of
    /// another input is refused.
    pub input: String,
    /// The output files in `out_dir` in [`segments`] of about this many bytes (a new one
    /// started once the last holds it, after a whole batch), so that older ones can be
    /// archived or removed while the stage runs; `None`: one file each, however long.
    pub segment_bytes: Option<u64>,
}

/// The output files, relative to the output directory.
fn output_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["checked.jsonl", "dead_letters.jsonl", "sessions.jsonl"]
        .into_iter()
        .map(PathBuf::from)
        .collect();
    files.extend(
        INDEX_NAMES
            .iter()
            .map(|name| Path::new("documents").join(format!("{name}.jsonl"))),
    );
    files
}

/// Cuts each output file back to its length at the checkpoint (`extra` is the checkpoint's
/// [`Checkpoint::extra`]): what was written after it is written again by the resumed run, so
/// the files end exactly as without the crash. A file in segments is cut back as one log
/// (later segments removed; earlier ones may have been archived). A file, or the segment
/// holding its length, that is missing or shorter than recorded (moved away, replaced) is an
/// error naming it: extending it would put zeros where its lines were.
fn rewind(dir: &Path, extra: &serde_json::Value) -> Result<()> {
    let Some(files) = extra["files"].as_object() else {
        return Ok(());
    };
    let known: Vec<String> = output_files()
        .iter()
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    for (file, len) in files {
        if !known.contains(file) {
            return Err(config(format!(
                "the checkpoint names {file:?}, not an output file"
            )));
        }
        let len = len
            .as_u64()
            .ok_or_else(|| config(format!("the checkpoint's length of {file} is not a number")))?;
        segments::cut(&dir.join(file), len).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidData => config(format!(
                "cannot resume from the checkpoint: {e}: put it back, or remove the checkpoint \
                 to start afresh"
            )),
            _ => e.into(),
        })?;
    }
    Ok(())
}

/// Checkpoints (in a file or in Redis) that also record the input they were taken on, the
/// consumer group reading it (servers), and the output files' lengths (embedded: every sink
/// has flushed when a batch is committed).
struct Tagged {
    inner: Box<dyn Checkpoints>,
    input: String,
    group: Option<String>,
    files: Option<PathBuf>,
    /// Lines per document file (with `files`), so a restart need not count them.
    documents: Option<IndexCounts>,
    /// The Kafka output topics and where their acknowledged messages end, which a
    /// checkpoint records.
    topics: Vec<(String, KafkaEnds)>,
}

#[async_trait]
impl Checkpoints for Tagged {
    fn due(&mut self, counts: &FlowCounts) -> bool {
        self.inner.due(counts)
    }

    async fn save(&mut self, mut checkpoint: Checkpoint) -> websight_core::Result<u64> {
        let mut extra = serde_json::json!({ "input": self.input, "group": self.group });
        if let Some(dir) = &self.files {
            let mut files = serde_json::Map::new();
            // The stores that are files here (the others are on servers).
            for file in output_files() {
                if let Some(end) = segments::end(&dir.join(&file))? {
                    files.insert(file.to_string_lossy().into_owned(), end.into());
                }
            }
            extra["files"] = files.into();
        }
        if let Some(counts) = &self.documents {
            extra["documents"] = serde_json::json!(counts.get());
        }
        if !self.topics.is_empty() {
            let ends: serde_json::Map<String, serde_json::Value> = self
                .topics
                .iter()
                .map(|(topic, ends)| (topic.clone(), serde_json::json!(ends.get())))
                .collect();
            extra["topics"] = ends.into();
        }
        checkpoint.extra = extra;
        self.inner.save(checkpoint).await
    }

    async fn clear(&mut self) -> websight_core::Result<()> {
        self.inner.clear().await
    }
}

/// Refuses a checkpoint taken on other input.
fn check_input(checkpoint: &Checkpoint, input: &str) -> Result<()> {
    let taken_on = checkpoint.extra["input"].as_str();
    if taken_on != Some(input) {
        return Err(config(format!(
            "the checkpoint was taken on {}, not on {input}: remove it to start afresh",
            taken_on.unwrap_or("another input"),
        )));
    }
    Ok(())
}

/// What the stage did and what its stores hold afterwards.
pub struct StreamOutcome {
    /// What went where.
    pub counts: FlowCounts,
    /// The gate's verdicts.
    pub gate: GateStats,
    /// The analytics at the end (dashboard, catalogue, identity graph).
    pub analytics: StreamAnalytics,
    /// Distinct visitor ids the gate state counted (HyperLogLog).
    pub unique_users: f64,
    /// The known-visitor filter's fill and false-positive rate.
    pub known_filter: Option<websight_core::gate::FilterStats>,
    /// Documents per index held by the document store afterwards.
    pub held: [u64; 4],
    /// What held them.
    pub document_store: &'static str,
    /// The stored visits to read back (the offline stage's input), unless the run keeps
    /// none.
    pub sessions: Option<StoredVisits>,
    /// What held the visits.
    pub session_store: &'static str,
    /// Messages on the checked output.
    pub checked_messages: u64,
    /// Messages on the dead-letter output.
    pub dead_messages: u64,
}

/// Counts what passes through a sink; without one (embedded without `--out-dir`: nobody
/// reads the topics afterwards) it only counts, so memory stays flat.
#[derive(Default)]
struct Counted {
    inner: Option<Box<dyn EventSink>>,
    sent: u64,
    /// Messages to pass over: written to the topic by a run that died after the checkpoint
    /// this one resumed from, and produced again, in the same order, by the replay.
    skip: u64,
    /// A Kafka topic's name and where its acknowledged messages end.
    kafka: Option<(String, KafkaEnds)>,
}

impl Counted {
    /// Passes `messages` on, past those a replay produces again (`vouched`: by
    /// [`EventSink::send_json`]), and counts them.
    async fn forward(
        &mut self,
        messages: &[websight_core::io::Message],
        vouched: bool,
    ) -> websight_core::Result<()> {
        let pass = usize::try_from(self.skip).map_or(messages.len(), |s| s.min(messages.len()));
        self.skip -= pass as u64;
        if let (Some(inner), true) = (&mut self.inner, pass < messages.len()) {
            let rest = &messages[pass..];
            if vouched {
                inner.send_json(rest).await?;
            } else {
                inner.send(rest).await?;
            }
        }
        self.sent += messages.len() as u64;
        Ok(())
    }
}

#[async_trait]
impl EventSink for Counted {
    async fn send(&mut self, messages: &[websight_core::io::Message]) -> websight_core::Result<()> {
        self.forward(messages, false).await
    }

    async fn send_json(
        &mut self,
        messages: &[websight_core::io::Message],
    ) -> websight_core::Result<()> {
        self.forward(messages, true).await
    }
}

/// Where a Kafka output topic's acknowledged messages end (nothing without the `kafka`
/// feature).
#[derive(Clone, Default)]
#[cfg_attr(not(feature = "kafka"), allow(dead_code))]
struct KafkaEnds(Option<KafkaDelivered>);

#[cfg(feature = "kafka")]
type KafkaDelivered = crate::kafka::Delivered;
#[cfg(not(feature = "kafka"))]
type KafkaDelivered = ();

impl KafkaEnds {
    /// The ends per partition, for a checkpoint.
    fn get(&self) -> std::collections::BTreeMap<String, i64> {
        #[cfg(feature = "kafka")]
        if let Some(d) = &self.0 {
            return d
                .ends()
                .into_iter()
                .map(|(p, end)| (p.to_string(), end))
                .collect();
        }
        std::collections::BTreeMap::new()
    }

    /// Takes over `topic` as it is now: its ends are read from the broker (a fresh start),
    /// or from the ends `recorded` in the checkpoint resumed from on — then the messages
    /// written after them, which the replay writes again, are counted: the messages to pass
    /// over.
    #[allow(unused_variables)]
    async fn take_over(
        &self,
        servers: &Servers,
        topic: &str,
        recorded: Option<&serde_json::Value>,
    ) -> Result<u64> {
        #[cfg(feature = "kafka")]
        if let (Some(delivered), Some(brokers)) = (&self.0, &servers.kafka) {
            let start: crate::kafka::Ends = recorded
                .and_then(serde_json::Value::as_object)
                .map(|ends| {
                    ends.iter()
                        .filter_map(|(p, end)| Some((p.parse().ok()?, end.as_i64()?)))
                        .collect()
                })
                .unwrap_or_default();
            let idle = std::time::Duration::from_millis(1_500);
            let tails = crate::kafka::tail(brokers, topic, &start, idle).await?;
            let replayed = tails.values().map(|t| t.messages).sum();
            delivered.set(tails.iter().map(|(p, t)| (*p, t.end)).collect());
            if replayed > 0 {
                tracing::info!(
                    topic,
                    replayed,
                    "outputs written after the checkpoint are in Kafka already: passed over"
                );
            }
            return Ok(replayed);
        }
        Ok(0)
    }
}

/// Counts what it is given and keeps nothing.
#[derive(Default)]
struct Discard {
    documents: [u64; 4],
}

#[async_trait]
impl DocumentSink for Discard {
    async fn write(&mut self, docs: &Documents) -> websight_core::Result<WriteReport> {
        let n = [
            docs.sessions.len(),
            docs.products.len(),
            docs.sentiments.len(),
            docs.windows.len(),
        ];
        for (held, n) in self.documents.iter_mut().zip(n) {
            *held += n as u64;
        }
        Ok(WriteReport {
            written: n.iter().sum(),
            ..WriteReport::default()
        })
    }
}

#[async_trait]
impl SessionStore for Discard {
    async fn upsert_visits(&mut self, visits: &[Visit]) -> websight_core::Result<WriteReport> {
        Ok(WriteReport {
            written: visits.len(),
            ..WriteReport::default()
        })
    }

    async fn read_sessions(&mut self) -> websight_core::Result<StoredSessions> {
        Ok(StoredSessions::default())
    }
}

/// The document store: its counts are checked against what the analytics emitted.
enum DocumentStore {
    /// `documents/<index>.jsonl`, appended as documents arrive.
    Files(Box<JsonLinesIndex>),
    /// Nowhere (without `--out-dir`): only counted.
    Counted(Discard),
    #[cfg(feature = "elasticsearch")]
    Search(crate::search::SearchSink),
}

impl DocumentStore {
    #[cfg(feature = "elasticsearch")]
    async fn search(url: &str, prefix: &str) -> Result<DocumentStore> {
        let sink = crate::search::SearchSink::new(url).prefix(prefix);
        sink.install_templates().await?;
        Ok(DocumentStore::Search(sink))
    }

    fn sink(&mut self) -> &mut dyn DocumentSink {
        match self {
            DocumentStore::Files(f) => f.as_mut(),
            DocumentStore::Counted(d) => d,
            #[cfg(feature = "elasticsearch")]
            DocumentStore::Search(s) => s,
        }
    }

    /// Documents per index: session_summary, product_details, product_sentiment, KPI windows.
    async fn counts(&self) -> Result<([u64; 4], &'static str)> {
        match self {
            DocumentStore::Files(f) => Ok((f.written(), "document files")),
            DocumentStore::Counted(d) => Ok((d.documents, "document counter")),
            #[cfg(feature = "elasticsearch")]
            DocumentStore::Search(s) => {
                s.refresh().await?;
                let mut out = [0u64; 4];
                for (o, index) in out.iter_mut().zip(crate::search::INDEXES) {
                    *o = s.count(index).await?;
                }
                Ok((out, "search server"))
            }
        }
    }
}

/// The visits a run stored, to read back once it has ended: one at a time
/// ([`StoredVisits::scan`]). A temporary session file is removed when this is dropped.
pub struct StoredVisits {
    store: Box<dyn SessionStore>,
    temporary: Option<PathBuf>,
}

impl StoredVisits {
    /// Hands every stored visit to `each`, once per id (the first copy; a store holds one
    /// unless a replay wrote it twice), and returns (visits, events) handed over.
    pub async fn scan(&mut self, mut each: impl FnMut(Visit) + Send) -> Result<(u64, u64)> {
        let mut seen = std::collections::HashSet::new();
        let (mut visits, mut events) = (0, 0);
        self.store
            .scan_sessions(&mut |visit: Visit| {
                if seen.insert(visit.id.clone()) {
                    visits += 1;
                    events += visit.events.len() as u64;
                    each(visit);
                }
            })
            .await?;
        Ok((visits, events))
    }
}

impl Drop for StoredVisits {
    fn drop(&mut self) {
        if let Some(path) = &self.temporary {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The stores of one run, whichever they are. See the [module docs](self).
pub struct Topology<'s> {
    source: Box<dyn EventSource + 's>,
    state: Box<dyn GateState>,
    checked: Counted,
    dead: Counted,
    sessions: Box<dyn SessionStore>,
    session_store: &'static str,
    /// A session file to remove once read back.
    temporary: Option<PathBuf>,
    documents: DocumentStore,
    /// Where checkpoints go, and the one to resume from.
    checkpoints: Option<Tagged>,
    resume: Option<Checkpoint>,
    /// Whether the visits are read back at the end.
    keep_sessions: bool,
}

impl<'s> Topology<'s> {
    /// The stores `options` ask for, reading `input`: each store on its server when
    /// [`Servers`] names one, else embedded (a file in `out_dir`, or a counter). With a
    /// checkpoint to resume from, the flow continues from it and file stores are cut back
    /// to it. With Kafka, a source's inputs are first sent to the raw topic (once, with
    /// checkpoints) and read back from it; [`Input::RawTopic`] reads what a collector writes.
    pub async fn open(input: Input<'s>, options: &TopologyOptions) -> Result<Topology<'s>> {
        let s = &options.servers;
        let out_dir = options.out_dir.as_deref();
        if let Some(dir) = out_dir {
            std::fs::create_dir_all(dir).map_err(websight_core::io::at_path(dir))?;
        }
        s.check_features()?;
        let mut redis_state = Self::redis_state(s).await?;
        // Checkpoints: in Redis (`redis`), else in a file.
        let (checkpoints, resume): (Option<Box<dyn Checkpoints>>, Option<Checkpoint>) =
            match &options.checkpoint {
                None => (None, None),
                Some((path, every)) if path.as_os_str() == "redis" => {
                    Self::redis_checkpoints(redis_state.as_ref(), *every).await?
                }
                Some((path, every)) => {
                    let file = FileCheckpoints::new(path, *every);
                    let resume = file.load()?;
                    (Some(Box::new(file)), resume)
                }
            };
        if let Some(c) = &resume {
            check_input(c, &options.input)?;
        }
        let resuming = resume.is_some();
        // A live input's replay may close windows at other wall-clock moments: its outputs
        // are not repeated exactly, so they are not passed over.
        let live = matches!(input, Input::RawTopic(_));
        // File stores written after the checkpoint are written again: cut them back.
        if let (Some(dir), Some(checkpoint)) = (out_dir, &resume) {
            rewind(dir, &checkpoint.extra)?;
        }
        let (source, group) = Self::source(input, options, redis_state.as_mut(), &resume).await?;
        if let (Some(state), false, Some(_)) = (redis_state.as_mut(), resuming, &options.checkpoint)
        {
            // A fresh start forgets what an earlier run left in Redis.
            Self::reset(state).await?;
        }
        let state: Box<dyn GateState> = match redis_state {
            Some(state) => boxed(state),
            None => Box::new(MemoryGateState::new(&GateConfig::default())?),
        };
        let (mut checked, mut dead) = Self::outputs(options, resume.as_ref())?;
        let mut topics = Vec::new();
        if options.checkpoint.is_some() {
            for out in [&mut checked, &mut dead] {
                if let Some((topic, ends)) = &out.kafka {
                    // A replay (not of a live input, whose idle ticks fall at other moments)
                    // writes again, in order, what the died run wrote after the checkpoint.
                    let recorded = resume
                        .as_ref()
                        .filter(|_| !live)
                        .map(|c| &c.extra["topics"][topic]);
                    out.skip = ends.take_over(s, topic, recorded).await?;
                    topics.push((topic.clone(), ends.clone()));
                }
            }
        }
        let (sessions, session_store, temporary) = Self::sessions(options, resuming).await?;
        let documents = Self::documents(options, resume.as_ref()).await?;
        let checkpoints = checkpoints.map(|inner| Tagged {
            inner,
            input: options.input.clone(),
            group,
            files: out_dir.map(Path::to_owned),
            documents: match &documents {
                DocumentStore::Files(f) => Some(f.counts()),
                _ => None,
            },
            topics,
        });
        Ok(Topology {
            source,
            state,
            checked,
            dead,
            sessions,
            session_store,
            temporary,
            documents,
            checkpoints,
            resume,
            keep_sessions: options.keep_sessions,
        })
    }

    #[cfg(feature = "redis")]
    async fn redis_state(s: &Servers) -> Result<Option<crate::redis::RedisGateState>> {
        match &s.redis {
            Some(url) => Ok(Some(
                crate::redis::RedisGateState::connect(url, &s.prefix).await?,
            )),
            None => Ok(None),
        }
    }

    #[cfg(not(feature = "redis"))]
    async fn redis_state(_: &Servers) -> Result<Option<RedisStateOf>> {
        Ok(None)
    }

    #[cfg(feature = "redis")]
    async fn redis_checkpoints(
        state: Option<&crate::redis::RedisGateState>,
        every: u64,
    ) -> Result<(Option<Box<dyn Checkpoints>>, Option<Checkpoint>)> {
        let state = state.ok_or_else(|| config("checkpoints in Redis need the Redis server"))?;
        let mut c = crate::redis::RedisCheckpoints::new(state, every);
        let resume = c.load().await?;
        Ok((Some(Box::new(c)), resume))
    }

    #[cfg(not(feature = "redis"))]
    async fn redis_checkpoints(
        _: Option<&RedisStateOf>,
        _: u64,
    ) -> Result<(Option<Box<dyn Checkpoints>>, Option<Checkpoint>)> {
        Err(config("checkpoints in Redis need the `redis` feature"))
    }

    #[cfg(feature = "redis")]
    async fn reset(state: &mut crate::redis::RedisGateState) -> Result<()> {
        state.reset().await
    }

    #[cfg(not(feature = "redis"))]
    async fn reset(_: &mut RedisStateOf) -> Result<()> {
        Ok(())
    }

    /// The flow's source, and the consumer group it reads in (Kafka).
    #[allow(unused_variables, unused_mut)]
    async fn source(
        input: Input<'s>,
        options: &TopologyOptions,
        mut redis: Option<&mut RedisStateOf>,
        resume: &Option<Checkpoint>,
    ) -> Result<(Box<dyn EventSource + 's>, Option<String>)> {
        let s = &options.servers;
        let Some(kafka) = &s.kafka else {
            return match input {
                Input::Source(source) => Ok((source, None)),
                Input::RawTopic(_) => Err(config(
                    "the raw topic is an input with a Kafka server only; embedded, read the raw log file",
                )),
            };
        };
        #[cfg(not(feature = "kafka"))]
        return Err(config(format!(
            "Kafka at {kafka} needs the `kafka` feature"
        )));
        #[cfg(feature = "kafka")]
        {
            use crate::kafka::{KafkaSink, KafkaSource, Topics, create_topics};
            use std::time::Duration;
            use websight_core::io::Message;

            let topics = Topics::prefixed(&s.prefix);
            // One partition keeps the arrival order of the embedded run, so both agree.
            create_topics(kafka, &topics.all(), 1).await?;
            let checkpointing = options.checkpoint.is_some();
            let (mut input, live) = match input {
                Input::Source(source) => (Some(source), None),
                Input::RawTopic(closing) => (None, Some(closing)),
            };
            // Inputs are sent once; with checkpoints their count is kept in Redis.
            let sent = match (&live, checkpointing, redis.as_deref_mut()) {
                (Some(_), _, _) => Some(0),
                (None, true, Some(state)) => counter(state, "raw_sent").await?,
                _ => None,
            };
            let inputs = match (sent, input.as_mut()) {
                (Some(n), _) => n,
                (None, None) => 0,
                (None, Some(input)) => {
                    let mut n = 0;
                    let mut raw = KafkaSink::new(kafka, &topics.raw)?;
                    while let Some(chunk) = input.next_batch(5_000).await? {
                        n += chunk.len() as u64;
                        let messages: Vec<Message> = chunk
                            .into_iter()
                            .map(|payload| Message {
                                payload,
                                ..Message::default()
                            })
                            .collect();
                        raw.send(&messages).await?;
                        input.commit().await?;
                    }
                    if let (true, Some(state)) = (checkpointing, redis.as_deref_mut()) {
                        set_counter(state, "raw_sent", n).await?;
                    }
                    tracing::info!(inputs = n, topic = %topics.raw, "raw events sent to Kafka");
                    n
                }
            };
            let (group, position) = match (resume, checkpointing) {
                (Some(c), _) => (
                    c.extra["group"]
                        .as_str()
                        .ok_or_else(|| config("the checkpoint names no consumer group"))?
                        .to_owned(),
                    c.position,
                ),
                // A fresh start with checkpoints: a group of its own reads from the beginning.
                (None, true) => {
                    let start = match redis {
                        Some(state) => increment(state, "starts").await?,
                        None => std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs()),
                    };
                    (format!("{}gate-{start}", s.prefix), 0)
                }
                (None, false) => (format!("{}gate", s.prefix), 0),
            };
            let idle = Duration::from_millis(if live.is_some() { 200 } else { 60_000 });
            let source = RawTopicSource {
                inner: KafkaSource::new(kafka, &group, &topics.raw)?.idle_timeout(idle),
                remaining: live.is_none().then(|| {
                    usize::try_from(inputs.saturating_sub(position)).unwrap_or(usize::MAX)
                }),
                closing: live,
            };
            Ok((Box::new(source), Some(group)))
        }
    }

    /// The checked and dead-letter outputs: Kafka topics, files, or counters.
    fn outputs(
        options: &TopologyOptions,
        resume: Option<&Checkpoint>,
    ) -> Result<(Counted, Counted)> {
        let (s, out_dir) = (&options.servers, options.out_dir.as_deref());
        if let Some(kafka) = &s.kafka {
            #[cfg(feature = "kafka")]
            {
                let topics = crate::kafka::Topics::prefixed(&s.prefix);
                let sink = |topic: &str| -> Result<Counted> {
                    let sink = crate::kafka::KafkaSink::new(kafka, topic)?;
                    let ends = KafkaEnds(Some(sink.delivered()));
                    Ok(Counted {
                        inner: Some(Box::new(sink)),
                        kafka: Some((topic.to_owned(), ends)),
                        ..Counted::default()
                    })
                };
                return Ok((sink(&topics.checked)?, sink(&topics.dead_letters)?));
            }
            #[cfg(not(feature = "kafka"))]
            return Err(config(format!(
                "Kafka at {kafka} needs the `kafka` feature"
            )));
        }
        let Some(dir) = out_dir else {
            return Ok((Counted::default(), Counted::default()));
        };
        // With an output directory the topics are files a user can open. The lines they held
        // at the checkpoint are what its counts say (one per checked event, one per dead
        // letter): not counted again from the files, which may be gigabytes, or archived.
        let held = resume.map(|c| (c.counts.checked, c.counts.dead_letter_messages()));
        let file = |name: &str, payloads: bool, held: Option<u64>| -> Result<Counted> {
            let path = dir.join(name);
            let mut out = websight_core::io::output_file(&path, held.is_some())?;
            if let Some(bytes) = options.segment_bytes {
                out.get_mut().set_segment_bytes(bytes);
            }
            let sink: Box<dyn EventSink> = if payloads {
                Box::new(JsonLinesSink::payloads(out))
            } else {
                Box::new(JsonLinesSink::envelopes(out))
            };
            Ok(Counted {
                inner: Some(sink),
                sent: held.unwrap_or(0),
                ..Counted::default()
            })
        };
        Ok((
            file("checked.jsonl", true, held.map(|h| h.0))?,
            file("dead_letters.jsonl", false, held.map(|h| h.1))?,
        ))
    }

    /// The session store: MongoDB, a file, a temporary file (read back), or a counter.
    async fn sessions(
        options: &TopologyOptions,
        resuming: bool,
    ) -> Result<(Box<dyn SessionStore>, &'static str, Option<PathBuf>)> {
        let (s, out_dir) = (&options.servers, options.out_dir.as_deref());
        if let Some(url) = &s.mongodb {
            #[cfg(feature = "mongodb")]
            {
                // Letters, digits and underscores: the strictest MongoDB-compatible servers
                // ask for it.
                let collection = format!("{}sessions", s.prefix)
                    .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
                let store =
                    crate::mongo::MongoSessionStore::connect(url, "websight", &collection).await?;
                if !resuming {
                    store.clear().await?;
                }
                return Ok((Box::new(store), "MongoDB", None));
            }
            #[cfg(not(feature = "mongodb"))]
            return Err(config(format!(
                "MongoDB at {url} needs the `mongodb` feature"
            )));
        }
        Ok(match out_dir {
            Some(dir) => {
                let path = dir.join("sessions.jsonl");
                let mut store = if resuming {
                    JsonLinesSessionStore::append(path)?
                } else {
                    JsonLinesSessionStore::create(path)?
                };
                if let Some(bytes) = options.segment_bytes {
                    store = store.segment_bytes(bytes);
                }
                (Box::new(store), "session file", None)
            }
            // The offline stage reads the visits back: from a file of this run's own.
            None if options.keep_sessions => {
                let path = std::env::temp_dir()
                    .join(format!("websight-sessions-{}.jsonl", std::process::id()));
                let store = JsonLinesSessionStore::create(&path)?;
                (Box::new(store), "temporary session file", Some(path))
            }
            None => (Box::new(Discard::default()), "session counter", None),
        })
    }

    /// The document store: the search server, files, or a counter.
    async fn documents(
        options: &TopologyOptions,
        resume: Option<&Checkpoint>,
    ) -> Result<DocumentStore> {
        let (s, out_dir) = (&options.servers, options.out_dir.as_deref());
        if let Some(url) = &s.search {
            #[cfg(feature = "elasticsearch")]
            return DocumentStore::search(url, &s.prefix).await;
            #[cfg(not(feature = "elasticsearch"))]
            return Err(config(format!(
                "the search server at {url} needs the `elasticsearch` feature"
            )));
        }
        let Some(dir) = out_dir else {
            return Ok(DocumentStore::Counted(Discard::default()));
        };
        let dir = dir.join("documents");
        // The files' lines at the checkpoint (they were cut back to it); a checkpoint from
        // before they were recorded has them counted.
        let recorded = |c: &Checkpoint| serde_json::from_value(c.extra["documents"].clone()).ok();
        let files = match resume {
            Some(c) => match recorded(c) {
                Some(written) => JsonLinesIndex::append_counted(&dir, written)?,
                None => JsonLinesIndex::append(&dir)?,
            },
            None => JsonLinesIndex::create(&dir)?,
        };
        Ok(DocumentStore::Files(Box::new(
            match options.segment_bytes {
                Some(bytes) => files.segment_bytes(bytes),
                None => files,
            },
        )))
    }

    /// Runs `flow` over the stores until the source ends (resuming from the checkpoint
    /// when there is one, saving checkpoints when asked), then reports what the stores
    /// hold (with [`TopologyOptions::keep_sessions`], the visits read back in a fixed
    /// order).
    pub async fn run(
        mut self,
        mut flow: Flow,
        observer: &mut dyn Observer,
    ) -> Result<StreamOutcome> {
        if let Some(checkpoint) = self.resume.take() {
            let position = checkpoint.position;
            flow.restore(
                checkpoint,
                self.source.as_mut(),
                self.state.as_mut(),
                observer,
            )
            .await?;
            tracing::info!(position, "resumed from the checkpoint");
        }
        let mut out = Outputs {
            state: self.state.as_mut(),
            checked: &mut self.checked,
            dead_letters: &mut self.dead,
            sessions: self.sessions.as_mut(),
            documents: self.documents.sink(),
        };
        let counts = match &mut self.checkpoints {
            Some(c) => {
                let counts = flow
                    .run_checkpointed(self.source.as_mut(), &mut out, observer, c)
                    .await?;
                // Done: the same command again starts afresh (a live flow keeps its
                // checkpoint: a restart continues the open visits).
                if !flow.is_live() {
                    c.clear().await?;
                }
                counts
            }
            None => flow.run(self.source.as_mut(), &mut out, observer).await?,
        };
        let (gate, analytics) = flow.into_parts();
        let sessions = self.keep_sessions.then(|| StoredVisits {
            store: self.sessions,
            temporary: self.temporary,
        });
        let (held, document_store) = self.documents.counts().await?;
        Ok(StreamOutcome {
            counts,
            gate: gate.stats().clone(),
            analytics,
            unique_users: self.state.unique_users().await?,
            known_filter: self.state.known_filter().await?,
            held,
            document_store,
            sessions,
            session_store: self.session_store,
            checked_messages: self.checked.sent,
            dead_messages: self.dead.sent,
        })
    }
}

fn config(reason: impl Into<String>) -> ConnectorError {
    ConnectorError::Config {
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewind_cuts_back_and_refuses_files_it_cannot_restore() {
        let dir = websight_testkit::scratch_dir("rewind");
        std::fs::create_dir_all(&dir).unwrap();
        let checked = dir.join("checked.jsonl");
        std::fs::write(&checked, b"{\"a\":1}\n{\"b\":2}\n").unwrap();
        let at = |len: u64| serde_json::json!({ "files": { "checked.jsonl": len } });
        rewind(&dir, &at(8)).unwrap();
        assert_eq!(std::fs::read(&checked).unwrap(), b"{\"a\":1}\n");
        // Shorter than recorded: never padded with zeros.
        let err = rewind(&dir, &at(16)).unwrap_err().to_string();
        assert!(err.contains("holds 8 bytes, fewer than the 16"), "{err}");
        assert_eq!(std::fs::read(&checked).unwrap().len(), 8);
        std::fs::remove_file(&checked).unwrap();
        let err = rewind(&dir, &at(8)).unwrap_err().to_string();
        assert!(
            err.contains("checked.jsonl is missing") && err.contains("remove the checkpoint"),
            "{err}"
        );
        // In segments, the first archived: later segments removed, the one holding the
        // length cut.
        let later = segments::path_of(&checked, 8);
        std::fs::write(&later, b"{\"b\":2}\n{\"c\":3}\n").unwrap();
        std::fs::write(segments::path_of(&checked, 24), b"{\"d\":4}\n").unwrap();
        rewind(&dir, &at(16)).unwrap();
        assert_eq!(std::fs::read(&later).unwrap(), b"{\"b\":2}\n");
        assert_eq!(segments::end(&checked).unwrap(), Some(16));
        let err = rewind(&dir, &serde_json::json!({ "files": { "../x": 1 } }))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not an output file"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
