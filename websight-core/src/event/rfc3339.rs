//! Times as text without `core::fmt`: every event written out carries up to five of them,
//! and chrono's `Serialize` goes through `fmt` one character at a time.
//!
//! The text is exactly chrono's (`Serialize` of `DateTime<Utc>`, i.e. RFC 3339 with `Z` and
//! a fraction of 0, 3, 6 or 9 digits), so outputs are unchanged; a property test holds the
//! two equal over chrono's whole range.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serializer;

/// `t` as chrono serialises it, on the stack.
pub(crate) struct Rfc3339 {
    bytes: [u8; 40],
    len: usize,
}

impl Rfc3339 {
    pub(crate) fn new(t: DateTime<Utc>) -> Rfc3339 {
        let mut out = Rfc3339 {
            bytes: [0; 40],
            len: 0,
        };
        let year = t.year();
        if (0..=9999).contains(&year) {
            out.digits(year.unsigned_abs(), 4);
        } else {
            // ISO 8601's sign for years outside 0..=9999, at least four digits (chrono: `{:+05}`).
            out.push(if year < 0 { b'-' } else { b'+' });
            let n = year.unsigned_abs();
            out.digits(
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
        out.push(b'-');
        out.digits(t.month(), 2);
        out.push(b'-');
        out.digits(t.day(), 2);
        out.push(b'T');
        // A leap second is stored as nanoseconds ≥ 10⁹ and written as second 60.
        let (mut second, mut nano) = (t.second(), t.nanosecond());
        if nano >= 1_000_000_000 {
            second += 1;
            nano -= 1_000_000_000;
        }
        out.digits(t.hour(), 2);
        out.push(b':');
        out.digits(t.minute(), 2);
        out.push(b':');
        out.digits(second, 2);
        if nano != 0 {
            out.push(b'.');
            if nano % 1_000_000 == 0 {
                out.digits(nano / 1_000_000, 3);
            } else if nano % 1_000 == 0 {
                out.digits(nano / 1_000, 6);
            } else {
                out.digits(nano, 9);
            }
        }
        out.push(b'Z');
        out
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    /// The last `width` decimal digits of `n`, zero-padded.
    fn digits(&mut self, mut n: u32, width: usize) {
        let end = (self.len + width).min(self.bytes.len());
        for slot in self.bytes[self.len..end].iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
        self.len = end;
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

/// `#[serde(serialize_with)]` for a `DateTime<Utc>`: chrono's text, written directly.
pub(crate) fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(Rfc3339::new(*t).as_str())
}

/// `#[serde(serialize_with)]` for an `Option<DateTime<Utc>>`.
pub(crate) fn serialize_option<S: Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_some(Rfc3339::new(*t).as_str()),
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
            assert_eq!(Rfc3339::new(t).as_str(), chrono_text(t), "{t:?}");
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
            let text = Rfc3339::new(t);
            prop_assert_eq!(text.as_str(), chrono_text(t));
        }
    }
}
