//! A source made on a thread of its own, a few batches ahead of the flow.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use async_trait::async_trait;

use super::{EventSource, block_on};
use crate::{CoreError, Result};

/// Hands one batch to the [`ThreadedSource`]'s reader; `false` once the source is dropped
/// (the producer should stop).
pub type SendBatch<'a> = dyn FnMut(Vec<Vec<u8>>) -> bool + 'a;

/// What the producing thread sends: a batch, the end (`None`), or why it stopped.
type Item = Result<Option<Vec<Vec<u8>>>>;

/// Batches waiting beside the one being handed out.
const AHEAD: usize = 2;

/// The producer, until the first batch is asked for: told then how many inputs a resumed
/// flow has already taken.
type Start = Box<dyn FnOnce(u64, &mut SendBatch<'_>) -> Result<()> + Send>;

/// An [`EventSource`] whose inputs are made on a thread of its own, up to two batches ahead
/// of the flow, so that a source which costs CPU to read — the traffic generator, a gzip
/// file's decompression — runs beside the flow's calling thread instead of on it. For
/// sources whose commit acknowledges nothing outside the process (files, pipes, generators:
/// [`EventSource::reads_ahead`]); commits only count here.
///
/// The thread starts at the first [`EventSource::next_batch`], or at
/// [`EventSource::resume`], which has it pass over the inputs a checkpoint already covers.
/// Dropped, the source lets its thread end at its next batch.
///
/// ```
/// use websight_core::io::{block_on, EventSource, LineSource, ThreadedSource};
///
/// let text: String = (0..5).map(|i| format!("{{\"n\":{i}}}\n")).collect();
/// let mut source = ThreadedSource::of(LineSource::new(std::io::Cursor::new(text)), 2);
/// block_on(source.resume(1, None))?;
/// assert_eq!(block_on(source.next_batch(10))?, Some(vec![b"{\"n\":1}".to_vec(), b"{\"n\":2}".to_vec()]));
/// assert_eq!(block_on(source.next_batch(1))?, Some(vec![b"{\"n\":3}".to_vec()]));
/// assert_eq!(block_on(source.next_batch(10))?, Some(vec![b"{\"n\":4}".to_vec()]));
/// assert_eq!(block_on(source.next_batch(10))?, None);
/// # Ok::<(), websight_core::CoreError>(())
/// ```
pub struct ThreadedSource {
    start: Option<Start>,
    batches: Option<Receiver<Item>>,
    /// The rest of a batch larger than the flow asked for.
    left: VecDeque<Vec<u8>>,
    ended: bool,
}

impl ThreadedSource {
    /// A source whose inputs `produce` makes on a new thread: it is called with the number of
    /// inputs to pass over (those of a resumed flow's checkpoint) and a [`SendBatch`] to hand each
    /// batch to, in order, until the input ends or it returns `false`; an error it returns
    /// is the source's next error.
    pub fn new<P>(produce: P) -> ThreadedSource
    where
        P: FnOnce(u64, &mut SendBatch<'_>) -> Result<()> + Send + 'static,
    {
        ThreadedSource {
            start: Some(Box::new(produce)),
            batches: None,
            left: VecDeque::new(),
            ended: false,
        }
    }

    /// `source` read on a thread of its own, `batch` inputs at a time (resuming through its
    /// own [`EventSource::resume`]).
    pub fn of<S: EventSource + 'static>(mut source: S, batch: usize) -> ThreadedSource {
        ThreadedSource::new(move |skip, send| {
            if skip > 0 {
                block_on(source.resume(skip, None))?;
            }
            while let Some(lines) = block_on(source.next_batch(batch.max(1)))? {
                if !send(lines) {
                    break;
                }
            }
            Ok(())
        })
    }

    /// Starts the thread (once), passing over `skip` inputs first.
    fn started(&mut self, skip: u64) -> Result<&Receiver<Item>> {
        if let Some(produce) = self.start.take() {
            let (tx, rx) = sync_channel(AHEAD);
            std::thread::Builder::new()
                .name("websight-source".into())
                .spawn(move || run(produce, skip, tx))?;
            self.batches = Some(rx);
        }
        self.batches.as_ref().ok_or_else(stopped)
    }
}

/// The producing thread: its batches, then the end or its error.
fn run(produce: Start, skip: u64, tx: SyncSender<Item>) {
    let mut send = |batch: Vec<Vec<u8>>| batch.is_empty() || tx.send(Ok(Some(batch))).is_ok();
    let end = produce(skip, &mut send);
    let _ = tx.send(end.map(|()| None));
}

fn stopped() -> CoreError {
    std::io::Error::other("the thread reading the source stopped (it panicked)").into()
}

#[async_trait]
impl EventSource for ThreadedSource {
    async fn next_batch(&mut self, max: usize) -> Result<Option<Vec<Vec<u8>>>> {
        if self.left.is_empty() && !self.ended {
            match self.started(0)?.recv() {
                Ok(Ok(Some(batch))) => self.left = batch.into(),
                Ok(Ok(None)) => self.ended = true,
                Ok(Err(e)) => {
                    self.ended = true;
                    return Err(e);
                }
                Err(_) => {
                    self.ended = true;
                    return Err(stopped());
                }
            }
        }
        if self.left.is_empty() {
            return Ok(None);
        }
        let n = max.clamp(1, self.left.len());
        Ok(Some(self.left.drain(..n).collect()))
    }

    async fn commit(&mut self) -> Result<()> {
        Ok(())
    }

    fn reads_ahead(&self) -> bool {
        true
    }

    /// Before the first batch, the thread passes over `taken` inputs (an input that ends
    /// before them is the next batch's error); after it, they are read and dropped here.
    async fn resume(&mut self, taken: u64, _position: Option<&serde_json::Value>) -> Result<()> {
        if self.start.is_some() {
            self.started(taken)?;
            return Ok(());
        }
        super::events::pass_over(self, taken).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{LineSource, MemorySource};

    fn lines(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| format!("{{\"n\":{i}}}").into_bytes())
            .collect()
    }

    fn all(source: &mut ThreadedSource, max: usize) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        while let Some(batch) = block_on(source.next_batch(max))? {
            assert!(!batch.is_empty() && batch.len() <= max);
            out.extend(batch);
        }
        Ok(out)
    }

    #[test]
    fn hands_out_every_input_in_order_whatever_the_batch_sizes() {
        for (made, asked) in [(1, 7), (7, 1), (64, 100), (100, 64), (3, 3)] {
            let mut source = ThreadedSource::of(MemorySource::new(lines(1_000)), made);
            assert_eq!(
                all(&mut source, asked).unwrap(),
                lines(1_000),
                "{made} {asked}"
            );
        }
    }

    #[test]
    fn resuming_passes_over_the_checkpoint_before_or_after_starting() {
        let mut before = ThreadedSource::of(MemorySource::new(lines(10)), 4);
        block_on(before.resume(3, None)).unwrap();
        assert_eq!(all(&mut before, 5).unwrap(), lines(10)[3..]);
        let mut after = ThreadedSource::of(MemorySource::new(lines(10)), 4);
        assert_eq!(block_on(after.next_batch(2)).unwrap().unwrap(), lines(2));
        block_on(after.resume(3, None)).unwrap();
        assert_eq!(all(&mut after, 5).unwrap(), lines(10)[5..]);
    }

    #[test]
    fn an_input_shorter_than_the_checkpoint_is_an_error() {
        let mut source = ThreadedSource::of(LineSource::new(&b"{}\n{}\n"[..]), 4);
        block_on(source.resume(5, None)).unwrap();
        let e = block_on(source.next_batch(4)).unwrap_err();
        assert!(e.to_string().contains("3 inputs before"), "{e}");
        assert_eq!(block_on(source.next_batch(4)).unwrap(), None);
    }

    #[test]
    fn a_producer_error_or_panic_is_the_sources_error_not_its_end() {
        let mut failing = ThreadedSource::new(|_, send| {
            send(lines(2));
            Err(std::io::Error::other("disk on fire").into())
        });
        assert_eq!(block_on(failing.next_batch(10)).unwrap().unwrap(), lines(2));
        assert!(
            block_on(failing.next_batch(10))
                .unwrap_err()
                .to_string()
                .contains("disk on fire")
        );
        let mut panicking = ThreadedSource::new(|_, _| panic!("producer bug"));
        assert!(
            block_on(panicking.next_batch(10))
                .unwrap_err()
                .to_string()
                .contains("panicked")
        );
    }

    #[test]
    fn dropped_it_stops_its_thread() {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut source = ThreadedSource::new(move |_, send| {
            let mut sent = 0;
            while send(lines(1)) {
                sent += 1;
            }
            tx.send(sent).unwrap();
            Ok(())
        });
        block_on(source.next_batch(1)).unwrap();
        drop(source);
        // The first batch, the two waiting, and the one that found the source gone.
        assert!(rx.recv().unwrap() <= AHEAD + 2);
    }
}
