//! [`Ingest`]: a batch's lines decoded (on one or more threads) and protected by the
//! privacy before anything else sees them; rejected by consent, redacted and capped as dead
//! letters otherwise.

use super::read_ahead::{Encoded, Prepared};
use crate::decode::{
    DeadLetter, DeadLetterReason, DecodeContext, Decoded, Format, decode_line_into,
};
use crate::io::DEAD_LETTER_BYTES;
use crate::privacy::Privacy;

/// Bytes → protected events: the input format, what the receiver knows, and the privacy
/// protection applied before anything else sees an event.
#[derive(Debug, Clone)]
pub struct Ingest {
    format: Format,
    context: DecodeContext,
    privacy: Privacy,
    pub(super) threads: usize,
}

/// Lines per thread below which a batch is decoded on the calling thread alone: starting a
/// thread costs tens of microseconds, a line a few.
const LINES_PER_THREAD: usize = 256;

impl Ingest {
    /// Auto-detected formats, default limits, and `privacy`.
    pub fn new(privacy: Privacy) -> Ingest {
        let drop_traits = privacy.config().pseudonymised_traits.is_empty();
        Ingest {
            format: Format::Auto,
            context: DecodeContext {
                drop_traits,
                ..DecodeContext::default()
            },
            privacy,
            threads: 1,
        }
    }

    /// Decodes each batch on up to `threads` threads (default 1: the calling thread alone),
    /// each taking a contiguous share of the lines, so the result is the same whatever the
    /// count. Decoding is pure, so this is the part of the flow that spreads over cores; a
    /// binary might pass [`std::thread::available_parallelism`]. With more than one, a
    /// [`Flow`] on a source that allows it ([`EventSource::reads_ahead`]) decodes the next
    /// batch on the others while the calling thread judges, analyses and writes this one.
    ///
    /// [`Flow`]: super::Flow
    /// [`EventSource::reads_ahead`]: crate::io::EventSource::reads_ahead
    pub fn threads(mut self, threads: usize) -> Ingest {
        self.threads = threads.max(1);
        self
    }

    /// The input format.
    pub fn format(mut self, format: Format) -> Ingest {
        self.format = format;
        self
    }

    /// What the receiver knows (receive time, implied type, limits). Its
    /// [`DecodeContext::drop_traits`] is the privacy's: traits are left unread unless the
    /// privacy keeps some as pseudonyms.
    pub fn context(mut self, context: DecodeContext) -> Ingest {
        self.context = DecodeContext {
            drop_traits: self.context.drop_traits,
            ..context
        };
        self
    }

    /// The privacy protection.
    pub fn privacy(&self) -> &Privacy {
        &self.privacy
    }

    /// One input line → protected events or redacted dead letters.
    pub fn decode(&self, raw: &[u8]) -> Vec<Decoded> {
        let mut items = Vec::with_capacity(1);
        self.decode_into(raw, &mut items);
        items
    }

    /// A batch of input lines → their protected events and redacted dead letters, in order
    /// (on up to [`Ingest::threads`] threads).
    pub fn decode_batch(&self, raws: &[Vec<u8>]) -> Vec<Decoded> {
        self.shared(raws, |lines| self.decode_lines(lines))
    }

    /// [`Ingest::decode_batch`], each event also encoded as the Segment message it leaves as
    /// (the gate does not change events): both on the ingest's threads.
    pub(super) fn prepare(&self, raws: &[Vec<u8>]) -> Prepared {
        self.shared(raws, |lines| {
            self.decode_lines(lines)
                .into_iter()
                .map(|item| {
                    let encoded = item.as_deref().ok().map(Encoded::of);
                    (item, encoded)
                })
                .collect()
        })
    }

    /// Lines → their items, on this thread.
    fn decode_lines(&self, lines: &[Vec<u8>]) -> Vec<Decoded> {
        let mut items = Vec::with_capacity(lines.len());
        for raw in lines {
            self.decode_into(raw, &mut items);
        }
        items
    }

    /// `work` over contiguous shares of `raws`, on up to [`Ingest::threads`] threads (the
    /// first share on this one), its results joined in order.
    fn shared<T: Send>(
        &self,
        raws: &[Vec<u8>],
        work: impl Fn(&[Vec<u8>]) -> Vec<T> + Sync,
    ) -> Vec<T> {
        let threads = self.threads.min(raws.len() / LINES_PER_THREAD).max(1);
        if threads == 1 {
            return work(raws);
        }
        let mut shares = raws.chunks(raws.len().div_ceil(threads));
        let first = shares.next().unwrap_or_default();
        std::thread::scope(|scope| {
            let work = &work;
            let others: Vec<_> = shares
                .map(|share| scope.spawn(move || work(share)))
                .collect();
            let mut out = work(first);
            for other in others {
                match other.join() {
                    Ok(items) => out.extend(items),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            out
        })
    }

    /// [`Ingest::decode`], appending to `items`.
    fn decode_into(&self, raw: &[u8], items: &mut Vec<Decoded>) {
        let start = items.len();
        decode_line_into(raw, self.format, &self.context, items);
        for item in &mut items[start..] {
            match item {
                Ok(event) => match self.privacy.withholds(event) {
                    // Nothing of it is kept but its message id (no personal data).
                    Some(category) => {
                        let id = serde_json::json!({ "messageId": event.message_id.as_str() });
                        *item = Err(DeadLetter {
                            raw: serde_json::to_vec(&id).unwrap_or_default(),
                            reason: DeadLetterReason::Consent(format!(
                                "the visitor denied consent category {category:?}"
                            )),
                        });
                    }
                    None => {
                        self.privacy.protect(&mut **event);
                    }
                },
                Err(dead) => {
                    dead.raw = self.privacy.redact(&dead.raw);
                    dead.raw.truncate(DEAD_LETTER_BYTES);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traits_are_read_only_when_the_privacy_keeps_some() {
        let line = br#"{"type":"track","event":"X","anonymousId":"a","timestamp":"2026-01-01T00:00:00Z","context":{"traits":{"plan":"pro","email":"a@b.co"}}}"#;
        let traits = |kept: &[&str], context: Option<DecodeContext>| {
            let privacy = Privacy::new(crate::privacy::PrivacyConfig {
                key: Some("a key of sixteen bytes".into()),
                pseudonymised_traits: kept.iter().map(|t| t.to_string()).collect(),
                ..Default::default()
            })
            .unwrap();
            let ingest = Ingest::new(privacy);
            let ingest = match context {
                Some(c) => ingest.context(c),
                None => ingest,
            };
            assert_eq!(ingest.context.drop_traits, kept.is_empty());
            let event = ingest.decode(line).remove(0).unwrap();
            event.traits.keys().cloned().collect::<Vec<_>>()
        };
        assert!(traits(&[], None).is_empty());
        assert_eq!(traits(&["plan"], None), ["plan"]);
        // A context given later does not change it, whatever it says.
        let keep = DecodeContext::default();
        assert!(traits(&[], Some(keep)).is_empty());
        let drop = DecodeContext {
            drop_traits: true,
            ..DecodeContext::default()
        };
        assert_eq!(traits(&["plan"], Some(drop)), ["plan"]);
    }

    #[test]
    fn a_batch_is_shared_over_the_threads_asked_for_in_order() {
        let ingest = |threads| {
            let privacy = Privacy::new(crate::privacy::PrivacyConfig {
                key: Some("a key of sixteen bytes".into()),
                ..Default::default()
            })
            .unwrap();
            Ingest::new(privacy).threads(threads)
        };
        let lines: Vec<Vec<u8>> = (0..1_000u32).map(|i| i.to_le_bytes().to_vec()).collect();
        // Each share says which thread read it and which lines it had.
        let shares = |threads| {
            ingest(threads).shared(&lines, |share| {
                vec![(
                    std::thread::current().id(),
                    share.first().cloned(),
                    share.len(),
                )]
            })
        };
        let one = shares(1);
        assert_eq!(
            one,
            [(std::thread::current().id(), Some(lines[0].clone()), 1_000)]
        );
        let three = shares(3);
        // 1,000 lines in three shares of 334, 334 and 332, the first on this thread.
        let firsts: Vec<_> = three
            .iter()
            .map(|(_, first, n)| (first.clone(), *n))
            .collect();
        assert_eq!(
            firsts,
            [
                (Some(lines[0].clone()), 334),
                (Some(lines[334].clone()), 334),
                (Some(lines[668].clone()), 332)
            ]
        );
        assert_eq!(three[0].0, std::thread::current().id());
        assert!(three[1].0 != three[0].0 && three[2].0 != three[0].0 && three[1].0 != three[2].0);
        // Below 256 lines a thread, fewer threads: 600 lines asked on 3 get 2.
        assert_eq!(
            ingest(3).shared(&lines[..600], |s| vec![s.len()]),
            [300, 300]
        );
    }
}
