//! The real-time stage as one driver, generic over where events come from and go: source →
//! [`Gate`] (state in any [`GateState`]) → checked events and dead letters → session store
//! and [`StreamAnalytics`] → document store. The same code runs embedded
//! ([`crate::io`]'s memory types) and on servers (`websight-connectors`: Kafka, Redis,
//! MongoDB, Elasticsearch).
//!
//! Per batch, every output is written and acknowledged **before** the source is committed,
//! so a crash replays the batch rather than losing it (at-least-once); outputs are
//! idempotent (ids), so a replay does not duplicate documents. Nothing is dropped silently:
//! `inputs = checked + rejected + dead letters + duplicates`, and rejected events and dead
//! letters both go to the dead-letter sink with their reason in the `websight.reason`
//! header (JSON `{"kind": …, "detail": …}`, the [`DeadLetterReason`] shape, or kind
//! `rejected` with the rule).
//!
//! ```
//! use websight_core::analytics::{AnalyticsConfig, StreamAnalytics};
//! use websight_core::flow::{Flow, Outputs};
//! use websight_core::gate::{Gate, GateConfig, MemoryGateState};
//! use websight_core::io::{block_on, MemoryIndex, MemorySessionStore, MemorySource, MemoryTopic};
//! use websight_core::synth::{Generator, SynthConfig};
//!
//! let generator = Generator::new(SynthConfig { sessions: 500, ..SynthConfig::default() })?;
//! let mut inputs: Vec<Vec<u8>> = generator
//!     .events()
//!     .map(|e| serde_json::to_vec(&e.record))
//!     .collect::<Result<_, _>>()?;
//! inputs.push(b"{\"truncated\": ".to_vec());
//!
//! let mut flow = Flow::new(
//!     Gate::new(GateConfig::default())?,
//!     StreamAnalytics::new(AnalyticsConfig::default(), generator.config().catalogue.clone())?,
//! );
//! let (mut state, mut checked, mut dead) =
//!     (MemoryGateState::new(&GateConfig::default())?, MemoryTopic::default(), MemoryTopic::default());
//! let (mut sessions, mut index) = (MemorySessionStore::default(), MemoryIndex::default());
//! let mut outputs = Outputs {
//!     state: &mut state, checked: &mut checked, dead_letters: &mut dead,
//!     sessions: &mut sessions, documents: &mut index,
//! };
//! let counts = block_on(flow.run(&mut MemorySource::new(inputs.clone()), &mut outputs, &mut ()))?;
//! assert_eq!(counts.inputs, inputs.len() as u64);
//! assert!(counts.is_conserved());
//! assert_eq!(counts.dead_letters, 1);
//! assert_eq!(checked.messages.len() as u64, counts.checked);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::analytics::{Documents, StreamAnalytics};
use crate::gate::{DeadLetterReason, Gate, GateState, Outcome};
use crate::io::{DocumentSink, EventSink, EventSource, Message, SessionStore};

/// The header that carries a dead letter's reason.
pub const REASON_HEADER: &str = "websight.reason";

/// Where the flow writes. Any mix of embedded and server-backed implementations.
pub struct Outputs<'a> {
    /// The gate's shared state.
    pub state: &'a mut dyn GateState,
    /// Valid events (the original's `valid_customer_session`), keyed by user id.
    pub checked: &'a mut dyn EventSink,
    /// Unreadable inputs and rejected events, with their reason.
    pub dead_letters: &'a mut dyn EventSink,
    /// Valid events by session, for offline work.
    pub sessions: &'a mut dyn SessionStore,
    /// The analytics' documents.
    pub documents: &'a mut dyn DocumentSink,
}

/// Sees what the flow does, e.g. to score detection or keep the documents.
pub trait Observer: Send {
    /// Each input's outcome, in order.
    fn outcome(&mut self, _outcome: &Outcome) {}
    /// Each batch of documents, after the document sink acknowledged it.
    fn documents(&mut self, _documents: &Documents) {}
}

impl Observer for () {}

/// What went where; `inputs = checked + rejected + dead_letters + duplicates`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowCounts {
    /// Inputs taken from the source.
    pub inputs: u64,
    /// Valid events sent to the checked sink.
    pub checked: u64,
    /// Events rejected by a security rule (sent to the dead-letter sink).
    pub rejected: u64,
    /// Unreadable inputs (sent to the dead-letter sink).
    pub dead_letters: u64,
    /// Repeated events, dropped.
    pub duplicates: u64,
    /// Documents acknowledged by the document sink.
    pub documents: u64,
    /// Batches processed and committed.
    pub batches: u64,
}

impl FlowCounts {
    /// inputs = checked + rejected + dead letters + duplicates.
    pub fn is_conserved(&self) -> bool {
        self.inputs == self.checked + self.rejected + self.dead_letters + self.duplicates
    }
}

/// The real-time stage. See the [module docs](self).
pub struct Flow {
    gate: Gate,
    analytics: StreamAnalytics,
    batch_size: usize,
    counts: FlowCounts,
}

impl Flow {
    /// A flow through `gate` and `analytics`, 2,000 inputs per batch.
    pub fn new(gate: Gate, analytics: StreamAnalytics) -> Self {
        Flow {
            gate,
            analytics,
            batch_size: 2_000,
            counts: FlowCounts::default(),
        }
    }

    /// Inputs per batch (at least 1): larger batches mean fewer round trips per event.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Runs until the source ends, then closes every open session and window and writes
    /// the last documents. Returns the counts.
    pub async fn run(
        &mut self,
        source: &mut dyn EventSource,
        out: &mut Outputs<'_>,
        observer: &mut dyn Observer,
    ) -> Result<FlowCounts> {
        while let Some(batch) = source.next_batch(self.batch_size).await? {
            self.process(&batch, out, observer).await?;
            source.commit().await?;
            self.counts.batches += 1;
        }
        self.finish(out, observer).await?;
        Ok(self.counts)
    }

    /// One batch through the gate and every output; returns when all acknowledged (the
    /// caller then commits the source).
    pub async fn process(
        &mut self,
        raws: &[Vec<u8>],
        out: &mut Outputs<'_>,
        observer: &mut dyn Observer,
    ) -> Result<()> {
        let outcomes = self.gate.process_batch(raws, &mut *out.state).await?;
        let mut checked = Vec::new();
        let mut dead = Vec::new();
        let mut valid = Vec::new();
        for (raw, outcome) in raws.iter().zip(outcomes) {
            observer.outcome(&outcome);
            self.counts.inputs += 1;
            match outcome {
                Outcome::Valid(event) => {
                    checked.push(Message {
                        key: Some(event.user.id.as_str().to_owned()),
                        payload: raw.clone(),
                        headers: Vec::new(),
                    });
                    valid.push(event);
                }
                Outcome::Rejected { rule, event } => {
                    self.counts.rejected += 1;
                    let reason = serde_json::json!({ "kind": "rejected", "detail": rule });
                    dead.push(Message {
                        key: Some(event.user.id.as_str().to_owned()),
                        payload: raw.clone(),
                        headers: vec![(REASON_HEADER.to_owned(), reason.to_string())],
                    });
                }
                Outcome::DeadLetter(letter) => {
                    self.counts.dead_letters += 1;
                    dead.push(Message {
                        key: None,
                        payload: letter.raw,
                        headers: vec![(REASON_HEADER.to_owned(), reason_json(&letter.reason))],
                    });
                }
                Outcome::Duplicate { .. } => self.counts.duplicates += 1,
            }
        }
        out.sessions.upsert_events(&valid).await?;
        out.checked.send(&checked).await?;
        out.dead_letters.send(&dead).await?;
        self.counts.checked += checked.len() as u64;
        for event in valid {
            self.analytics.ingest(event);
        }
        self.write_documents(out, observer).await
    }

    /// End of input: closes every open session and window and writes their documents.
    pub async fn finish(
        &mut self,
        out: &mut Outputs<'_>,
        observer: &mut dyn Observer,
    ) -> Result<()> {
        self.analytics.flush();
        self.write_documents(out, observer).await
    }

    async fn write_documents(
        &mut self,
        out: &mut Outputs<'_>,
        observer: &mut dyn Observer,
    ) -> Result<()> {
        let docs = self.analytics.drain();
        let report = out.documents.write(&docs).await?;
        self.counts.documents += report.written as u64;
        observer.documents(&docs);
        Ok(())
    }

    /// Counts so far.
    pub fn counts(&self) -> FlowCounts {
        self.counts
    }

    /// The gate (its statistics).
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// The analytics (the live dashboard).
    pub fn analytics(&self) -> &StreamAnalytics {
        &self.analytics
    }

    /// The gate and the analytics, e.g. to keep the dashboard after the run.
    pub fn into_parts(self) -> (Gate, StreamAnalytics) {
        (self.gate, self.analytics)
    }
}

fn reason_json(reason: &DeadLetterReason) -> String {
    serde_json::to_string(reason).unwrap_or_else(|_| r#"{"kind":"unknown"}"#.to_owned())
}
