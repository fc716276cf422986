//! How one session unfolds: the behaviour model of regular visitors and of planted abuse.

use chrono::{DateTime, Duration, Timelike, Utc};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, LogNormal, Poisson, StandardNormal};

use super::config::{PurchaseInputs, SynthConfig, sigmoid};
use super::people::{
    BOT_AGENTS, UserTraits, device_of, human_agent, random_location, random_public_ip,
};
use super::reviews::write_review;
use super::rng::uuid4;
use super::{AbuseKind, SessionTruth, SyntheticSession};
use crate::model::{
    Action, DeviceType, Order, PageEvent, PartOfDay, PaymentMethod, ProductId, Referrer, Review,
    Sentiment, Session, SessionId,
};

/// Lays pages end to end: each opens when the previous one is left, plus a short gap.
struct Pages {
    at: DateTime<Utc>,
    events: Vec<PageEvent>,
    /// Longest pause between two pages, seconds.
    max_gap: f64,
}

impl Pages {
    fn new(start: DateTime<Utc>, max_gap: f64) -> Self {
        Pages {
            at: start,
            events: Vec::new(),
            max_gap,
        }
    }

    fn open(
        &mut self,
        rng: &mut ChaCha8Rng,
        action: Action,
        product: Option<ProductId>,
        dwell_seconds: f64,
        clicks: u32,
    ) {
        self.events.push(PageEvent {
            at: self.at,
            action,
            product,
            dwell_seconds,
            clicks,
            search_query: None,
        });
        let gap = rng.gen_range(0.05..=self.max_gap.max(0.05));
        self.at += Duration::microseconds(((dwell_seconds + gap) * 1e6) as i64);
    }

    fn search(&mut self, rng: &mut ChaCha8Rng, query: String) {
        let dwell = rng.gen_range(3.0..15.0);
        let clicks = rng.gen_range(1..4);
        self.open(rng, Action::Search, None, round_ms(dwell), clicks);
        self.events.last_mut().expect("just pushed").search_query = Some(query);
    }
}

/// Dwell times are kept to millisecond precision, as a browser would measure them.
fn round_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u32 {
    Poisson::new(mean.max(1e-9)).map_or(0, |d| d.sample(rng) as u32)
}

/// Everything about a session except its pages.
struct Visit {
    id: SessionId,
    traits: UserTraits,
    start: DateTime<Utc>,
    device_type: DeviceType,
    agent: (&'static str, &'static str, &'static str),
    user_agent: String,
    ip: std::net::IpAddr,
    referrer: Referrer,
    location: crate::model::Location,
}

impl Visit {
    fn into_session(
        self,
        events: Vec<PageEvent>,
        order: Option<Order>,
        reviews: Vec<Review>,
    ) -> Session {
        Session {
            id: self.id,
            user: self.traits.profile,
            started_at: self.start,
            device: device_of(self.device_type, self.agent),
            user_agent: self.user_agent,
            ip: self.ip,
            referrer: self.referrer,
            location: self.location,
            events,
            order,
            reviews,
        }
    }
}

/// Search phrases built from the catalogue.
fn search_query(rng: &mut ChaCha8Rng, config: &SynthConfig) -> String {
    const STYLES: &[&str] = &[
        "grey", "oak", "modern", "small", "cheap", "leather", "white", "velvet",
    ];
    let product = config.catalogue.products().choose(rng).expect("non-empty");
    format!(
        "{} {}",
        STYLES.choose(rng).expect("non-empty"),
        product.name
    )
}

/// A regular visitor's session. `returning` says whether the user had a session before.
///
/// The behaviour model (all weights documented in the module docs of [`crate::synth`]):
/// a latent intent `z` = propensity + referrer effect + 0.4·returning + N(0, 1) drives
/// bouncing, browsing depth, dwell and cart adds; the purchase is then drawn from the
/// [`PurchaseModel`](super::PurchaseModel) on the observed behaviour only.
pub(crate) fn regular_session(
    rng: &mut ChaCha8Rng,
    config: &SynthConfig,
    quality: &[f64],
    traits: UserTraits,
    start: DateTime<Utc>,
    returning: bool,
) -> SyntheticSession {
    let catalogue = &config.catalogue;
    // Device: mostly the user's own; new users very rarely report none.
    let device_type = if !returning && rng.gen_bool(0.003) {
        DeviceType::Unknown
    } else if rng.gen_bool(0.85) {
        traits.device_type
    } else {
        *[DeviceType::Mobile, DeviceType::Desktop, DeviceType::Tablet]
            .choose(rng)
            .expect("non-empty")
    };
    let agent = if device_type == traits.device_type {
        traits.agent
    } else {
        human_agent(rng, device_type)
    };
    let known = &Referrer::ALL[..5];
    let referrer = match rng.gen_range(0..100) {
        // Stripped referrer headers: rare, and rarer still for first visits.
        _ if rng.gen_bool(if returning { 0.02 } else { 0.003 }) => Referrer::Unknown,
        0..=34 if returning => Referrer::Direct,
        0..=64 => traits.preferred_referrer,
        _ => *known.choose(rng).expect("non-empty"),
    };
    let location = if rng.gen_bool(0.95) {
        traits.home.clone()
    } else {
        random_location(rng)
    };
    let ip = if device_type != DeviceType::Mobile && rng.gen_bool(0.85) {
        traits.home_ip
    } else {
        random_public_ip(rng)
    };
    let referrer_intent = match referrer {
        Referrer::WorldMarket => 0.4,
        Referrer::Direct => 0.3,
        Referrer::Google => 0.1,
        Referrer::Facebook | Referrer::Instagram => -0.3,
        Referrer::Unknown => -0.2,
    };
    let noise: f64 = StandardNormal.sample(rng);
    let intent = traits.propensity + referrer_intent + if returning { 0.4 } else { 0.0 } + noise;

    let mut pages = Pages::new(start, 4.0);
    let sets = catalogue.co_viewed();
    let set: Vec<ProductId> = if !sets.is_empty() && rng.gen_bool(0.6) {
        sets[traits.favourite_set % sets.len()].clone()
    } else if let Some(s) = sets.choose(rng) {
        s.clone()
    } else {
        catalogue.products().iter().map(|p| p.id).collect()
    };
    let pick_product = |rng: &mut ChaCha8Rng| -> ProductId {
        if rng.gen_bool(0.75) {
            *set.choose(rng).expect("non-empty set")
        } else {
            catalogue.products().choose(rng).expect("non-empty").id
        }
    };

    let mut cart: Vec<ProductId> = Vec::new();
    let bounce = rng.gen_bool(sigmoid(-1.2 - 0.7 * intent));
    if bounce {
        let dwell = Exp::new(1.0 / 6.0).map_or(3.0, |d: Exp<f64>| d.sample(rng));
        let product = pick_product(rng);
        let clicks = poisson(rng, 0.3);
        pages.open(
            rng,
            Action::ViewItem,
            Some(product),
            round_ms(dwell),
            clicks,
        );
    } else {
        if rng.gen_bool(0.25) {
            let q = search_query(rng, config);
            pages.search(rng, q);
        }
        let views = (1 + poisson(rng, 1.5 + 3.0 * sigmoid(intent))).min(20);
        let dwell_dist = LogNormal::new(25f64.ln() + 0.35 * intent, 0.8).expect("finite");
        for _ in 0..views {
            let product = pick_product(rng);
            let dwell = dwell_dist.sample(rng).min(900.0);
            let clicks = poisson(rng, 0.5 + dwell / 25.0).min(60);
            pages.open(
                rng,
                Action::ViewItem,
                Some(product),
                round_ms(dwell),
                clicks,
            );
            let p_cart = sigmoid(-3.3 + 0.8 * intent + 0.7 * (dwell / 25.0).ln());
            if !cart.contains(&product) && rng.gen_bool(p_cart) {
                let d = rng.gen_range(2.0..8.0);
                let clicks = rng.gen_range(1..3);
                pages.open(rng, Action::AddToCart, Some(product), round_ms(d), clicks);
                cart.push(product);
            }
            if rng.gen_bool(0.08) {
                let q = search_query(rng, config);
                pages.search(rng, q);
            }
        }
    }

    let product_dwell: f64 = pages
        .events
        .iter()
        .filter(|e| e.product.is_some())
        .map(|e| e.dwell_seconds)
        .sum();
    let inputs = PurchaseInputs {
        cart_adds: cart.len() as u32,
        product_dwell_seconds: product_dwell,
        returning,
        referrer,
        device: device_type,
        part_of_day: PartOfDay::from_hour(start.hour()),
    };
    let purchase_probability = config.purchase.probability(&inputs);
    let purchased = rng.gen_bool(purchase_probability);

    let mut order = None;
    let mut reviews = Vec::new();
    let mut review_sentiments = Vec::new();
    if purchased {
        let dwell = LogNormal::new(60f64.ln(), 0.5).expect("finite").sample(rng);
        let clicks = rng.gen_range(3..11);
        pages.open(rng, Action::Checkout, None, round_ms(dwell), clicks);
        let amount = cart
            .iter()
            .map(|&id| catalogue.get(id).map_or(0.0, |p| p.price))
            .sum();
        let paypal_share = match device_type {
            DeviceType::Mobile => 0.55,
            DeviceType::Tablet => 0.45,
            _ => 0.3,
        };
        let payment = if rng.gen_bool(paypal_share) {
            PaymentMethod::PayPal
        } else {
            PaymentMethod::CreditCard
        };
        for &id in &cart {
            if !rng.gen_bool(0.5) {
                continue;
            }
            let Some(product) = catalogue.get(id) else {
                continue;
            };
            let q = quality
                .get(
                    catalogue
                        .products()
                        .iter()
                        .position(|p| p.id == id)
                        .unwrap_or(0),
                )
                .copied()
                .unwrap_or(0.0);
            let noise: f64 = StandardNormal.sample(rng);
            let score = q + noise;
            let sentiment = if score > 0.4 {
                Sentiment::Positive
            } else if score < -0.4 {
                Sentiment::Negative
            } else {
                Sentiment::Neutral
            };
            reviews.push(Review {
                product: id,
                text: write_review(rng, &product.name, &product.category, sentiment),
            });
            review_sentiments.push(sentiment);
        }
        order = Some(Order {
            amount,
            payment,
            products: cart.clone(),
        });
    } else if !cart.is_empty() && rng.gen_bool(0.35) {
        // Abandoned at the checkout page: an outcome of not buying, never a model input.
        let dwell = rng.gen_range(15.0..90.0);
        let clicks = rng.gen_range(1..6);
        pages.open(rng, Action::Checkout, None, round_ms(dwell), clicks);
    }

    let visit = Visit {
        id: SessionId(uuid4(rng)),
        user_agent: agent.2.to_owned(),
        traits,
        start,
        device_type,
        agent,
        ip,
        referrer,
        location,
    };
    SyntheticSession {
        session: visit.into_session(pages.events, order, reviews),
        truth: SessionTruth {
            purchase_probability,
            abuse: None,
            returning,
            intent: Some(intent),
            review_sentiments,
        },
    }
}

/// A planted abusive session of `kind` by a fresh user, starting at `start`. `ip` is the
/// shared address of an IP burst, else `None`.
pub(crate) fn abusive_session(
    rng: &mut ChaCha8Rng,
    config: &SynthConfig,
    kind: AbuseKind,
    start: DateTime<Utc>,
    ip: Option<std::net::IpAddr>,
) -> SyntheticSession {
    let traits = UserTraits::fresh(rng, config.catalogue.co_viewed().len());
    let products = config.catalogue.products();
    let random_product = |rng: &mut ChaCha8Rng| Some(products.choose(rng).expect("non-empty").id);
    let known = &Referrer::ALL[..5];
    let (device_type, referrer, user_agent, max_gap) = match kind {
        AbuseKind::Bot => (
            DeviceType::Desktop,
            *[Referrer::Direct, Referrer::Unknown, Referrer::Google]
                .choose(rng)
                .expect("non-empty"),
            (*BOT_AGENTS.choose(rng).expect("non-empty")).to_owned(),
            0.3,
        ),
        AbuseKind::UnknownDeviceReferrer => (
            DeviceType::Unknown,
            Referrer::Unknown,
            traits.agent.2.to_owned(),
            4.0,
        ),
        _ => (
            traits.device_type,
            *known.choose(rng).expect("non-empty"),
            traits.agent.2.to_owned(),
            if kind == AbuseKind::SubSecondDwell {
                0.3
            } else {
                4.0
            },
        ),
    };
    let mut pages = Pages::new(start, max_gap);
    match kind {
        AbuseKind::Bot => {
            for _ in 0..rng.gen_range(8..40) {
                let dwell = rng.gen_range(0.2..2.5);
                let product = random_product(rng);
                pages.open(rng, Action::ViewItem, product, round_ms(dwell), 0);
            }
        }
        AbuseKind::SubSecondDwell => {
            for _ in 0..rng.gen_range(6..30) {
                let dwell = rng.gen_range(0.05..0.9);
                let (product, clicks) = (random_product(rng), rng.gen_range(0..2));
                pages.open(rng, Action::ViewItem, product, round_ms(dwell), clicks);
            }
        }
        AbuseKind::IpBurst | AbuseKind::UnknownDeviceReferrer => {
            for _ in 0..rng.gen_range(1..4) {
                let dwell = rng.gen_range(5.0..40.0);
                let (product, clicks) = (random_product(rng), rng.gen_range(0..5));
                pages.open(rng, Action::ViewItem, product, round_ms(dwell), clicks);
            }
        }
        AbuseKind::ImpossibleSession => {
            let views = rng.gen_range(1..6);
            let broken = rng.gen_range(0..views);
            for i in 0..views {
                let (dwell, clicks) = match (i == broken, rng.gen_bool(0.5)) {
                    // Clicks no human makes on one page…
                    (true, true) => (rng.gen_range(5.0..60.0), rng.gen_range(300..2000)),
                    // …or a page left open for most of a day.
                    (true, false) => (rng.gen_range(8.0..30.0) * 3600.0, rng.gen_range(0..5)),
                    _ => (rng.gen_range(5.0..60.0), rng.gen_range(0..5)),
                };
                let product = random_product(rng);
                pages.open(rng, Action::ViewItem, product, round_ms(dwell), clicks);
            }
        }
    }
    let agent = traits.agent;
    let visit = Visit {
        id: SessionId(uuid4(rng)),
        ip: ip.unwrap_or_else(|| random_public_ip(rng)),
        location: traits.home.clone(),
        traits,
        start,
        device_type,
        agent,
        user_agent,
        referrer,
    };
    SyntheticSession {
        session: visit.into_session(pages.events, None, Vec::new()),
        truth: SessionTruth {
            purchase_probability: 0.0,
            abuse: Some(kind),
            returning: false,
            intent: None,
            review_sentiments: Vec::new(),
        },
    }
}
