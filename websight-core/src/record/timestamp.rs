//! Naive `%Y-%m-%dT%H:%M:%S` timestamps, read as UTC.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC instant written without an offset, as the original generator did
/// (`datetime.strftime('%Y-%m-%dT%H:%M:%S')`).
///
/// Reading accepts an optional fraction (Python's `isoformat()` writes microseconds when
/// they are non-zero); writing reproduces that: no fraction when the microseconds are zero,
/// else exactly six digits. Sub-microsecond precision is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NaiveUtc(pub DateTime<Utc>);

const FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

impl NaiveUtc {
    /// Parses the naive format (with an optional fraction) as UTC.
    pub fn parse(text: &str) -> Result<Self, chrono::ParseError> {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .map(|naive| NaiveUtc(naive.and_utc()))
    }
}

impl fmt::Display for NaiveUtc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.0.nanosecond() / 1_000 % 1_000_000;
        write!(f, "{}", self.0.format(FORMAT))?;
        if micros != 0 {
            write!(f, ".{micros:06}")?;
        }
        Ok(())
    }
}

impl Serialize for NaiveUtc {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for NaiveUtc {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        NaiveUtc::parse(&text).map_err(|e| {
            serde::de::Error::custom(format_args!(
                "invalid sessionTimestamp {text:?} (expected %Y-%m-%dT%H:%M:%S): {e}"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_text_round_trips() {
        for text in ["2024-03-09T17:05:59", "2024-03-09T17:05:59.000123"] {
            let t = NaiveUtc::parse(text).unwrap();
            assert_eq!(t.to_string(), text);
        }
        assert!(NaiveUtc::parse("2024-03-09 17:05:59").is_err());
        assert!(NaiveUtc::parse("2024-02-30T00:00:00").is_err());
    }
}
