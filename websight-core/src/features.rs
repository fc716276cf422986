//! Purchase features of a visit: what a model may know before checkout.
//!
//! Everything from the first `Checkout Started`, `Payment Info Entered` or `Order
//! Completed` on is the outcome, so it is left out. Only what a real tracker sends is used:
//! product views, cart adds and searches, time between events, page views, the channel,
//! the device type, the time of day, whether the person came before — no name, gender or
//! location. Counts and durations are log-scaled and categories one-hot encoded, so every
//! column lives on a fixed, data-independent scale (no scaler fitted on private data is
//! needed). The one fitted part is the product vocabulary ([`PurchaseFeatures::fit`]: the
//! most viewed products of the training visits); other products count in the totals only.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, Timelike};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::analytics::visit::dwell_by_product;
use crate::analytics::{ProductCatalogue, Visit};
use crate::enrich::Channel;
use crate::event::{Event, ProductItem, names};
use crate::model::{DeviceType, PartOfDay};

/// The events of a visit before its checkout: everything from the moment of the first
/// checkout event on is cut, including what shares that moment (the checkout page view, a
/// login at checkout).
fn before_checkout(visit: &Visit) -> &[Box<Event>] {
    let checkout = visit.events.iter().find(|e| {
        e.is_track(names::CHECKOUT_STARTED)
            || e.is_track(names::PAYMENT_INFO_ENTERED)
            || e.is_track(names::ORDER_COMPLETED)
    });
    let end = match checkout {
        Some(c) => visit.events.partition_point(|e| e.time < c.time),
        None => visit.events.len(),
    };
    &visit.events[..end]
}

fn keys<'a>(events: &'a [Box<Event>], name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    events
        .iter()
        .filter(move |e| e.is_track(name))
        .flat_map(|e| e.properties.products.iter().filter_map(ProductItem::key))
}

/// What the purchase features need of a visit — a few hundred bytes instead of its events,
/// so the offline stage can hold every visit of a long run ([`VisitDigest::of`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitDigest {
    /// The visit's id.
    pub id: String,
    /// Its person (the label it closed with; [`link_persons`] names it by what all the
    /// visits link).
    pub person: String,
    /// Its person's other ids seen in the visit ([`Visit::ids`] but the first).
    #[serde(default)]
    pub ids: Vec<String>,
    /// The first event's time.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// Whether it has an `Order Completed` (the label).
    pub purchased: bool,
    /// Cart adds before checkout.
    pub cart_adds: u32,
    /// Minutes on product pages before checkout.
    pub dwell_minutes: f64,
    /// Product keys viewed before checkout, in order.
    pub product_views: Vec<String>,
    /// Searches before checkout.
    pub searches: u32,
    /// Page and screen views before checkout.
    pub page_views: u32,
    /// Minutes from the first event to the last before checkout.
    pub duration_minutes: f64,
    /// The acquisition channel.
    pub channel: Channel,
    /// The device type.
    pub device: DeviceType,
}

impl VisitDigest {
    /// The digest of `visit`.
    pub fn of(visit: &Visit) -> VisitDigest {
        let before = before_checkout(visit);
        let count = |name: &str| keys(before, name).count() as u32;
        let duration = match (before.first(), before.last()) {
            (Some(a), Some(b)) => {
                b.time.signed_duration_since(a.time).num_milliseconds() as f64 / 1000.0
            }
            _ => 0.0,
        };
        VisitDigest {
            id: visit.id.to_string(),
            person: visit.person.to_string(),
            ids: visit.ids().into_iter().skip(1).map(str::to_owned).collect(),
            started_at: visit.started_at(),
            purchased: visit.purchased(),
            cart_adds: count(names::PRODUCT_ADDED),
            dwell_minutes: dwell_by_product(before).iter().map(|(_, s)| s).sum::<f64>() / 60.0,
            product_views: keys(before, names::PRODUCT_VIEWED)
                .map(str::to_owned)
                .collect(),
            searches: before
                .iter()
                .filter(|e| e.is_track(names::PRODUCTS_SEARCHED))
                .count() as u32,
            page_views: before.iter().filter(|e| e.kind.is_view()).count() as u32,
            duration_minutes: duration.max(0.0) / 60.0,
            channel: visit.acquisition.channel,
            device: visit.agent.device_type,
        }
    }
}

/// The feature extractor: column names and the row of a visit.
///
/// ```
/// use websight_core::analytics::ProductCatalogue;
/// use websight_core::features::PurchaseFeatures;
///
/// let features = PurchaseFeatures::fit([], &ProductCatalogue::default(), 10);
/// assert!(features.names().iter().any(|n| n == "channel=Organic Search"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurchaseFeatures {
    /// (product key, display name) of the products with their own columns.
    products: Vec<(String, String)>,
}

impl PurchaseFeatures {
    /// Features with a column for each of the `max_products` products viewed in most of
    /// `visits` (ties by key), named from `catalogue`.
    pub fn fit<'a>(
        visits: impl IntoIterator<Item = &'a VisitDigest>,
        catalogue: &ProductCatalogue,
        max_products: usize,
    ) -> Self {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for v in visits {
            let seen: HashSet<&str> = v.product_views.iter().map(String::as_str).collect();
            for k in seen {
                *counts.entry(k.to_owned()).or_default() += 1;
            }
        }
        let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        PurchaseFeatures {
            products: ranked
                .into_iter()
                .take(max_products)
                .map(|(k, _)| {
                    let name = catalogue.name(&k).to_owned();
                    (k, name)
                })
                .collect(),
        }
    }

    /// Column names, in row order.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = [
            "ln1p_cart_adds",
            "ln1p_product_dwell_minutes",
            "ln1p_product_views",
            "ln1p_searches",
            "ln1p_page_views",
            "ln1p_duration_minutes",
            "returning_visitor",
            "is_weekend",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        names.extend(Channel::ALL.iter().map(|c| format!("channel={c}")));
        names.extend(DeviceType::ALL.iter().map(|d| format!("device={d}")));
        names.extend(PartOfDay::ALL.iter().map(|p| format!("part_of_day={p}")));
        names.extend(self.products.iter().map(|(_, n)| format!("viewed={n}")));
        names.extend(
            self.products
                .iter()
                .map(|(_, n)| format!("last_viewed={n}")),
        );
        names.push("last_viewed=other".to_owned());
        names.push("last_viewed=none".to_owned());
        names
    }

    /// Each column's public range (see [`crate::datasets::FeatureRange`]): the `ln1p_`
    /// counts up to 1,000 (ln 1,001), dwell and duration up to a day in minutes, the rest
    /// flags in [0, 1].
    pub fn ranges(&self) -> Vec<crate::datasets::FeatureRange> {
        use crate::datasets::FeatureRange;
        self.names()
            .iter()
            .map(|n| match n.as_str() {
                "ln1p_product_dwell_minutes" | "ln1p_duration_minutes" => {
                    FeatureRange::linear(0.0, 1_440f64.ln_1p())
                }
                n if n.starts_with("ln1p_") => FeatureRange::linear(0.0, 1_000f64.ln_1p()),
                _ => FeatureRange::linear(0.0, 1.0),
            })
            .collect()
    }

    /// The feature row of a visit; `returning` says whether its person came before.
    pub fn row(&self, visit: &VisitDigest, returning: bool) -> Vec<f64> {
        let views: Vec<&str> = visit.product_views.iter().map(String::as_str).collect();
        let flag = |b: bool| f64::from(u8::from(b));
        let start = visit.started_at;
        let mut row = vec![
            f64::from(visit.cart_adds).ln_1p(),
            visit.dwell_minutes.ln_1p(),
            (views.len() as f64).ln_1p(),
            f64::from(visit.searches).ln_1p(),
            f64::from(visit.page_views).ln_1p(),
            visit.duration_minutes.ln_1p(),
            flag(returning),
            flag(start.weekday().number_from_monday() >= 6),
        ];
        let channel = visit.channel;
        row.extend(Channel::ALL.iter().map(|c| flag(channel == *c)));
        let device = visit.device;
        row.extend(DeviceType::ALL.iter().map(|d| flag(device == *d)));
        let part = PartOfDay::from_hour(start.hour());
        row.extend(PartOfDay::ALL.iter().map(|p| flag(part == *p)));
        row.extend(
            self.products
                .iter()
                .map(|(k, _)| flag(views.contains(&k.as_str()))),
        );
        let last = views.last().copied();
        row.extend(
            self.products
                .iter()
                .map(|(k, _)| flag(last == Some(k.as_str()))),
        );
        row.push(flag(
            last.is_some_and(|l| !self.products.iter().any(|(k, _)| k == l)),
        ));
        row.push(flag(last.is_none()));
        row
    }

    /// A matrix of rows (visits × features).
    pub fn matrix<'a>(
        &self,
        visits: impl IntoIterator<Item = (&'a VisitDigest, bool)>,
    ) -> Array2<f64> {
        // Row by row into one buffer: no second copy of the matrix.
        let d = self.names().len();
        let mut values = Vec::new();
        let mut n = 0;
        for (v, r) in visits {
            values.extend(self.row(v, r));
            n += 1;
        }
        Array2::from_shape_vec((n, d), values).expect("every row has the names' length")
    }
}

/// Whether `person` falls on the test side of a split by person: a stable hash of the id
/// and `seed` against `test_fraction`, so no person is on both sides and the split is the
/// same every run.
pub fn is_test_user(person: &str, test_fraction: f64, seed: u64) -> bool {
    let h = crate::hash::hash64(person.as_bytes()) ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let h = crate::hash::hash64(&h.to_le_bytes());
    ((h >> 11) as f64 / (1u64 << 53) as f64) < test_fraction
}

/// Visits with their id seen for the first time, sorted by start time: replays (redelivered
/// visits, a consumer re-reading its topic) are dropped.
pub fn dedup_visits(visits: impl IntoIterator<Item = VisitDigest>) -> Vec<VisitDigest> {
    let mut seen = HashSet::new();
    let mut out: Vec<VisitDigest> = visits
        .into_iter()
        .filter(|v| seen.insert(v.id.clone()))
        .collect();
    out.sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
    out
}

/// Each visit's label's person, by what all the visits link: two labels are one person when
/// a visit carries ids of both ([`VisitDigest::ids`]) — two devices of one logged-in
/// person, or visits labelled before the stream knew a link (labels written by earlier
/// versions, or a partition's). The visits' ids are stitched as the stream stitches events'
/// ([`Identity`](crate::analytics::Identity)), each label seen at its visit's start: the
/// name is the linked set's earliest label, as the stream names a person by the id seen
/// first, whatever the visits' order. Every label is a key.
pub fn linked_persons(visits: &[VisitDigest]) -> HashMap<String, String> {
    let mut identity = crate::analytics::Identity::new();
    for v in visits {
        identity.see(&v.person, v.started_at.timestamp());
        for id in &v.ids {
            identity.union(&v.person, id);
        }
    }
    visits
        .iter()
        .map(|v| (v.person.clone(), identity.person(&v.person)))
        .collect()
}

/// Names each visit's person by [`linked_persons`]: person-level splits and contribution
/// bounds then treat a person labelled twice as one.
pub fn link_persons(visits: &mut [VisitDigest]) {
    let names = linked_persons(visits);
    for v in visits {
        if let Some(name) = names.get(&v.person) {
            v.person.clone_from(name);
        }
    }
}

/// For visits in start order, whether each one's person had an earlier visit in the data —
/// the observable "returning visitor" flag.
pub fn returning_flags(visits: &[VisitDigest]) -> Vec<bool> {
    let mut seen = HashSet::new();
    visits
        .iter()
        .map(|v| !seen.insert(v.person.clone()))
        .collect()
}

/// Splits rows by person, stratified: persons with at least one positive row and persons
/// with none are each sent `test_fraction` to the test side (seeded shuffle). No person is
/// on both sides. Returns (train rows, test rows).
pub fn split_by_user(
    persons: &[&str],
    labels: &[bool],
    test_fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let mut positive: BTreeMap<&str, bool> = BTreeMap::new();
    for (u, &l) in persons.iter().zip(labels) {
        *positive.entry(*u).or_default() |= l;
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut test_users = HashSet::new();
    for class in [false, true] {
        let mut group: Vec<&str> = positive
            .iter()
            .filter(|(_, p)| **p == class)
            .map(|(u, _)| *u)
            .collect();
        group.shuffle(&mut rng);
        let n = (group.len() as f64 * test_fraction).round() as usize;
        test_users.extend(group.into_iter().take(n));
    }
    (0..persons.len()).partition(|i| !test_users.contains(persons[*i]))
}

/// Purchase data ready for honest evaluation: visits deduplicated by id and sorted by
/// start, the "returning visitor" flag from earlier visits, the product vocabulary fitted on
/// the training side only, rows split 80/20 **by person** (stratified). The label is an
/// `Order Completed` in the visit. Row `i` of [`PurchaseData::data`] is `visits[i]`.
#[derive(Debug, Clone)]
pub struct PurchaseData {
    /// The deduplicated visits' digests, in start order.
    pub visits: Vec<VisitDigest>,
    /// The fitted feature extractor.
    pub features: PurchaseFeatures,
    /// All rows with their labels and feature names.
    pub data: crate::datasets::Dataset,
    /// Training rows.
    pub train: Vec<usize>,
    /// Test rows (persons disjoint from the training rows').
    pub test: Vec<usize>,
}

impl PurchaseData {
    /// Builds the data from `visits` (checked traffic), with up to 30 product columns and
    /// the split seeded by `seed`.
    pub fn build<'a>(
        visits: impl IntoIterator<Item = &'a Visit>,
        catalogue: &ProductCatalogue,
        test_fraction: f64,
        seed: u64,
    ) -> PurchaseData {
        PurchaseData::from_digests(
            visits.into_iter().map(VisitDigest::of),
            catalogue,
            test_fraction,
            seed,
        )
    }

    /// [`PurchaseData::build`] from the visits' digests (what a streaming reader keeps).
    pub fn from_digests(
        visits: impl IntoIterator<Item = VisitDigest>,
        catalogue: &ProductCatalogue,
        test_fraction: f64,
        seed: u64,
    ) -> PurchaseData {
        let mut visits = dedup_visits(visits);
        // Observable when each visit closed: by the labels as they were then.
        let returning = returning_flags(&visits);
        // Who is one person, as the whole data says: for the split and the bounds.
        link_persons(&mut visits);
        let persons: Vec<&str> = visits.iter().map(|v| v.person.as_str()).collect();
        let labels: Vec<bool> = visits.iter().map(|v| v.purchased).collect();
        let (train, test) = split_by_user(&persons, &labels, test_fraction, seed);
        let features = PurchaseFeatures::fit(train.iter().map(|&i| &visits[i]), catalogue, 30);
        let x = features.matrix(visits.iter().zip(returning.iter().copied()));
        let data = crate::datasets::Dataset {
            x,
            y: ndarray::Array1::from(labels),
            feature_names: features.names(),
        };
        PurchaseData {
            visits,
            features,
            data,
            train,
            test,
        }
    }

    /// The columns a private model may use: all but the product columns, whose products
    /// were chosen as the training side's most viewed.
    pub fn public_columns(&self) -> Vec<usize> {
        (self.data.feature_names.iter().enumerate())
            .filter(|(_, n)| !n.starts_with("viewed=") && !n.starts_with("last_viewed="))
            .map(|(j, _)| j)
            .collect()
    }

    /// The person of each training row, in [`PurchaseData::train`] order.
    pub fn train_persons(&self) -> Vec<&str> {
        self.train
            .iter()
            .map(|&i| self.visits[i].person.as_str())
            .collect()
    }

    /// Persons per class, for reporting: (persons with an order, persons without).
    pub fn persons(&self) -> (usize, usize) {
        let mut by: HashMap<&str, bool> = HashMap::new();
        for v in &self.visits {
            *by.entry(v.person.as_str()).or_default() |= v.purchased;
        }
        let buyers = by.values().filter(|b| **b).count();
        (buyers, by.len() - buyers)
    }
}
