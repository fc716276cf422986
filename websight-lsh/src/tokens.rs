//! From visits to sets of `feature=value` tokens, and "visitors similar to visitor X".
//!
//! The original system tokenised bare values, so every 0/1 flag collapsed into the two
//! tokens `0` and `1`. Here every token names its feature.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Timelike;
use websight_core::analytics::{ProductCatalogue, Visit};
use websight_core::model::PartOfDay;

use crate::{LshIndex, LshParams, MinHasher, Result};

/// The `feature=value` tokens of one visit: viewed, carted and bought products, their
/// categories, channel, device, part of day and payment method. Products are named from
/// the catalogue, else by key.
///
/// ```
/// use websight_core::analytics::{ProductCatalogue, Visit};
/// use websight_core::decode::{decode_segment, DecodeContext};
/// use websight_core::enrich::{Acquisition, AgentParser};
/// use websight_lsh::session_tokens;
///
/// let line = br#"{"type":"track","event":"Product Viewed","anonymousId":"a","timestamp":"2026-01-01T10:00:00Z",
///   "properties":{"product_id":"p1","name":"Sofa","category":"living room"}}"#;
/// let event = decode_segment(line, &DecodeContext::default()).remove(0)?;
/// let visit = Visit {
///     id: "v1".into(), person: "a".into(), acquisition: Acquisition::direct(),
///     agent: AgentParser::new().parse(None).as_ref().clone(), events: vec![event],
/// };
/// let tokens = session_tokens(&visit, &ProductCatalogue::default());
/// assert!(tokens.contains("viewed=Sofa") && tokens.contains("channel=Direct"));
/// assert!(tokens.iter().all(|t| t.contains('=')));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn session_tokens(visit: &Visit, catalogue: &ProductCatalogue) -> BTreeSet<String> {
    let mut tokens = BTreeSet::new();
    let mut product = |prefix: &str, item: &websight_core::event::ProductItem| {
        let Some(key) = item.key() else { return };
        let info = catalogue.get(key);
        let name = item
            .name
            .as_deref()
            .or(info.and_then(|i| i.name.as_deref()))
            .unwrap_or(key);
        tokens.insert(format!("{prefix}={name}"));
        let category = item
            .category
            .as_deref()
            .or(info.and_then(|i| i.category.as_deref()));
        if let (Some(category), "viewed") = (category, prefix) {
            tokens.insert(format!("category={category}"));
        }
    };
    for item in visit.product_views() {
        product("viewed", item);
    }
    for item in visit.cart_adds() {
        product("cart", item);
    }
    let orders = visit.orders();
    for order in &orders {
        for item in order.products {
            product("bought", item);
        }
    }
    if let Some(method) = visit.payment_method() {
        tokens.insert(format!("payment={method}"));
    }
    tokens.insert(format!("channel={}", visit.acquisition.channel));
    tokens.insert(format!("device={}", visit.agent.device_type));
    tokens.insert(format!(
        "part_of_day={}",
        PartOfDay::from_hour(visit.started_at().hour())
    ));
    tokens
}

/// [`SimilarUsers`] built one visit at a time, holding one signature per person and no
/// visit: what a reader streaming a long run's visits needs. Adding a visit twice changes
/// nothing (signatures merge by minimum).
pub struct SimilarUsersBuilder<'c> {
    catalogue: &'c ProductCatalogue,
    hasher: MinHasher,
    params: LshParams,
    users: BTreeMap<String, crate::Signature>,
}

impl<'c> SimilarUsersBuilder<'c> {
    /// An empty builder (seed 1, datasketch's default).
    pub fn new(catalogue: &'c ProductCatalogue, num_perm: usize, threshold: f64) -> Result<Self> {
        Ok(SimilarUsersBuilder {
            catalogue,
            hasher: MinHasher::new(num_perm, 1)?,
            params: LshParams::optimal(threshold, num_perm, 0.5, 0.5)?,
            users: BTreeMap::new(),
        })
    }

    /// Merges `visit`'s tokens into its person's signature.
    pub fn add(&mut self, visit: &Visit) -> Result<()> {
        let signature = self.hasher.sign(session_tokens(visit, self.catalogue));
        match self.users.get_mut(visit.person.as_str()) {
            Some(existing) => existing.merge(&signature)?,
            None => {
                self.users.insert(visit.person.to_string(), signature);
            }
        }
        Ok(())
    }

    /// Takes the persons `from` and `into` as one: `from`'s tokens are merged into `into`'s
    /// (e.g. two labels of one person that
    /// [`features::linked_persons`](websight_core::features::linked_persons) links). Nothing
    /// changes when `from` was never added or is `into`.
    pub fn join(&mut self, from: &str, into: &str) -> Result<()> {
        if from == into {
            return Ok(());
        }
        let Some(signature) = self.users.remove(from) else {
            return Ok(());
        };
        match self.users.get_mut(into) {
            Some(existing) => existing.merge(&signature)?,
            None => {
                self.users.insert(into.to_owned(), signature);
            }
        }
        Ok(())
    }

    /// Indexes the persons added.
    pub fn finish(self) -> Result<SimilarUsers> {
        let index = LshIndex::build_par(self.params, &self.hasher, self.users)?;
        Ok(SimilarUsers {
            hasher: self.hasher,
            index,
        })
    }
}

/// Similar-visitor search over visits: each person is the union of their visits' tokens
/// (computed as the merge of per-visit signatures), indexed by [`LshIndex`]. Persons are
/// the visits' (pseudonymised, stitched) persons.
pub struct SimilarUsers {
    hasher: MinHasher,
    index: LshIndex<String>,
}

impl SimilarUsers {
    /// Tokenises, signs and indexes the persons of `visits` (seed 1, datasketch's default).
    pub fn build<'a>(
        visits: impl IntoIterator<Item = &'a Visit>,
        catalogue: &ProductCatalogue,
        num_perm: usize,
        threshold: f64,
    ) -> Result<Self> {
        let mut builder = SimilarUsersBuilder::new(catalogue, num_perm, threshold)?;
        for visit in visits {
            builder.add(visit)?;
        }
        builder.finish()
    }

    /// The `k` persons most similar to `person` (estimated Jaccard, best first).
    pub fn similar_to(&self, person: &str, k: usize) -> Result<Vec<(&String, f64)>> {
        self.index.similar_to(&person.to_owned(), k)
    }

    /// The underlying index.
    pub fn index(&self) -> &LshIndex<String> {
        &self.index
    }

    /// The hasher used for signatures.
    pub fn hasher(&self) -> &MinHasher {
        &self.hasher
    }
}
