//! Bytes → typed events, or a dead letter that keeps the bytes and says why.

use serde::{Deserialize, Serialize};

use crate::record::EventRecord;

/// Why an input could not become an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum DeadLetterReason {
    /// Not JSON (bad syntax or not UTF-8).
    Syntax(String),
    /// JSON that ends too early.
    Truncated(String),
    /// Valid JSON of the wrong shape: missing or unknown fields, wrong types or values.
    Shape(String),
    /// The right shape with impossible values (e.g. `seq` ≥ `session_events`).
    Invalid(String),
}

/// An input the gate could not read, kept whole for inspection or replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The bytes as received.
    pub raw: Vec<u8>,
    /// Why they were refused.
    pub reason: DeadLetterReason,
}

/// Decodes one JSON event, never panicking.
pub fn decode_event(raw: &[u8]) -> Result<EventRecord, DeadLetter> {
    let refuse = |reason| DeadLetter {
        raw: raw.to_vec(),
        reason,
    };
    let event: EventRecord = serde_json::from_slice(raw).map_err(|e| {
        use serde_json::error::Category;
        refuse(match e.classify() {
            Category::Eof => DeadLetterReason::Truncated(e.to_string()),
            Category::Data => DeadLetterReason::Shape(e.to_string()),
            Category::Syntax | Category::Io => DeadLetterReason::Syntax(e.to_string()),
        })
    })?;
    let problem = if event.seq >= event.session_events {
        Some(format!(
            "seq {} is not below session_events {}",
            event.seq, event.session_events
        ))
    } else if !(event.dwell_seconds.is_finite() && event.dwell_seconds >= 0.0) {
        Some(format!("dwell_seconds {} is negative", event.dwell_seconds))
    } else if event.event_id.is_empty()
        || event.session_id.as_str().is_empty()
        || event.user.id.as_str().is_empty()
    {
        Some("empty event, session or user id".to_owned())
    } else {
        None
    };
    match problem {
        Some(p) => Err(refuse(DeadLetterReason::Invalid(p))),
        None => Ok(event),
    }
}
