//! The hashing datasketch 2.0 uses, spelled out so signatures match it bit for bit.
//!
//! - item hash: `sha1_hash32` — the first 4 bytes of SHA-1 of the item's bytes, little-endian;
//! - pre-mix: the 32-bit MurmurHash3 finaliser (a bijection);
//! - permutation k: `a_k·h + b_k mod 2³²` with odd `a_k`, from NumPy's legacy
//!   `RandomState(seed)` (MT19937): `a = randint(0, 2³¹, n)·2 + 1`, then `b = randint(0, 2³², n)`.

use sha1::{Digest, Sha1};

/// datasketch's `sha1_hash32`: SHA-1 of `data`, first four bytes read little-endian.
pub fn sha1_hash32(data: &[u8]) -> u32 {
    let digest = Sha1::digest(data);
    u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The 32-bit MurmurHash3 finaliser: spreads structured hashes before the affine step.
#[inline]
pub fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^ (h >> 16)
}

/// The Mersenne Twister MT19937 as NumPy's legacy `RandomState(int)` seeds and draws it.
pub(crate) struct Mt19937 {
    state: [u32; 624],
    index: usize,
}

impl Mt19937 {
    /// `init_genrand(seed)`: what `RandomState(seed)` does with an integer seed.
    pub fn new(seed: u32) -> Self {
        let mut state = [0u32; 624];
        state[0] = seed;
        for i in 1..624 {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Mt19937 { state, index: 624 }
    }

    fn twist(&mut self) {
        for i in 0..624 {
            let y = (self.state[i] & 0x8000_0000) | (self.state[(i + 1) % 624] & 0x7FFF_FFFF);
            let mut next = self.state[(i + 397) % 624] ^ (y >> 1);
            if y & 1 != 0 {
                next ^= 0x9908_B0DF;
            }
            self.state[i] = next;
        }
        self.index = 0;
    }

    pub fn next_u32(&mut self) -> u32 {
        if self.index >= 624 {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9D2C_5680;
        y ^= (y << 15) & 0xEFC6_0000;
        y ^ (y >> 18)
    }
}

/// datasketch 2.0's `affine32` permutation parameters `(a, b)` for `num_perm` and `seed`.
///
/// NumPy's legacy bounded `randint` for `uint32` masks one 32-bit draw to the range's bit
/// width and rejects values above it; both ranges here are exact powers of two, so no draw
/// is ever rejected.
pub fn datasketch_permutations(num_perm: usize, seed: u32) -> (Vec<u32>, Vec<u32>) {
    let mut mt = Mt19937::new(seed);
    let a = (0..num_perm)
        .map(|_| {
            (mt.next_u32() & 0x7FFF_FFFF)
                .wrapping_mul(2)
                .wrapping_add(1)
        })
        .collect();
    let b = (0..num_perm).map(|_| mt.next_u32()).collect();
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mt19937_matches_the_reference_sequence() {
        // First outputs of init_genrand(5489), the reference implementation's default seed.
        let mut mt = Mt19937::new(5489);
        assert_eq!(mt.next_u32(), 3_499_211_612);
        assert_eq!(mt.next_u32(), 581_869_302);
        assert_eq!(mt.next_u32(), 3_890_346_734);
    }

    #[test]
    fn sha1_hash32_of_known_input() {
        // sha1("abc") = a9993e36…; the first four bytes little-endian.
        assert_eq!(sha1_hash32(b"abc"), 0x363E_99A9);
    }
}
