//! Times as text without `core::fmt`: every event written out carries up to five of them,
//! and chrono's `Serialize` goes through `fmt` one character at a time.
//!
//! The text is exactly chrono's (`Serialize` of `DateTime<Utc>`, i.e. RFC 3339 with `Z` and
//! a fraction of 0, 3, 6 or 9 digits), so outputs are unchanged; a property test holds the
//! two equal over chrono's whole range.

use std::fmt::Write;

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serializer;

use super::StackText;

/// `t` as chrono serialises it, on the stack (at most 33 bytes: `+262143-…T…:60.123456789Z`).
pub(crate) fn rfc3339(t: DateTime<Utc>) -> StackText {
    let mut out = StackText::default();
    let year = t.year();
    if (0..=9999).contains(&year) {
        digits(&mut out, year.unsigned_abs(), 4);
    } else {
        // ISO 8601's sign for years outside 0..=9999, at least four digits (chrono: `{:+05}`).
        push(&mut out, if year < 0 { "-" } else { "+" });
        let n = year.unsigned_abs();
        digits(
            &mut out,
            n,
            if n >= 100_000 {
                6
            } else if n >= 10_000 {
                5
            } else {
                4
            },
        );
    }
    push(&mut out, "-");
    digits(&mut out, t.month(), 2);
    push(&mut out, "-");
    digits(&mut out, t.day(), 2);
    push(&mut out, "T");
    // A leap second is stored as nanoseconds ≥ 10⁹ and written as second 60.
    let (mut second, mut nano) = (t.second(), t.nanosecond());
    if nano >= 1_000_000_000 {
        second += 1;
        nano -= 1_000_000_000;
    }
    digits(&mut out, t.hour(), 2);
    push(&mut out, ":");
    digits(&mut out, t.minute(), 2);
    push(&mut out, ":");
    digits(&mut out, second, 2);
    if nano != 0 {
        push(&mut out, ".");
        if nano % 1_000_000 == 0 {
            digits(&mut out, nano / 1_000_000, 3);
        } else if nano % 1_000 == 0 {
            digits(&mut out, nano / 1_000, 6);
        } else {
            digits(&mut out, nano, 9);
        }
    }
    push(&mut out, "Z");
    out
}

/// Appends `text` (the buffer holds the longest time, so this cannot fail).
fn push(out: &mut StackText, text: &str) {
    let _ = out.write_str(text);
}

/// Appends the last `width` (≤ 9) decimal digits of `n`, zero-padded.
fn digits(out: &mut StackText, mut n: u32, width: usize) {
    let mut text = [b'0'; 9];
    for slot in text[..width].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    push(out, std::str::from_utf8(&text[..width]).unwrap_or_default());
}

/// `#[serde(serialize_with)]` for a `DateTime<Utc>`: chrono's text, written directly.
pub(crate) fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(rfc3339(*t).as_str())
}

/// `#[serde(serialize_with)]` for an `Option<DateTime<Utc>>`.
pub(crate) fn serialize_option<S: Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_some(rfc3339(*t).as_str()),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chrono_text(t: DateTime<Utc>) -> String {
        let json = serde_json::to_string(&t).unwrap();
        json.trim_matches('"').to_owned()
    }

    #[test]
    fn the_edges_of_chronos_range_and_of_each_format() {
        let times = [
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
            DateTime::UNIX_EPOCH,
            "0000-01-01T00:00:00Z".parse().unwrap(),
            "9999-12-31T23:59:59.999999999Z".parse().unwrap(),
            "+10000-01-01T00:00:00Z".parse().unwrap(),
            "-0001-12-31T23:59:59.5Z".parse().unwrap(),
            "-10000-06-01T00:00:00.000001Z".parse().unwrap(),
            "2026-03-01T10:00:00.250Z".parse().unwrap(),
            "2026-03-01T10:00:00.000250Z".parse().unwrap(),
            "2026-03-01T10:00:00.000000250Z".parse().unwrap(),
            // A leap second.
            chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
                .unwrap()
                .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
                .unwrap()
                .and_utc(),
        ];
        for t in times {
            assert_eq!(rfc3339(t).as_str(), chrono_text(t), "{t:?}");
        }
    }

    proptest! {
        #[test]
        fn equals_chronos_text(
            seconds in DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp(),
            nanos in prop_oneof![Just(0u32), (0u32..1000).prop_map(|m| m * 1_000_000),
                                 (0u32..1_000_000).prop_map(|u| u * 1000), 0u32..1_000_000_000],
        ) {
            let t = DateTime::from_timestamp(seconds, nanos).unwrap();
            let text = rfc3339(t);
            prop_assert_eq!(text.as_str(), chrono_text(t));
        }
    }
}
