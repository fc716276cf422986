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

use websight_core::analytics::StreamAnalytics;
use websight_core::flow::{
    Checkpoint, Checkpoints, FileCheckpoints, Flow, FlowCounts, Observer, Outputs,
};
use websight_core::gate::{GateConfig, GateState, GateStats, MemoryGateState};
use websight_core::io::{
    EventSink, EventSource, JsonLinesIndex, JsonLinesSessionStore, JsonLinesSink, SessionStore,
};

use crate::{ConnectorError, Result};

mod resume;
mod servers;
mod stores;

use resume::{Tagged, check_input, rewind};
pub use servers::Servers;
#[cfg(feature = "kafka")]
use servers::{RawTopicSource, counter, increment, set_counter};
use servers::{RedisStateOf, boxed};
#[cfg(feature = "kafka")]
use stores::KafkaEnds;
pub use stores::StoredVisits;
use stores::{Counted, Discard, DocumentStore};

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
    ///
    /// [`segments`]: websight_core::io::segments
    pub segment_bytes: Option<u64>,
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
