//! The real-time stage: the input lines through websight's `Flow` — ingest (decode and
//! privacy), gate, checked and dead-letter outputs, stream analytics, session store,
//! document store.
//! Embedded by default; with `--search URL` the documents go to Elasticsearch/OpenSearch;
//! with `--servers` (feature `connectors`) everything runs on the real servers: Kafka raw
//! topic → gate with its state in Redis → checked and dead-letter topics → MongoDB and
//! analytics → Elasticsearch/OpenSearch. The flow does not know which.

use std::path::Path;

use async_trait::async_trait;
use websight::core::analytics::{AnalyticsConfig, ProductCatalogue, StreamAnalytics};
use websight::core::flow::{Flow, FlowCounts, Ingest, Observer, Outputs};
use websight::core::gate::{Gate, GateConfig, GateState, GateStats, MemoryGateState};
use websight::core::io::{
    DocumentSink, EventSink, EventSource, JsonLinesSink, MemoryIndex, MemorySessionStore,
    MemorySource, SessionStore, StoredSessions,
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

/// What the stage did and what its stores hold afterwards.
pub struct StreamOutcome {
    pub counts: FlowCounts,
    pub gate: GateStats,
    pub analytics: StreamAnalytics,
    pub unique_users: f64,
    /// Documents per index held by the document store afterwards.
    pub held: [u64; 4],
    pub document_store: &'static str,
    /// Visits read back from the session store (the offline stage's input).
    pub sessions: StoredSessions,
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

/// The document store: its counts are checked against what the analytics emitted.
enum DocumentStore {
    Memory(MemoryIndex),
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
            DocumentStore::Memory(m) => m,
            #[cfg(feature = "elasticsearch")]
            DocumentStore::Search(s) => s,
        }
    }

    /// Documents per index: session_summary, product_details, product_sentiment, KPI windows.
    async fn counts(&self) -> Result<([u64; 4], &'static str), Error> {
        match self {
            DocumentStore::Memory(m) => Ok((
                [
                    m.sessions.len() as u64,
                    m.products.len() as u64,
                    m.sentiments.len() as u64,
                    m.windows.len() as u64,
                ],
                "embedded store",
            )),
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
struct Stores {
    source: Box<dyn EventSource>,
    state: Box<dyn GateState>,
    checked: Counted,
    dead: Counted,
    sessions: Box<dyn SessionStore>,
    session_store: &'static str,
    documents: DocumentStore,
}

impl Stores {
    async fn embedded(
        raws: Vec<Vec<u8>>,
        mode: &Mode,
        out_dir: Option<&Path>,
    ) -> Result<Stores, Error> {
        let documents = match mode {
            #[cfg(feature = "elasticsearch")]
            Mode::Search { url, prefix } => DocumentStore::search(url, prefix).await?,
            #[cfg(not(feature = "elasticsearch"))]
            Mode::Search { .. } => return Err("--search needs the `elasticsearch` feature".into()),
            _ => DocumentStore::Memory(MemoryIndex::default()),
        };
        // With --out-dir the topics are files a user can open.
        let file = |name: &str| -> Result<std::io::BufWriter<std::fs::File>, Error> {
            let dir = out_dir.expect("only called with an output directory");
            Ok(std::io::BufWriter::new(std::fs::File::create(
                dir.join(name),
            )?))
        };
        let (checked, dead): (Counted, Counted) = match out_dir {
            Some(_) => (
                counted(Box::new(JsonLinesSink::payloads(file("checked.jsonl")?))),
                counted(Box::new(JsonLinesSink::envelopes(file(
                    "dead_letters.jsonl",
                )?))),
            ),
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
            source: Box::new(MemorySource::new(raws)),
            state: Box::new(MemoryGateState::new(&GateConfig::default())?),
            checked,
            dead,
            sessions: Box::new(MemorySessionStore::default()),
            session_store: "embedded session store",
            documents,
        })
    }

    /// Sends the inputs to the Kafka raw topic, then reads them back through the group.
    #[cfg(feature = "connectors")]
    async fn servers(s: &Servers, raws: Vec<Vec<u8>>) -> Result<Stores, Error> {
        use std::time::Duration;
        use websight::connectors::kafka::{KafkaSink, KafkaSource, Topics, create_topics};
        use websight::connectors::mongo::MongoSessionStore;
        use websight::connectors::redis::RedisGateState;
        use websight::core::io::Message;

        let topics = Topics::prefixed(&s.prefix);
        // One partition keeps the arrival order of the embedded run, so both runs agree.
        create_topics(&s.kafka, &topics.all(), 1).await?;
        let inputs = raws.len();
        let mut raw = KafkaSink::new(&s.kafka, &topics.raw)?;
        for chunk in raws.chunks(5_000) {
            let messages: Vec<Message> = chunk
                .iter()
                .map(|payload| Message {
                    payload: payload.clone(),
                    ..Message::default()
                })
                .collect();
            raw.send(&messages).await?;
        }
        tracing::info!(inputs, topic = %topics.raw, "raw events sent to Kafka");
        let source = KafkaSource::new(&s.kafka, &format!("{}gate", s.prefix), &topics.raw)?
            .idle_timeout(Duration::from_secs(60));
        // Letters, digits and underscores: the strictest MongoDB-compatible servers ask for it.
        let collection =
            format!("{}sessions", s.prefix).replace(|c: char| !c.is_ascii_alphanumeric(), "_");
        let sessions = MongoSessionStore::connect(&s.mongodb, "websight", &collection).await?;
        sessions.clear().await?;
        Ok(Stores {
            source: Box::new(Bounded {
                inner: source,
                remaining: inputs,
            }),
            state: Box::new(RedisGateState::connect(&s.redis, &s.prefix).await?),
            checked: counted(Box::new(KafkaSink::new(&s.kafka, &topics.checked)?)),
            dead: counted(Box::new(KafkaSink::new(&s.kafka, &topics.dead_letters)?)),
            sessions: Box::new(sessions),
            session_store: "MongoDB",
            documents: DocumentStore::search(&s.search, &s.prefix).await?,
        })
    }
}

fn counted(inner: Box<dyn EventSink>) -> Counted {
    Counted {
        inner: Some(inner),
        sent: 0,
    }
}

/// Runs the stage on a runtime of its own; with `out_dir`, the topics, documents and visits
/// are written there as JSON lines.
pub fn run(
    raws: Vec<Vec<u8>>,
    catalogue: ProductCatalogue,
    ingest: Ingest,
    mode: &Mode,
    out_dir: Option<&Path>,
    observer: &mut dyn Observer,
) -> Result<StreamOutcome, Error> {
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
            Mode::Servers(s) => Stores::servers(s, raws).await?,
            #[cfg(not(feature = "connectors"))]
            Mode::Servers(_) => return Err("--servers needs the `connectors` feature".into()),
            _ => Stores::embedded(raws, mode, out_dir).await?,
        };
        let mut flow = Flow::new(
            ingest,
            Gate::new(GateConfig::default())?,
            StreamAnalytics::new(AnalyticsConfig::default(), catalogue)?,
        );
        let mut out = Outputs {
            state: stores.state.as_mut(),
            checked: &mut stores.checked,
            dead_letters: &mut stores.dead,
            sessions: stores.sessions.as_mut(),
            documents: stores.documents.sink(),
        };
        let counts = flow.run(stores.source.as_mut(), &mut out, observer).await?;
        let (gate, analytics) = flow.into_parts();
        let mut sessions = stores.sessions.read_sessions().await?;
        // Stores return visits in their own order; the offline stage wants a fixed one.
        sessions
            .visits
            .sort_by(|a, b| (a.started_at(), &a.id).cmp(&(b.started_at(), &b.id)));
        let (held, document_store) = stores.documents.counts().await?;
        if let Some(dir) = out_dir {
            write_files(dir, &stores.documents, &sessions)?;
        }
        Ok(StreamOutcome {
            counts,
            gate: gate.stats().clone(),
            analytics,
            unique_users: stores.state.unique_users().await?,
            held,
            document_store,
            sessions,
            session_store: stores.session_store,
            checked_messages: stores.checked.sent,
            dead_messages: stores.dead.sent,
        })
    })
}

/// `documents/<index>.jsonl` (embedded document store) and `sessions.jsonl`.
fn write_files(
    dir: &Path,
    documents: &DocumentStore,
    sessions: &StoredSessions,
) -> Result<(), Error> {
    match documents {
        DocumentStore::Memory(index) => index.write_files(&dir.join("documents"))?,
        #[cfg(feature = "elasticsearch")]
        DocumentStore::Search(_) => tracing::info!(
            "documents are in the search server, not in {}",
            dir.display()
        ),
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("sessions.jsonl"))?);
    for visit in &sessions.visits {
        serde_json::to_writer(&mut out, visit)?;
        std::io::Write::write_all(&mut out, b"\n")?;
    }
    std::io::Write::flush(&mut out)?;
    Ok(())
}
