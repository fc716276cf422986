//! The embedded stand-ins and wrappers of a run's stores: sinks that count what passes
//! (into a file or nowhere), the document store checked against what the analytics emitted,
//! and the stored visits read back for the offline stage.

use std::path::PathBuf;

use async_trait::async_trait;
use websight_core::analytics::{Documents, Visit};
use websight_core::io::{
    DocumentSink, EventSink, JsonLinesIndex, SessionStore, StoredSessions, WriteReport,
};

use super::Servers;
use crate::Result;

/// Counts what passes through a sink; without one (embedded without `--out-dir`: nobody
/// reads the topics afterwards) it only counts, so memory stays flat.
#[derive(Default)]
pub(super) struct Counted {
    pub(super) inner: Option<Box<dyn EventSink>>,
    pub(super) sent: u64,
    /// Messages to pass over: written to the topic by a run that died after the checkpoint
    /// this one resumed from, and produced again, in the same order, by the replay.
    pub(super) skip: u64,
    /// A Kafka topic's name and where its acknowledged messages end.
    pub(super) kafka: Option<(String, KafkaEnds)>,
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
pub(super) struct KafkaEnds(pub(super) Option<KafkaDelivered>);

#[cfg(feature = "kafka")]
pub(super) type KafkaDelivered = crate::kafka::Delivered;
#[cfg(not(feature = "kafka"))]
pub(super) type KafkaDelivered = ();

impl KafkaEnds {
    /// The ends per partition, for a checkpoint.
    pub(super) fn get(&self) -> std::collections::BTreeMap<String, i64> {
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
    pub(super) async fn take_over(
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
pub(super) struct Discard {
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
pub(super) enum DocumentStore {
    /// `documents/<index>.jsonl`, appended as documents arrive.
    Files(Box<JsonLinesIndex>),
    /// Nowhere (without `--out-dir`): only counted.
    Counted(Discard),
    #[cfg(feature = "elasticsearch")]
    Search(crate::search::SearchSink),
}

impl DocumentStore {
    #[cfg(feature = "elasticsearch")]
    pub(super) async fn search(url: &str, prefix: &str) -> Result<DocumentStore> {
        let sink = crate::search::SearchSink::new(url).prefix(prefix);
        sink.install_templates().await?;
        Ok(DocumentStore::Search(sink))
    }

    pub(super) fn sink(&mut self) -> &mut dyn DocumentSink {
        match self {
            DocumentStore::Files(f) => f.as_mut(),
            DocumentStore::Counted(d) => d,
            #[cfg(feature = "elasticsearch")]
            DocumentStore::Search(s) => s,
        }
    }

    /// Documents per index: session_summary, product_details, product_sentiment, KPI windows.
    pub(super) async fn counts(&self) -> Result<([u64; 4], &'static str)> {
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
    pub(super) store: Box<dyn SessionStore>,
    pub(super) temporary: Option<PathBuf>,
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
