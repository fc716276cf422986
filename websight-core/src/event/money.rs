//! Exact money: a fixed-point decimal with four places, read from JSON text, never via `f64`
//! arithmetic.

use std::fmt;
use std::iter::Sum;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount of money in units of 1/10,000 of the currency unit (`i64`, as SQL's `money`):
/// enough for every ISO 4217 currency's minor unit (at most 3 places) and any real order
/// (up to ±922 trillion units).
///
/// Amounts are read from the **decimal text** of the JSON number or string (`19.99` is
/// exactly 199,900 units, never 19.989999…), rounded half away from zero past four places.
/// Sums are exact and checked: [`Money::checked_add`] fails instead of wrapping; the `Sum`
/// impl saturates (and is only used on bounded, validated amounts).
///
/// ```
/// use websight_core::event::Money;
///
/// let a: Money = "19.99".parse()?;
/// let b = Money::from_json(&serde_json::json!(0.01)).unwrap()?;
/// assert_eq!((a.checked_add(b).unwrap()).to_string(), "20.00");
/// assert_eq!(Money::from_units(1), "0.0001".parse()?);
/// // 0.1 + 0.2 is exactly 0.3 here.
/// let sum: Money = ["0.1", "0.2"].iter().map(|s| s.parse::<Money>().unwrap()).sum();
/// assert_eq!(sum, "0.3".parse()?);
/// # Ok::<(), websight_core::event::MoneyError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Money(i64);

/// Why a value is not an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Not a decimal number (e.g. `"12,50"`, `"NaN"`, `true`).
    #[error("not a decimal amount: {0}")]
    NotDecimal(String),
    /// Beyond ±922 trillion.
    #[error("amount out of range: {0}")]
    OutOfRange(String),
}

/// Units per currency unit.
const SCALE: i64 = 10_000;
const PLACES: usize = 4;

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(0);

    /// From units of 1/10,000.
    pub const fn from_units(units: i64) -> Money {
        Money(units)
    }

    /// From whole minor units of a currency with two decimal places (cents).
    pub fn from_cents(cents: i64) -> Option<Money> {
        cents.checked_mul(100).map(Money)
    }

    /// The amount in units of 1/10,000.
    pub const fn units(self) -> i64 {
        self.0
    }

    /// Rounded to cents (half away from zero), as an integer.
    pub fn cents(self) -> i64 {
        let (q, r) = (self.0 / 100, self.0 % 100);
        q + if r >= 50 {
            1
        } else if r <= -50 {
            -1
        } else {
            0
        }
    }

    /// An approximation for charts and models; never for sums.
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / SCALE as f64
    }

    /// Checked addition.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// Checked multiplication by a quantity.
    pub fn checked_mul(self, quantity: i64) -> Option<Money> {
        self.0.checked_mul(quantity).map(Money)
    }

    /// Whether the amount is below zero.
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// A JSON number, exactly as its text (as serde_json writes it) reads.
    pub(crate) fn from_number(n: &serde_json::Number) -> Result<Money, MoneyError> {
        match Money::whole(n) {
            Some(whole) => Ok(whole),
            None => crate::json_bytes::number_text(n, str::parse),
        }
    }

    /// A number that is a whole amount (most prices: `4500`, `4500.0`) without writing and
    /// reading back its text; `None` for any other (fractions, magnitudes from 2⁵³ on,
    /// overflow), which the text reads (and explains).
    fn whole(n: &serde_json::Number) -> Option<Money> {
        let whole = match n.as_i64() {
            Some(i) => i,
            None => {
                let f = n.as_f64()?;
                // Below 2⁵³ every whole f64 converts exactly.
                if f.fract() != 0.0 || f.abs() >= 9_007_199_254_740_992.0 {
                    return None;
                }
                f as i64
            }
        };
        whole.checked_mul(SCALE).map(Money)
    }

    /// Reads a JSON number or numeric string (`"19.99"`); `None` for `null`.
    pub fn from_json(value: &serde_json::Value) -> Option<Result<Money, MoneyError>> {
        match value {
            serde_json::Value::Null => None,
            serde_json::Value::Number(n) => Some(Money::from_number(n)),
            serde_json::Value::String(s) => Some(s.trim().parse()),
            other => Some(Err(MoneyError::NotDecimal(crate::event::clip(
                &other.to_string(),
            )))),
        }
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    /// Parses `[-+]digits[.digits][e[-+]digits]` exactly.
    fn from_str(text: &str) -> Result<Money, MoneyError> {
        let bad = || MoneyError::NotDecimal(crate::event::clip(text));
        let range = || MoneyError::OutOfRange(crate::event::clip(text));
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(i) => {
                let e: i32 = rest[i + 1..].parse().map_err(|_| bad())?;
                (&rest[..i], e)
            }
            None => (rest, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        // All digits with the decimal point moved by the exponent: value = digits · 10^-point.
        // Read in place (no copies): leading zeros skipped, PLACES decimals kept, rounded
        // half away from zero on the first dropped digit.
        let all = || int.bytes().chain(frac.bytes());
        let zeros = all().take_while(|d| *d == b'0').count();
        let count = int.len() + frac.len() - zeros;
        let digits = || all().skip(zeros);
        let point = i64::try_from(frac.len()).map_err(|_| range())? - i64::from(exponent);
        // Keep PLACES decimals: shift = PLACES - point (may be negative: drop digits).
        let shift = PLACES as i64 - point;
        let number = |kept: usize| -> Result<i64, MoneyError> {
            digits().take(kept).try_fold(0i64, |n, d| {
                n.checked_mul(10)
                    .and_then(|n| n.checked_add(i64::from(d - b'0')))
                    .ok_or_else(range)
            })
        };
        let mut units = if shift >= 0 {
            if count as i64 + shift > 19 {
                return if count == 0 {
                    Ok(Money::ZERO)
                } else {
                    Err(range())
                };
            }
            match (number(count)?, 10i64.checked_pow(shift as u32)) {
                (0, _) => 0,
                (n, Some(scale)) => n.checked_mul(scale).ok_or_else(range)?,
                (_, None) => return Err(range()),
            }
        } else {
            // Every kept digit is zero when no digit is left of the cut.
            let cut = usize::try_from(count as i64 + shift).unwrap_or(0);
            let kept = number(cut)?;
            let round_up =
                count as i64 + shift >= 0 && digits().nth(cut).is_some_and(|d| d >= b'5');
            if round_up {
                kept.checked_add(1).ok_or_else(range)?
            } else {
                kept
            }
        };
        if negative {
            units = -units;
        }
        Ok(Money(units))
    }
}

impl fmt::Display for Money {
    /// At least two decimals, up to four (`19.99`, `0.0001`, `-3.50`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (int, frac) = (abs / SCALE as u64, abs % SCALE as u64);
        let mut frac = format!("{frac:04}");
        while frac.len() > 2 && frac.ends_with('0') {
            frac.pop();
        }
        write!(f, "{sign}{int}.{frac}")
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        Money(iter.fold(0i64, |a, m| a.saturating_add(m.0)))
    }
}

impl Serialize for Money {
    /// As a JSON number with its exact decimal text (`19.99`).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Four decimals fit an f64 exactly enough that its shortest form is our text. Below
        // 2⁵³ units both operands are exact, so the (correctly rounded) quotient is the f64
        // nearest the decimal — what parsing the text gives, without formatting it.
        const EXACT: u64 = 1 << 53;
        let value = if self.0.unsigned_abs() < EXACT {
            self.0 as f64 / SCALE as f64
        } else {
            self.to_string().parse::<f64>().unwrap_or(0.0)
        };
        serializer.serialize_f64(value)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Money::from_json(&value)
            .unwrap_or(Err(MoneyError::NotDecimal("null".into())))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Number;

    /// The parser as first written (with copies), kept as the oracle of the in-place one.
    fn reference(text: &str) -> Option<i64> {
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], rest[i + 1..].parse::<i32>().ok()?),
            None => (rest, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let digits = format!("{int}{frac}");
        let digits = digits.trim_start_matches('0');
        let shift = PLACES as i64 - (frac.len() as i64 - i64::from(exponent));
        let (kept, dropped) = if shift >= 0 {
            if digits.len() as i64 + shift > 19 {
                return digits.is_empty().then_some(0);
            }
            (
                format!("{digits}{}", "0".repeat(shift as usize)),
                String::new(),
            )
        } else {
            let cut = digits.len() as i64 + shift;
            if cut < 0 {
                (String::new(), String::new())
            } else {
                let cut = cut as usize;
                (digits[..cut].to_owned(), digits[cut..].to_owned())
            }
        };
        let mut units: i64 = if kept.is_empty() {
            0
        } else {
            kept.parse().ok()?
        };
        if dropped.as_bytes().first().is_some_and(|d| *d >= b'5') {
            units = units.checked_add(1)?;
        }
        Some(if negative { -units } else { units })
    }

    proptest! {
        #[test]
        fn whole_amounts_read_as_their_text_reads(u: u64, i: i64, f: f64, w in -1e17f64..1e17) {
            let numbers = [
                Some(Number::from(u)),
                Some(Number::from(i)),
                Number::from_f64(f),
                Number::from_f64(w.trunc()),
                Number::from_f64(9_007_199_254_740_992.0),
                Number::from_f64(-0.0),
            ];
            for n in numbers.into_iter().flatten() {
                let text = n.to_string().parse::<Money>();
                if let Some(whole) = Money::whole(&n) {
                    prop_assert_eq!(Ok(whole), text.clone());
                }
                prop_assert_eq!(Money::from_number(&n), text);
            }
        }

        #[test]
        fn parses_as_the_reference(
            sign in prop::sample::select(vec!["", "-", "+"]),
            int in "[0-9]{0,22}",
            frac in prop::option::of("[0-9]{0,22}"),
            exponent in prop::option::of((prop::sample::select(vec!["e", "E", "e-", "e+"]), 0u32..40)),
        ) {
            let mut text = format!("{sign}{int}");
            if let Some(f) = frac {
                text.push('.');
                text.push_str(&f);
            }
            if let Some((e, n)) = exponent {
                text.push_str(&format!("{e}{n}"));
            }
            let ours = text.parse::<Money>().ok().map(|m| m.units());
            prop_assert_eq!(ours, reference(&text), "{}", text);
        }

        #[test]
        fn serialises_as_the_f64_of_its_text(
            units in prop_oneof![any::<i64>(), -10_000_000_000i64..10_000_000_000,
                                 (1i64 << 53) - 1000..(1i64 << 53) + 1000],
        ) {
            let money = Money::from_units(units);
            let want = serde_json::to_string(&money.to_string().parse::<f64>().unwrap()).unwrap();
            prop_assert_eq!(serde_json::to_string(&money).unwrap(), want);
        }
    }

    fn m(s: &str) -> Money {
        s.parse().unwrap()
    }

    #[test]
    fn whole_prices_take_the_short_way_and_the_rest_the_text() {
        let whole = |f: f64| Money::whole(&Number::from_f64(f).unwrap());
        assert_eq!(whole(4500.0), Some(Money::from_units(45_000_000)));
        assert_eq!(whole(-3.0), Some(Money::from_units(-30_000)));
        assert_eq!(whole(19.99), None);
        assert_eq!(whole(1e300), None);
        assert_eq!(Money::whole(&Number::from(u64::MAX)), None);
        assert_eq!(Money::whole(&Number::from(i64::MAX)), None);
    }

    #[test]
    fn parses_decimal_text_exactly() {
        assert_eq!(m("19.99").units(), 199_900);
        assert_eq!(m("-0.5").units(), -5_000);
        assert_eq!(m("1e2").units(), 1_000_000);
        assert_eq!(m("1.5E-3").units(), 15);
        assert_eq!(m("0.00005").units(), 1, "half away from zero");
        assert_eq!(m("0.00004").units(), 0);
        assert_eq!(m(".25").units(), 2_500);
        assert_eq!(m("7.").units(), 70_000);
        assert_eq!(m("1e-400").units(), 0);
        assert_eq!(m("0e999999").units(), 0);
        for bad in [
            "", "-", ".", "1.2.3", "12,50", "NaN", "inf", "1e", "0x10", " 1",
        ] {
            assert!(bad.parse::<Money>().is_err(), "{bad:?}");
        }
        for huge in ["1e300", "922337203685478", "99999999999999999999"] {
            assert!(
                matches!(huge.parse::<Money>(), Err(MoneyError::OutOfRange(_))),
                "{huge}"
            );
        }
    }

    #[test]
    fn json_numbers_keep_their_text() {
        let v: serde_json::Value = serde_json::from_str("[0.1, 0.2, 1234.5678, 3]").unwrap();
        let sum: Money = v
            .as_array()
            .unwrap()
            .iter()
            .map(|x| Money::from_json(x).unwrap().unwrap())
            .sum();
        assert_eq!(sum, m("1237.8678"));
        assert_eq!(sum.to_string(), "1237.8678");
        assert_eq!(m("3").to_string(), "3.00");
        assert_eq!(m("-3.5").to_string(), "-3.50");
        assert_eq!(serde_json::to_string(&m("19.99")).unwrap(), "19.99");
        assert_eq!(m("19.995").cents(), 2000);
        assert_eq!(m("-19.995").cents(), -2000);
    }
}
