//! Synthetic shop traffic with learnable, documented ground truth.
//!
//! [`Generator`] turns a [`SynthConfig`] into sessions ([`Generator::sessions`]) or into the
//! stream of Segment-spec tracker messages a collector receives, in arrival order
//! ([`Generator::events`]): page views, `Product Viewed`, `Product Added`, `Products
//! Searched`, `Checkout Started`, `Payment Info Entered`, `Order Completed`, `Product
//! Reviewed` and `identify` at checkout, with referrer URLs and UTM campaigns across GA4's
//! channels, real user agents (and bots), browser clocks that are off, and server-side
//! orders — exactly the path real traffic takes. The same seed and config
//! give byte-identical output; memory stays constant however many events are drawn (one bit
//! per user, plus the sessions and events in flight).
//!
//! # The behaviour model
//!
//! **When.** Session starts follow the shop's traffic curve: an evening peak (19–21h carry
//! ~15× the traffic of 4 am), a lunchtime bump, and busier Sundays and Mondays. Starts are
//! drawn in time order as sorted quantiles of that curve, so exactly `sessions` sessions
//! cover the configured period.
//!
//! **Who.** 60% of sessions pick a user uniformly from `users`, 40% from a Zipf(0.6)
//! popularity law, so some users come back often. A user's traits are derived from
//! `(seed, user)`: name, e-mail, gender, home location and IP, main device and browser,
//! preferred referrer, a persistent purchase propensity ~ N(0, 0.8²) and the co-viewed set
//! they shop for. A user is *returning* from their second session on.
//!
//! **Device and source.** 85% of sessions use the user's main device. Returning users come
//! Direct 35% of the time; others use their preferred referrer 65% of the time. A stripped
//! referrer (`unknown`) happens in 2% of returning and 0.3% of first visits; an unknown
//! device in 0.3% of first visits — rare false alarms for the original security rule.
//!
//! **Browsing.** A latent intent `z = propensity + referrer effect + 0.4·returning + N(0,1)`
//! (referrer effects: WorldMarket +0.4, Direct +0.3, Google +0.1, social −0.3, unknown −0.2)
//! drives everything visible:
//! - bounce (one page, exponential dwell of mean 6 s) with probability σ(−1.2 − 0.7z);
//! - otherwise 1 + Poisson(1.5 + 3σ(z)) product views (at most 20), 75% of them in the
//!   chosen co-viewed set (the user's favourite 60% of the time), dwell
//!   LogNormal(ln 25 + 0.35z, 0.8) seconds (at most 900), clicks Poisson(0.5 + dwell/25);
//! - a search first in 25% of sessions and after 8% of views;
//! - after a view, a cart add with probability σ(−2.6 + 0.8z + 0.7·ln(dwell/25)).
//!
//! **Purchase.** With items in the cart, the order is a Bernoulli draw from
//! [`PurchaseModel::probability`]: a logistic function of cart adds, product-page dwell,
//! returning user, referrer, device and part of day, all observable before checkout. The
//! probability is returned in [`SessionTruth::purchase_probability`], so the Bayes-optimal
//! AUC of any generated data set can be computed. Sessions that buy end with a checkout page;
//! 35% of those that fill a cart and do not buy open the checkout page and leave (an
//! abandoned cart). Checkout pages are outcomes: models must not use them as inputs.
//! The amount is the sum of the cart's prices; PayPal is chosen 55% on mobile, 45% on
//! tablets, 30% elsewhere.
//!
//! **Reviews.** Each bought product is reviewed with probability ½. The sentiment is
//! product quality (fixed per product, ~N(0.3, 0.6²)) plus N(0, 1) noise, cut at ±0.4; the text
//! is written by a grammar that carries that sentiment (see [`SessionTruth::review_sentiments`]).
//!
//! **Planted abuse** (labels in [`SessionTruth::abuse`]): `bot_share` of sessions are
//! [`AbuseKind::Bot`] (crawler user agents, 8–40 pages of 0.2–2.5 s). `abuse_share` is split
//! evenly over [`AbuseKind::SubSecondDwell`] (browser agent, every page < 1 s),
//! [`AbuseKind::IpBurst`] (20–50 sessions from one IP within a minute),
//! [`AbuseKind::UnknownDeviceReferrer`] (a new user with neither) and
//! [`AbuseKind::ImpossibleSession`] (300–2000 clicks on a page, or a page open 8–30 hours;
//! the tracker adds a cart add of 20,000–200,000 units).
//! Abusive sessions never buy.
//!
//! **Arrival.** [`Generator::events`] delivers each event after an exponential delay (mean
//! [`Disorder::mean_delay_seconds`]); [`Disorder::late_share`] of events are held back for
//! minutes ([`SyntheticEvent::very_late`]), as from a phone that was offline.
//!
//! ```
//! use websight_core::synth::{Generator, SynthConfig};
//!
//! let generator = Generator::new(SynthConfig { sessions: 1_000, ..SynthConfig::default() })?;
//! let sessions: Vec<_> = generator.sessions().collect();
//! assert_eq!(sessions.len(), 1_000);
//! let bought = sessions.iter().filter(|s| s.session.purchased()).count();
//! let expected: f64 = sessions.iter().map(|s| s.truth.purchase_probability).sum();
//! assert!((bought as f64 - expected).abs() < 4.0 * expected.sqrt() + 1.0);
//! # Ok::<(), websight_core::CoreError>(())
//! ```

mod behaviour;
mod calendar;
mod config;
mod generator;
mod ordered;
mod people;
mod reviews;
mod rng;
mod stream;
mod tracker;

pub use config::{Disorder, PurchaseInputs, PurchaseModel, SynthConfig, sigmoid};
pub use generator::{AbuseKind, Generator, SessionTruth, Sessions, SyntheticSession};
pub use stream::{EventStream, SyntheticEvent};

/// User agents the generator gives to planted bots (what a bot rule should catch).
pub fn bot_user_agents() -> &'static [&'static str] {
    people::BOT_AGENTS
}
