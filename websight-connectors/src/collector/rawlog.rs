//! The raw log: every accepted request, durable before it is acknowledged, and read back by
//! the flow as it grows.
//!
//! [`RawLog`] is a queue in front of any [`EventSink`] — the embedded [`FileRawLog`] (an
//! append-only file, fsynced) or a Kafka producer with `acks=all`. One writer task takes what
//! is waiting, writes it in one call (group commit: one fsync for many requests) and only
//! then answers each request. A full queue is refused at once (the collector answers
//! `503`), so memory stays bounded when the disk cannot keep up.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};
use websight_core::io::{EventSink, EventSource, Message};

pub use crate::topology::Closing;

/// Requests written per call at most (bounds one group commit).
const GROUP: usize = 512;

struct Append {
    lines: Vec<Vec<u8>>,
    done: oneshot::Sender<Result<(), String>>,
}

/// Why an append was not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendError {
    /// The queue is full: the log cannot keep up (answer `503` with `Retry-After`).
    Busy,
    /// The log is closed (shutting down).
    Closed,
    /// The sink failed; nothing of this append is acknowledged.
    Failed(String),
}

/// The writer side: a bounded queue in front of one sink. Cheap to clone.
#[derive(Clone)]
pub struct RawLog {
    tx: mpsc::Sender<Append>,
}

impl RawLog {
    /// Starts the writer task on the current tokio runtime; at most `queue` appends wait.
    /// The task ends (after writing what is queued) when every `RawLog` clone is dropped.
    pub fn spawn(
        mut sink: Box<dyn EventSink>,
        queue: usize,
    ) -> (RawLog, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<Append>(queue.max(1));
        let task = tokio::spawn(async move {
            let mut waiting = Vec::new();
            while let Some(first) = rx.recv().await {
                waiting.push(first);
                while waiting.len() < GROUP {
                    match rx.try_recv() {
                        Ok(next) => waiting.push(next),
                        Err(_) => break,
                    }
                }
                let messages: Vec<Message> = waiting
                    .iter()
                    .flat_map(|a| a.lines.iter())
                    .map(|line| Message {
                        payload: line.clone(),
                        ..Message::default()
                    })
                    .collect();
                let result = sink.send(&messages).await.map_err(|e| e.to_string());
                if let Err(e) = &result {
                    tracing::error!(error = %e, "raw log write failed; requests answered 503");
                }
                for a in waiting.drain(..) {
                    let _ = a.done.send(result.clone());
                }
            }
        });
        (RawLog { tx }, task)
    }

    /// Appends `lines` and returns once they are durable.
    pub async fn append(&self, lines: Vec<Vec<u8>>) -> Result<(), AppendError> {
        let (done, ack) = oneshot::channel();
        self.tx
            .try_send(Append { lines, done })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => AppendError::Busy,
                mpsc::error::TrySendError::Closed(_) => AppendError::Closed,
            })?;
        match ack.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(AppendError::Failed(e)),
            Err(_) => Err(AppendError::Closed),
        }
    }
}

/// An append-only file of JSON lines, each write flushed and fsynced before it returns.
pub struct FileRawLog {
    file: Option<std::fs::File>,
}

impl FileRawLog {
    /// Opens (or creates) the log at `path`. A last line without its newline — a write cut
    /// by a crash, never acknowledged — is cut off.
    pub fn open(path: impl AsRef<Path>) -> crate::Result<FileRawLog> {
        let path = path.as_ref();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        let complete = complete_length(&mut file)?;
        if complete < file.metadata()?.len() {
            tracing::warn!(path = %path.display(), "cutting an unfinished last line off the raw log");
            file.set_len(complete)?;
            file.sync_data()?;
        }
        Ok(FileRawLog { file: Some(file) })
    }
}

/// Length of the file up to and including its last newline.
fn complete_length(file: &mut std::fs::File) -> std::io::Result<u64> {
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
        let mut file = self
            .file
            .take()
            .ok_or_else(|| store_error("the raw log failed before"))?;
        // Blocking writes and fsync off the async workers.
        let (file, result) = tokio::task::spawn_blocking(move || {
            let result = file.write_all(&buf).and_then(|()| file.sync_data());
            (file, result)
        })
        .await
        .map_err(|e| store_error(&e.to_string()))?;
        self.file = Some(file);
        result.map_err(|e| store_error(&e.to_string()))
    }
}

fn store_error(reason: &str) -> websight_core::CoreError {
    websight_core::CoreError::Store(Box::new(crate::ConnectorError::Protocol {
        reason: format!("raw log: {reason}"),
    }))
}

/// Reads a raw log as it grows: whole lines only, an empty batch after a short wait when
/// nothing new came (a live source for [`Flow::live`](websight_core::flow::Flow::live)),
/// the end once [`Closing::close`] was called and everything is read. Its position is the
/// byte offset after the last line handed out, so a checkpoint resumes exactly there.
pub struct RawLogSource {
    path: PathBuf,
    file: Option<std::fs::File>,
    /// Bytes read but not yet handed out (whole lines and a partial tail).
    pending: Vec<u8>,
    /// Offset of `pending`'s first byte.
    offset: u64,
    /// Line ends in `pending`.
    newlines: usize,
    closing: Closing,
    poll: Duration,
}

impl RawLogSource {
    /// A source over the log at `path` from its beginning, ending when `closing` says so.
    pub fn new(path: impl Into<PathBuf>, closing: Closing) -> RawLogSource {
        RawLogSource {
            path: path.into(),
            file: None,
            pending: Vec::new(),
            offset: 0,
            newlines: 0,
            closing,
            poll: Duration::from_millis(50),
        }
    }

    /// The byte offset after the last line handed out.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn read_more(&mut self) -> std::io::Result<usize> {
        if self.file.is_none() {
            match std::fs::File::open(&self.path) {
                Ok(mut f) => {
                    f.seek(SeekFrom::Start(self.offset + self.pending.len() as u64))?;
                    self.file = Some(f);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
                Err(e) => return Err(e),
            }
        }
        let file = self.file.as_mut().expect("opened above");
        let mut chunk = vec![0u8; 1 << 20];
        let n = file.read(&mut chunk)?;
        self.newlines += chunk[..n].iter().filter(|&&b| b == b'\n').count();
        self.pending.extend_from_slice(&chunk[..n]);
        Ok(n)
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

    async fn commit(&mut self) -> websight_core::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn appends_are_durable_and_read_back_whole_and_resumable() {
        let dir = std::env::temp_dir().join(format!("websight-rawlog-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("raw.jsonl");
        // A crash left half a line: it is cut off on opening.
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&path, b"{\"a\":1}\n{\"b\":").unwrap();
        let (log, task) = RawLog::spawn(Box::new(FileRawLog::open(&path).unwrap()), 8);
        log.append(vec![b"{\"c\":2}".to_vec(), b"{\"d\":3}".to_vec()])
            .await
            .unwrap();
        let closing = Closing::default();
        let mut source = RawLogSource::new(&path, closing.clone());
        let first = source.next_batch(2).await.unwrap().unwrap();
        assert_eq!(first, vec![b"{\"a\":1}".to_vec(), b"{\"c\":2}".to_vec()]);
        let at = source.position();
        assert_eq!(source.next_batch(10).await.unwrap().unwrap().len(), 1);
        assert_eq!(
            source.next_batch(10).await.unwrap(),
            Some(vec![]),
            "live: nothing new"
        );
        drop(log);
        task.await.unwrap();
        closing.close();
        assert_eq!(source.next_batch(10).await.unwrap(), None);
        let mut again = RawLogSource::new(&path, closing);
        again.resume(2, at.as_ref()).await.unwrap();
        assert_eq!(
            again.next_batch(10).await.unwrap().unwrap(),
            vec![b"{\"d\":3}".to_vec()]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_full_queue_is_busy_not_unbounded() {
        let (log, _task) = RawLog::spawn(Box::new(websight_testkit::Stuck), 2);
        let mut waiting = Vec::new();
        for _ in 0..3 {
            let log = log.clone();
            waiting.push(tokio::spawn(async move {
                log.append(vec![b"x".to_vec()]).await
            }));
            tokio::task::yield_now().await;
        }
        // One is being written, two wait: the next is refused at once.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            log.append(vec![b"y".to_vec()]).await,
            Err(AppendError::Busy)
        );
    }
}
