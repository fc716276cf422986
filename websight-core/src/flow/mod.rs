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
//! cannot stall the stream). Dead letters keep at most [`DEAD_LETTER_BYTES`] of their input.
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

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::analytics::{Documents, StreamAnalytics};
use crate::decode::{
    DeadLetter, DeadLetterReason, DecodeContext, Decoded, Format, decode_line_into, segment_json,
};
use crate::event::Event;
use crate::gate::MemoryGateState;
use crate::gate::{Gate, GateState, Outcome};
use crate::io::{
    DEAD_LETTER_BYTES, DocumentSink, EventSink, EventSource, MemoryIndex, MemorySessionStore,
    MemorySource, MemoryTopic, Message, SessionStore, block_on,
};
use crate::privacy::Privacy;

mod checkpoint;

pub use checkpoint::{CHECKPOINT_VERSION, Checkpoint, Checkpoints, FileCheckpoints};

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

/// Sees what the flow does, e.g. to score detection or keep the documents.
pub trait Observer: Send {
    /// Each input's outcome, in order.
    fn outcome(&mut self, _outcome: &Outcome) {}
    /// Each valid event's time and person ([`StreamAnalytics::last_person`]: as identity
    /// names them once the event is placed, so one visitor before and after a login), in
    /// input order after the outcomes of its batch; none for an event without ids. Where
    /// live visitor counts take their key.
    fn visitor(&mut self, _at: DateTime<Utc>, _person: &str) {}
    /// Each batch of documents, after the document sink acknowledged it.
    fn documents(&mut self, _documents: &Documents) {}
    /// What it has tallied, for a [`Checkpoint`] (`null` when it keeps nothing).
    fn snapshot(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
    /// Continues from a [`Observer::snapshot`].
    fn restore(&mut self, _snapshot: serde_json::Value) -> Result<()> {
        Ok(())
    }
    /// After every batch and every quiet tick, with the flow as it now is (its dashboard,
    /// counts and gate): where a live view takes its figures.
    fn progress(&mut self, _flow: &Flow) {}
}

impl Observer for () {}

/// An observer that may be absent (e.g. one a flag turns on). A checkpoint taken with it
/// restores only with it, and one taken without it only without it.
impl<O: Observer> Observer for Option<O> {
    fn outcome(&mut self, outcome: &Outcome) {
        if let Some(o) = self {
            o.outcome(outcome);
        }
    }
    fn visitor(&mut self, at: DateTime<Utc>, person: &str) {
        if let Some(o) = self {
            o.visitor(at, person);
        }
    }
    fn documents(&mut self, documents: &Documents) {
        if let Some(o) = self {
            o.documents(documents);
        }
    }
    fn snapshot(&self) -> serde_json::Value {
        self.as_ref().map_or(
            serde_json::Value::Null,
            |o| serde_json::json!({ "some": o.snapshot() }),
        )
    }
    fn restore(&mut self, mut snapshot: serde_json::Value) -> Result<()> {
        let null = snapshot.is_null();
        match (self, snapshot.get_mut("some")) {
            (Some(o), Some(inner)) => o.restore(inner.take()),
            (None, None) if null => Ok(()),
            _ => Err(crate::CoreError::parameter(
                "checkpoint",
                "taken with another set of observers (a DP release turned on or off?)",
            )),
        }
    }
    fn progress(&mut self, flow: &Flow) {
        if let Some(o) = self {
            o.progress(flow);
        }
    }
}

/// Both observers see everything, the first first.
impl<A: Observer, B: Observer> Observer for (A, B) {
    fn outcome(&mut self, outcome: &Outcome) {
        self.0.outcome(outcome);
        self.1.outcome(outcome);
    }
    fn visitor(&mut self, at: DateTime<Utc>, person: &str) {
        self.0.visitor(at, person);
        self.1.visitor(at, person);
    }
    fn documents(&mut self, documents: &Documents) {
        self.0.documents(documents);
        self.1.documents(documents);
    }
    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!([self.0.snapshot(), self.1.snapshot()])
    }
    fn progress(&mut self, flow: &Flow) {
        self.0.progress(flow);
        self.1.progress(flow);
    }
    fn restore(&mut self, snapshot: serde_json::Value) -> Result<()> {
        let serde_json::Value::Array(mut both) = snapshot else {
            return Err(crate::CoreError::parameter(
                "checkpoint",
                "a pair of observers needs a pair of snapshots",
            ));
        };
        let second = both.pop().unwrap_or_default();
        self.0.restore(both.pop().unwrap_or_default())?;
        self.1.restore(second)
    }
}

/// The live series of every valid event, its visitors the persons identity names (and of
/// visits as they close).
impl Observer for crate::analytics::TimeSeries {
    fn outcome(&mut self, outcome: &Outcome) {
        if let Outcome::Valid(event) = outcome {
            self.observe_activity(event);
        }
    }
    fn visitor(&mut self, at: DateTime<Utc>, person: &str) {
        self.observe_visitor(at, person);
    }
    fn documents(&mut self, documents: &Documents) {
        for s in &documents.sessions {
            self.observe_session(s.timestamp);
        }
    }
    fn snapshot(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
    fn restore(&mut self, snapshot: serde_json::Value) -> Result<()> {
        *self = serde_json::from_value(snapshot)?;
        Ok(())
    }
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

/// Bytes → protected events: the input format, what the receiver knows, and the privacy
/// protection applied before anything else sees an event.
#[derive(Debug, Clone)]
pub struct Ingest {
    format: Format,
    context: DecodeContext,
    privacy: Privacy,
    threads: usize,
}

/// Lines per thread below which a batch is decoded on the calling thread alone: starting a
/// thread costs tens of microseconds, a line a few.
const LINES_PER_THREAD: usize = 256;

impl Ingest {
    /// Auto-detected formats, default limits, and `privacy`.
    pub fn new(privacy: Privacy) -> Ingest {
        let drop_traits = privacy.config().pseudonymised_traits.is_empty();
        Ingest {
            format: Format::Auto,
            context: DecodeContext {
                drop_traits,
                ..DecodeContext::default()
            },
            privacy,
            threads: 1,
        }
    }

    /// Decodes each batch on up to `threads` threads (default 1: the calling thread alone),
    /// each taking a contiguous share of the lines, so the result is the same whatever the
    /// count. Decoding is pure, so this is the part of the flow that spreads over cores; a
    /// binary might pass [`std::thread::available_parallelism`]. With more than one, a
    /// [`Flow`] on a source that allows it ([`EventSource::reads_ahead`]) decodes the next
    /// batch on the others while the calling thread judges, analyses and writes this one.
    pub fn threads(mut self, threads: usize) -> Ingest {
        self.threads = threads.max(1);
        self
    }

    /// The input format.
    pub fn format(mut self, format: Format) -> Ingest {
        self.format = format;
        self
    }

    /// What the receiver knows (receive time, implied type, limits). Its
    /// [`DecodeContext::drop_traits`] is the privacy's: traits are left unread unless the
    /// privacy keeps some as pseudonyms.
    pub fn context(mut self, context: DecodeContext) -> Ingest {
        self.context = DecodeContext {
            drop_traits: self.context.drop_traits,
            ..context
        };
        self
    }

    /// The privacy protection.
    pub fn privacy(&self) -> &Privacy {
        &self.privacy
    }

    /// One input line → protected events or redacted dead letters.
    pub fn decode(&self, raw: &[u8]) -> Vec<Decoded> {
        let mut items = Vec::with_capacity(1);
        self.decode_into(raw, &mut items);
        items
    }

    /// A batch of input lines → their protected events and redacted dead letters, in order
    /// (on up to [`Ingest::threads`] threads).
    pub fn decode_batch(&self, raws: &[Vec<u8>]) -> Vec<Decoded> {
        self.shared(raws, |lines| self.decode_lines(lines))
    }

    /// [`Ingest::decode_batch`], each event also encoded as the Segment message it leaves as
    /// (the gate does not change events): both on the ingest's threads.
    fn prepare(&self, raws: &[Vec<u8>]) -> Prepared {
        self.shared(raws, |lines| {
            self.decode_lines(lines)
                .into_iter()
                .map(|item| {
                    let encoded = item.as_deref().ok().map(Encoded::of);
                    (item, encoded)
                })
                .collect()
        })
    }

    /// Lines → their items, on this thread.
    fn decode_lines(&self, lines: &[Vec<u8>]) -> Vec<Decoded> {
        let mut items = Vec::with_capacity(lines.len());
        for raw in lines {
            self.decode_into(raw, &mut items);
        }
        items
    }

    /// `work` over contiguous shares of `raws`, on up to [`Ingest::threads`] threads (the
    /// first share on this one), its results joined in order.
    fn shared<T: Send>(
        &self,
        raws: &[Vec<u8>],
        work: impl Fn(&[Vec<u8>]) -> Vec<T> + Sync,
    ) -> Vec<T> {
        let threads = self.threads.min(raws.len() / LINES_PER_THREAD).max(1);
        if threads == 1 {
            return work(raws);
        }
        let mut shares = raws.chunks(raws.len().div_ceil(threads));
        let first = shares.next().unwrap_or_default();
        std::thread::scope(|scope| {
            let work = &work;
            let others: Vec<_> = shares
                .map(|share| scope.spawn(move || work(share)))
                .collect();
            let mut out = work(first);
            for other in others {
                match other.join() {
                    Ok(items) => out.extend(items),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            out
        })
    }

    /// [`Ingest::decode`], appending to `items`.
    fn decode_into(&self, raw: &[u8], items: &mut Vec<Decoded>) {
        let start = items.len();
        decode_line_into(raw, self.format, &self.context, items);
        for item in &mut items[start..] {
            match item {
                Ok(event) => match self.privacy.withholds(event) {
                    // Nothing of it is kept but its message id (no personal data).
                    Some(category) => {
                        let id = serde_json::json!({ "messageId": event.message_id.as_str() });
                        *item = Err(DeadLetter {
                            raw: serde_json::to_vec(&id).unwrap_or_default(),
                            reason: DeadLetterReason::Consent(format!(
                                "the visitor denied consent category {category:?}"
                            )),
                        });
                    }
                    None => {
                        self.privacy.protect(&mut **event);
                    }
                },
                Err(dead) => {
                    dead.raw = self.privacy.redact(&dead.raw);
                    dead.raw.truncate(DEAD_LETTER_BYTES);
                }
            }
        }
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

fn key(event: &Event) -> Option<String> {
    event
        .anonymous_id
        .as_deref()
        .or(event.user_id.as_deref())
        .map(str::to_owned)
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

/// What a [`Decoder`]'s thread is asked to do.
enum Work {
    Decode(Vec<Vec<u8>>),
    Free(Spent),
}

/// What a processed batch leaves behind once written: its documents and messages.
struct Spent {
    documents: Documents,
    messages: Vec<Vec<Message>>,
}

/// A batch's lines, or — read ahead — the count of lines a [`Decoder`] is decoding.
enum Batch {
    Lines(Vec<Vec<u8>>),
    Decoding(usize),
}

impl Batch {
    /// The source's next batch; `None` when it ended.
    async fn read(source: &mut dyn EventSource, max: usize) -> Result<Option<Batch>> {
        Ok(source.next_batch(max).await?.map(Batch::Lines))
    }

    /// Hands the lines to `decoder`, unless there are none.
    fn decoding(self, decoder: &Decoder) -> Batch {
        match self {
            Batch::Lines(raws) if !raws.is_empty() => decoder.start(raws),
            batch => batch,
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn len(&self) -> usize {
        match self {
            Batch::Lines(raws) => raws.len(),
            Batch::Decoding(lines) => *lines,
        }
    }

    /// The decoded items: decoded now, or those `decoder` decoded.
    fn prepare(self, ingest: &Ingest, decoder: Option<&Decoder>) -> Result<Prepared> {
        match (self, decoder) {
            (Batch::Lines(raws), _) => Ok(ingest.prepare(&raws)),
            (Batch::Decoding(_), Some(decoder)) => decoder.finish(),
            (Batch::Decoding(_), None) => Err(Decoder::stopped()),
        }
    }
}

type Prepared = Vec<(Decoded, Option<Encoded>)>;

/// A thread that decodes the batches a flow reads ahead, one at a time, kept for the run
/// (a thread per batch would start each with a cold allocator cache). The lines come back
/// with their items, to be freed on the thread that read them. Dropped, its queue closes
/// and the thread ends.
struct Decoder {
    work: std::sync::mpsc::SyncSender<Work>,
    /// Locked only to make the decoder `Sync`: a flow's future holds it across awaits.
    done: std::sync::Mutex<std::sync::mpsc::Receiver<(Vec<Vec<u8>>, Prepared)>>,
}

impl Decoder {
    /// A decoder with one thread fewer than `ingest` has (the caller's is busy with the
    /// batch before); `None` when it has no thread to spare or none can be started.
    fn new(ingest: &Ingest) -> Option<Decoder> {
        let ingest = ingest
            .clone()
            .threads(ingest.threads.checked_sub(1).filter(|&t| t > 0)?);
        // Room for a batch and what the one before left behind.
        let (work, queue) = std::sync::mpsc::sync_channel(2);
        let (decoded, done) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("websight-decode".into())
            .spawn(move || {
                for work in queue {
                    match work {
                        Work::Decode(raws) => {
                            let items = ingest.prepare(&raws);
                            if decoded.send((raws, items)).is_err() {
                                break;
                            }
                        }
                        Work::Free(Spent {
                            documents,
                            messages,
                        }) => drop((documents, messages)),
                    }
                }
            })
            .ok()?;
        Some(Decoder {
            work,
            done: std::sync::Mutex::new(done),
        })
    }

    /// Starts decoding `raws`; [`Decoder::finish`] takes the items.
    fn start(&self, raws: Vec<Vec<u8>>) -> Batch {
        let lines = raws.len();
        // The thread is gone: the lines come back, to be decoded in turn.
        if let Err(std::sync::mpsc::SendError(Work::Decode(raws))) =
            self.work.send(Work::Decode(raws))
        {
            return Batch::Lines(raws);
        }
        Batch::Decoding(lines)
    }

    /// Frees what a batch left behind on the decoding thread, where most of it was
    /// allocated (memory then goes back to that thread's cache instead of crossing
    /// threads); here if its queue is full.
    fn free(&self, spent: Spent) {
        let _ = self.work.try_send(Work::Free(spent));
    }

    /// The items of the batch started last.
    fn finish(&self) -> Result<Prepared> {
        let done = self.done.lock().map_err(|_| Decoder::stopped())?;
        match done.recv() {
            Ok((_raws, items)) => Ok(items),
            Err(_) => Err(Decoder::stopped()),
        }
    }

    fn stopped() -> crate::CoreError {
        std::io::Error::other("the thread decoding the batch read ahead stopped (it panicked)")
            .into()
    }
}

/// An event's Segment JSON and message key, made beside its decoding (on the decoding
/// thread, where the message is also freed), and which event it is (its box's address: the
/// gate moves boxes, never their contents).
struct Encoded {
    event: usize,
    json: Vec<u8>,
    key: Option<String>,
}

impl Encoded {
    fn of(event: &Event) -> Encoded {
        Encoded {
            event: std::ptr::from_ref(event).addr(),
            json: segment_json(event),
            key: key(event),
        }
    }

    /// The message of `event` with `headers`: the one made ahead if it is this event's,
    /// else made now.
    fn message(encoded: Option<Encoded>, event: &Event, headers: Vec<(String, String)>) -> Message {
        let (key, payload) = match encoded {
            Some(e) if e.event == std::ptr::from_ref(event).addr() => (e.key, e.json),
            _ => (key(event), segment_json(event)),
        };
        Message {
            key,
            payload,
            headers,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traits_are_read_only_when_the_privacy_keeps_some() {
        let line = br#"{"type":"track","event":"X","anonymousId":"a","timestamp":"2026-01-01T00:00:00Z","context":{"traits":{"plan":"pro","email":"a@b.co"}}}"#;
        let traits = |kept: &[&str], context: Option<DecodeContext>| {
            let privacy = Privacy::new(crate::privacy::PrivacyConfig {
                key: Some("a key of sixteen bytes".into()),
                pseudonymised_traits: kept.iter().map(|t| t.to_string()).collect(),
                ..Default::default()
            })
            .unwrap();
            let ingest = Ingest::new(privacy);
            let ingest = match context {
                Some(c) => ingest.context(c),
                None => ingest,
            };
            assert_eq!(ingest.context.drop_traits, kept.is_empty());
            let event = ingest.decode(line).remove(0).unwrap();
            event.traits.keys().cloned().collect::<Vec<_>>()
        };
        assert!(traits(&[], None).is_empty());
        assert_eq!(traits(&["plan"], None), ["plan"]);
        // A context given later does not change it, whatever it says.
        let keep = DecodeContext::default();
        assert!(traits(&[], Some(keep)).is_empty());
        let drop = DecodeContext {
            drop_traits: true,
            ..DecodeContext::default()
        };
        assert_eq!(traits(&["plan"], Some(drop)), ["plan"]);
    }

    #[test]
    fn a_batch_is_shared_over_the_threads_asked_for_in_order() {
        let ingest = |threads| {
            let privacy = Privacy::new(crate::privacy::PrivacyConfig {
                key: Some("a key of sixteen bytes".into()),
                ..Default::default()
            })
            .unwrap();
            Ingest::new(privacy).threads(threads)
        };
        let lines: Vec<Vec<u8>> = (0..1_000u32).map(|i| i.to_le_bytes().to_vec()).collect();
        // Each share says which thread read it and which lines it had.
        let shares = |threads| {
            ingest(threads).shared(&lines, |share| {
                vec![(
                    std::thread::current().id(),
                    share.first().cloned(),
                    share.len(),
                )]
            })
        };
        let one = shares(1);
        assert_eq!(
            one,
            [(std::thread::current().id(), Some(lines[0].clone()), 1_000)]
        );
        let three = shares(3);
        // 1,000 lines in three shares of 334, 334 and 332, the first on this thread.
        let firsts: Vec<_> = three
            .iter()
            .map(|(_, first, n)| (first.clone(), *n))
            .collect();
        assert_eq!(
            firsts,
            [
                (Some(lines[0].clone()), 334),
                (Some(lines[334].clone()), 334),
                (Some(lines[668].clone()), 332)
            ]
        );
        assert_eq!(three[0].0, std::thread::current().id());
        assert!(three[1].0 != three[0].0 && three[2].0 != three[0].0 && three[1].0 != three[2].0);
        // Below 256 lines a thread, fewer threads: 600 lines asked on 3 get 2.
        assert_eq!(
            ingest(3).shared(&lines[..600], |s| vec![s.len()]),
            [300, 300]
        );
    }
}
