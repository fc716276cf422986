//! Purchase features of a session: what a model may know before checkout.
//!
//! Checkout pages and the order are the outcome, so everything from the first checkout page
//! on is left out — the original system's features leaked nothing only by accident. Counts
//! and durations are log-scaled and categories one-hot encoded, so every column lives on a
//! fixed, data-independent scale (no scaler fitted on private data is needed). The one
//! fitted part is the vocabulary of states ([`PurchaseFeatures::with_states`]); a state
//! outside it lands in `state=other`, so no value and no column is ever dropped.

use chrono::{Datelike, Timelike};
use ndarray::Array2;

use serde::{Deserialize, Serialize};

use crate::model::{Action, Catalogue, DeviceType, Gender, PartOfDay, Referrer, Session, UserId};

/// The feature extractor for one catalogue: column names and the row of a session.
///
/// ```
/// use websight_core::features::PurchaseFeatures;
/// use websight_core::model::Catalogue;
/// use websight_core::synth::{Generator, SynthConfig};
///
/// let catalogue = Catalogue::furniture();
/// let features = PurchaseFeatures::new(&catalogue);
/// let g = Generator::new(SynthConfig { sessions: 10, ..SynthConfig::default() })?;
/// let s = g.sessions().next().unwrap();
/// let row = features.row(&s.session, s.truth.returning);
/// assert_eq!(row.len(), features.names().len());
/// # Ok::<(), websight_core::CoreError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurchaseFeatures {
    products: Vec<(crate::model::ProductId, String)>,
    states: Vec<String>,
}

impl PurchaseFeatures {
    /// Features for sessions of `catalogue` (one viewed-product flag per product).
    pub fn new(catalogue: &Catalogue) -> Self {
        PurchaseFeatures {
            products: catalogue
                .products()
                .iter()
                .map(|p| (p.id, p.name.clone()))
                .collect(),
            states: Vec::new(),
        }
    }

    /// Learns the state vocabulary: the `max_states` most frequent states of the training
    /// sessions (ties alphabetical); any other state is encoded as `state=other`.
    pub fn with_states<'a>(
        mut self,
        sessions: impl IntoIterator<Item = &'a Session>,
        max_states: usize,
    ) -> Self {
        let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for s in sessions {
            *counts.entry(s.location.state.as_str()).or_default() += 1;
        }
        let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        self.states = ranked
            .into_iter()
            .take(max_states)
            .map(|(s, _)| s.to_owned())
            .collect();
        self
    }

    /// Column names, in row order.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = [
            "ln1p_cart_adds",
            "ln1p_product_dwell_minutes",
            "ln1p_product_views",
            "ln1p_searches",
            "ln1p_clicks",
            "ln1p_duration_minutes",
            "returning_user",
            "is_weekend",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        names.extend(Referrer::ALL.iter().map(|r| format!("referrer={r}")));
        names.extend(DeviceType::ALL.iter().map(|d| format!("device={d}")));
        names.extend(PartOfDay::ALL.iter().map(|p| format!("part_of_day={p}")));
        names.extend(self.products.iter().map(|(_, n)| format!("viewed={n}")));
        names.extend(Gender::ALL.iter().map(|g| format!("gender={g}")));
        names.extend(self.states.iter().map(|s| format!("state={s}")));
        names.push("state=other".to_owned());
        names.extend(self.products.iter().map(|(_, n)| format!("exit_page={n}")));
        names.push("exit_page=none".to_owned());
        names
    }

    /// The feature row of `session`; `returning` says whether its user was seen before
    /// (known to the gate's user filter, not to the session itself).
    pub fn row(&self, session: &Session, returning: bool) -> Vec<f64> {
        let before: Vec<_> = session
            .events
            .iter()
            .take_while(|e| e.action != Action::Checkout)
            .collect();
        let count = |a: Action| before.iter().filter(|e| e.action == a).count() as f64;
        let dwell: f64 = before
            .iter()
            .filter(|e| e.product.is_some())
            .map(|e| e.dwell_seconds)
            .sum();
        let clicks: f64 = before.iter().map(|e| f64::from(e.clicks)).sum();
        let duration = match (before.first(), before.last()) {
            (Some(first), Some(last)) => {
                crate::model::seconds_between(first.at, last.at) + last.dwell_seconds
            }
            _ => 0.0,
        };
        let flag = |b: bool| f64::from(u8::from(b));
        let weekday = session.started_at.weekday().number_from_monday();
        let mut row = vec![
            count(Action::AddToCart).ln_1p(),
            (dwell / 60.0).ln_1p(),
            count(Action::ViewItem).ln_1p(),
            count(Action::Search).ln_1p(),
            clicks.ln_1p(),
            (duration.max(0.0) / 60.0).ln_1p(),
            flag(returning),
            flag(weekday >= 6),
        ];
        row.extend(Referrer::ALL.iter().map(|r| flag(session.referrer == *r)));
        row.extend(
            DeviceType::ALL
                .iter()
                .map(|d| flag(session.device.device_type == *d)),
        );
        let part = PartOfDay::from_hour(session.started_at.hour());
        row.extend(PartOfDay::ALL.iter().map(|p| flag(part == *p)));
        row.extend(self.products.iter().map(|(id, _)| {
            flag(
                before
                    .iter()
                    .any(|e| e.action == Action::ViewItem && e.product == Some(*id)),
            )
        }));
        row.extend(Gender::ALL.iter().map(|g| flag(session.user.gender == *g)));
        let state = session.location.state.as_str();
        row.extend(self.states.iter().map(|s| flag(s == state)));
        row.push(flag(!self.states.iter().any(|s| s == state)));
        // The last product page before checkout: the page the visitor would have left from.
        let exit = before.iter().rev().find_map(|e| e.product);
        row.extend(self.products.iter().map(|(id, _)| flag(exit == Some(*id))));
        row.push(flag(exit.is_none()));
        row
    }

    /// A matrix of rows (records × features).
    pub fn matrix<'a>(
        &self,
        sessions: impl IntoIterator<Item = (&'a Session, bool)>,
    ) -> Array2<f64> {
        let rows: Vec<Vec<f64>> = sessions.into_iter().map(|(s, r)| self.row(s, r)).collect();
        let d = self.names().len();
        Array2::from_shape_fn((rows.len(), d), |(i, j)| rows[i][j])
    }
}

/// Whether `user` falls on the test side of a split by user: a stable hash of the id and
/// `seed` against `test_fraction`, so no user is on both sides and the split is the same
/// every run.
pub fn is_test_user(user: &UserId, test_fraction: f64, seed: u64) -> bool {
    // FNV-1a over the id, mixed with the seed (SplitMix64 finaliser).
    let mut h = 0xCBF2_9CE4_8422_2325u64 ^ seed;
    for b in user.as_str().bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^= h >> 31;
    ((h >> 11) as f64 / (1u64 << 53) as f64) < test_fraction
}

/// Sessions with their id seen for the first time, in input order: replays of a session
/// (redelivered records, a consumer re-reading its topic) are dropped.
pub fn dedup_sessions<'a>(sessions: impl IntoIterator<Item = &'a Session>) -> Vec<&'a Session> {
    let mut seen = std::collections::HashSet::new();
    sessions
        .into_iter()
        .filter(|s| seen.insert(s.id.clone()))
        .collect()
}

/// For sessions in start order, whether each one's user had an earlier session in the data
/// — the observable "returning user" flag.
pub fn returning_flags(sessions: &[&Session]) -> Vec<bool> {
    let mut seen = std::collections::HashSet::new();
    sessions
        .iter()
        .map(|s| !seen.insert(s.user.id.clone()))
        .collect()
}

/// Splits rows by user, stratified: users with at least one positive row and users with
/// none are each sent `test_fraction` to the test side (seeded shuffle). No user is on both
/// sides. Returns (train rows, test rows).
pub fn split_by_user(
    users: &[&UserId],
    labels: &[bool],
    test_fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let mut positive: std::collections::BTreeMap<&UserId, bool> = std::collections::BTreeMap::new();
    for (u, &l) in users.iter().zip(labels) {
        *positive.entry(*u).or_default() |= l;
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut test_users = std::collections::HashSet::new();
    for class in [false, true] {
        let mut group: Vec<&UserId> = positive
            .iter()
            .filter(|(_, p)| **p == class)
            .map(|(u, _)| *u)
            .collect();
        group.shuffle(&mut rng);
        let n = (group.len() as f64 * test_fraction).round() as usize;
        test_users.extend(group.into_iter().take(n));
    }
    (0..users.len()).partition(|i| !test_users.contains(users[*i]))
}

/// Purchase data ready for honest evaluation: sessions deduplicated by id, the "returning
/// user" flag from earlier sessions, the state vocabulary fitted on the training side only,
/// rows split 80/20 **by user** (stratified). Row `i` of [`PurchaseData::data`] is session
/// `sessions[i]`.
#[derive(Debug, Clone)]
pub struct PurchaseData<'a> {
    /// The deduplicated sessions, in input order.
    pub sessions: Vec<&'a Session>,
    /// The fitted feature extractor.
    pub features: PurchaseFeatures,
    /// All rows with their labels and feature names.
    pub data: crate::datasets::Dataset,
    /// Training rows.
    pub train: Vec<usize>,
    /// Test rows (users disjoint from the training rows').
    pub test: Vec<usize>,
}

impl<'a> PurchaseData<'a> {
    /// Builds the data from `sessions` (abusive traffic already removed by the caller),
    /// with up to 12 named states and the split seeded by `seed`.
    pub fn build(
        sessions: impl IntoIterator<Item = &'a Session>,
        catalogue: &Catalogue,
        test_fraction: f64,
        seed: u64,
    ) -> PurchaseData<'a> {
        let sessions = dedup_sessions(sessions);
        let returning = returning_flags(&sessions);
        let users: Vec<&UserId> = sessions.iter().map(|s| &s.user.id).collect();
        let labels: Vec<bool> = sessions.iter().map(|s| s.purchased()).collect();
        let (train, test) = split_by_user(&users, &labels, test_fraction, seed);
        let features =
            PurchaseFeatures::new(catalogue).with_states(train.iter().map(|&i| sessions[i]), 12);
        let x = features.matrix(sessions.iter().copied().zip(returning.iter().copied()));
        let data = crate::datasets::Dataset {
            x,
            y: ndarray::Array1::from(labels),
            feature_names: features.names(),
        };
        PurchaseData {
            sessions,
            features,
            data,
            train,
            test,
        }
    }
}
