//! The raw log: every accepted request, durable before it is acknowledged, and read back by
//! the flow as it grows.
//!
//! [`RawLog`] is a queue in front of any [`EventSink`] — the embedded [`FileRawLog`]
//! (append-only segment files, fsynced; [`RawLogSource`] reads them back and removes those a
//! checkpoint covers) or a Kafka producer with `acks=all`. One writer task takes what
//! is waiting, writes it in one call (group commit: one fsync for many requests) and only
//! then answers each request. A full queue is refused at once (the collector answers
//! `503`), so memory stays bounded when the disk cannot keep up.

mod file;
mod source;

use tokio::sync::{mpsc, oneshot};
use websight_core::io::{EventSink, Message};

pub use self::file::{DEFAULT_SEGMENT_BYTES, FileRawLog};
pub use self::source::RawLogSource;
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

fn store_error(reason: &str) -> websight_core::CoreError {
    websight_core::CoreError::Store(Box::new(crate::ConnectorError::Protocol {
        reason: format!("raw log: {reason}"),
    }))
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::Duration;

    use websight_core::io::EventSource;

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

    fn line(n: usize) -> Vec<u8> {
        format!("{{\"n\":{n}}}").into_bytes()
    }

    /// Raw log files in `dir`, by name, with their lengths.
    fn files(dir: &std::path::Path) -> Vec<(String, u64)> {
        let mut all: Vec<(String, u64)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| {
                let len = e.metadata().unwrap().len();
                (e.file_name().to_string_lossy().into_owned(), len)
            })
            .collect();
        all.sort();
        all
    }

    #[tokio::test]
    async fn segments_roll_are_read_in_order_and_go_once_committed() {
        let dir = websight_testkit::scratch_dir("rawlog-segments");
        let path = dir.join("raw.jsonl");
        // Lines of 8 bytes: a segment closes after its third append.
        let (log, task) = RawLog::spawn(
            Box::new(FileRawLog::open(&path).unwrap().segment_bytes(20)),
            8,
        );
        // An empty log: live, nothing to read (and no spinning on the empty first segment).
        let closing = Closing::default();
        let mut source = RawLogSource::new(&path, closing.clone());
        assert_eq!(source.next_batch(100).await.unwrap(), Some(vec![]));
        for n in 0..6 {
            log.append(vec![line(n)]).await.unwrap();
        }
        let second = "raw.00000000000000000024.jsonl";
        assert_eq!(
            files(&dir),
            [(second.to_owned(), 24), ("raw.jsonl".to_owned(), 24)]
        );
        let read = source.next_batch(100).await.unwrap().unwrap();
        assert_eq!(read, (0..6).map(line).collect::<Vec<_>>());
        assert_eq!(source.offset(), 48);
        // Live: nothing new, then a line in a third segment, read across the roll.
        assert_eq!(source.next_batch(100).await.unwrap(), Some(vec![]));
        log.append(vec![line(6)]).await.unwrap();
        assert_eq!(source.next_batch(100).await.unwrap(), Some(vec![line(6)]));
        // Kept when asked to; else the segments wholly before the position go, never the
        // one being written.
        let mut keeping = RawLogSource::new(&path, closing.clone()).keep_processed(true);
        keeping.resume(0, source.position().as_ref()).await.unwrap();
        keeping.commit().await.unwrap();
        assert_eq!(files(&dir).len(), 3);
        source.commit().await.unwrap();
        assert_eq!(
            files(&dir),
            [("raw.00000000000000000048.jsonl".to_owned(), 8)]
        );
        // Resuming inside what was removed is a clear error; at what is kept, it reads on.
        let mut late = RawLogSource::new(&path, closing.clone());
        late.resume(3, Some(&serde_json::json!({ "offset": 24 })))
            .await
            .unwrap();
        let err = late.next_batch(10).await.unwrap_err().to_string();
        assert!(
            err.contains("starts at offset 48") && err.contains("removed"),
            "{err}"
        );
        let mut again = RawLogSource::new(&path, closing.clone());
        again
            .resume(6, Some(&serde_json::json!({ "offset": 48 })))
            .await
            .unwrap();
        assert_eq!(again.next_batch(10).await.unwrap(), Some(vec![line(6)]));
        // Opened again, the log appends to its last segment (cut back to its last whole
        // line) and rolls from there.
        drop(log);
        task.await.unwrap();
        let last = dir.join("raw.00000000000000000048.jsonl");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&last)
            .unwrap()
            .write_all(b"{\"cut")
            .unwrap();
        let (log, task) = RawLog::spawn(
            Box::new(FileRawLog::open(&path).unwrap().segment_bytes(16)),
            8,
        );
        for n in 7..9 {
            log.append(vec![line(n)]).await.unwrap();
        }
        assert_eq!(
            files(&dir),
            [
                ("raw.00000000000000000048.jsonl".to_owned(), 16),
                ("raw.00000000000000000064.jsonl".to_owned(), 8),
            ]
        );
        let read = again.next_batch(10).await.unwrap().unwrap();
        assert_eq!(read, [line(7), line(8)]);
        drop(log);
        task.await.unwrap();
        closing.close();
        assert_eq!(again.next_batch(10).await.unwrap(), None);
        assert_eq!(again.offset(), 72);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
