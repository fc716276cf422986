//! The Segment decoder (single messages and batches) on any bytes: no panic; each message
//! is an event or a dead letter with a bounded reason.
#![no_main]

use libfuzzer_sys::fuzz_target;
use websight_core::decode::{DecodeContext, Format, decode_line};

fuzz_target!(|data: &[u8]| {
    // Traits read in one pass and left unread (as `Ingest` does) in the other.
    for (format, drop_traits) in [(Format::Segment, false), (Format::Auto, true)] {
        let context = DecodeContext {
            drop_traits,
            ..DecodeContext::default()
        };
        for item in decode_line(data, format, &context) {
            if let Err(dead) = item {
                let reason = serde_json::to_string(&dead.reason).expect("serialisable");
                assert!(reason.len() <= 1024, "{reason}");
            }
        }
    }
});
