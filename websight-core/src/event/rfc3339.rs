//! Times as text without `core::fmt`: every event written out carries up to five of them,
//! and chrono's `Serialize` goes through `fmt` one character at a time.
//!
//! The text is exactly chrono's (`Serialize` of `DateTime<Utc>`, i.e. RFC 3339 with `Z` and
//! a fraction of 0, 3, 6 or 9 digits), so outputs are unchanged; a property test holds the
//! two equal over chrono's whole range.
//!
//! Reading goes the other way for the form nearly every SDK sends
//! (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`): [`parse_utc`] reads it without chrono's general
//! parser and leaves every other form to chrono (a property test holds them equal).

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use serde::Serializer;

use super::StackText;

/// `t` as chrono serialises it, on the stack (at most 33 bytes: `+262143-…T…:60.123456789Z`).
pub(crate) fn rfc3339(t: DateTime<Utc>) -> StackText {
    // The naive UTC fields directly: each of `DateTime`'s own getters first converts to
    // local time (checked date arithmetic), six times over.
    let t = t.naive_utc();
    let (date, time) = (t.date(), t.time());
    let year = date.year();
    let mut out = StackText::default();
    if (0..=9999).contains(&year) {
        let year = year.unsigned_abs();
        out.push_bytes(pair(year / 100));
        out.push_bytes(pair(year % 100));
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
    // A leap second is stored as nanoseconds ≥ 10⁹ and written as second 60.
    let of_day = time.num_seconds_from_midnight();
    let (mut second, mut nano) = (of_day % 60, time.nanosecond());
    if nano >= 1_000_000_000 {
        second += 1;
        nano -= 1_000_000_000;
    }
    let mut text = *b"-00-00T00:00:00";
    let fields = [
        date.month(),
        date.day(),
        of_day / 3600,
        of_day / 60 % 60,
        second,
    ];
    for (at, n) in [1, 4, 7, 10, 13].into_iter().zip(fields) {
        text[at..at + 2].copy_from_slice(pair(n));
    }
    out.push_bytes(&text);
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

/// `n` (below 100) as two digits.
fn pair(n: u32) -> &'static [u8] {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let at = 2 * (n as usize % 100);
    &PAIRS[at..at + 2]
}

/// Appends `text` (the buffer holds the longest time, so this cannot fail).
fn push(out: &mut StackText, text: &str) {
    out.push_bytes(text.as_bytes());
}

/// Appends the last `width` (≤ 9) decimal digits of `n`, zero-padded.
fn digits(out: &mut StackText, mut n: u32, width: usize) {
    let mut text = [b'0'; 9];
    for slot in text[..width].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.push_bytes(&text[..width]);
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

/// `YYYY-MM-DDTHH:MM:SS[.f…]Z` (1–9 fraction digits, no leap second) read directly; `None`
/// for any other text, valid or not — the caller then asks chrono, whose result this equals
/// wherever it gives one.
pub(crate) fn parse_utc(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    if b.len() < 20 || b[b.len() - 1] != b'Z' {
        return None;
    }
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let nanos = match &b[19..b.len() - 1] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            decimal(fraction)? * 10u32.pow(9 - fraction.len() as u32)
        }
        _ => return None,
    };
    let second = decimal(&b[17..19])?;
    if second > 59 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(
        decimal(&b[0..4])? as i32,
        decimal(&b[5..7])?,
        decimal(&b[8..10])?,
    )?;
    let time = date.and_hms_nano_opt(decimal(&b[11..13])?, decimal(&b[14..16])?, second, nanos)?;
    Some(time.and_utc())
}

/// The value of 1–9 ASCII digits; `None` if any byte is not one.
fn decimal(digits: &[u8]) -> Option<u32> {
    let mut n = 0;
    for &c in digits {
        let d = u32::from(c.wrapping_sub(b'0'));
        if d > 9 {
            return None;
        }
        n = n * 10 + d;
    }
    Some(n)
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

    /// chrono's reading of `text` as the decoder asks for it.
    fn chrono_parse(text: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    #[test]
    fn the_fast_reading_is_chronos_or_none() {
        let read = [
            "2026-03-01T10:00:00Z",
            "2026-03-01T10:00:00.2Z",
            "2026-03-01T10:00:00.250Z",
            "2026-03-01T10:00:00.123456789Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "2024-02-29T00:00:00Z",
        ];
        for text in read {
            assert_eq!(parse_utc(text), chrono_parse(text), "{text}");
            assert!(parse_utc(text).is_some(), "{text}");
        }
        // Left to chrono: other forms, and what is not a time.
        let left = [
            "2026-03-01T10:00:00+02:00",
            "2026-03-01t10:00:00z",
            "2026-03-01 10:00:00Z",
            "2016-12-31T23:59:60Z",
            "2026-03-01T10:00:00.1234567891Z",
            "2026-03-01T10:00:00.Z",
            "+10000-01-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-03-01T24:00:00Z",
            "2026-03-01T10:60:00Z",
            "2026-03-01T1a:00:00Z",
            "2026-03-01T10:00:00",
            "2026-03-01T10:00:00Zé",
            "",
        ];
        for text in left {
            assert_eq!(parse_utc(text), None, "{text}");
        }
    }

    proptest! {
        #[test]
        fn the_fast_reading_agrees_with_chrono(
            year in 0u32..=9999, month in 0u32..=13, day in 0u32..=32, hour in 0u32..=24,
            minute in 0u32..=60, second in 0u32..=61,
            fraction in prop_oneof![Just(String::new()), "\\.[0-9]{0,11}", "[.,0-9a]{0,3}"],
            separator in prop_oneof![Just('T'), Just('t'), Just(' ')],
            zone in prop_oneof![Just("Z"), Just("z"), Just("+01:00"), Just("")],
        ) {
            let text = format!(
                "{year:04}-{month:02}-{day:02}{separator}{hour:02}:{minute:02}:{second:02}{fraction}{zone}"
            );
            if let Some(t) = parse_utc(&text) {
                prop_assert_eq!(Some(t), chrono_parse(&text), "{}", text);
            }
            // The common form is never left to chrono when chrono reads it.
            let digits = fraction.strip_prefix('.').unwrap_or("-");
            let canonical = fraction.is_empty()
                || ((1..=9).contains(&digits.len()) && digits.bytes().all(|c| c.is_ascii_digit()));
            if separator == 'T' && zone == "Z" && second < 60 && canonical {
                prop_assert_eq!(parse_utc(&text), chrono_parse(&text), "{}", text);
            }
        }

        #[test]
        fn equals_chronos_text(
            seconds in prop_oneof![
                DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp(),
                // Years 1 to 9999, where traffic is: chrono's whole range is mostly beyond.
                -62_135_596_800i64..253_402_300_800,
            ],
            nanos in prop_oneof![Just(0u32), (0u32..1000).prop_map(|m| m * 1_000_000),
                                 (0u32..1_000_000).prop_map(|u| u * 1000), 0u32..1_000_000_000],
        ) {
            let t = DateTime::from_timestamp(seconds, nanos).unwrap();
            let text = rfc3339(t);
            prop_assert_eq!(text.as_str(), chrono_text(t));
        }
    }
}
