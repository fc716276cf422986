//! From sessions to sets of `feature=value` tokens, and "users similar to user X".
//!
//! The original system tokenised bare values, so every 0/1 flag collapsed into the two
//! tokens `0` and `1`. Here every token names its feature.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Timelike;
use websight_core::model::{Catalogue, PartOfDay, Session, UserId};

use crate::{LshIndex, LshParams, MinHasher, Result};

/// The `feature=value` tokens of one session: viewed, carted and bought products, their
/// categories, referrer, device, part of day and state. Unknown product ids are named by id.
///
/// ```
/// use websight_core::model::Catalogue;
/// use websight_core::synth::{Generator, SynthConfig};
/// use websight_lsh::session_tokens;
///
/// let generator = Generator::new(SynthConfig { sessions: 5, ..SynthConfig::default() })?;
/// let session = generator.sessions().next().unwrap().session;
/// let tokens = session_tokens(&session, &Catalogue::furniture());
/// assert!(tokens.iter().any(|t| t.starts_with("referrer=")));
/// assert!(tokens.iter().all(|t| t.contains('=')));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn session_tokens(session: &Session, catalogue: &Catalogue) -> BTreeSet<String> {
    let name = |id| {
        catalogue
            .get(id)
            .map_or_else(|| format!("#{id}"), |p| p.name.clone())
    };
    let mut tokens = BTreeSet::new();
    for id in session.viewed_products() {
        tokens.insert(format!("viewed={}", name(id)));
        if let Some(p) = catalogue.get(id) {
            tokens.insert(format!("category={}", p.category));
        }
    }
    for id in session.cart_products() {
        tokens.insert(format!("cart={}", name(id)));
    }
    if let Some(order) = &session.order {
        for &id in &order.products {
            tokens.insert(format!("bought={}", name(id)));
        }
        tokens.insert(format!("payment={}", order.payment));
    }
    tokens.insert(format!("referrer={}", session.referrer));
    tokens.insert(format!("device={}", session.device.device_type));
    tokens.insert(format!(
        "part_of_day={}",
        PartOfDay::from_hour(session.started_at.hour())
    ));
    tokens.insert(format!("state={}", session.location.state));
    tokens
}

/// Similar-user search over sessions: each user is the union of their sessions' tokens
/// (computed as the merge of per-session signatures), indexed by [`LshIndex`].
///
/// ```
/// use websight_core::model::Catalogue;
/// use websight_core::synth::{Generator, SynthConfig};
/// use websight_lsh::SimilarUsers;
///
/// let generator = Generator::new(SynthConfig { sessions: 2_000, users: 300, ..SynthConfig::default() })?;
/// let sessions: Vec<_> = generator.sessions().map(|s| s.session).collect();
/// let similar = SimilarUsers::build(&sessions, &Catalogue::furniture(), 128, 0.5)?;
/// let user = &sessions[0].user.id;
/// for (other, jaccard) in similar.similar_to(user, 3)? {
///     assert!(other != user && jaccard >= 0.0);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SimilarUsers {
    hasher: MinHasher,
    index: LshIndex<UserId>,
}

impl SimilarUsers {
    /// Tokenises, signs and indexes the users of `sessions` (seed 1, datasketch's default).
    pub fn build<'a>(
        sessions: impl IntoIterator<Item = &'a Session>,
        catalogue: &Catalogue,
        num_perm: usize,
        threshold: f64,
    ) -> Result<Self> {
        let hasher = MinHasher::new(num_perm, 1)?;
        let params = LshParams::optimal(threshold, num_perm, 0.5, 0.5)?;
        let mut users: BTreeMap<UserId, crate::Signature> = BTreeMap::new();
        for session in sessions {
            let signature = hasher.sign(session_tokens(session, catalogue));
            match users.get_mut(&session.user.id) {
                Some(existing) => existing.merge(&signature)?,
                None => {
                    users.insert(session.user.id.clone(), signature);
                }
            }
        }
        let index = LshIndex::build_par(params, &hasher, users)?;
        Ok(SimilarUsers { hasher, index })
    }

    /// The `k` users most similar to `user` (estimated Jaccard, best first).
    pub fn similar_to(&self, user: &UserId, k: usize) -> Result<Vec<(&UserId, f64)>> {
        self.index.similar_to(user, k)
    }

    /// The underlying index.
    pub fn index(&self) -> &LshIndex<UserId> {
        &self.index
    }

    /// The hasher used for signatures.
    pub fn hasher(&self) -> &MinHasher {
        &self.hasher
    }
}
