//! The embedded raw log: append-only segment files, each write fsynced before it returns.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use websight_core::io::{EventSink, Message, sync_parent};

use super::store_error;
use websight_core::io::segments::{self, path_of};

/// A segment is closed once it holds this much (64 MiB), unless
/// [`FileRawLog::segment_bytes`] says otherwise.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;

/// An append-only log of JSON lines in segment files (`raw.jsonl`, then
/// `raw.<offset>.jsonl`, each named by the log offset it starts at), each write flushed and
/// fsynced before it returns. A new segment is started once the last holds
/// [`FileRawLog::segment_bytes`], so that the ones a checkpoint covers can be removed
/// ([`RawLogSource`](super::RawLogSource) does when it is committed).
pub struct FileRawLog {
    log: PathBuf,
    /// The open segment: its file, where it starts in the log, and its length (what was
    /// written and synced).
    open: Option<Open>,
    segment_bytes: u64,
}

struct Open {
    file: File,
    start: u64,
    len: u64,
}

impl FileRawLog {
    /// Opens (or creates) the log at `path` and appends to its last segment. A last line
    /// without its newline — a write cut by a crash, never acknowledged — is cut off.
    pub fn open(path: impl AsRef<Path>) -> crate::Result<FileRawLog> {
        let log = path.as_ref().to_path_buf();
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let start = segments::list(&log)?.last().map_or(0, |s| s.start);
        let segment = path_of(&log, start);
        let mut file = append_to(&segment)?;
        let complete = complete_length(&mut file)?;
        if complete < file.metadata()?.len() {
            tracing::warn!(path = %segment.display(), "cutting an unfinished last line off the raw log");
            file.set_len(complete)?;
            file.sync_data()?;
        }
        Ok(FileRawLog {
            log,
            open: Some(Open {
                file,
                start,
                len: complete,
            }),
            segment_bytes: DEFAULT_SEGMENT_BYTES,
        })
    }

    /// Starts a new segment once the last one holds `bytes` or more (at least 1; default
    /// [`DEFAULT_SEGMENT_BYTES`]). A write is never split: a segment ends after a whole
    /// group commit.
    pub fn segment_bytes(mut self, bytes: u64) -> FileRawLog {
        self.segment_bytes = bytes.max(1);
        self
    }
}

fn append_to(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
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

impl Open {
    /// Appends `buf` durably. On failure nothing of it stays (the file is cut back), so the
    /// next append starts on a line of its own and the segment's length stays its name's
    /// arithmetic.
    fn append(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self
            .file
            .write_all(buf)
            .and_then(|()| self.file.sync_data())
        {
            Ok(()) => {
                self.len += buf.len() as u64;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(self.len);
                Err(e)
            }
        }
    }

    /// The segment after this one, started empty (and its name made durable).
    fn next(&self, log: &Path) -> std::io::Result<Open> {
        let start = self.start + self.len;
        let path = path_of(log, start);
        let file = append_to(&path)?;
        sync_parent(&path)?;
        Ok(Open {
            file,
            start,
            len: 0,
        })
    }
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
        let (log, segment_bytes) = (self.log.clone(), self.segment_bytes);
        // Blocking writes and fsync off the async workers.
        let (open, result) = tokio::task::spawn_blocking(move || {
            if open.len >= segment_bytes {
                match open.next(&log) {
                    Ok(next) => open = next,
                    Err(e) => return (open, Err(e)),
                }
            }
            let result = open.append(&buf);
            (open, result)
        })
        .await
        .map_err(|e| store_error(&e.to_string()))?;
        self.open = Some(open);
        result.map_err(|e| store_error(&e.to_string()))
    }
}
