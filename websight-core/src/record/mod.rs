//! The original system's record: one camelCase JSON object per session
//! ([`SessionRecord`]), decoded and re-encoded losslessly, and converted to and from the
//! typed [`Session`](crate::model::Session). Real traffic arrives as Segment-spec messages
//! ([`crate::event`]); [`crate::decode::decode_original`] expands a record to the messages a
//! tracker would have sent.

mod number;
mod original;
mod timestamp;

pub use number::JsonNumber;
pub use original::{DeviceInformation, LocationData, SessionRecord};
pub use timestamp::NaiveUtc;
