//! The stores of a run — embedded, embedded with a search server, or every one on a real
//! server — opened from one set of options, so the `pipeline`, `serve` and `throughput`
//! examples and users' own programs wire a [`Flow`] the same way.
//!
//! | store | embedded | with `out_dir` | servers |
//! |---|---|---|---|
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
//! let line = br#"{"type":"page","anonymousId":"a","timestamp":"2026-03-01T10:00:00Z"}"#;
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
use websight_core::io::{
    DocumentSink, EventSink, EventSource, INDEX_NAMES, JsonLinesIndex, JsonLinesSessionStore,
    JsonLinesSink, SessionStore, StoredSessions, WriteReport,
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

/// A source that ends when idle (a Kafka consumer with an idle timeout) made live: idle is
/// an empty batch until `closing` is closed.
#[cfg(feature = "servers")]
struct UntilClosed<S> {
    inner: S,
    closing: Closing,
}

#[cfg(feature = "servers")]
#[async_trait]
impl<S: EventSource> EventSource for UntilClosed<S> {
    async fn next_batch(&mut self, max: usize) -> websight_core::Result<Option<Vec<Vec<u8>>>> {
        let closed = self.closing.is_closed();
        match self.inner.next_batch(max).await? {
            Some(batch) => Ok(Some(batch)),
            None if closed => Ok(None),
            None => Ok(Some(Vec::new())),
        }
    }

    async fn commit(&mut self) -> websight_core::Result<()> {
        self.inner.commit().await
    }

    fn position(&self) -> Option<serde_json::Value> {
        self.inner.position()
    }

    async fn resume(
        &mut self,
        taken: u64,
        position: Option<&serde_json::Value>,
    ) -> websight_core::Result<()> {
        self.inner.resume(taken, position).await
    }
}

/// Where the stores are.
#[derive(Debug, Clone, Default)]
pub enum Mode {
    /// Everything in process.
    #[default]
    Embedded,
    /// Embedded, but the documents go to a search server.
    Search {
        /// The server's URL.
        url: String,
        /// Prefix of the index names.
        prefix: String,
    },
    /// Every store on a real server.
    Servers(Servers),
}

/// The servers of a run on servers.
#[derive(Debug, Clone)]
pub struct Servers {
    /// Kafka bootstrap servers (`host:port`).
    pub kafka: String,
    /// Redis URL.
    pub redis: String,
    /// MongoDB URL.
    pub mongodb: String,
    /// Elasticsearch / OpenSearch URL.
    pub search: String,
    /// Prefix of topic, key, collection and index names.
    pub prefix: String,
}

/// How the stage runs and what it keeps.
#[derive(Default)]
pub struct TopologyOptions {
    /// Embedded, embedded with a search server, or every store on a server.
    pub mode: Mode,
    /// Where the topics, documents and visits are written as JSON lines.
    pub out_dir: Option<PathBuf>,
    /// Whether the visits are read back for the offline stage. Without, every store
    /// streams to files (or only counts), so memory does not grow with the input.
    pub keep_sessions: bool,
    /// Checkpoint file and every how many batches (needs `out_dir`: the stores are then
    /// its files, rewound to the checkpoint on a restart).
    pub checkpoint: Option<(PathBuf, u64)>,
    /// What the input is (path and size, or the generator's settings): a checkpoint of
    /// another input is refused.
    pub input: String,
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

/// Cuts each output file back to its length at the checkpoint: what was written after it
/// is written again by the resumed run, so the files end exactly as without the crash.
fn rewind(dir: &Path, checkpoint: &Checkpoint) -> Result<()> {
    for file in output_files() {
        let key = file.to_string_lossy().into_owned();
        let len = checkpoint.extra["files"][&key]
            .as_u64()
            .ok_or_else(|| config(format!("the checkpoint does not know {key}")))?;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.join(&file))?;
        f.set_len(len)?;
    }
    Ok(())
}

/// Lines of a file (0 when it does not exist).
fn lines_in(path: &Path) -> u64 {
    std::fs::File::open(path).map_or(0, |f| {
        std::io::BufRead::split(std::io::BufReader::new(f), b'\n').count() as u64
    })
}

/// Checkpoints (in a file or in Redis) that also record the input they were taken on, the
/// consumer group reading it (servers), and the output files' lengths (embedded: every sink
/// has flushed when a batch is committed).
struct Tagged {
    inner: Box<dyn Checkpoints>,
    input: String,
    group: Option<String>,
    files: Option<PathBuf>,
}

#[async_trait]
impl Checkpoints for Tagged {
    fn due(&mut self, counts: &FlowCounts) -> bool {
        self.inner.due(counts)
    }

    async fn save(&mut self, mut checkpoint: Checkpoint) -> websight_core::Result<()> {
        let mut extra = serde_json::json!({ "input": self.input, "group": self.group });
        if let Some(dir) = &self.files {
            let mut files = serde_json::Map::new();
            for file in output_files() {
                let len = std::fs::metadata(dir.join(&file))?.len();
                files.insert(file.to_string_lossy().into_owned(), len.into());
            }
            extra["files"] = files.into();
        }
        checkpoint.extra = extra;
        let position = checkpoint.position;
        self.inner.save(checkpoint).await?;
        tracing::info!(position, "checkpoint saved");
        Ok(())
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
    /// Visits read back from the session store (the offline stage's input), unless the
    /// run keeps none.
    pub sessions: Option<StoredSessions>,
    /// What held the visits.
    pub session_store: &'static str,
    /// Messages on the checked output.
    pub checked_messages: u64,
    /// Messages on the dead-letter output.
    pub dead_messages: u64,
}

/// A source that ends after `remaining` inputs: the run knows how many it sent.
#[cfg(feature = "servers")]
struct Bounded<S> {
    inner: S,
    remaining: usize,
}

#[cfg(feature = "servers")]
#[async_trait]
impl<S: EventSource> EventSource for Bounded<S> {
    async fn next_batch(&mut self, max: usize) -> websight_core::Result<Option<Vec<Vec<u8>>>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        let batch = self.inner.next_batch(max.min(self.remaining)).await?;
        if let Some(b) = &batch {
            self.remaining = self.remaining.saturating_sub(b.len());
        }
        Ok(batch)
    }

    async fn commit(&mut self) -> websight_core::Result<()> {
        self.inner.commit().await
    }

    fn position(&self) -> Option<serde_json::Value> {
        self.inner.position()
    }

    /// The inner source resumes; `remaining` already counts from the checkpoint.
    async fn resume(
        &mut self,
        taken: u64,
        position: Option<&serde_json::Value>,
    ) -> websight_core::Result<()> {
        self.inner.resume(taken, position).await
    }
}

/// Counts what passes through a sink; without one (embedded without `--out-dir`: nobody
/// reads the topics afterwards) it only counts, so memory stays flat.
struct Counted {
    inner: Option<Box<dyn EventSink>>,
    sent: u64,
}

#[async_trait]
impl EventSink for Counted {
    async fn send(&mut self, messages: &[websight_core::io::Message]) -> websight_core::Result<()> {
        if let Some(inner) = &mut self.inner {
            inner.send(messages).await?;
        }
        self.sent += messages.len() as u64;
        Ok(())
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
    Files(JsonLinesIndex),
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
            DocumentStore::Files(f) => f,
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
    async fn embedded(
        source: Box<dyn EventSource + 's>,
        options: &TopologyOptions,
    ) -> Result<Topology<'s>> {
        let out_dir = options.out_dir.as_deref();
        let (checkpoints, resume) = match (&options.checkpoint, out_dir) {
            (Some((path, every)), Some(dir)) => {
                let file = FileCheckpoints::new(path, *every);
                let resume = file.load()?;
                let tagged = Tagged {
                    inner: Box::new(file),
                    input: options.input.to_owned(),
                    group: None,
                    files: Some(dir.to_owned()),
                };
                (Some(tagged), resume)
            }
            _ => (None, None),
        };
        if let Some(c) = &resume {
            check_input(c, &options.input)?;
        }
        let resume_ref = resume.as_ref();
        let resume_flag = resume.is_some();
        // Every store is a file appended to as the stream goes (so memory stays flat and a
        // checkpoint can rewind it), or only counts when nobody reads it afterwards.
        if let (Some(dir), Some(checkpoint)) = (out_dir, resume_ref) {
            rewind(dir, checkpoint)?;
        }
        let documents = match (&options.mode, out_dir) {
            #[cfg(feature = "elasticsearch")]
            (Mode::Search { url, prefix }, _) => DocumentStore::search(url, prefix).await?,
            #[cfg(not(feature = "elasticsearch"))]
            (Mode::Search { .. }, _) => {
                return Err(config("searching needs the `elasticsearch` feature"));
            }
            (_, Some(dir)) if resume_flag => {
                DocumentStore::Files(JsonLinesIndex::append(&dir.join("documents"))?)
            }
            (_, Some(dir)) => DocumentStore::Files(JsonLinesIndex::create(&dir.join("documents"))?),
            (_, None) => DocumentStore::Counted(Discard::default()),
        };
        let mut temporary = None;
        let (sessions, session_store): (Box<dyn SessionStore>, _) = match out_dir {
            Some(dir) => {
                let path = dir.join("sessions.jsonl");
                let store = if resume_flag {
                    JsonLinesSessionStore::append(path)?
                } else {
                    JsonLinesSessionStore::create(path)?
                };
                (Box::new(store), "session file")
            }
            // The offline stage reads the visits back: from a file of this run's own.
            None if options.keep_sessions => {
                let path = std::env::temp_dir()
                    .join(format!("websight-sessions-{}.jsonl", std::process::id()));
                temporary = Some(path.clone());
                let store = JsonLinesSessionStore::create(path)?;
                (Box::new(store), "temporary session file")
            }
            None => (Box::new(Discard::default()), "session counter"),
        };
        // With --out-dir the topics are files a user can open.
        let file = |name: &str| -> Result<(std::io::BufWriter<std::fs::File>, u64)> {
            let path = out_dir
                .expect("only called with an output directory")
                .join(name);
            let file = if resume_flag {
                std::fs::OpenOptions::new().append(true).open(&path)?
            } else {
                std::fs::File::create(&path)?
            };
            Ok((std::io::BufWriter::new(file), lines_in(&path)))
        };
        let (checked, dead): (Counted, Counted) = match out_dir {
            Some(_) => {
                let (checked, checked_lines) = file("checked.jsonl")?;
                let (dead, dead_lines) = file("dead_letters.jsonl")?;
                (
                    Counted {
                        inner: Some(Box::new(JsonLinesSink::payloads(checked))),
                        sent: checked_lines,
                    },
                    Counted {
                        inner: Some(Box::new(JsonLinesSink::envelopes(dead))),
                        sent: dead_lines,
                    },
                )
            }
            None => (
                Counted {
                    inner: None,
                    sent: 0,
                },
                Counted {
                    inner: None,
                    sent: 0,
                },
            ),
        };
        Ok(Topology {
            source,
            state: Box::new(MemoryGateState::new(&GateConfig::default())?),
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

    /// Sends the inputs to the Kafka raw topic, then reads them back through the group.
    #[cfg(feature = "servers")]
    ///
    /// With checkpoints (in Redis, under the prefix) a run can be killed and started again
    /// with the same command: the inputs are sent once (their count kept in Redis), each
    /// fresh start reads them with a consumer group of its own and a reset gate state, and
    /// a resumed run continues its checkpoint's group, Redis state and counts.
    async fn servers(
        s: &Servers,
        input: Input<'_>,
        options: &TopologyOptions,
    ) -> Result<Topology<'static>> {
        use crate::kafka::{KafkaSink, KafkaSource, Topics, create_topics};
        use crate::mongo::MongoSessionStore;
        use crate::redis::{RedisCheckpoints, RedisGateState};
        use std::time::Duration;
        use websight_core::io::Message;

        let topics = Topics::prefixed(&s.prefix);
        let mut state = RedisGateState::connect(&s.redis, &s.prefix).await?;
        let checkpointing = options.checkpoint.as_ref().map(|(_, every)| *every);
        let (mut checkpoints, resume) = match checkpointing {
            Some(every) => {
                let mut c = RedisCheckpoints::new(&state, every);
                let resume = c.load().await?;
                (Some(c), resume)
            }
            None => (None, None),
        };
        if let Some(c) = &resume {
            check_input(c, &options.input)?;
        }
        let (mut input, live) = match input {
            Input::Source(source) => (Some(source), None),
            Input::RawTopic(closing) => (None, Some(closing)),
        };
        let sent = match (checkpointing, &live) {
            (_, Some(_)) => Some(0),
            (Some(_), None) => state.counter("raw_sent").await?,
            (None, None) => None,
        };
        if live.is_some() {
            create_topics(&s.kafka, &topics.all(), 1).await?;
        }
        let inputs = match (sent, input.as_mut()) {
            (Some(n), _) => n,
            (None, None) => 0,
            (None, Some(input)) => {
                // One partition keeps the arrival order of the embedded run, so both agree.
                create_topics(&s.kafka, &topics.all(), 1).await?;
                let mut n = 0;
                let mut raw = KafkaSink::new(&s.kafka, &topics.raw)?;
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
                if checkpointing.is_some() {
                    state.set_counter("raw_sent", n).await?;
                }
                n
            }
        };
        if live.is_none() {
            tracing::info!(inputs, topic = %topics.raw, "raw events sent to Kafka");
        }
        let (group, position) = match (&resume, checkpointing) {
            (Some(c), _) => (
                c.extra["group"]
                    .as_str()
                    .ok_or_else(|| config("the checkpoint names no consumer group"))?
                    .to_owned(),
                c.position,
            ),
            (None, Some(_)) => {
                // A fresh start: a group of its own reads from the beginning.
                state.reset().await?;
                let start = state.increment("starts").await?;
                (format!("{}gate-{start}", s.prefix), 0)
            }
            (None, None) => (format!("{}gate", s.prefix), 0),
        };
        let source: Box<dyn EventSource> = match live {
            Some(closing) => Box::new(UntilClosed {
                inner: KafkaSource::new(&s.kafka, &group, &topics.raw)?
                    .idle_timeout(Duration::from_millis(200)),
                closing,
            }),
            None => Box::new(Bounded {
                inner: KafkaSource::new(&s.kafka, &group, &topics.raw)?
                    .idle_timeout(Duration::from_secs(60)),
                remaining: usize::try_from(inputs.saturating_sub(position)).unwrap_or(usize::MAX),
            }),
        };
        // Letters, digits and underscores: the strictest MongoDB-compatible servers ask for it.
        let collection =
            format!("{}sessions", s.prefix).replace(|c: char| !c.is_ascii_alphanumeric(), "_");
        let sessions = MongoSessionStore::connect(&s.mongodb, "websight", &collection).await?;
        if resume.is_none() {
            sessions.clear().await?;
        }
        let checkpoints = checkpoints.take().map(|c| Tagged {
            inner: Box::new(c),
            input: options.input.to_owned(),
            group: Some(group.clone()),
            files: None,
        });
        Ok(Topology {
            source,
            state: Box::new(state),
            checked: counted(Box::new(KafkaSink::new(&s.kafka, &topics.checked)?)),
            dead: counted(Box::new(KafkaSink::new(&s.kafka, &topics.dead_letters)?)),
            sessions: Box::new(sessions),
            session_store: "MongoDB",
            temporary: None,
            documents: DocumentStore::search(&s.search, &s.prefix).await?,
            checkpoints,
            resume,
            keep_sessions: options.keep_sessions,
        })
    }
}

#[cfg(feature = "servers")]
fn counted(inner: Box<dyn EventSink>) -> Counted {
    Counted {
        inner: Some(inner),
        sent: 0,
    }
}

impl<'s> Topology<'s> {
    /// The stores `options` ask for, reading `input`; with a checkpoint to resume from,
    /// the output files are cut back to it. With [`Mode::Servers`] a source's inputs are
    /// first sent to the Kafka raw topic (once, with checkpoints) and read back from it.
    pub async fn open(input: Input<'s>, options: &TopologyOptions) -> Result<Topology<'s>> {
        if let Some(dir) = &options.out_dir {
            std::fs::create_dir_all(dir)?;
        }
        match (&options.mode, input) {
            #[cfg(feature = "servers")]
            (Mode::Servers(s), input) => Topology::servers(s, input, options).await,
            #[cfg(not(feature = "servers"))]
            (Mode::Servers(_), _) => Err(config(
                "servers need the `kafka`, `redis`, `mongodb` and `elasticsearch` features",
            )),
            (_, Input::Source(source)) => Topology::embedded(source, options).await,
            (_, Input::RawTopic(_)) => Err(config(
                "the Kafka raw topic is an input on servers only; embedded, read the raw log file",
            )),
        }
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
        let sessions = if self.keep_sessions {
            let mut sessions = self.sessions.read_sessions().await?;
            // Stores return visits in their own order; the offline stage wants a fixed one.
            sessions
                .visits
                .sort_by(|a, b| (a.started_at(), &a.id).cmp(&(b.started_at(), &b.id)));
            if let Some(path) = &self.temporary {
                std::fs::remove_file(path)?;
            }
            Some(sessions)
        } else {
            None
        };
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
