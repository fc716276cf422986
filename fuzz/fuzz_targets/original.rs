//! The original system's session records on any bytes: no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use websight_core::decode::{DecodeContext, Format, decode_line};

fuzz_target!(|data: &[u8]| {
    let _ = decode_line(data, Format::Original, &DecodeContext::default());
});
