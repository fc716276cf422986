//! The one 64-bit hash websight uses for sketches, ids and partitioning: fast, stable across
//! platforms and versions (never `std`'s randomised hasher where values leave the process).

/// A 64-bit hash of bytes (FNV-1a, then the SplitMix64 finaliser for avalanche).
pub fn hash64(bytes: &[u8]) -> u64 {
    let mut h = 0xCBF2_9CE4_8422_2325u64;
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}
