//! Bytes → typed events, or a dead letter that keeps the bytes and says why.

pub use crate::decode::{DeadLetter, DeadLetterReason};
use crate::record::EventRecord;

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
