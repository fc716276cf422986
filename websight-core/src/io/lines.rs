//! JSON lines read lazily from any reader: the embedded source for files and pipes.

use std::io::BufRead;

use async_trait::async_trait;

use super::EventSource;
use crate::Result;

/// An [`EventSource`] of lines from a reader (a file, standard input, a decompressor),
/// read as they are asked for: memory holds one batch, however long the input.
///
/// Line ends (`\n`, `\r\n`) are stripped and blank lines are not inputs. A line longer than
/// `max_line_bytes` keeps only its first `max_line_bytes + 1` bytes and the rest is skipped
/// unread into memory, so the decoder still sees it as too large (a dead letter) without the
/// source ever holding it whole.
///
/// ```
/// use websight_core::io::{block_on, EventSource, LineSource};
///
/// let text = "{\"a\":1}\r\n\n   \n{\"b\":2}\nxxxxxxxxxxxxxxxx";
/// let mut source = LineSource::new(text.as_bytes()).max_line_bytes(8);
/// let batch = block_on(source.next_batch(10))?.unwrap();
/// assert_eq!(batch, [b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec(), b"xxxxxxxxx".to_vec()]);
/// assert_eq!(block_on(source.next_batch(10))?, None);
/// assert_eq!(source.read(), 3);
/// # Ok::<(), websight_core::CoreError>(())
/// ```
pub struct LineSource<R> {
    reader: R,
    max_line_bytes: usize,
    read: u64,
    committed: u64,
}

impl<R: BufRead + Send> LineSource<R> {
    /// Lines of `reader`, each capped at 1 MiB (twice Segment's batch limit).
    pub fn new(reader: R) -> LineSource<R> {
        LineSource {
            reader,
            max_line_bytes: 1 << 20,
            read: 0,
            committed: 0,
        }
    }

    /// The longest line kept whole.
    pub fn max_line_bytes(mut self, max: usize) -> LineSource<R> {
        self.max_line_bytes = max;
        self
    }

    /// Lines handed out so far.
    pub fn read(&self) -> u64 {
        self.read
    }

    /// Lines acknowledged by [`EventSource::commit`] (a flow reading ahead commits up to a
    /// batch more than it has processed: [`EventSource::reads_ahead`]).
    pub fn committed(&self) -> u64 {
        self.committed
    }

    /// The next line, or `None` at the end of the input.
    fn line(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let mut line = Vec::new();
        let mut ended = false;
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            let (chunk, found) = match memchr::memchr(b'\n', buf) {
                Some(i) => (&buf[..i], true),
                None => (buf, false),
            };
            let room = (self.max_line_bytes + 1).saturating_sub(line.len());
            line.extend_from_slice(&chunk[..chunk.len().min(room)]);
            let used = chunk.len() + usize::from(found);
            self.reader.consume(used);
            ended = true;
            if found {
                break;
            }
        }
        if !ended {
            return Ok(None);
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(Some(line))
    }
}

#[async_trait]
impl<R: BufRead + Send> EventSource for LineSource<R> {
    async fn next_batch(&mut self, max: usize) -> Result<Option<Vec<Vec<u8>>>> {
        // Sized for a flow's batch up front; a huge `max` still grows as lines come.
        let mut batch = Vec::with_capacity(max.clamp(1, 4096));
        while batch.len() < max.max(1) {
            match self.line()? {
                None => break,
                Some(line) if line.iter().all(u8::is_ascii_whitespace) => {}
                Some(line) => batch.push(line),
            }
        }
        self.read += batch.len() as u64;
        Ok((!batch.is_empty()).then_some(batch))
    }

    async fn commit(&mut self) -> Result<()> {
        self.committed = self.read;
        Ok(())
    }

    /// A commit only counts here. (Over a slow pipe a batch then waits for the next one to
    /// be read: for live traffic, a collector's source.)
    fn reads_ahead(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::block_on;

    #[test]
    fn reads_in_batches_across_buffer_boundaries() {
        let text: String = (0..1000).map(|i| format!("{{\"n\":{i}}}\n")).collect();
        let reader = std::io::BufReader::with_capacity(7, text.as_bytes());
        let mut source = LineSource::new(reader);
        let mut all = Vec::new();
        while let Some(batch) = block_on(source.next_batch(64)).unwrap() {
            assert!(batch.len() <= 64);
            all.extend(batch);
        }
        assert_eq!(all.len(), 1000);
        assert_eq!(all[999], b"{\"n\":999}");
    }

    #[test]
    fn a_huge_line_is_cut_not_held() {
        let mut text = vec![b'x'; 5_000_000];
        text.extend_from_slice(b"\nnext");
        let mut source = LineSource::new(&text[..]).max_line_bytes(100);
        let batch = block_on(source.next_batch(10)).unwrap().unwrap();
        assert_eq!(batch[0].len(), 101);
        assert_eq!(batch[1], b"next");
    }
}
