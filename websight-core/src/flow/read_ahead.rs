//! Reading ahead: the next batch decoded on a thread of its own ([`Decoder`]) while the
//! calling thread judges, analyses and writes the current one, and each event's Segment JSON
//! made beside its decoding ([`Encoded`]).

use super::Ingest;
use crate::Result;
use crate::analytics::Documents;
use crate::decode::{Decoded, segment_json};
use crate::event::Event;
use crate::io::{EventSource, Message};

/// What a [`Decoder`]'s thread is asked to do.
enum Work {
    Decode(Vec<Vec<u8>>),
    Free(Spent),
}

/// What a processed batch leaves behind once written: its documents and messages.
pub(super) struct Spent {
    pub(super) documents: Documents,
    pub(super) messages: Vec<Vec<Message>>,
}

/// A batch's lines, or — read ahead — the count of lines a [`Decoder`] is decoding.
pub(super) enum Batch {
    Lines(Vec<Vec<u8>>),
    Decoding(usize),
}

impl Batch {
    /// The source's next batch; `None` when it ended.
    pub(super) async fn read(source: &mut dyn EventSource, max: usize) -> Result<Option<Batch>> {
        Ok(source.next_batch(max).await?.map(Batch::Lines))
    }

    /// Hands the lines to `decoder`, unless there are none.
    pub(super) fn decoding(self, decoder: &Decoder) -> Batch {
        match self {
            Batch::Lines(raws) if !raws.is_empty() => decoder.start(raws),
            batch => batch,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Batch::Lines(raws) => raws.len(),
            Batch::Decoding(lines) => *lines,
        }
    }

    /// The decoded items: decoded now, or those `decoder` decoded.
    pub(super) fn prepare(self, ingest: &Ingest, decoder: Option<&Decoder>) -> Result<Prepared> {
        match (self, decoder) {
            (Batch::Lines(raws), _) => Ok(ingest.prepare(&raws)),
            (Batch::Decoding(_), Some(decoder)) => decoder.finish(),
            (Batch::Decoding(_), None) => Err(Decoder::stopped()),
        }
    }
}

pub(super) type Prepared = Vec<(Decoded, Option<Encoded>)>;

/// A thread that decodes the batches a flow reads ahead, one at a time, kept for the run
/// (a thread per batch would start each with a cold allocator cache). The lines come back
/// with their items, to be freed on the thread that read them. Dropped, its queue closes
/// and the thread ends.
pub(super) struct Decoder {
    work: std::sync::mpsc::SyncSender<Work>,
    /// Locked only to make the decoder `Sync`: a flow's future holds it across awaits.
    done: std::sync::Mutex<std::sync::mpsc::Receiver<(Vec<Vec<u8>>, Prepared)>>,
}

impl Decoder {
    /// A decoder with one thread fewer than `ingest` has (the caller's is busy with the
    /// batch before); `None` when it has no thread to spare or none can be started.
    pub(super) fn new(ingest: &Ingest) -> Option<Decoder> {
        let ingest = ingest
            .clone()
            .threads(ingest.threads.checked_sub(1).filter(|&t| t > 0)?);
        // Room for a batch and what the one before left behind.
        let (work, queue) = std::sync::mpsc::sync_channel(2);
        let (decoded, done) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("websight-decode".into())
            .spawn(move || {
                for work in queue {
                    match work {
                        Work::Decode(raws) => {
                            let items = ingest.prepare(&raws);
                            if decoded.send((raws, items)).is_err() {
                                break;
                            }
                        }
                        Work::Free(Spent {
                            documents,
                            messages,
                        }) => drop((documents, messages)),
                    }
                }
            })
            .ok()?;
        Some(Decoder {
            work,
            done: std::sync::Mutex::new(done),
        })
    }

    /// Starts decoding `raws`; [`Decoder::finish`] takes the items.
    fn start(&self, raws: Vec<Vec<u8>>) -> Batch {
        let lines = raws.len();
        // The thread is gone: the lines come back, to be decoded in turn.
        if let Err(std::sync::mpsc::SendError(Work::Decode(raws))) =
            self.work.send(Work::Decode(raws))
        {
            return Batch::Lines(raws);
        }
        Batch::Decoding(lines)
    }

    /// Frees what a batch left behind on the decoding thread, where most of it was
    /// allocated (memory then goes back to that thread's cache instead of crossing
    /// threads); here if its queue is full.
    pub(super) fn free(&self, spent: Spent) {
        let _ = self.work.try_send(Work::Free(spent));
    }

    /// The items of the batch started last.
    fn finish(&self) -> Result<Prepared> {
        let done = self.done.lock().map_err(|_| Decoder::stopped())?;
        match done.recv() {
            Ok((_raws, items)) => Ok(items),
            Err(_) => Err(Decoder::stopped()),
        }
    }

    fn stopped() -> crate::CoreError {
        std::io::Error::other("the thread decoding the batch read ahead stopped (it panicked)")
            .into()
    }
}

/// An event's Segment JSON and message key, made beside its decoding (on the decoding
/// thread, where the message is also freed), and which event it is (its box's address: the
/// gate moves boxes, never their contents).
pub(super) struct Encoded {
    event: usize,
    json: Vec<u8>,
    key: Option<String>,
}

impl Encoded {
    pub(super) fn of(event: &Event) -> Encoded {
        Encoded {
            event: std::ptr::from_ref(event).addr(),
            json: segment_json(event),
            key: key(event),
        }
    }

    /// The message of `event` with `headers`: the one made ahead if it is this event's,
    /// else made now.
    pub(super) fn message(
        encoded: Option<Encoded>,
        event: &Event,
        headers: Vec<(String, String)>,
    ) -> Message {
        let (key, payload) = match encoded {
            Some(e) if e.event == std::ptr::from_ref(event).addr() => (e.key, e.json),
            _ => (key(event), segment_json(event)),
        };
        Message {
            key,
            payload,
            headers,
        }
    }
}

fn key(event: &Event) -> Option<String> {
    event
        .anonymous_id
        .as_deref()
        .or(event.user_id.as_deref())
        .map(str::to_owned)
}
