//! The embedded raw log: append-only segment files, each write fsynced before it returns.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use async_trait::async_trait;
use websight_core::io::segments::SegmentWriter;
use websight_core::io::{EventSink, Message};

use super::store_error;
pub use websight_core::io::segments::DEFAULT_SEGMENT_BYTES;

/// An append-only log of JSON lines in segment files (`raw.jsonl`, then
/// `raw.<offset>.jsonl`, each named by the log offset it starts at), each write flushed and
/// fsynced before it returns. A new segment is started once the last holds
/// [`FileRawLog::segment_bytes`], so that the ones a checkpoint covers can be removed
/// ([`RawLogSource`](super::RawLogSource) does when it is committed).
pub struct FileRawLog {
    /// The open segment (`None` once a blocking write could not hand it back).
    open: Option<SegmentWriter>,
}

impl FileRawLog {
    /// Opens (or creates) the log at `path` and appends to its last segment. A last line
    /// without its newline — a write cut by a crash, never acknowledged — is cut off.
    pub fn open(path: impl AsRef<Path>) -> crate::Result<FileRawLog> {
        let log = path.as_ref();
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir).map_err(websight_core::io::at_path(dir))?;
        }
        let mut open = SegmentWriter::append(log)?;
        let complete = open.start() + complete_length(open.file())?;
        if complete < open.end() {
            tracing::warn!(path = %log.display(), "cutting an unfinished last line off the raw log");
            open.cut_to(complete)?;
            open.file().sync_data()?;
        }
        open.set_segment_bytes(DEFAULT_SEGMENT_BYTES);
        Ok(FileRawLog { open: Some(open) })
    }

    /// Starts a new segment once the last one holds `bytes` or more (at least 1; default
    /// [`DEFAULT_SEGMENT_BYTES`]). A write is never split: a segment ends after a whole
    /// group commit.
    pub fn segment_bytes(mut self, bytes: u64) -> FileRawLog {
        if let Some(open) = &mut self.open {
            open.set_segment_bytes(bytes);
        }
        self
    }
}

/// Length of the file up to and including its last newline.
fn complete_length(file: &mut File) -> std::io::Result<u64> {
    let len = file.metadata()?.len();
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let n = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk[..n])?;
        if let Some(i) = chunk[..n].iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// Appends `buf` durably, after starting a new segment if the last is full. On failure
/// nothing of it stays (the segment is cut back), so the next append starts on a line of its
/// own and the segment's length stays its successor's name's arithmetic.
fn append(open: &mut SegmentWriter, buf: &[u8]) -> std::io::Result<()> {
    open.roll()?;
    let before = open.end();
    let written = open.write_all(buf).and_then(|()| open.file().sync_data());
    if written.is_err() {
        let _ = open.cut_to(before);
    }
    written
}

#[async_trait]
impl EventSink for FileRawLog {
    async fn send(&mut self, messages: &[Message]) -> websight_core::Result<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(messages.iter().map(|m| m.payload.len() + 1).sum());
        for m in messages {
            buf.extend_from_slice(&m.payload);
            buf.push(b'\n');
        }
        let mut open = self
            .open
            .take()
            .ok_or_else(|| store_error("the raw log failed before"))?;
        // Blocking writes and fsync off the async workers.
        let (open, result) = tokio::task::spawn_blocking(move || {
            let result = append(&mut open, &buf);
            (open, result)
        })
        .await
        .map_err(|e| store_error(&e.to_string()))?;
        self.open = Some(open);
        result.map_err(|e| store_error(&e.to_string()))
    }
}
