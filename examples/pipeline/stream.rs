//! The real-time stage: the input lines through websight's `Flow` — ingest (decode and
//! privacy), gate, checked and dead-letter outputs, stream analytics, session store,
//! document store.
//! Embedded by default; with `--search URL` the documents go to Elasticsearch/OpenSearch;
//! with `--servers` (feature `connectors`) everything runs on the real servers: Kafka raw
//! topic → gate with its state in Redis → checked and dead-letter topics → MongoDB and
//! analytics → Elasticsearch/OpenSearch. The flow does not know which.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use websight::core::analytics::{AnalyticsConfig, ProductCatalogue, StreamAnalytics};
use websight::core::analytics::{Documents, Visit};
use websight::core::flow::{
    Checkpoint, Checkpoints, FileCheckpoints, Flow, FlowCounts, Ingest, Observer, Outputs,
};
use websight::core::gate::{Gate, GateConfig, GateState, GateStats, MemoryGateState};
use websight::core::io::{
    DocumentSink, EventSink, EventSource, INDEX_NAMES, JsonLinesIndex, JsonLinesSessionStore,
    JsonLinesSink, SessionStore, StoredSessions, WriteReport,
};

type Error = Box<dyn std::error::Error>;

/// Where the stage runs.
#[cfg_attr(not(feature = "connectors"), allow(dead_code))]
pub enum Mode {
    /// Everything in process.
    Embedded,
    /// Embedded, but the documents go to a search server.
    Search { url: String, prefix: String },
    /// Every store on a real server.
    Servers(Servers),
}

/// The servers of `--servers`.
#[cfg_attr(not(feature = "connectors"), allow(dead_code))]
pub struct Servers {
    pub kafka: String,
    pub redis: String,
    pub mongodb: String,
    pub search: String,
    /// Prefix of topic, key, collection and index names.
    pub prefix: String,
}

/// How the stage runs and what it keeps.
pub struct Options<'a> {
    pub mode: &'a Mode,
    /// Where the topics, documents and visits are written as JSON lines.
    pub out_dir: Option<&'a Path>,
    /// Whether the visits are read back for the offline stage. Without, every store
    /// streams to files (or only counts), so memory does not grow with the input.
    pub keep_sessions: bool,
    /// Checkpoint file and every how many batches (needs `out_dir`: the stores are then
    /// its files, rewound to the checkpoint on a restart).
    pub checkpoint: Option<(PathBuf, u64)>,
    /// What the input is (path and size, or the generator's settings): a checkpoint of
    /// another input is refused.
    pub input: &'a str,
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
fn rewind(dir: &Path, checkpoint: &Checkpoint) -> Result<(), Error> {
    for file in output_files() {
        let key = file.to_string_lossy().into_owned();
        let len = checkpoint.extra["files"][&key]
            .as_u64()
            .ok_or(format!("the checkpoint does not know {key}"))?;
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

    async fn save(&mut self, mut checkpoint: Checkpoint) -> websight::core::Result<()> {
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

    async fn clear(&mut self) -> websight::core::Result<()> {
        self.inner.clear().await
    }
}

/// Refuses a checkpoint taken on other input.
fn check_input(checkpoint: &Checkpoint, input: &str) -> Result<(), Error> {
    let taken_on = checkpoint.extra["input"].as_str();
    if taken_on != Some(input) {
        return Err(format!(
            "the checkpoint was taken on {}, not on {input}: remove it to start afresh",
            taken_on.unwrap_or("another input"),
        )
        .into());
    }
    Ok(())
}

/// What the stage did and what its stores hold afterwards.
pub struct StreamOutcome {
    pub counts: FlowCounts,
    pub gate: GateStats,
    pub analytics: StreamAnalytics,
    pub unique_users: f64,
    /// The known-visitor filter's fill and false-positive rate.
    pub known_filter: Option<websight::core::gate::FilterStats>,
    /// Documents per index held by the document store afterwards.
    pub held: [u64; 4],
    pub document_store: &'static str,
    /// Visits read back from the session store (the offline stage's input), unless the
    /// run keeps none.
    pub sessions: Option<StoredSessions>,
    pub session_store: &'static str,
    /// Messages on the checked and dead-letter outputs.
    pub checked_messages: u64,
    pub dead_messages: u64,
}

#[cfg_attr(not(feature = "connectors"), allow(dead_code))]
/// A source that ends after `remaining` inputs: the pipeline knows how many it sent.
struct Bounded<S> {
    inner: S,
    remaining: usize,
}

#[async_trait]
impl<S: EventSource> EventSource for Bounded<S> {
    async fn next_batch(&mut self, max: usize) -> websight::core::Result<Option<Vec<Vec<u8>>>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        let batch = self.inner.next_batch(max.min(self.remaining)).await?;
        if let Some(b) = &batch {
            self.remaining = self.remaining.saturating_sub(b.len());
        }
        Ok(batch)
    }

    async fn commit(&mut self) -> websight::core::Result<()> {
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
    ) -> websight::core::Result<()> {
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
    async fn send(
        &mut self,
        messages: &[websight::core::io::Message],
    ) -> websight::core::Result<()> {
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
    async fn write(&mut self, docs: &Documents) -> websight::core::Result<WriteReport> {
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
    async fn upsert_visits(&mut self, visits: &[Visit]) -> websight::core::Result<WriteReport> {
        Ok(WriteReport {
            written: visits.len(),
            ..WriteReport::default()
        })
    }

    async fn read_sessions(&mut self) -> websight::core::Result<StoredSessions> {
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
    Search(websight::connectors::search::SearchSink),
}

impl DocumentStore {
    #[cfg(feature = "elasticsearch")]
    async fn search(url: &str, prefix: &str) -> Result<DocumentStore, Error> {
        let sink = websight::connectors::search::SearchSink::new(url).prefix(prefix);
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
    async fn counts(&self) -> Result<([u64; 4], &'static str), Error> {
        match self {
            DocumentStore::Files(f) => Ok((f.written(), "document files")),
            DocumentStore::Counted(d) => Ok((d.documents, "document counter")),
            #[cfg(feature = "elasticsearch")]
            DocumentStore::Search(s) => {
                s.refresh().await?;
                let mut out = [0u64; 4];
                for (o, index) in out.iter_mut().zip(websight::connectors::search::INDEXES) {
                    *o = s.count(index).await?;
                }
                Ok((out, "search server"))
            }
        }
    }
}

/// The stores of one run, whichever they are.
struct Stores<'s> {
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
}

impl<'s> Stores<'s> {
    async fn embedded(
        source: Box<dyn EventSource + 's>,
        options: &Options<'_>,
    ) -> Result<Stores<'s>, Error> {
        let out_dir = options.out_dir;
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
            check_input(c, options.input)?;
        }
        let resume_ref = resume.as_ref();
        let resume_flag = resume.is_some();
        // Every store is a file appended to as the stream goes (so memory stays flat and a
        // checkpoint can rewind it), or only counts when nobody reads it afterwards.
        if let (Some(dir), Some(checkpoint)) = (out_dir, resume_ref) {
            rewind(dir, checkpoint)?;
        }
        let documents = match (options.mode, out_dir) {
            #[cfg(feature = "elasticsearch")]
            (Mode::Search { url, prefix }, _) => DocumentStore::search(url, prefix).await?,
            #[cfg(not(feature = "elasticsearch"))]
            (Mode::Search { .. }, _) => {
                return Err("--search needs the `elasticsearch` feature".into());
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
        let file = |name: &str| -> Result<(std::io::BufWriter<std::fs::File>, u64), Error> {
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
        Ok(Stores {
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
        })
    }

    /// Sends the inputs to the Kafka raw topic, then reads them back through the group.
    #[cfg(feature = "connectors")]
    ///
    /// With checkpoints (in Redis, under the prefix) a run can be killed and started again
    /// with the same command: the inputs are sent once (their count kept in Redis), each
    /// fresh start reads them with a consumer group of its own and a reset gate state, and
    /// a resumed run continues its checkpoint's group, Redis state and counts.
    async fn servers(
        s: &Servers,
        mut input: Box<dyn EventSource + '_>,
        options: &Options<'_>,
    ) -> Result<Stores<'static>, Error> {
        use std::time::Duration;
        use websight::connectors::kafka::{KafkaSink, KafkaSource, Topics, create_topics};
        use websight::connectors::mongo::MongoSessionStore;
        use websight::connectors::redis::{RedisCheckpoints, RedisGateState};
        use websight::core::io::Message;

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
            check_input(c, options.input)?;
        }
        let sent = match checkpointing {
            Some(_) => state.counter("raw_sent").await?,
            None => None,
        };
        let inputs = match sent {
            Some(n) => n,
            None => {
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
        tracing::info!(inputs, topic = %topics.raw, "raw events sent to Kafka");
        let (group, position) = match (&resume, checkpointing) {
            (Some(c), _) => (
                c.extra["group"]
                    .as_str()
                    .ok_or("the checkpoint names no consumer group")?
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
        let source =
            KafkaSource::new(&s.kafka, &group, &topics.raw)?.idle_timeout(Duration::from_secs(60));
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
        Ok(Stores {
            source: Box::new(Bounded {
                inner: source,
                remaining: usize::try_from(inputs.saturating_sub(position)).unwrap_or(usize::MAX),
            }),
            state: Box::new(state),
            checked: counted(Box::new(KafkaSink::new(&s.kafka, &topics.checked)?)),
            dead: counted(Box::new(KafkaSink::new(&s.kafka, &topics.dead_letters)?)),
            sessions: Box::new(sessions),
            session_store: "MongoDB",
            temporary: None,
            documents: DocumentStore::search(&s.search, &s.prefix).await?,
            checkpoints,
            resume,
        })
    }
}

#[cfg(feature = "connectors")]
fn counted(inner: Box<dyn EventSink>) -> Counted {
    Counted {
        inner: Some(inner),
        sent: 0,
    }
}

/// Runs the stage on a runtime of its own; with `out_dir`, the topics, documents and visits
/// are written there as JSON lines.
pub fn run(
    source: Box<dyn EventSource + '_>,
    catalogue: ProductCatalogue,
    ingest: Ingest,
    options: &Options<'_>,
    observer: &mut dyn Observer,
) -> Result<StreamOutcome, Error> {
    let (mode, out_dir) = (options.mode, options.out_dir);
    if let Some(dir) = out_dir {
        std::fs::create_dir_all(dir)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut stores = match mode {
            #[cfg(feature = "connectors")]
            Mode::Servers(s) => Stores::servers(s, source, options).await?,
            #[cfg(not(feature = "connectors"))]
            Mode::Servers(_) => return Err("--servers needs the `connectors` feature".into()),
            _ => Stores::embedded(source, options).await?,
        };
        let mut flow = Flow::new(
            ingest,
            Gate::new(GateConfig::default())?,
            StreamAnalytics::new(AnalyticsConfig::default(), catalogue)?,
        );
        if let Some(checkpoint) = stores.resume.take() {
            let position = checkpoint.position;
            flow.restore(
                checkpoint,
                stores.source.as_mut(),
                stores.state.as_mut(),
                observer,
            )
            .await?;
            tracing::info!(position, "resumed from the checkpoint");
        }
        let mut out = Outputs {
            state: stores.state.as_mut(),
            checked: &mut stores.checked,
            dead_letters: &mut stores.dead,
            sessions: stores.sessions.as_mut(),
            documents: stores.documents.sink(),
        };
        let counts = match &mut stores.checkpoints {
            Some(c) => {
                let counts = flow
                    .run_checkpointed(stores.source.as_mut(), &mut out, observer, c)
                    .await?;
                // Done: the same command again starts afresh.
                c.clear().await?;
                counts
            }
            None => flow.run(stores.source.as_mut(), &mut out, observer).await?,
        };
        let (gate, analytics) = flow.into_parts();
        let sessions = if options.keep_sessions {
            let mut sessions = stores.sessions.read_sessions().await?;
            // Stores return visits in their own order; the offline stage wants a fixed one.
            sessions
                .visits
                .sort_by(|a, b| (a.started_at(), &a.id).cmp(&(b.started_at(), &b.id)));
            if let Some(path) = &stores.temporary {
                std::fs::remove_file(path)?;
            }
            Some(sessions)
        } else {
            None
        };
        let (held, document_store) = stores.documents.counts().await?;
        Ok(StreamOutcome {
            counts,
            gate: gate.stats().clone(),
            analytics,
            unique_users: stores.state.unique_users().await?,
            known_filter: stores.state.known_filter().await?,
            held,
            document_store,
            sessions,
            session_store: stores.session_store,
            checked_messages: stores.checked.sent,
            dead_messages: stores.dead.sent,
        })
    })
}
