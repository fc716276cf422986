//! The known-user filter: a Bloom filter of user ids (the `bloomfilter` crate), with
//! snapshots.

use bloomfilter::Bloom;

use crate::{CoreError, Result};

/// Users seen in a valid event. False positives (a new user taken for known) happen at the
/// configured rate; false negatives never do.
pub struct KnownUsers {
    bloom: Bloom<str>,
}

impl std::fmt::Debug for KnownUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KnownUsers({:?})", self.bloom)
    }
}

impl KnownUsers {
    /// A filter sized for `capacity` users at false-positive rate `fp_rate`; `seed` fixes
    /// its hash functions, so equal seeds give mergeable, reproducible filters.
    pub fn new(capacity: usize, fp_rate: f64, seed: [u8; 32]) -> Result<Self> {
        if capacity == 0 {
            return Err(CoreError::parameter("known_users_capacity", "must be >= 1"));
        }
        if !(fp_rate > 0.0 && fp_rate < 1.0) {
            return Err(CoreError::parameter(
                "known_users_fp_rate",
                "must be in (0, 1)",
            ));
        }
        let bloom = Bloom::new_for_fp_rate_with_seed(capacity, fp_rate, &seed)
            .map_err(|e| CoreError::parameter("known_users_capacity", e))?;
        Ok(KnownUsers { bloom })
    }

    /// Whether `user` may have been seen.
    pub fn contains(&self, user: &str) -> bool {
        self.bloom.check(user)
    }

    /// Records `user`.
    pub fn insert(&mut self, user: &str) {
        self.bloom.set(user);
    }

    /// The filter as bytes (header and bitmap), for storage.
    pub fn snapshot(&self) -> Vec<u8> {
        self.bloom.to_bytes()
    }

    /// A filter from [`KnownUsers::snapshot`] bytes.
    pub fn restore(bytes: Vec<u8>) -> Result<Self> {
        let bloom = Bloom::from_bytes(bytes).map_err(|e| CoreError::invalid("known_users", e))?;
        Ok(KnownUsers { bloom })
    }
}
