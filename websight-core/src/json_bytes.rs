//! Byte-level scanning shared by websight's JSON readers (the decoder's scanner and the
//! check a JSON-lines sink makes before writing a payload as it is), and the text of a
//! number they read.

use serde_json::Number;

/// A string's end, from `from` (just after its opening quote) in `bytes`: the offset after
/// its closing quote, and whether it holds escapes. Each escape is checked as serde_json
/// checks an ignored string's; `None` for a bad escape, a control character or no end.
pub(crate) fn string_end(bytes: &[u8], from: usize) -> Option<(usize, bool)> {
    let mut i = from;
    let mut escaped = false;
    loop {
        i += special(bytes.get(i..)?)?;
        match bytes[i] {
            b'"' => return Some((i + 1, escaped)),
            b'\\' => {
                escaped = true;
                match bytes.get(i + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                    b'u' => {
                        let hex = bytes.get(i + 2..i + 6)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return None;
                        }
                        i += 6;
                    }
                    _ => return None,
                }
            }
            _ => return None, // a control character
        }
    }
}

/// The offset of the first `"`, `\\` or control character in `bytes`: sixteen bytes at a
/// time with SSE2 (every x86-64 has it), the rest in two overlapping words.
#[cfg(target_arch = "x86_64")]
pub(crate) fn special(bytes: &[u8]) -> Option<usize> {
    // SAFETY: SSE2 is part of every x86-64 CPU (the target's baseline); nothing else is
    // unsafe in it.
    unsafe { special_sse2(bytes) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline(never)]
fn special_sse2(bytes: &[u8]) -> Option<usize> {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x,
        _mm_set1_epi8,
    };
    let quote = _mm_set1_epi8(b'"' as i8);
    let backslash = _mm_set1_epi8(b'\\' as i8);
    let control = _mm_set1_epi8(0x1f);
    let mut chunks = bytes.chunks_exact(16);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let (lo, hi) = chunk.split_at(8);
        let word = |half: &[u8]| u64::from_le_bytes(half.try_into().unwrap_or_default()) as i64;
        let v = _mm_set_epi64x(word(hi), word(lo));
        // A byte is a control character when it is its own minimum with 0x1f (unsigned).
        let hits = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
            _mm_cmpeq_epi8(_mm_min_epu8(v, control), v),
        );
        let mask = _mm_movemask_epi8(hits);
        if mask != 0 {
            return Some(at + mask.trailing_zeros() as usize);
        }
        at += 16;
    }
    short(chunks.remainder()).map(|n| at + n)
}

/// [`special`] elsewhere.
#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn special(bytes: &[u8]) -> Option<usize> {
    swar(bytes)
}

/// The offset of the first `"`, `\\` or control character in `bytes`, eight bytes at a
/// time.
#[cfg(any(test, not(target_arch = "x86_64")))]
fn swar(bytes: &[u8]) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let hits = word_hits(u64::from_le_bytes(chunk.try_into().ok()?));
        if hits != 0 {
            return Some(at + hits.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    short(chunks.remainder()).map(|n| at + n)
}

/// The high bit of each byte of `word` (little-endian) that is a quote, a backslash or a
/// control character; borrows can flag bytes after the first hit, never before it.
fn word_hits(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    (zero(word ^ (ONES * u64::from(b'"')))
        | zero(word ^ (ONES * u64::from(b'\\')))
        | (word.wrapping_sub(ONES * 0x20) & !word))
        & HIGH
}

/// [`special`] of fewer than sixteen bytes (a string's tail, or a short key): two words
/// that overlap, not a loop — the first hit is in the first word, or else past it, in the
/// second.
fn short(bytes: &[u8]) -> Option<usize> {
    let n = bytes.len();
    let first_hit = |hits: u64| hits.trailing_zeros() as usize / 8;
    let (first, last, width) = if n >= 8 {
        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or_default());
        (word(&bytes[..8]), word(&bytes[n - 8..]), 8)
    } else if n >= 4 {
        // Four bytes, the other four spaces (not special).
        const SPACES: u64 = 0x2020_2020 << 32;
        let word =
            |b: &[u8]| u64::from(u32::from_le_bytes(b.try_into().unwrap_or_default())) | SPACES;
        (word(&bytes[..4]), word(&bytes[n - 4..]), 4)
    } else {
        return bytes
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
    };
    match (word_hits(first), word_hits(last)) {
        (0, 0) => None,
        (0, hits) => Some(n - width + first_hit(hits)),
        (hits, _) => Some(first_hit(hits)),
    }
}

/// `f` of a number's text as serde_json's `Display` writes it (by its own writers, itoa and
/// zmij, without `fmt`'s machinery).
pub(crate) fn number_text<R>(n: &Number, f: impl FnOnce(&str) -> R) -> R {
    if let Some(u) = n.as_u64() {
        f(itoa::Buffer::new().format(u))
    } else if let Some(i) = n.as_i64() {
        f(itoa::Buffer::new().format(i))
    } else {
        // Neither integer: a finite float (serde_json holds no other).
        f(zmij::Buffer::new().format_finite(n.as_f64().unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn number_text_is_display(u: u64, i: i64, f: f64) {
            let numbers = [Some(Number::from(u)), Some(Number::from(i)), Number::from_f64(f)];
            for n in numbers.into_iter().flatten() {
                proptest::prop_assert_eq!(number_text(&n, str::to_owned), n.to_string());
            }
        }
    }

    #[test]
    fn string_ends_after_its_closing_quote_and_says_whether_it_escapes() {
        let end = |text: &str| string_end(text.as_bytes(), 1);
        assert_eq!(end(r#""plain" tail"#), Some((7, false)));
        assert_eq!(end(r#""a\"b\\c\/\b\f\n\r\t\u00e9" "#), Some((27, true)));
        assert_eq!(end(r#""""#), Some((2, false)));
        for bad in [
            r#""no end"#,
            r#""bad \x escape""#,
            r#""short \u12""#,
            r#""not hex \u12g4""#,
            "\"a control \n character\"",
            r#""cut after \"#,
        ] {
            assert_eq!(end(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn special_finds_the_first_quote_backslash_or_control_character() {
        let naive = |b: &[u8]| b.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
        let mut text: Vec<u8> = (0x20..=0xff).filter(|&b| b != b'"' && b != b'\\').collect();
        for hit in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
            for at in 0..text.len() {
                let mut t = text.clone();
                t[at] = hit;
                for from in 0..17.min(t.len()) {
                    assert_eq!(special(&t[from..]), naive(&t[from..]));
                    assert_eq!(swar(&t[from..]), naive(&t[from..]));
                }
            }
        }
        text.truncate(29);
        assert_eq!(special(&text), None);
        assert_eq!(swar(&text), None);
    }

    #[test]
    fn every_length_and_place_is_judged_exactly() {
        // The overlapping words of short tails, at every length and after every chunk.
        for len in 0..=40 {
            for plain in [b'a', 0x7f, 0xff] {
                assert_eq!(special(&vec![plain; len]), None);
                for b in [b'"', b'\\', 0x00, 0x1f, 0x20, b'a', 0x80] {
                    for at in 0..len {
                        let mut text = vec![plain; len];
                        text[at] = b;
                        let want = (b == b'"' || b == b'\\' || b < 0x20).then_some(at);
                        assert_eq!(special(&text), want, "{b:#x} at {at} of {len}");
                        assert_eq!(swar(&text), want, "{b:#x} at {at} of {len}");
                        assert_eq!(short(&text[..len.min(15)]), want.filter(|&w| w < 15));
                    }
                }
            }
        }
    }

    #[test]
    fn every_byte_value_at_every_place_is_judged_exactly() {
        // Among plain bytes of several kinds, in the SSE2 chunk and in the tail.
        for plain in [b'a', b' ', b'!', b'#', b'[', b']', 0x7f, 0x80, 0x9f, 0xff] {
            for b in 0..=255u8 {
                for at in 0..24 {
                    let mut text = [plain; 24];
                    text[at] = b;
                    let want = (b == b'"' || b == b'\\' || b < 0x20).then_some(at);
                    assert_eq!(special(&text), want, "{b:#x} at {at}");
                    assert_eq!(swar(&text), want, "{b:#x} at {at}");
                }
            }
        }
    }
}
