//! Bytes → [`Event`]s, or dead letters that say why — never a panic.
//!
//! - [`decode_segment`]: one Segment-spec message, or a `{"batch": […]}` of them (one input
//!   line may hold a batch; each message becomes its own event or dead letter).
//! - [`decode_original`]: the original system's camelCase session record, expanded to the
//!   events a tracker would have sent for that session ([`session_events`]).
//! - [`decode_line`]: one JSON line of either, by [`Format`] (`auto` detects per line).
//!
//! Limits protect everything downstream: a message over [`Limits::max_message_bytes`], an id
//! over [`Limits::max_id_bytes`] or more than [`Limits::max_products`] products is a dead
//! letter with a typed reason, and reasons quote at most 200 characters of the input.

mod encode;
mod original;
mod scan;
mod segment;
mod wire;

use serde::{Deserialize, Serialize};

pub use encode::{encode_segment, segment_json};
pub use original::{ORIGINAL_CURRENCY, SHOP_ORIGIN, decode_original, session_events};
pub use segment::{campaign_from_url, decode_segment};

use crate::event::Event;

/// The most a dead letter's reason detail takes as JSON text: with its kind, a reason stays
/// under 1 KiB wherever it is written (a header, a log line, the dead-letter output).
pub const DETAIL_JSON_BYTES: usize = 900;

/// Why an input could not become an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum DeadLetterReason {
    /// Not JSON (bad syntax or not UTF-8).
    Syntax(String),
    /// JSON that ends too early.
    Truncated(String),
    /// Valid JSON of the wrong shape: missing fields, wrong types.
    Shape(String),
    /// The right shape with impossible values (an unparsable time, a negative quantity).
    Invalid(String),
    /// Over a size limit (message bytes, id length, products per event).
    TooLarge(String),
    /// Withheld: the visitor denied the consent category websight's analytics fall under
    /// ([`crate::privacy::PrivacyConfig::consent_category`]).
    Consent(String),
}

impl DeadLetterReason {
    /// The reason's kind, as in its JSON form.
    pub fn kind(&self) -> &'static str {
        match self {
            DeadLetterReason::Syntax(_) => "syntax",
            DeadLetterReason::Truncated(_) => "truncated",
            DeadLetterReason::Shape(_) => "shape",
            DeadLetterReason::Invalid(_) => "invalid",
            DeadLetterReason::TooLarge(_) => "too_large",
            DeadLetterReason::Consent(_) => "consent",
        }
    }

    /// The detail, whatever the kind.
    fn detail_mut(&mut self) -> &mut String {
        let (DeadLetterReason::Syntax(d)
        | DeadLetterReason::Truncated(d)
        | DeadLetterReason::Shape(d)
        | DeadLetterReason::Invalid(d)
        | DeadLetterReason::TooLarge(d)
        | DeadLetterReason::Consent(d)) = self;
        d
    }

    /// The reason with its detail cut (ending in `…`) where the detail's JSON text would pass
    /// [`DETAIL_JSON_BYTES`]: details quote input (clipped to 200 characters), and a quote
    /// written with `{:?}` and then as JSON can grow sevenfold (a control character becomes
    /// `\\u{7f}`).
    fn capped(mut self) -> DeadLetterReason {
        let detail = self.detail_mut();
        let mut written = 0;
        for (at, c) in detail.char_indices() {
            let width = match c {
                '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
                c if u32::from(c) < 0x20 => 6,
                c => c.len_utf8(),
            };
            if written + width > DETAIL_JSON_BYTES - '…'.len_utf8() {
                detail.truncate(at);
                detail.push('…');
                break;
            }
            written += width;
        }
        self
    }

    fn of_json(e: &serde_json::Error) -> DeadLetterReason {
        use serde_json::error::Category;
        let detail = crate::event::clip(&e.to_string());
        match e.classify() {
            Category::Eof => DeadLetterReason::Truncated(detail),
            Category::Data => DeadLetterReason::Shape(detail),
            Category::Syntax | Category::Io => DeadLetterReason::Syntax(detail),
        }
    }
}

/// An input that could not be read, kept for inspection or replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The bytes as received (for one bad message of a batch: that message's JSON).
    pub raw: Vec<u8>,
    /// Why they were refused.
    pub reason: DeadLetterReason,
}

impl std::fmt::Display for DeadLetterReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (DeadLetterReason::Syntax(d)
        | DeadLetterReason::Truncated(d)
        | DeadLetterReason::Shape(d)
        | DeadLetterReason::Invalid(d)
        | DeadLetterReason::TooLarge(d)
        | DeadLetterReason::Consent(d)) = self;
        write!(f, "{}: {d}", self.kind())
    }
}

impl std::fmt::Display for DeadLetter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "dead letter ({} bytes): {}", self.raw.len(), self.reason)
    }
}

impl std::error::Error for DeadLetter {}

impl DeadLetter {
    pub(crate) fn new(raw: &[u8], reason: DeadLetterReason) -> DeadLetter {
        DeadLetter {
            raw: raw.to_vec(),
            reason: reason.capped(),
        }
    }
}

/// One decoded message: an event or a dead letter. The event is boxed once, here: at ~800
/// bytes it then moves through privacy, the gate and into its visit by pointer.
pub type Decoded = Result<Box<Event>, DeadLetter>;

/// Size limits applied while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Largest message (Segment's limit: 32 KB).
    pub max_message_bytes: usize,
    /// Largest input line or request (Segment's batch limit: 500 KB).
    pub max_batch_bytes: usize,
    /// Longest id (message, user, anonymous, session, order, product).
    pub max_id_bytes: usize,
    /// Most products in one event.
    pub max_products: usize,
    /// How far an event time may lie after its receipt (`receivedAt`), in seconds; events
    /// further in the future are dead letters (a broken clock must not move the watermark).
    /// Historical imports (event times long before receipt) are always legal.
    pub max_future_skew_seconds: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 32 * 1024,
            max_batch_bytes: 500 * 1024,
            max_id_bytes: 256,
            max_products: 500,
            max_future_skew_seconds: 86_400,
        }
    }
}

/// What the receiver knows about the bytes it decodes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecodeContext {
    /// The collector's clock on arrival: overrides any `receivedAt` in the message (never
    /// trusted from a client). Files exported by a collector carry their own.
    pub received_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The message type implied by the endpoint (`/v1/track` …) when a message has none.
    pub default_type: Option<crate::event::MessageType>,
    /// Size limits.
    pub limits: Limits,
    /// Leave every event's traits out, unread (their JSON is still checked): they are
    /// personal data that [`crate::privacy`] drops, and some SDKs (RudderStack's) copy them
    /// into every message. [`crate::flow::Ingest`] sets it when its privacy keeps none.
    pub drop_traits: bool,
}

/// The input formats of [`decode_line`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Per line: a JSON object with `sessionId` and `productIds` is an original record,
    /// anything else a Segment message or batch.
    #[default]
    Auto,
    /// Segment-spec messages and batches.
    Segment,
    /// The original system's session records.
    Original,
}

impl std::str::FromStr for Format {
    type Err = crate::CoreError;

    fn from_str(s: &str) -> crate::Result<Format> {
        match s {
            "auto" => Ok(Format::Auto),
            "segment" => Ok(Format::Segment),
            "original" => Ok(Format::Original),
            other => Err(crate::CoreError::parameter(
                "format",
                format!("{other:?} is not auto, segment or original"),
            )),
        }
    }
}

/// Decodes one input line in `format`. Original records need a catalogue for nothing: their
/// products carry names, prices and categories.
pub fn decode_line(line: &[u8], format: Format, context: &DecodeContext) -> Vec<Decoded> {
    let mut out = Vec::with_capacity(1);
    decode_line_into(line, format, context, &mut out);
    out
}

/// [`decode_line`], appending to `out` (a batch's vector: no vector per line).
pub(crate) fn decode_line_into(
    line: &[u8],
    format: Format,
    context: &DecodeContext,
    out: &mut Vec<Decoded>,
) {
    let segment = match format {
        Format::Original => false,
        Format::Segment => segment::decode_segment_or_record(line, context, |_| false, out),
        // A JSON object is routed by its top-level keys, read in the same pass as the message.
        Format::Auto => segment::decode_segment_or_record(
            line,
            context,
            |top| match top {
                Some(m) => m.record_session_id.is_some() && m.record_product_ids.is_some(),
                None => looks_original(line),
            },
            out,
        ),
    };
    if !segment {
        match decode_original(line, context) {
            Ok(events) => out.extend(events.into_iter().map(|e| Ok(Box::new(e)))),
            Err(dead) => out.push(Err(dead)),
        }
    }
}

/// A sniff for lines that are not a readable JSON object: both keys that only the original
/// record has, anywhere.
fn looks_original(line: &[u8]) -> bool {
    use memchr::memmem::Finder;
    use std::sync::LazyLock;
    // Built once: a finder's set-up costs more than searching a line.
    static PRODUCT_IDS: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"productIds\""));
    static SESSION_ID: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"sessionId\""));
    PRODUCT_IDS.find(line).is_some() && SESSION_ID.find(line).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_capped_by_its_json_text() {
        let short = DeadLetterReason::Invalid("`timestamp` \"x\" is not a time".into());
        assert_eq!(short.clone().capped(), short);
        for quoted in ["\u{7f}", "\u{1}", "\"", "é", "a"] {
            let detail = format!("{:?}", quoted.repeat(1_000));
            let json = serde_json::to_string(&DeadLetterReason::Invalid(detail).capped()).unwrap();
            assert!(json.len() <= 1024, "{} bytes: {json}", json.len());
            assert!(json.contains('…'));
        }
    }
}
