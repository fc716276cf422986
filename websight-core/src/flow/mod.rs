//! The real-time stage as one driver, generic over where events come from and go: source
//! bytes → [`Ingest`] (decode per line, [`Privacy`] protection) → [`Gate`] (state in any
//! [`GateState`]) → checked events and dead letters → [`StreamAnalytics`] → session store
//! (closed visits) and document store. The same code runs embedded ([`crate::io`]'s memory
//! types) and on servers (`websight-connectors`: Kafka, Redis, MongoDB, Elasticsearch).
//!
//! Per batch, every output is written and acknowledged **before** the source is committed,
//! so a crash replays the batch rather than losing it (at-least-once); outputs are
//! idempotent (ids), so a replay does not duplicate documents. Nothing is dropped silently:
//! `inputs = checked + rejected + dead letters + duplicates` (an input is one message: a
//! batch line counts once per message, an unreadable line once). Rejected events, dead
//! letters and late events go to the dead-letter sink with their reason in the
//! `websight.reason` header (JSON `{"kind": …, "detail": …}`: a [`DeadLetterReason`] kind,
//! `rejected` with the rule, `late`, or `refused`: a visit or document a store refused for
//! good — a mapping conflict, over a size limit — with the store's reason, so one bad item
//! cannot stall the stream). Dead letters keep at most
//! [`DEAD_LETTER_BYTES`](crate::io::DEAD_LETTER_BYTES) of their input.
//! Only protected data leaves the flow: checked and rejected events are re-encoded as
//! Segment messages after [`Privacy::protect`], dead letters keep a redacted copy
//! ([`Privacy::redact`]).
//!
//! **Exact recovery.** [`Flow::run_checkpointed`] saves a [`Checkpoint`] — the gate's and
//! the analytics' whole state, an in-process gate state, the counts, the observer's tallies
//! and the source's position — every few batches ([`FileCheckpoints`] embedded; Redis with
//! `websight-connectors`). A process killed at any point and [restored](Flow::restore) from
//! its last checkpoint produces the same verdicts, visits, documents and counts as a run that
//! never stopped; only the outputs written after the checkpoint are written again.
//!
//! ```
//! use websight_core::analytics::{AnalyticsConfig, ProductCatalogue, StreamAnalytics};
//! use websight_core::flow::{Flow, Ingest, Outputs};
//! use websight_core::gate::{Gate, GateConfig, MemoryGateState};
//! use websight_core::io::{block_on, MemoryIndex, MemorySessionStore, MemorySource, MemoryTopic};
//! use websight_core::privacy::{Privacy, PrivacyConfig};
//!
//! let inputs: Vec<Vec<u8>> = vec![
//!     br#"{"batch":[{"type":"page","messageId":"1","anonymousId":"a","timestamp":"2026-01-01T10:00:00Z"},
//!                   {"type":"track","event":"Product Viewed","messageId":"2","anonymousId":"a",
//!                    "timestamp":"2026-01-01T10:00:09Z","properties":{"product_id":"p1"}}],
//!        "context":{"userAgent":"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}}"#.to_vec(),
//!     b"{\"truncated\": ".to_vec(),
//! ];
//! let privacy = Privacy::new(PrivacyConfig { key: Some("a key of sixteen bytes".into()), ..Default::default() })?;
//! let mut flow = Flow::new(
//!     Ingest::new(privacy),
//!     Gate::new(GateConfig::default())?,
//!     StreamAnalytics::new(AnalyticsConfig::default(), ProductCatalogue::default())?,
//! );
//! let (mut state, mut checked, mut dead) =
//!     (MemoryGateState::new(&GateConfig::default())?, MemoryTopic::default(), MemoryTopic::default());
//! let (mut sessions, mut index) = (MemorySessionStore::default(), MemoryIndex::default());
//! let mut outputs = Outputs {
//!     state: &mut state, checked: &mut checked, dead_letters: &mut dead,
//!     sessions: &mut sessions, documents: &mut index,
//! };
//! let counts = block_on(flow.run(&mut MemorySource::new(inputs), &mut outputs, &mut ()))?;
//! assert_eq!((counts.inputs, counts.checked, counts.dead_letters), (3, 2, 1));
//! assert!(counts.is_conserved());
//! assert_eq!(sessions.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Privacy`]: crate::privacy::Privacy
//! [`Privacy::protect`]: crate::privacy::Privacy::protect
//! [`Privacy::redact`]: crate::privacy::Privacy::redact

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::analytics::StreamAnalytics;
use crate::decode::{DeadLetterReason, Decoded};
use crate::gate::MemoryGateState;
use crate::gate::{Gate, GateState, Outcome};
use crate::io::{
    DocumentSink, EventSink, EventSource, MemoryIndex, MemorySessionStore, MemorySource,
    MemoryTopic, Message, SessionStore, block_on,
};

mod checkpoint;
mod ingest;
mod observer;
mod read_ahead;

pub use checkpoint::{CHECKPOINT_VERSION, Checkpoint, Checkpoints, FileCheckpoints};
pub use ingest::Ingest;
pub use observer::Observer;
use read_ahead::{Batch, Decoder, Encoded, Prepared, Spent};

/// The header that carries a dead letter's reason.
pub const REASON_HEADER: &str = "websight.reason";

/// Where the flow writes. Any mix of embedded and server-backed implementations.
pub struct Outputs<'a> {
    /// The gate's shared state.
    pub state: &'a mut dyn GateState,
    /// Valid events (the original's `valid_customer_session`) as protected Segment
    /// messages, keyed by anonymous id (else user id): one browser's events stay together.
    pub checked: &'a mut dyn EventSink,
    /// Unreadable inputs, rejected and late events, with their reason.
    pub dead_letters: &'a mut dyn EventSink,
    /// Closed visits, for offline work.
    pub sessions: &'a mut dyn SessionStore,
    /// The analytics' documents.
    pub documents: &'a mut dyn DocumentSink,
}

/// What went where; `inputs = checked + rejected + dead_letters + duplicates`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowCounts {
    /// Inputs: messages decoded from the source, plus unreadable lines.
    pub inputs: u64,
    /// Valid events sent to the checked sink.
    pub checked: u64,
    /// Events rejected by a security rule (sent to the dead-letter sink).
    pub rejected: u64,
    /// Unreadable inputs (sent to the dead-letter sink).
    pub dead_letters: u64,
    /// Repeated messages, dropped.
    pub duplicates: u64,
    /// Checked events too late for the analytics (also sent to the dead-letter sink).
    pub late: u64,
    /// Visits and documents a store refused for good (sent to the dead-letter sink instead).
    pub refused: u64,
    /// Closed visits acknowledged by the session store.
    pub sessions: u64,
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

    /// Messages sent to the dead-letter sink: rejected, unreadable, late and refused.
    pub fn dead_letter_messages(&self) -> u64 {
        self.rejected + self.dead_letters + self.late + self.refused
    }
}

/// The real-time stage. See the [module docs](self).
pub struct Flow {
    ingest: Ingest,
    gate: Gate,
    analytics: StreamAnalytics,
    batch_size: usize,
    counts: FlowCounts,
    /// Source items taken (lines; a batch line is one item).
    taken: u64,
    /// Set for a live source: how long it must be quiet before event time moves on its own.
    idle_after: Option<std::time::Duration>,
    /// The most of the flow's time checkpoints may take ([`Flow::checkpoint_share`]).
    checkpoint_share: f64,
    /// Before then, a due checkpoint waits for the next due one.
    next_checkpoint: Option<std::time::Instant>,
}

fn reason(kind: &str, detail: &str) -> Vec<(String, String)> {
    // A struct, not `json!`: its keys keep this order whether or not another crate turns on
    // serde_json's `preserve_order` (a `Value` map sorts them otherwise).
    #[derive(Serialize)]
    struct Reason<'a> {
        kind: &'a str,
        detail: &'a str,
    }
    let json = serde_json::to_string(&Reason { kind, detail }).unwrap_or_default();
    vec![(REASON_HEADER.to_owned(), json)]
}

impl Flow {
    /// A flow through `ingest`, `gate` and `analytics`, 2,000 input lines per batch.
    pub fn new(ingest: Ingest, gate: Gate, analytics: StreamAnalytics) -> Self {
        Flow {
            ingest,
            gate,
            analytics,
            batch_size: 2_000,
            counts: FlowCounts::default(),
            taken: 0,
            idle_after: None,
            checkpoint_share: 1.0,
            next_checkpoint: None,
        }
    }

    /// Runs on a live source — one whose [`EventSource::next_batch`] answers an empty batch
    /// when nothing new came for a moment, and ends only when told to stop (a collector's
    /// raw log). Once it has been quiet for `idle_after`, event time moves on with the wall
    /// clock ([`StreamAnalytics::advance`]) so visits and windows close on a quiet site.
    /// At the end the checkpoint is taken *before* the open visits are flushed: a restart
    /// continues them, and what the flush wrote is a view of that moment (the same ids
    /// written again, complete, later).
    pub fn live(mut self, idle_after: std::time::Duration) -> Self {
        self.idle_after = Some(idle_after);
        self
    }

    /// Checkpoints take at most `share` (clamped to 0.01..=1) of the run's time: after one
    /// that took `t`, those due before `t · (1 − share) / share` has passed are skipped.
    /// A checkpoint holds every open visit and recent message id, so it grows with the
    /// traffic; counted in batches alone (default, share 1), it would come more often just
    /// as it grows — a fast flow reads small batches — and stall a busy collector.
    pub fn checkpoint_share(mut self, share: f64) -> Self {
        self.checkpoint_share = if share.is_nan() {
            1.0
        } else {
            share.clamp(0.01, 1.0)
        };
        self
    }

    /// Input lines per batch (at least 1): larger batches mean fewer round trips per event.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Runs until the source ends, then closes every open visit and window and writes
    /// the last documents. Returns the counts.
    pub async fn run(
        &mut self,
        source: &mut dyn EventSource,
        out: &mut Outputs<'_>,
        observer: &mut dyn Observer,
    ) -> Result<FlowCounts> {
        self.drive(source, out, observer, None).await
    }

    /// [`Flow::run`], saving a [`Checkpoint`] after each batch `checkpoints` says is due
    /// (within the [checkpoint share](Flow::checkpoint_share)), and a last one at the end,
    /// with the source's own position; the source is committed right after each, so a
    /// consumer group restarts at most one interval before it. After a crash,
    /// [`Flow::restore`] the last checkpoint (the source resumes at its position) and run
    /// again: outputs written after the checkpoint are written again (at-least-once;
    /// idempotent by id), and everything else continues exactly.
    pub async fn run_checkpointed(
        &mut self,
        source: &mut dyn EventSource,
        out: &mut Outputs<'_>,
        observer: &mut dyn Observer,
        checkpoints: &mut dyn Checkpoints,
    ) -> Result<FlowCounts> {
        self.drive(source, out, observer, Some(checkpoints)).await
    }

    async fn drive(
        &mut self,
        source: &mut dyn EventSource,
        out: &mut Outputs<'_>,
        observer: &mut dyn Observer,
        mut checkpoints: Option<&mut dyn Checkpoints>,
    ) -> Result<FlowCounts> {
        let mut quiet_since = std::time::Instant::now();
        let mut advanced = std::time::Duration::ZERO;
        // With a source that allows it and a thread to spare, the next batch is read and
        // decoded while this one is judged, analysed and written.
        let decoder = source
            .reads_ahead()
            .then(|| Decoder::new(&self.ingest))
            .flatten();
        let mut next: Option<Result<Option<Batch>>> = None;
        loop {
            let read = match next.take() {
                Some(read) => read?,
                None => Batch::read(source, self.batch_size).await?,
            };
            let Some(batch) = read else { break };
            if batch.is_empty() {
                let quiet = quiet_since.elapsed();
                if let Some(after) = self.idle_after
                    && quiet >= after
                {
                    let by = quiet - advanced;
                    advanced = quiet;
                    self.idle(
                        chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX),
                        out,
                        observer,
                    )
                    .await?;
                }
                // A throttled live view catches up while nothing comes.
                observer.progress(self);
                continue;
            }
            (quiet_since, advanced) = (std::time::Instant::now(), std::time::Duration::ZERO);
            // Where the source is after this batch, before one is read ahead: what a
            // checkpoint after it records.
            let mut position = None;
            if let Some(decoder) = &decoder {
                position = Some(source.position());
                // Its error, if any, surfaces where an unhurried read would have met it.
                let read = Batch::read(source, self.batch_size).await;
                next = Some(read.map(|b| b.map(|b| b.decoding(decoder))));
            }
            let taken = batch.len() as u64;
            let prepared = batch.prepare(&self.ingest, decoder.as_ref())?;
            let spent = self.process_prepared(prepared, out, observer).await?;
            if let Some(decoder) = &decoder {
                decoder.free(spent);
            }
            self.counts.batches += 1;
            self.taken += taken;
            match checkpoints.as_deref_mut() {
                None => source.commit().await?,
                Some(c) => {
                    let spaced = self
                        .next_checkpoint
                        .is_none_or(|at| std::time::Instant::now() >= at);
                    if spaced && c.due(&self.counts) {
                        self.save_checkpoint(c, source, position, &mut *out.state, observer)
                            .await?;
                    }
                }
            }
            observer.progress(self);
        }
        let live = self.idle_after.is_some();
        if let Some(c) = checkpoints.as_deref_mut()
            && live
        {
            // Live: a restart continues the open visits.
            self.save_checkpoint(c, source, None, &mut *out.state, observer)
                .await?;
        }
        self.finish(out, observer).await?;
        if let Some(c) = checkpoints
            && !live
        {
            // A restart after the end resumes here: nothing left to read, nothing to emit.
            self.save_checkpoint(c, source, None, &mut *out.state, observer)
                .await?;
        }
        observer.progress(self);
        Ok(self.counts)
    }

    /// Takes a checkpoint, saves it and commits the source. `position` is where the source
    /// was before the next batch was read ahead (`None`: where it is). Checkpoints due
    /// before this one's [share](Flow::checkpoint_share) of time has passed are skipped.
    async fn save_checkpoint(
        &mut self,
        checkpoints: &mut dyn Checkpoints,
        source: &mut dyn EventSource,
        position: Option<Option<serde_json::Value>>,
        state: &mut dyn GateState,
        observer: &mut dyn Observer,
    ) -> Result<()> {
        let started = std::time::Instant::now();
        let mut checkpoint = self.checkpoint(state, observer).await?;
        checkpoint.source = position.unwrap_or_else(|| source.position());
        let (at, bytes) = (checkpoint.position, checkpoint.state_bytes());
        let stored = checkpoints.save(checkpoint).await?;
        let took = started.elapsed();
        // Before the commit: a crash right after this line replays from the checkpoint.
        tracing::info!(
            position = at,
            megabytes = bytes as f64 / 1e6,
            stored_megabytes = stored as f64 / 1e6,
            seconds = took.as_secs_f64(),
            "checkpoint saved"
        );
        source.commit().await?;
        let share = self.checkpoint_share;
        let pause = took.mul_f64((1.0 - share) / share);
        self.next_checkpoint = Some(std::time::Instant::now() + pause);
        Ok(())
    }

    /// Whether the flow runs on a live source ([`Flow::live`]).
    pub fn is_live(&self) -> bool {
        self.idle_after.is_some()
    }

    /// A quiet stretch of `by`: event time moves on ([`StreamAnalytics::advance`]) and what
    /// that closes is written.
    pub async fn idle(
        &mut self,
        by: chrono::Duration,
        out: &mut Outputs<'_>,
        observer: &mut dyn Observer,
    ) -> Result<()> {
        self.analytics.advance(by);
        self.write(out, observer, Vec::new(), true).await?;
        observer.progress(self);
        Ok(())
    }

    /// Everything needed to continue from here (call between batches).
    pub async fn checkpoint(
        &mut self,
        state: &mut dyn GateState,
        observer: &mut dyn Observer,
    ) -> Result<Checkpoint> {
        // Taken before the await: a future holding `&Flow` would not be `Send`.
        let mut checkpoint = self.checkpoint_in_process(observer)?;
        checkpoint.state = state.snapshot().await?;
        Ok(checkpoint)
    }

    fn checkpoint_in_process(&self, observer: &dyn Observer) -> Result<Checkpoint> {
        Ok(Checkpoint {
            version: CHECKPOINT_VERSION,
            position: self.taken,
            counts: self.counts,
            gate: self.gate.snapshot()?,
            state: None,
            analytics: self.analytics.snapshot()?,
            observer: observer.snapshot(),
            source: None,
            extra: serde_json::Value::Null,
        })
    }

    /// Continues from `checkpoint`: the gate, analytics and counts, the in-process gate
    /// `state`, the `observer` and the `source` as they were. This flow must have the
    /// checkpointed flow's settings (checked where they are kept).
    pub async fn restore(
        &mut self,
        checkpoint: Checkpoint,
        source: &mut dyn EventSource,
        state: &mut dyn GateState,
        observer: &mut dyn Observer,
    ) -> Result<()> {
        source
            .resume(checkpoint.position, checkpoint.source.as_ref())
            .await?;
        self.gate.restore(&checkpoint.gate)?;
        self.analytics = StreamAnalytics::restore(self.analytics.config(), &checkpoint.analytics)?;
        if let Some(snapshot) = &checkpoint.state {
            state.restore(snapshot).await?;
        }
        observer.restore(checkpoint.observer)?;
        self.counts = checkpoint.counts;
        self.taken = checkpoint.position;
        Ok(())
    }

    /// One batch through the gate and every output; returns when all acknowledged (the
    /// caller then commits the source).
    pub async fn process(
        &mut self,
        raws: &[Vec<u8>],
        out: &mut Outputs<'_>,
        observer: &mut dyn Observer,
    ) -> Result<()> {
        let prepared = self.ingest.prepare(raws);
        self.process_prepared(prepared, out, observer)
            .await
            .map(drop)
    }

    /// [`Flow::process`] of a batch already decoded ([`Ingest::prepare`]); what it leaves
    /// behind.
    async fn process_prepared(
        &mut self,
        prepared: Prepared,
        out: &mut Outputs<'_>,
        observer: &mut dyn Observer,
    ) -> Result<Spent> {
        let (items, encoded): (Vec<Decoded>, Vec<Option<Encoded>>) = prepared.into_iter().unzip();
        let outcomes = self.gate.process_batch(items, &mut *out.state).await?;
        // Sized once: growing a vector of events by doubling moves every event again.
        let mut checked = Vec::with_capacity(outcomes.len());
        let mut dead = Vec::new();
        // Whether every dead letter is one line of JSON as it stands: the flow's own encoding
        // of a rejected event is; a raw input is checked here, until one is not.
        let mut vouched = true;
        let mut valid = Vec::with_capacity(outcomes.len());
        // Outcomes are in input order, one per item.
        for (outcome, encoded) in outcomes.into_iter().zip(encoded) {
            observer.outcome(&outcome);
            self.counts.inputs += 1;
            match outcome {
                Outcome::Valid(event) => {
                    checked.push(Encoded::message(encoded, &event, Vec::new()));
                    valid.push(event);
                }
                Outcome::Rejected { rule, event } => {
                    self.counts.rejected += 1;
                    dead.push(Encoded::message(encoded, &event, reason("rejected", rule)));
                    self.analytics.ingest_rejected(event);
                }
                Outcome::DeadLetter(letter) => {
                    self.counts.dead_letters += 1;
                    vouched = vouched && crate::io::is_json_line(&letter.raw);
                    dead.push(Message {
                        key: None,
                        payload: letter.raw,
                        headers: vec![(REASON_HEADER.to_owned(), reason_json(&letter.reason))],
                    });
                }
                Outcome::Duplicate { .. } => self.counts.duplicates += 1,
            }
        }
        // Encoded here, by the flow's own encoder: one line of JSON each.
        out.checked.send_json(&checked).await?;
        self.counts.checked += checked.len() as u64;
        for event in valid {
            let at = event.time;
            self.analytics.ingest(event);
            if let Some(person) = self.analytics.last_person() {
                observer.visitor(at, person);
            }
        }
        let mut spent = self.write(out, observer, dead, vouched).await?;
        spent.messages.push(checked);
        Ok(spent)
    }

    /// End of input: closes every open visit and window and writes their documents.
    pub async fn finish(
        &mut self,
        out: &mut Outputs<'_>,
        observer: &mut dyn Observer,
    ) -> Result<()> {
        self.analytics.flush();
        self.write(out, observer, Vec::new(), true).await.map(drop)
    }

    /// Writes the closed visits and documents, then the dead letters: this batch's, its late
    /// events, and whatever a store refused for good. `vouched`: every one of `dead` is one
    /// line of JSON as it stands (a sink that checks payloads then need not).
    async fn write(
        &mut self,
        out: &mut Outputs<'_>,
        observer: &mut dyn Observer,
        mut dead: Vec<Message>,
        mut vouched: bool,
    ) -> Result<Spent> {
        let docs = self.analytics.drain();
        for event in &docs.late {
            dead.push(Encoded::message(
                None,
                event,
                reason(
                    "late",
                    "older than the watermark minus the allowed lateness",
                ),
            ));
        }
        let stored = out.sessions.upsert_visits(&docs.visits).await?;
        let report = out.documents.write(&docs).await?;
        for refusal in stored.refused.iter().chain(&report.refused) {
            // A refused item's payload may be cut short.
            vouched = vouched && crate::io::is_json_line(&refusal.payload);
            dead.push(Message {
                key: Some(refusal.id.clone()),
                payload: refusal.payload.clone(),
                headers: reason(
                    "refused",
                    &format!(
                        "{} refused {}: {}",
                        refusal.store, refusal.id, refusal.reason
                    ),
                ),
            });
        }
        if vouched {
            out.dead_letters.send_json(&dead).await?;
        } else {
            out.dead_letters.send(&dead).await?;
        }
        self.counts.late += docs.late.len() as u64;
        self.counts.refused += (stored.refused.len() + report.refused.len()) as u64;
        self.counts.sessions += stored.written as u64;
        self.counts.documents += report.written as u64;
        observer.documents(&docs);
        Ok(Spent {
            documents: docs,
            messages: vec![dead],
        })
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

    /// The ingest step (its privacy settings).
    pub fn ingest(&self) -> &Ingest {
        &self.ingest
    }

    /// The gate and the analytics, e.g. to keep the dashboard after the run.
    pub fn into_parts(self) -> (Gate, StreamAnalytics) {
        (self.gate, self.analytics)
    }

    /// Runs `lines` through the embedded stores (no runtime needed) and returns them: the
    /// quickest way from a file of tracker messages to visits and documents.
    pub fn run_embedded(
        &mut self,
        lines: Vec<Vec<u8>>,
        observer: &mut dyn Observer,
    ) -> Result<EmbeddedRun> {
        let mut run = EmbeddedRun {
            counts: FlowCounts::default(),
            state: MemoryGateState::new(self.gate.config())?,
            checked: MemoryTopic::default(),
            dead_letters: MemoryTopic::default(),
            sessions: MemorySessionStore::default(),
            documents: MemoryIndex::default(),
        };
        let mut out = Outputs {
            state: &mut run.state,
            checked: &mut run.checked,
            dead_letters: &mut run.dead_letters,
            sessions: &mut run.sessions,
            documents: &mut run.documents,
        };
        run.counts = block_on(self.run(&mut MemorySource::new(lines), &mut out, observer))?;
        Ok(run)
    }
}

/// The embedded stores after [`Flow::run_embedded`].
#[derive(Debug)]
pub struct EmbeddedRun {
    /// What went where.
    pub counts: FlowCounts,
    /// The gate's state.
    pub state: MemoryGateState,
    /// Checked events (protected Segment messages).
    pub checked: MemoryTopic,
    /// Dead letters with their reasons.
    pub dead_letters: MemoryTopic,
    /// Closed visits.
    pub sessions: MemorySessionStore,
    /// Documents.
    pub documents: MemoryIndex,
}

fn reason_json(reason: &DeadLetterReason) -> String {
    serde_json::to_string(reason).unwrap_or_else(|_| r#"{"kind":"unknown"}"#.to_owned())
}
