//! Deterministic random streams.
//!
//! ChaCha8 is portable and version-stable (unlike `StdRng`), so a seed means the same output
//! on every platform and every release of `rand_chacha` 0.3.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// SplitMix64 finaliser: a bijective mix of 64 bits.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// An independent stream for (seed, purpose, index), e.g. the traits of user 17.
pub(crate) fn derived_rng(seed: u64, purpose: u64, index: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(mix64(mix64(seed ^ purpose.rotate_left(32)) ^ index))
}

/// A random (version 4) UUID in its usual text form.
pub(crate) fn uuid4(rng: &mut impl RngCore) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    // Written digit by digit: a `format!` per byte cost the generator a tenth of its time.
    let mut text = String::with_capacity(36);
    for (i, byte) in b.into_iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uuid_has_the_usual_text_form() {
        let mut rng = derived_rng(7, 1, 2);
        let mut again = derived_rng(7, 1, 2);
        let mut b = [0u8; 16];
        again.fill_bytes(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        let want = [
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32],
        ]
        .join("-");
        assert_eq!(uuid4(&mut rng), want);
        assert_eq!(want.len(), 36);
        assert_eq!(&want[14..15], "4");
    }
}
