//! How many of a currency's units make about a US dollar, to a power of ten: the scale of
//! the money limits of [`ImpossibleFigures`](super::ImpossibleFigures), which are set in
//! dollar-like units. A laptop is ₩1,590,000 or Rp 25,000,000; a limit of 1,000,000 units
//! read in won or rupiah rejected Korean and Indonesian shops' ordinary orders.
//!
//! Each listed currency's scale is the power of ten at or above its units per dollar
//! (approximate rates of 2025), one step higher where inflation is fast; a limit only needs
//! the order of magnitude. Unlisted currencies (the euro, the pound, the yuan, the real, …:
//! fewer than 20 units a dollar) are 1, as is an amount without a currency (the spec's
//! default, US dollars, as the analytics take it).

/// ISO 4217 code → scale, sorted by code.
const SCALES: &[(&str, i64)] = &[
    ("AFN", 100),
    ("ALL", 100),
    ("AMD", 1_000),
    ("AOA", 10_000),
    ("ARS", 10_000),
    ("BDT", 1_000),
    ("BIF", 10_000),
    ("BTN", 100),
    ("CDF", 10_000),
    ("CLP", 1_000),
    ("COP", 10_000),
    ("CRC", 1_000),
    ("CZK", 100),
    ("DJF", 1_000),
    ("DOP", 100),
    ("DZD", 1_000),
    ("EGP", 1_000),
    ("ETB", 1_000),
    ("GMD", 100),
    ("GNF", 10_000),
    ("GYD", 1_000),
    ("HNL", 100),
    ("HTG", 1_000),
    ("HUF", 1_000),
    ("IDR", 100_000),
    ("INR", 100),
    ("IQD", 10_000),
    ("IRR", 1_000_000),
    ("ISK", 1_000),
    ("JMD", 1_000),
    ("JPY", 1_000),
    ("KES", 1_000),
    ("KGS", 100),
    ("KHR", 10_000),
    ("KMF", 1_000),
    ("KRW", 10_000),
    ("KZT", 1_000),
    ("LAK", 100_000),
    ("LBP", 100_000),
    ("LKR", 1_000),
    ("LRD", 1_000),
    ("MGA", 10_000),
    ("MKD", 100),
    ("MMK", 10_000),
    ("MNT", 10_000),
    ("MRU", 100),
    ("MUR", 100),
    ("MWK", 10_000),
    ("MZN", 100),
    ("NGN", 10_000),
    ("NIO", 100),
    ("NPR", 1_000),
    ("PHP", 100),
    ("PKR", 1_000),
    ("PYG", 10_000),
    ("RSD", 1_000),
    ("RUB", 100),
    ("RWF", 10_000),
    ("SLL", 100_000),
    ("SOS", 1_000),
    ("SRD", 100),
    ("SSP", 100_000),
    ("STD", 100_000),
    ("SYP", 100_000),
    ("THB", 100),
    ("TRY", 1_000),
    ("TWD", 100),
    ("TZS", 10_000),
    ("UAH", 100),
    ("UGX", 10_000),
    ("UYU", 100),
    ("UZS", 100_000),
    ("VES", 1_000),
    ("VND", 100_000),
    ("VUV", 1_000),
    ("XAF", 1_000),
    ("XOF", 1_000),
    ("XPF", 1_000),
    ("YER", 1_000),
    ("ZMW", 100),
];

/// The scale of `currency` (any case; 1 when absent or unlisted), without an allocation.
pub(crate) fn scale(currency: Option<&str>) -> i64 {
    let Some(code) = currency.and_then(|c| <[u8; 3]>::try_from(c.as_bytes()).ok()) else {
        return 1;
    };
    let code = code.map(|b| b.to_ascii_uppercase());
    SCALES
        .binary_search_by(|(c, _)| c.as_bytes().cmp(&code[..]))
        .map_or(1, |i| SCALES[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_read_in_any_case() {
        assert!(SCALES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(SCALES.iter().all(|(_, s)| *s >= 100));
        assert_eq!(scale(Some("KRW")), 10_000);
        assert_eq!(scale(Some("idr")), 100_000);
        assert_eq!(scale(Some("EUR")), 1);
        for odd in [None, Some(""), Some("KR"), Some("KRWX"), Some("₩₩₩")] {
            assert_eq!(scale(odd), 1, "{odd:?}");
        }
    }
}
