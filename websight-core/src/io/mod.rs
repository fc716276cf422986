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

mod document_json;
mod documents;
mod events;
mod json_text;
mod lines;
pub mod segments;
mod sessions;
mod visit_json;

pub use documents::{
    DEAD_LETTER_BYTES, DocumentSink, INDEX_NAMES, IndexCounts, JsonLinesIndex, MemoryIndex,
    Refusal, WriteReport,
};
pub use events::{
    EventSink, EventSource, JsonLinesSink, MemorySource, MemoryTopic, Message, WrapsSource,
};
pub(crate) use json_text::is_line as is_json_line;
pub use lines::LineSource;
pub use sessions::{JsonLinesSessionStore, MemorySessionStore, SessionStore, StoredSessions};

/// Bytes an output file buffers between writes: 256 KiB. With `BufWriter`'s 8 KiB default a
/// run wrote its outputs in ~100,000 small writes, and the kernel zeroed the part of each new
/// page cache page a write did not cover — a fifth of the `pipeline`'s stream stage.
pub const OUTPUT_BUFFER_BYTES: usize = 256 * 1024;

/// An output file, buffered by [`OUTPUT_BUFFER_BYTES`]: a log in [`segments`], created
/// afresh (any segments it had removed), or opened to append to what it holds (e.g. after a
/// restart). One file however long unless given a segment size
/// ([`SegmentWriter::set_segment_bytes`](segments::SegmentWriter::set_segment_bytes), through
/// `get_mut`). Every embedded file sink writes through one.
pub fn output_file(
    path: &std::path::Path,
    append: bool,
) -> std::io::Result<std::io::BufWriter<segments::SegmentWriter>> {
    let log = if append {
        segments::SegmentWriter::append(path)?
    } else {
        segments::SegmentWriter::create(path)?
    };
    Ok(std::io::BufWriter::with_capacity(OUTPUT_BUFFER_BYTES, log))
}

/// An I/O error about `path` that names it, its kind kept (a caller still tells `NotFound`
/// apart): `out/checked.jsonl: Permission denied (os error 13)`, not the bare OS message.
///
/// ```
/// let e = std::fs::File::open("/no/such/file")
///     .map_err(websight_core::io::at_path("/no/such/file".as_ref()))
///     .unwrap_err();
/// assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
/// assert!(e.to_string().starts_with("/no/such/file: "));
/// ```
pub fn at_path(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> std::io::Error + '_ {
    move |e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Makes the creation, renaming or removal of `path` in its directory durable: fsyncs the
/// directory, as a file's own fsync does not (after a power loss a renamed checkpoint could
/// otherwise be the old one again, or a new raw log segment missing). A no-op where a
/// directory cannot be opened as a file (Windows).
pub fn sync_parent(path: &std::path::Path) -> std::io::Result<()> {
    if cfg!(unix) {
        let dir = dir_of(path);
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(at_path(dir))?;
    }
    Ok(())
}

/// The directory `path` is in (`.` for a bare file name).
fn dir_of(path: &std::path::Path) -> &std::path::Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    }
}

/// Writes one line per item to `out`, each written by `write` straight into `buf` and `buf`
/// handed to `out` whenever it holds [`OUTPUT_BUFFER_BYTES`] (and at the end): a line is
/// copied once, not into a line buffer and then again into the writer's. An item `write`
/// fails on is not written (the lines before it are), and its error returned — unless
/// writing those lines fails first, whose error is then the one returned.
pub(crate) fn write_lines<T, E: From<std::io::Error>>(
    out: &mut impl std::io::Write,
    buf: &mut Vec<u8>,
    items: impl IntoIterator<Item = T>,
    mut write: impl FnMut(&mut Vec<u8>, T) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    buf.clear();
    for item in items {
        let start = buf.len();
        if let Err(e) = write(buf, item) {
            buf.truncate(start);
            out.write_all(buf)?;
            buf.clear();
            return Err(e);
        }
        buf.push(b'\n');
        if buf.len() >= OUTPUT_BUFFER_BYTES {
            out.write_all(buf)?;
            buf.clear();
        }
    }
    out.write_all(buf)?;
    buf.clear();
    Ok(())
}

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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::Value;

    /// A writer that keeps the size of every write.
    #[derive(Default)]
    struct Chunks {
        text: Vec<u8>,
        sizes: Vec<usize>,
    }

    impl std::io::Write for Chunks {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.text.extend_from_slice(bytes);
            self.sizes.push(bytes.len());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_go_out_whole_in_large_chunks_and_up_to_a_failure() {
        // About 500 KB of lines: the buffer is handed over more than once.
        let line = |i: usize| format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(i % 997));
        let items: Vec<usize> = (0..1_000).collect();
        let mut out = Chunks::default();
        let mut buf = Vec::new();
        super::write_lines(&mut out, &mut buf, &items, |b, i| {
            b.extend_from_slice(line(*i).as_bytes());
            Ok::<(), std::io::Error>(())
        })
        .unwrap();
        let want: String = items.iter().map(|i| line(*i) + "\n").collect();
        assert_eq!(String::from_utf8(out.text).unwrap(), want);
        let (last, before) = out.sizes.split_last().unwrap();
        assert!(!before.is_empty() && *last > 0);
        assert!(before.iter().all(|s| *s >= super::OUTPUT_BUFFER_BYTES));
        assert!(buf.is_empty());
        // The item that fails is not written, not even in part; the lines before it are.
        let mut out = Chunks::default();
        let failed = super::write_lines(&mut out, &mut buf, &items, |b, i| {
            b.extend_from_slice(line(*i).as_bytes());
            if *i == 900 {
                return Err(std::io::Error::other("cannot"));
            }
            Ok(())
        });
        assert_eq!(failed.unwrap_err().to_string(), "cannot");
        let want: String = items[..900].iter().map(|i| line(*i) + "\n").collect();
        assert_eq!(String::from_utf8(out.text).unwrap(), want);
        assert!(buf.is_empty());
    }

    /// A value as the JSON-lines stores write one they have no writer of their own for
    /// (sonic-rs: the same text as `serde_json`, strings escaped by SIMD); `write_lines`
    /// adds the newline.
    fn text_of(value: &impl serde::Serialize) -> Vec<u8> {
        let mut text = Vec::new();
        crate::json_write::value_to(&mut text, value).unwrap();
        text
    }

    fn text() -> impl Strategy<Value = String> {
        // Control characters, quotes, backslashes, the line separators JSON leaves alone,
        // and any other character.
        prop::collection::vec(
            prop_oneof![
                (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap_or(' ')),
                prop::sample::select(vec!['"', '\\', '/', '\u{7f}', '\u{2028}', '\u{fffd}']),
                any::<char>(),
                prop::char::range('a', 'z'),
            ],
            0..40,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            // Every bit pattern: subnormals, huge exponents, non-finite (null in both).
            any::<u64>().prop_map(|bits| Value::from(f64::from_bits(bits))),
            text().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec((text(), inner), 0..8)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn json_lines_are_serde_json_text(value in value()) {
            let want = serde_json::to_vec(&value).unwrap();
            let text = text_of(&value);
            prop_assert_eq!(String::from_utf8_lossy(&text), String::from_utf8_lossy(&want));
        }
    }

    #[test]
    fn visits_and_documents_are_serde_json_text() {
        use crate::analytics::{AnalyticsConfig, ProductCatalogue, StreamAnalytics};
        use crate::synth::{Generator, SynthConfig};
        let generator = Generator::new(SynthConfig {
            sessions: 300,
            ..SynthConfig::default()
        })
        .unwrap();
        let mut analytics =
            StreamAnalytics::new(AnalyticsConfig::default(), ProductCatalogue::default()).unwrap();
        for e in generator.events() {
            analytics.ingest(e.event);
        }
        analytics.flush();
        let docs = analytics.drain();
        // Visits, summaries and product details are written field by field, the rest
        // through serde.
        for visit in &docs.visits {
            let mut line = Vec::new();
            super::visit_json::write_visit(&mut line, visit).unwrap();
            assert_eq!(line, serde_json::to_vec(visit).unwrap());
        }
        assert!(!docs.visits.is_empty() && !docs.products.is_empty());
        for doc in &docs.sessions {
            let mut line = Vec::new();
            super::document_json::write_session_summary(&mut line, doc).unwrap();
            assert_eq!(line, serde_json::to_vec(doc).unwrap());
        }
        for doc in &docs.products {
            let mut line = Vec::new();
            super::document_json::write_product_detail(&mut line, doc).unwrap();
            assert_eq!(line, serde_json::to_vec(doc).unwrap());
        }
        // The documents still written through serde: KPI windows and sentiments.
        assert!(!docs.windows.is_empty());
        for doc in &docs.windows {
            assert_eq!(text_of(doc), serde_json::to_vec(doc).unwrap());
        }
        for doc in &docs.sentiments {
            assert_eq!(text_of(doc), serde_json::to_vec(doc).unwrap());
        }
    }
}
