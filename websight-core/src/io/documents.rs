//! Documents of the stream analytics and where they go.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::document_json::{write_product_detail, write_session_summary};
use crate::Result;
use crate::analytics::{Documents, KpiWindow, ProductDetail, ProductSentiment, SessionSummary};
use crate::json_write::value_to;

/// What a write acknowledged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Items the store acknowledged (created or replaced).
    pub written: usize,
    /// Of those, items that replaced one with the same id.
    pub replaced: usize,
    /// Items the store refused for good (it would refuse them on every retry): not written,
    /// and not counted in `written`. The flow turns each into a dead letter.
    pub refused: Vec<Refusal>,
}

/// One item a store refused for good — a mapping conflict, a document over the server's
/// size limit — with the store's reason, so one bad item cannot stall a stream forever.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refusal {
    /// Where it was going: an index or collection name.
    pub store: String,
    /// The item's id.
    pub id: String,
    /// The store's reason, clipped to 200 characters.
    pub reason: String,
    /// The item as JSON, cut to [`DEAD_LETTER_BYTES`].
    pub payload: Vec<u8>,
}

/// Most bytes of an input or a refused item kept in its dead letter: the whole may be what
/// was too large, and a dead-letter topic has a message size limit of its own (Kafka: 1 MB).
pub const DEAD_LETTER_BYTES: usize = 64 * 1024;

impl Refusal {
    /// A refusal of `item`, serialised to JSON.
    pub fn of<T: serde::Serialize>(store: &str, id: &str, reason: &str, item: &T) -> Refusal {
        Refusal::new(
            store,
            id,
            reason,
            serde_json::to_vec(item).unwrap_or_default(),
        )
    }

    /// A refusal of the item's bytes (cut to [`DEAD_LETTER_BYTES`]).
    pub fn new(store: &str, id: &str, reason: &str, mut payload: Vec<u8>) -> Refusal {
        payload.truncate(DEAD_LETTER_BYTES);
        Refusal {
            store: store.to_owned(),
            id: crate::event::clip(id),
            reason: crate::event::clip(reason),
            payload,
        }
    }
}

/// A store for the stream analytics' documents (`session_summary`, `product_details`,
/// `product_sentiment`, KPI windows). Late events are not documents and are not written.
#[async_trait]
pub trait DocumentSink: Send {
    /// Writes every document of `docs` idempotently; returns only when each is acknowledged
    /// or refused for good ([`WriteReport::refused`]); an error otherwise (the batch is then
    /// retried): nothing is silently dropped.
    async fn write(&mut self, docs: &Documents) -> Result<WriteReport>;
}

/// The embedded store: documents by index and id, in memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryIndex {
    /// `session_summary` by id.
    pub sessions: BTreeMap<String, SessionSummary>,
    /// `product_details` by id.
    pub products: BTreeMap<String, ProductDetail>,
    /// `product_sentiment` by id.
    pub sentiments: BTreeMap<String, ProductSentiment>,
    /// KPI windows by id.
    pub windows: BTreeMap<String, KpiWindow>,
}

impl MemoryIndex {
    /// Documents held, over all indexes.
    pub fn len(&self) -> usize {
        self.sessions.len() + self.products.len() + self.sentiments.len() + self.windows.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes each index as JSON lines, `<dir>/<index>.jsonl`, documents in id order.
    pub fn write_files(&self, dir: &std::path::Path) -> Result<()> {
        fn dump<'a, T: 'a>(
            dir: &std::path::Path,
            name: &str,
            docs: impl IntoIterator<Item = &'a T>,
            write: impl Fn(&mut Vec<u8>, &T) -> std::io::Result<()>,
        ) -> Result<()> {
            let mut out = super::output_file(&dir.join(format!("{name}.jsonl")), false)?;
            super::write_lines(&mut out, &mut Vec::new(), docs, write)?;
            std::io::Write::flush(&mut out)?;
            Ok(())
        }
        std::fs::create_dir_all(dir).map_err(super::at_path(dir))?;
        dump(
            dir,
            INDEX_NAMES[0],
            self.sessions.values(),
            write_session_summary,
        )?;
        dump(
            dir,
            INDEX_NAMES[1],
            self.products.values(),
            write_product_detail,
        )?;
        dump(dir, INDEX_NAMES[2], self.sentiments.values(), value_to)?;
        dump(dir, INDEX_NAMES[3], self.windows.values(), value_to)
    }
}

fn upsert<T: Clone>(
    map: &mut BTreeMap<String, T>,
    docs: &[T],
    id: impl Fn(&T) -> String,
    report: &mut WriteReport,
) {
    for d in docs {
        report.written += 1;
        if map.insert(id(d), d.clone()).is_some() {
            report.replaced += 1;
        }
    }
}

#[async_trait]
impl DocumentSink for MemoryIndex {
    async fn write(&mut self, docs: &Documents) -> Result<WriteReport> {
        let mut report = WriteReport::default();
        upsert(
            &mut self.sessions,
            &docs.sessions,
            SessionSummary::document_id,
            &mut report,
        );
        upsert(
            &mut self.products,
            &docs.products,
            ProductDetail::document_id,
            &mut report,
        );
        upsert(
            &mut self.sentiments,
            &docs.sentiments,
            ProductSentiment::document_id,
            &mut report,
        );
        upsert(
            &mut self.windows,
            &docs.windows,
            KpiWindow::document_id,
            &mut report,
        );
        Ok(report)
    }
}

/// The embedded store on disk: each index appended to `<dir>/<index>.jsonl` as documents
/// arrive (the file names of [`MemoryIndex::write_files`]), flushed after every write, so
/// memory stays flat however long the stream. Append-only: a replayed document is written
/// again, and a reader keeps the last line per id.
pub struct JsonLinesIndex {
    files: [std::io::BufWriter<super::segments::SegmentWriter>; 4],
    written: IndexCounts,
    /// Lines on their way to a file, reused.
    line: Vec<u8>,
}

/// Lines written per index of a [`JsonLinesIndex`], read through a handle
/// ([`JsonLinesIndex::counts`]).
#[derive(Debug, Clone, Default)]
pub struct IndexCounts(std::sync::Arc<[AtomicU64; 4]>);

impl IndexCounts {
    /// Lines per index, in the order of [`INDEX_NAMES`].
    pub fn get(&self) -> [u64; 4] {
        self.0.each_ref().map(|n| n.load(Ordering::Relaxed))
    }
}

/// The index names, in the order of [`JsonLinesIndex::written`].
pub const INDEX_NAMES: [&str; 4] = [
    "session_summary",
    "product_details",
    "product_sentiment",
    "kpi_windows",
];

impl JsonLinesIndex {
    /// Creates (truncates) the four files in `dir`, creating `dir` if needed.
    pub fn create(dir: &std::path::Path) -> Result<JsonLinesIndex> {
        std::fs::create_dir_all(dir).map_err(super::at_path(dir))?;
        JsonLinesIndex::open(dir, false, [0; 4])
    }

    /// Opens the four files in `dir` (their last segments) to append to what they hold
    /// (e.g. after a restart), counting the lines already there.
    pub fn append(dir: &std::path::Path) -> Result<JsonLinesIndex> {
        let mut written = [0; 4];
        for (n, name) in written.iter_mut().zip(INDEX_NAMES) {
            *n = super::segments::count_lines(&dir.join(format!("{name}.jsonl")))?;
        }
        JsonLinesIndex::append_counted(dir, written)
    }

    /// Opens the four files in `dir` to append to what they hold, which is `written` lines
    /// per index (e.g. what [`counts`](Self::counts) said when a checkpoint was taken):
    /// nothing is read, so a restart takes no longer after months of documents, and lines in
    /// segments archived away are still counted.
    pub fn append_counted(dir: &std::path::Path, written: [u64; 4]) -> Result<JsonLinesIndex> {
        JsonLinesIndex::open(dir, true, written)
    }

    fn open(dir: &std::path::Path, append: bool, written: [u64; 4]) -> Result<JsonLinesIndex> {
        let open = |name: &str| super::output_file(&dir.join(format!("{name}.jsonl")), append);
        Ok(JsonLinesIndex {
            files: [
                open(INDEX_NAMES[0])?,
                open(INDEX_NAMES[1])?,
                open(INDEX_NAMES[2])?,
                open(INDEX_NAMES[3])?,
            ],
            written: IndexCounts(std::sync::Arc::new(written.map(AtomicU64::new))),
            line: Vec::new(),
        })
    }

    /// Writes each index in [`segments`](super::segments) of about `bytes` (a new one
    /// started once the last holds `bytes`, after a whole write); older ones can be
    /// archived while the index runs.
    pub fn segment_bytes(mut self, bytes: u64) -> JsonLinesIndex {
        for file in &mut self.files {
            file.get_mut().set_segment_bytes(bytes);
        }
        self
    }

    /// Lines written per index, in the order of [`INDEX_NAMES`].
    pub fn written(&self) -> [u64; 4] {
        self.written.get()
    }

    /// A handle that reads [`written`](Self::written) while the index is being written
    /// elsewhere (what a checkpoint records).
    pub fn counts(&self) -> IndexCounts {
        self.written.clone()
    }

    /// Appends `docs` to the index, each written by `write` (no newline).
    fn append_docs<T>(
        &mut self,
        index: usize,
        docs: &[T],
        write: impl Fn(&mut Vec<u8>, &T) -> std::io::Result<()>,
    ) -> Result<usize> {
        super::write_lines(&mut self.files[index], &mut self.line, docs, write)?;
        std::io::Write::flush(&mut self.files[index])?;
        self.written.0[index].fetch_add(docs.len() as u64, Ordering::Relaxed);
        Ok(docs.len())
    }
}

#[async_trait]
impl DocumentSink for JsonLinesIndex {
    async fn write(&mut self, docs: &Documents) -> Result<WriteReport> {
        let written = self.append_docs(0, &docs.sessions, write_session_summary)?
            + self.append_docs(1, &docs.products, write_product_detail)?
            + self.append_docs(2, &docs.sentiments, value_to)?
            + self.append_docs(3, &docs.windows, value_to)?;
        Ok(WriteReport {
            written,
            ..WriteReport::default()
        })
    }
}
