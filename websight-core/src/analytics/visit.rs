//! A server-side session ("visit"): one person's events with no 30-minute pause, and what
//! they mean.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::enrich::{Acquisition, Agent};
use crate::event::{CompactString, Event, Money, ProductItem, names};
use crate::hash::{FastMap, FastSet};

/// How far into the funnel a visit went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Pages only.
    Browse,
    /// A product viewed.
    View,
    /// A product added to the cart.
    Cart,
    /// The checkout opened.
    Checkout,
    /// An order completed.
    Purchase,
}

impl Step {
    /// The step's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Step::Browse => "browse",
            Step::View => "view",
            Step::Cart => "cart",
            Step::Checkout => "checkout",
            Step::Purchase => "purchase",
        }
    }
}

/// An order of a visit, read from its `Order Completed` event (borrowed: nothing copied).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OrderView<'a> {
    /// `order_id`, when sent.
    pub order_id: Option<&'a str>,
    /// When it was completed.
    pub at: DateTime<Utc>,
    /// `revenue`, else `total`, else the products' prices × quantities.
    pub value: Money,
    /// Currency (`USD` when unsaid).
    pub currency: &'a str,
    /// `payment_method`, when sent.
    pub payment_method: Option<&'a str>,
    /// The products bought.
    pub products: &'a [ProductItem],
}

/// One visit. Built by [`Sessionizer`](super::Sessionizer); events are in time order and
/// already protected ([`crate::privacy`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    /// Stable id: a hash of the first event's message id.
    pub id: CompactString,
    /// The person (after identity stitching, at the time the visit closed).
    pub person: CompactString,
    /// Where the visit came from (its landing page and campaign).
    pub acquisition: Acquisition,
    /// The client (its first user agent).
    pub agent: Agent,
    /// The events, in time order (boxed as they travelled: an event is large, and moving it
    /// out of its box costs more than the rest of closing the visit).
    pub events: Vec<Box<Event>>,
}

/// The currency assumed when an order says none.
pub const DEFAULT_CURRENCY: &str = "USD";

impl Visit {
    /// The first event's time.
    pub fn started_at(&self) -> DateTime<Utc> {
        self.events
            .first()
            .map_or(DateTime::<Utc>::MIN_UTC, |e| e.time)
    }

    /// The last event's time.
    pub fn ended_at(&self) -> DateTime<Utc> {
        self.events
            .last()
            .map_or(DateTime::<Utc>::MIN_UTC, |e| e.time)
    }

    /// Seconds from the first to the last event (trackers say nothing about the time spent
    /// on the last page).
    pub fn duration_seconds(&self) -> f64 {
        let d = self.ended_at().signed_duration_since(self.started_at());
        d.num_milliseconds() as f64 / 1000.0
    }

    /// The ids its person is known by in this visit: [`person`](Self::person) first, then
    /// each other user, anonymous and alias (previous) id its events carry, once each. A
    /// person is labelled by their id seen first, as known when the visit closed: a person
    /// whose devices were linked only later has visits under each device's label, and the
    /// ids a visit carries are what links the labels afterwards.
    pub fn ids(&self) -> Vec<&str> {
        let mut ids = vec![self.person.as_str()];
        for id in self.events.iter().flat_map(|e| e.ids()) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    /// Page and screen views.
    pub fn page_views(&self) -> usize {
        self.events.iter().filter(|e| e.kind.is_view()).count()
    }

    /// Events that are `track` calls named `name`.
    pub fn tracks<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Event> + 'a {
        self.events
            .iter()
            .map(|e| &**e)
            .filter(move |e| e.is_track(name))
    }

    /// Products viewed, one entry per `Product Viewed`.
    pub fn product_views(&self) -> Vec<&ProductItem> {
        self.tracks(names::PRODUCT_VIEWED)
            .flat_map(|e| e.properties.products.iter())
            .collect()
    }

    /// Products added to the cart, one entry per `Product Added` product.
    pub fn cart_adds(&self) -> Vec<&ProductItem> {
        self.tracks(names::PRODUCT_ADDED)
            .flat_map(|e| e.properties.products.iter())
            .collect()
    }

    /// Whether a `track` call named `name` carries a product.
    fn has_products(&self, name: &str) -> bool {
        self.tracks(name).any(|e| !e.properties.products.is_empty())
    }

    /// `Products Searched` calls.
    pub fn searches(&self) -> usize {
        self.tracks(names::PRODUCTS_SEARCHED).count()
    }

    /// Whether the checkout was opened.
    pub fn checkout_started(&self) -> bool {
        self.tracks(names::CHECKOUT_STARTED).next().is_some()
    }

    /// Completed orders, one per distinct order id (events without one count once each).
    pub fn orders(&self) -> Vec<OrderView<'_>> {
        let mut out: Vec<OrderView<'_>> = Vec::new();
        let mut seen = FastSet::default();
        for e in self.tracks(names::ORDER_COMPLETED) {
            let p = &e.properties;
            if let Some(id) = p.order_id.as_deref()
                && !seen.insert(id)
            {
                continue;
            }
            let value = p.order_value().unwrap_or_else(|| {
                p.products
                    .iter()
                    .filter_map(|i| i.price?.checked_mul(i64::from(i.units())))
                    .sum()
            });
            out.push(OrderView {
                order_id: p.order_id.as_deref(),
                at: e.time,
                value,
                currency: p.currency.as_deref().unwrap_or(DEFAULT_CURRENCY),
                payment_method: p.payment_method.as_deref(),
                products: &p.products,
            });
        }
        out
    }

    /// Whether an order was completed.
    pub fn purchased(&self) -> bool {
        self.tracks(names::ORDER_COMPLETED).next().is_some()
    }

    /// Revenue per currency.
    pub fn revenue(&self) -> BTreeMap<String, Money> {
        let mut out: BTreeMap<String, Money> = BTreeMap::new();
        for o in self.orders() {
            let slot = out.entry(o.currency.to_owned()).or_default();
            *slot = slot.checked_add(o.value).unwrap_or(*slot);
        }
        out
    }

    /// The payment method of the last order, else of the last `Payment Info Entered`.
    pub fn payment_method(&self) -> Option<&str> {
        self.orders()
            .into_iter()
            .rev()
            .find_map(|o| o.payment_method)
            .or_else(|| {
                self.tracks(names::PAYMENT_INFO_ENTERED)
                    .filter_map(|e| e.properties.payment_method.as_deref())
                    .last()
            })
    }

    /// Reviews: the product, its text and rating.
    pub fn reviews(&self) -> Vec<(&ProductItem, &str, Option<f64>)> {
        self.tracks(names::PRODUCT_REVIEWED)
            .filter_map(|e| {
                let body = e.properties.review_body.as_deref()?;
                let item = e.properties.products.first()?;
                Some((item, body, e.properties.rating))
            })
            .collect()
    }

    /// The furthest funnel step.
    pub fn step(&self) -> Step {
        if self.purchased() {
            Step::Purchase
        } else if self.checkout_started() {
            Step::Checkout
        } else if self.has_products(names::PRODUCT_ADDED) {
            Step::Cart
        } else if self.has_products(names::PRODUCT_VIEWED) {
            Step::View
        } else {
            Step::Browse
        }
    }

    /// GA4's engaged session: longer than 10 s, a conversion, or at least 2 page views.
    pub fn engaged(&self) -> bool {
        self.duration_seconds() > 10.0 || self.purchased() || self.page_views() >= 2
    }

    /// Seconds of attention per product: from each `Product Viewed` or `Product Added` to
    /// the visit's next event at a later time (at most 30 minutes), in first-seen order.
    /// The last event's time on page is unknown and counts 0.
    pub fn dwell_by_product(&self) -> Vec<(&str, f64)> {
        dwell_by_product(&self.events)
    }

    /// The landing page's path.
    pub fn landing_page(&self) -> Option<&str> {
        self.events.iter().find_map(|e| e.page.path.as_deref())
    }

    /// The last page's path.
    pub fn exit_page(&self) -> Option<&str> {
        self.events
            .iter()
            .rev()
            .find_map(|e| e.page.path.as_deref())
    }
}

/// [`Visit::dwell_by_product`] of any time-ordered run of events (e.g. a visit's events
/// before its checkout).
///
/// Linear in the events (a day-long visit of thousands of products, or of many events at
/// one instant, must not stall the stream).
pub(crate) fn dwell_by_product(events: &[Box<Event>]) -> Vec<(&str, f64)> {
    let mut out: Vec<(&str, f64)> = Vec::new();
    let mut at: FastMap<&str, usize> = FastMap::default();
    // For each event, the first one after it with a later time (the next greater element,
    // from the back with a stack of candidates).
    let mut later: Vec<Option<usize>> = vec![None; events.len()];
    let mut candidates: Vec<usize> = Vec::new();
    for i in (0..events.len()).rev() {
        while candidates
            .last()
            .is_some_and(|&c| events[c].time <= events[i].time)
        {
            candidates.pop();
        }
        later[i] = candidates.last().copied();
        candidates.push(i);
    }
    for (i, e) in events.iter().enumerate() {
        if !(e.is_track(names::PRODUCT_VIEWED) || e.is_track(names::PRODUCT_ADDED)) {
            continue;
        }
        let Some(key) = e.properties.products.first().and_then(ProductItem::key) else {
            continue;
        };
        let secs = later[i].map_or(0.0, |n| {
            let n = &events[n];
            (n.time.signed_duration_since(e.time).num_milliseconds() as f64 / 1000.0).min(1800.0)
        });
        match at.get(key) {
            Some(&k) => out[k].1 += secs,
            None => {
                at.insert(key, out.len());
                out.push((key, secs));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The first way it was written: a scan per event for the next later one and for the key.
    fn naive(events: &[Box<Event>]) -> Vec<(&str, f64)> {
        let mut out: Vec<(&str, f64)> = Vec::new();
        for (i, e) in events.iter().enumerate() {
            if !(e.is_track(names::PRODUCT_VIEWED) || e.is_track(names::PRODUCT_ADDED)) {
                continue;
            }
            let Some(key) = e.properties.products.first().and_then(ProductItem::key) else {
                continue;
            };
            let next = events[i + 1..].iter().find(|n| n.time > e.time);
            let secs = next.map_or(0.0, |n| {
                (n.time.signed_duration_since(e.time).num_milliseconds() as f64 / 1000.0)
                    .min(1800.0)
            });
            match out.iter_mut().find(|(k, _)| *k == key) {
                Some((_, s)) => *s += secs,
                None => out.push((key, secs)),
            }
        }
        out
    }

    #[test]
    fn dwell_by_product_equals_the_scan_in_any_order() {
        for seed in 0..40u64 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut events: Vec<Box<Event>> = (0..rng.gen_range(0..60))
                .map(|i| {
                    let t = DateTime::from_timestamp(1_767_225_600 + rng.gen_range(0..40) * 7, 0)
                        .unwrap();
                    let name = ["Product Viewed", "Product Added", "Order Completed"]
                        [rng.gen_range(0..3)];
                    Box::new(crate::analytics::event(&format!(
                        r#"{{"type":"track","event":"{name}","messageId":"m{i}","anonymousId":"a","timestamp":"{}","properties":{{"product_id":"p{}"}}}}"#,
                        t.to_rfc3339(),
                        rng.gen_range(0..8)
                    )))
                })
                .collect();
            if seed % 2 == 0 {
                events.sort_by_key(|e| e.time);
            }
            assert_eq!(dwell_by_product(&events), naive(&events), "seed {seed}");
        }
    }
}
