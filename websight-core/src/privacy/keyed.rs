//! HMAC-SHA256 (RFC 2104) for pseudonyms, with the key's two padded blocks compressed once:
//! an id of up to 55 bytes then costs two SHA-256 compressions and nothing else (no MAC state
//! cloned, no block buffer), every event's ids being such short texts. Longer inputs take the
//! `hmac` crate's path, which the tests hold this one equal to.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use sha2::block_api::compress256;

/// SHA-256's initial state.
const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The longest message one padded block holds (64 bytes less the `0x80` and the length).
const ONE_BLOCK: usize = 55;

/// HMAC-SHA256 under one key.
#[derive(Clone)]
pub(crate) struct KeyedHash {
    /// The states after `key ⊕ ipad` and `key ⊕ opad`.
    inner: [u32; 8],
    outer: [u32; 8],
    /// For inputs over [`ONE_BLOCK`] bytes.
    mac: Hmac<Sha256>,
}

impl KeyedHash {
    /// The keyed hash (any key length, as HMAC allows; the `hmac` crate has the last word).
    pub(crate) fn new(key: &[u8]) -> Result<KeyedHash, hmac::digest::InvalidLength> {
        let mut block = [0u8; 64];
        if key.len() > 64 {
            block[..32].copy_from_slice(&sha256(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let state = |pad: u8| {
            let mut state = IV;
            compress256(&mut state, &[block.map(|b| b ^ pad)]);
            state
        };
        Ok(KeyedHash {
            inner: state(0x36),
            outer: state(0x5c),
            mac: <Hmac<Sha256> as KeyInit>::new_from_slice(key)?,
        })
    }

    /// HMAC-SHA256 of `message`.
    pub(crate) fn digest(&self, message: &[u8]) -> [u8; 32] {
        if message.len() > ONE_BLOCK {
            let mut mac = self.mac.clone();
            mac.update(message);
            return mac.finalize().into_bytes().into();
        }
        let inner = finish(self.inner, message);
        words_be(&finish(self.outer, &words_be(&inner)))
    }
}

/// The state after `message` (at most [`ONE_BLOCK`] bytes) as the last block of a text
/// whose first 64 bytes `state` already holds.
fn finish(mut state: [u32; 8], message: &[u8]) -> [u32; 8] {
    let mut block = [0u8; 64];
    block[..message.len()].copy_from_slice(message);
    block[message.len()] = 0x80;
    let bits = (64 + message.len() as u64) * 8;
    block[56..].copy_from_slice(&bits.to_be_bytes());
    compress256(&mut state, &[block]);
    state
}

fn words_be(state: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (bytes, word) in out.chunks_exact_mut(4).zip(state) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    out
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference(key: &[u8], message: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    #[test]
    fn equals_the_hmac_crate_at_every_length_around_the_block() {
        for key_len in [0, 1, 16, 32, 63, 64, 65, 100, 200] {
            let key: Vec<u8> = (0..key_len).map(|i| (i * 7 + 3) as u8).collect();
            let keyed = KeyedHash::new(&key).unwrap();
            for len in 0..=130 {
                let message: Vec<u8> = (0..len).map(|i| (i * 13 + key_len) as u8).collect();
                assert_eq!(
                    keyed.digest(&message),
                    reference(&key, &message),
                    "key {key_len} bytes, message {len} bytes"
                );
            }
        }
    }

    #[test]
    fn rfc_4231_test_case_2() {
        // Key "Jefe", data "what do ya want for nothing?".
        let digest = KeyedHash::new(b"Jefe")
            .unwrap()
            .digest(b"what do ya want for nothing?");
        let mut hex = String::new();
        crate::hash::push_hex(&mut hex, &digest);
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    proptest! {
        #[test]
        fn equals_the_hmac_crate(
            key in proptest::collection::vec(any::<u8>(), 16..80),
            message in proptest::collection::vec(any::<u8>(), 0..120),
        ) {
            prop_assert_eq!(KeyedHash::new(&key).unwrap().digest(&message), reference(&key, &message));
        }
    }
}
