//! Reading the raw log back as it grows.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use websight_core::io::{EventSource, at_path, sync_parent};

use super::{Closing, store_error};
use websight_core::io::segments::{self, path_of};

/// Reads a raw log as it grows, segment after segment: whole lines only, an empty batch after
/// a short wait when nothing new came (a live source for
/// [`Flow::live`](websight_core::flow::Flow::live)), the end once [`Closing::close`] was
/// called and everything is read. Its position is the log offset after the last line handed
/// out, so a checkpoint resumes exactly there.
///
/// **Retention.** The log holds what the SDKs sent, personal data included. When the source
/// is committed — with checkpoints, once one is saved — the segments wholly before its
/// position are removed: a restart resumes after them, and the only copy of that data kept
/// is the protected one written from it. [`RawLogSource::keep_processed`] keeps them instead.
pub struct RawLogSource {
    log: PathBuf,
    /// The segment being read, and its start in the log.
    file: Option<(File, u64)>,
    /// Bytes read but not yet handed out (whole lines and a partial tail).
    pending: Vec<u8>,
    /// Offset of `pending`'s first byte.
    offset: u64,
    /// Line ends in `pending`.
    newlines: usize,
    closing: Closing,
    poll: Duration,
    keep_processed: bool,
}

impl RawLogSource {
    /// A source over the log at `path` from its beginning, ending when `closing` says so.
    pub fn new(path: impl Into<PathBuf>, closing: Closing) -> RawLogSource {
        RawLogSource {
            log: path.into(),
            file: None,
            pending: Vec::new(),
            offset: 0,
            newlines: 0,
            closing,
            poll: Duration::from_millis(50),
            keep_processed: false,
        }
    }

    /// Whether segments stay on disk once processed (default `false`: they are removed when
    /// the source is committed past them).
    pub fn keep_processed(mut self, keep: bool) -> RawLogSource {
        self.keep_processed = keep;
        self
    }

    /// The log offset after the last line handed out.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Where the next byte read comes from in the log.
    fn read_at(&self) -> u64 {
        self.offset + self.pending.len() as u64
    }

    /// Opens the segment holding [`read_at`](Self::read_at); `false` when the log has no
    /// segment yet.
    fn open_segment(&mut self) -> std::io::Result<bool> {
        let at = self.read_at();
        let all = segments::list(&self.log)?;
        let Some(segment) = all.iter().rev().find(|s| s.start <= at) else {
            return match all.first() {
                None => Ok(false),
                Some(first) => Err(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!(
                        "the raw log {} starts at offset {}, after {at}: what came before was \
                         removed once a checkpoint covered it (resume from that checkpoint, or \
                         start afresh in a new directory)",
                        self.log.display(),
                        first.start
                    ),
                )),
            };
        };
        let mut file = File::open(&segment.path).map_err(at_path(&segment.path))?;
        file.seek(SeekFrom::Start(at - segment.start))?;
        self.file = Some((file, segment.start));
        Ok(true)
    }

    fn read_more(&mut self) -> std::io::Result<usize> {
        let mut chunk = vec![0u8; 1 << 20];
        loop {
            if self.file.is_none() && !self.open_segment()? {
                return Ok(0);
            }
            let (file, start) = self.file.as_mut().expect("opened above");
            let start = *start;
            let n = file.read(&mut chunk)?;
            if n > 0 {
                self.newlines += chunk[..n].iter().filter(|&&b| b == b'\n').count();
                self.pending.extend_from_slice(&chunk[..n]);
                return Ok(n);
            }
            // At the end of this segment. The writer starts the next one only after its last
            // write to this one: once it exists, this one is whole and read. (An empty
            // segment ends where it starts: it is its own name, not a next one.)
            let at = self.read_at();
            if at == start || !path_of(&self.log, at).exists() {
                return Ok(0);
            }
            self.file = None;
        }
    }

    /// Up to `max` whole lines from `pending`.
    fn take_lines(&mut self, max: usize) -> Vec<Vec<u8>> {
        let mut lines = Vec::new();
        let mut start = 0;
        while lines.len() < max {
            let Some(i) = self.pending[start..].iter().position(|&b| b == b'\n') else {
                break;
            };
            let line = &self.pending[start..start + i];
            self.newlines -= 1;
            if !line.is_empty() {
                lines.push(line.to_vec());
            }
            start += i + 1;
        }
        self.pending.drain(..start);
        self.offset += start as u64;
        lines
    }

    /// Removes the segments wholly before the position: those the next one starts at or
    /// before. The segment being written is never one of them. A segment that cannot be
    /// removed now is tried again at the next commit.
    fn remove_processed(&self) -> std::io::Result<()> {
        let all = segments::list(&self.log)?;
        let mut removed = None;
        for pair in all.windows(2) {
            if pair[1].start > self.offset {
                break;
            }
            match std::fs::remove_file(&pair[0].path) {
                Ok(()) => removed = Some(&pair[0].path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(path = %pair[0].path.display(), error = %e, "cannot remove a processed raw log segment; trying again at the next checkpoint");
                }
            }
        }
        if let Some(path) = removed {
            sync_parent(path)?;
        }
        Ok(())
    }
}

#[async_trait]
impl EventSource for RawLogSource {
    async fn next_batch(&mut self, max: usize) -> websight_core::Result<Option<Vec<Vec<u8>>>> {
        // Whether the log was closed before this read: then an empty read is the end.
        let closed = self.closing.is_closed();
        // Whole batches when the log is ahead (catching up after a burst or a restart), up
        // to `max` lines or 32 MiB read ahead.
        while self.newlines < max && self.pending.len() < 32 << 20 {
            if self.read_more()? == 0 {
                break;
            }
        }
        let lines = self.take_lines(max.max(1));
        if !lines.is_empty() {
            return Ok(Some(lines));
        }
        if closed {
            return Ok(None);
        }
        tokio::time::sleep(self.poll).await;
        Ok(Some(Vec::new()))
    }

    /// Everything handed out is processed (with checkpoints: a checkpoint at this position
    /// is saved), so the segments before it go, unless they are kept.
    async fn commit(&mut self) -> websight_core::Result<()> {
        if !self.keep_processed {
            self.remove_processed()?;
        }
        Ok(())
    }

    fn position(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "offset": self.offset }))
    }

    async fn resume(
        &mut self,
        _taken: u64,
        position: Option<&serde_json::Value>,
    ) -> websight_core::Result<()> {
        let offset = position
            .and_then(|p| p["offset"].as_u64())
            .ok_or_else(|| store_error("the checkpoint has no raw log offset"))?;
        self.offset = offset;
        self.pending.clear();
        self.newlines = 0;
        self.file = None;
        Ok(())
    }
}
