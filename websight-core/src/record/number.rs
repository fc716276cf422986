//! A JSON number that re-encodes whole values as integers.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A JSON number held as `f64` that writes whole values as JSON integers.
///
/// The original generator wrote prices, durations and amounts as Python ints (`5000`), while
/// other producers may send fractions (`12.5`). Both decode into this type and re-encode the
/// way they came: whole values within ±2⁵³ as integers, others in shortest round-trip form.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct JsonNumber(pub f64);

/// Largest magnitude at which every integer is exact in an `f64`.
const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0;

impl Serialize for JsonNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.fract() == 0.0 && v.abs() <= EXACT_INTEGER_LIMIT && !(v == 0.0 && v.is_sign_negative())
        {
            serializer.serialize_i64(v as i64)
        } else {
            serializer.serialize_f64(v)
        }
    }
}

impl<'de> Deserialize<'de> for JsonNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        f64::deserialize(deserializer).map(JsonNumber)
    }
}

impl From<f64> for JsonNumber {
    fn from(v: f64) -> Self {
        JsonNumber(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_values_stay_integers_and_fractions_stay_fractions() {
        for (text, value) in [("5000", 5000.0), ("0", 0.0), ("12.5", 12.5), ("-3", -3.0)] {
            let n: JsonNumber = serde_json::from_str(text).unwrap();
            assert_eq!(n.0, value);
            assert_eq!(serde_json::to_string(&n).unwrap(), text);
        }
        // Beyond 2^53 whole values are written as floats, and still read back exactly.
        let big = serde_json::to_string(&JsonNumber(1e300)).unwrap();
        assert_eq!(serde_json::from_str::<JsonNumber>(&big).unwrap().0, 1e300);
    }
}
