//! The one 64-bit hash websight uses for sketches, ids and partitioning: fast, stable across
//! platforms and versions (never `std`'s randomised hasher where values leave the process);
//! a quicker stable hash for orders that are rebuilt, never stored (`order_hash`); and the
//! one hex encoding (pseudonyms, filter bytes in checkpoints).

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

/// A stable 64-bit hash for orders that are recomputed whenever the state is rebuilt, never
/// stored (a tie-break between events of the same time): eight bytes at a time, several times
/// quicker than [`hash64`]'s byte loop on a message id, and the same on every platform.
pub(crate) fn order_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    // The product's two halves folded together: every input bit reaches every output bit.
    let mix = |a: u64, b: u64| {
        let p = u128::from(a).wrapping_mul(u128::from(b));
        (p as u64) ^ ((p >> 64) as u64)
    };
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in chunks.by_ref() {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        h = mix(h ^ word, K);
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    mix(h ^ u64::from_le_bytes(tail), 0xBF58_476D_1CE4_E5B9)
}

/// A map that stays in the process (per-person state, caches): foldhash, seeded per process —
/// several times faster than `std`'s SipHash on short keys. Never for values that leave the
/// process or need a stable order. hashbrown's own map (what `std`'s wraps) for its
/// `entry_ref`: [`slot`] looks a key up once.
pub(crate) type FastMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::RandomState>;

/// The set of [`FastMap`].
pub(crate) type FastSet<K> = hashbrown::HashSet<K, foldhash::fast::RandomState>;

/// `map[key]`, inserted as `V::default()` when absent: one lookup, and an owned key made only
/// on insertion (every event looks its person up in the gate and in two rules).
pub(crate) fn slot<'m, V: Default>(map: &'m mut FastMap<String, V>, key: &str) -> &'m mut V {
    map.entry_ref(key).or_default()
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `bytes` as lower-case hex digits to `out`.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    out.reserve(2 * bytes.len());
    out.extend(bytes.iter().flat_map(|&b| hex_pair(b)).map(char::from));
}

/// `bytes` in lower-case hex, into the first `2 × bytes.len()` bytes of `out` (a stack buffer:
/// no `String` grown a character at a time).
pub fn write_hex(out: &mut [u8], bytes: &[u8]) {
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&hex_pair(b));
    }
}

/// One byte's two hex digits.
fn hex_pair(b: u8) -> [u8; 2] {
    [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]
}

/// The bytes of a hex string (`None` if it is not one).
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let text = text.as_bytes();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let mut s = String::new();
        push_hex(&mut s, &[0, 1, 0xab, 0xff]);
        assert_eq!(s, "0001abff");
        let mut b = [b'-'; 10];
        write_hex(&mut b, &[0, 1, 0xab, 0xff]);
        assert_eq!(&b, b"0001abff--");
        assert_eq!(from_hex(&s), Some(vec![0, 1, 0xab, 0xff]));
        assert_eq!(from_hex("0g"), None);
        assert_eq!(from_hex("abc"), None);
    }

    #[test]
    fn order_hash_is_pinned_and_tells_close_ids_apart() {
        // Pinned: a change would reorder ties between builds.
        assert_eq!(order_hash(b""), 0);
        let pinned = order_hash(b"81c4340f-0d30-48f6-8586-a9216c59a826-3");
        assert_eq!(pinned, 0x0d96_2684_bb0c_066f, "{pinned:#x}");
        // Ids that differ in one byte, in length only (trailing zero bytes), or by position.
        let mut seen = std::collections::HashSet::new();
        for i in 0..20_000u32 {
            assert!(seen.insert(order_hash(
                format!("81c4340f-0d30-48f6-8586-{i}").as_bytes()
            )));
        }
        for n in 0..40 {
            assert!(seen.insert(order_hash(&vec![0u8; n])));
        }
    }
}
