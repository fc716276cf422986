//! The LSH users file on any bytes: an error naming the line, or sets that sign, index and
//! query without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use websight_lsh::exact::read_sets;
use websight_lsh::evaluate::evaluate;

fuzz_target!(|data: &[u8]| {
    if let Ok(sets) = read_sets(data) {
        if !sets.is_empty() && sets.len() <= 200 {
            let _ = evaluate(&sets, 16, 0.5, 4);
        }
    }
});
