//! The two JSON shapes websight reads and writes.
//!
//! - [`SessionRecord`]: the original system's one-record-per-session camelCase JSON, decoded
//!   and re-encoded losslessly.
//! - [`EventRecord`]: websight's own event-level record, one JSON object per page event,
//!   snake_case, RFC 3339 UTC timestamps.
//!
//! Both convert to and from the typed [`Session`](crate::model::Session).

mod event;
mod number;
mod original;
mod timestamp;

pub use event::EventRecord;
pub use number::JsonNumber;
pub use original::{DeviceInformation, LocationData, SessionRecord};
pub use timestamp::NaiveUtc;
