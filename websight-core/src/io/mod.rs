//! The stream's inputs and outputs as traits, each with an embedded in-process default;
//! `websight-connectors` implements the same traits on real servers.
//!
//! | trait | embedded | on a server |
//! |---|---|---|
//! | [`EventSource`]: raw event bytes in, committed after the batch is acknowledged | [`MemorySource`], [`LineSource`] (files, pipes) | Kafka consumer group |
//! | [`EventSink`]: keyed messages out (checked events, dead letters) | [`MemoryTopic`], [`JsonLinesSink`] (files) | Kafka producer |
//! | [`SessionStore`]: closed visits upserted by id, read back for offline work | [`MemorySessionStore`], [`JsonLinesSessionStore`] (a file) | MongoDB |
//! | [`DocumentSink`]: the analytics' documents under deterministic ids | [`MemoryIndex`], [`JsonLinesIndex`] (files) | Elasticsearch / OpenSearch |
//! | [`GateState`](crate::gate::GateState): the gate's shared state | [`MemoryGateState`](crate::gate::MemoryGateState) | Redis |
//!
//! Every write is idempotent (documents and sessions have deterministic ids), so a replay
//! after a crash — at-least-once delivery — replaces instead of duplicating.
//! [`crate::flow::Flow`] wires them together.
//!
//! ```
//! use websight_core::analytics::Documents;
//! use websight_core::io::{block_on, DocumentSink, MemoryIndex};
//!
//! let mut index = MemoryIndex::default();
//! let report = block_on(index.write(&Documents::default())).unwrap();
//! assert_eq!(report.written, 0);
//! ```

mod documents;
mod events;
mod lines;
mod sessions;

pub use documents::{
    DEAD_LETTER_BYTES, DocumentSink, INDEX_NAMES, JsonLinesIndex, MemoryIndex, Refusal, WriteReport,
};
pub use events::{EventSink, EventSource, JsonLinesSink, MemorySource, MemoryTopic, Message};
pub use lines::LineSource;
pub use sessions::{JsonLinesSessionStore, MemorySessionStore, SessionStore, StoredSessions};

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Runs a future to completion on the current thread — enough for the embedded stores,
/// which never wait on I/O, without pulling in an async runtime. Use tokio for connectors.
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}
