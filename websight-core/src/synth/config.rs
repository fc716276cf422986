//! Generator configuration and the documented purchase model.

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Catalogue, DeviceType, PartOfDay, Referrer};
use crate::{CoreError, Result};

/// Everything the generator needs; [`Generator::new`](super::Generator::new) validates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SynthConfig {
    /// Seed of every random choice: the same seed and config give byte-identical output.
    pub seed: u64,
    /// Size of the regular user population (abusive traffic uses fresh ids on top).
    pub users: u32,
    /// Exact number of sessions to generate, abusive ones included.
    pub sessions: u64,
    /// Start of the simulated period.
    pub start: DateTime<Utc>,
    /// Length of the simulated period in days.
    pub days: u32,
    /// The shop.
    pub catalogue: Catalogue,
    /// Share of sessions made by crawlers and scripts announcing a bot user agent.
    pub bot_share: f64,
    /// Share of sessions that are other abuse, split evenly over sub-second dwell, IP bursts,
    /// unknown device and referrer for a new user, and impossible figures.
    pub abuse_share: f64,
    /// How behaviour turns into purchases.
    pub purchase: PurchaseModel,
    /// How late events reach a consumer.
    pub disorder: Disorder,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            seed: 42,
            users: 10_000,
            sessions: 50_000,
            // A Monday, so weekly patterns start at the beginning of a week.
            start: Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap(),
            days: 28,
            catalogue: Catalogue::furniture(),
            bot_share: 0.03,
            abuse_share: 0.04,
            purchase: PurchaseModel::default(),
            disorder: Disorder::default(),
        }
    }
}

impl SynthConfig {
    /// Checks every parameter, naming the first one out of range.
    pub fn validate(&self) -> Result<()> {
        if self.users == 0 {
            return Err(CoreError::parameter("users", "need at least one user"));
        }
        if self.days == 0 {
            return Err(CoreError::parameter("days", "need at least one day"));
        }
        for (param, share) in [
            ("bot_share", self.bot_share),
            ("abuse_share", self.abuse_share),
        ] {
            if !(0.0..=1.0).contains(&share) {
                return Err(CoreError::parameter(
                    param,
                    format!("{share} is not in [0, 1]"),
                ));
            }
        }
        if self.bot_share + self.abuse_share > 0.9 {
            return Err(CoreError::parameter(
                "abuse_share",
                "bots and abuse together may be at most 90% of sessions",
            ));
        }
        self.purchase.validate()?;
        self.disorder.validate()
    }
}

/// The purchase model: the probability that a session with a non-empty cart ends in an order.
///
/// ```text
/// P(purchase) = 0                                                     if the cart is empty
///             = σ( intercept
///                  + cart_adds       · ln(1 + cart adds)
///                  + product_dwell   · ln(1 + seconds on product pages / 60)
///                  + returning       · [user had an earlier session]
///                  + referrer_effect(referrer)
///                  + device_effect(device)
///                  + part_of_day_effect(start hour) )                otherwise
/// ```
///
/// σ is the logistic function. Every input is observable in the session before checkout, so
/// ranking sessions by this probability is the Bayes-optimal classifier: its AUC on
/// generated data is the ceiling any model can reach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PurchaseModel {
    /// Base log-odds.
    pub intercept: f64,
    /// Weight of ln(1 + cart adds).
    pub cart_adds: f64,
    /// Weight of ln(1 + product-page minutes).
    pub product_dwell: f64,
    /// Weight of being a returning user.
    pub returning: f64,
    /// Effects per referrer: Google, Facebook, Instagram, WorldMarket, Direct, unknown.
    pub referrer: [f64; 6],
    /// Effects per device: mobile, desktop, tablet, unknown.
    pub device: [f64; 4],
    /// Effects per part of day: Morning, Afternoon, Evening, Night.
    pub part_of_day: [f64; 4],
}

impl Default for PurchaseModel {
    fn default() -> Self {
        PurchaseModel {
            intercept: -3.4,
            cart_adds: 1.3,
            product_dwell: 0.6,
            returning: 0.6,
            referrer: [0.2, -0.3, -0.2, 0.4, 0.3, -0.4],
            device: [-0.3, 0.3, 0.0, -0.4],
            part_of_day: [0.0, 0.1, 0.3, -0.4],
        }
    }
}

/// The observed behaviour the [`PurchaseModel`] reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PurchaseInputs {
    /// Products added to the cart.
    pub cart_adds: u32,
    /// Seconds spent on product pages (views and cart adds).
    pub product_dwell_seconds: f64,
    /// Whether the user had an earlier session.
    pub returning: bool,
    /// Traffic source.
    pub referrer: Referrer,
    /// Device kind.
    pub device: DeviceType,
    /// Part of day the session started in.
    pub part_of_day: PartOfDay,
}

impl PurchaseModel {
    fn validate(&self) -> Result<()> {
        let all = [
            self.intercept,
            self.cart_adds,
            self.product_dwell,
            self.returning,
        ]
        .into_iter()
        .chain(self.referrer)
        .chain(self.device)
        .chain(self.part_of_day);
        if all.clone().any(|w| !w.is_finite()) {
            return Err(CoreError::parameter(
                "purchase",
                "every weight must be finite",
            ));
        }
        Ok(())
    }

    /// The log-odds of a purchase, or `None` when the cart is empty (probability 0).
    pub fn log_odds(&self, x: &PurchaseInputs) -> Option<f64> {
        if x.cart_adds == 0 {
            return None;
        }
        Some(
            self.intercept
                + self.cart_adds * f64::from(x.cart_adds).ln_1p()
                + self.product_dwell * (x.product_dwell_seconds.max(0.0) / 60.0).ln_1p()
                + if x.returning { self.returning } else { 0.0 }
                + self.referrer[index_of(Referrer::ALL, x.referrer)]
                + self.device[index_of(DeviceType::ALL, x.device)]
                + self.part_of_day[index_of(PartOfDay::ALL, x.part_of_day)],
        )
    }

    /// P(purchase | behaviour), in \[0, 1\].
    pub fn probability(&self, x: &PurchaseInputs) -> f64 {
        self.log_odds(x).map_or(0.0, sigmoid)
    }
}

fn index_of<T: PartialEq>(all: &[T], value: T) -> usize {
    all.iter().position(|a| *a == value).unwrap_or(0)
}

/// The logistic function.
pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Out-of-orderness of the event stream: each event reaches the consumer after a delay.
///
/// Most delays are exponential with mean `mean_delay_seconds`; a share `late_share` of events
/// is held back uniformly between `late_min_seconds` and `late_max_seconds` (a phone that
/// was offline, a retried batch) and arrives after later events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Disorder {
    /// Mean of the usual exponential delay.
    pub mean_delay_seconds: f64,
    /// Share of events that arrive very late.
    pub late_share: f64,
    /// Shortest very-late delay.
    pub late_min_seconds: f64,
    /// Longest very-late delay.
    pub late_max_seconds: f64,
}

impl Default for Disorder {
    fn default() -> Self {
        Disorder {
            mean_delay_seconds: 2.0,
            late_share: 0.005,
            late_min_seconds: 120.0,
            late_max_seconds: 1800.0,
        }
    }
}

impl Disorder {
    fn validate(&self) -> Result<()> {
        let finite_non_negative = |v: f64| v.is_finite() && v >= 0.0;
        if !finite_non_negative(self.mean_delay_seconds) {
            return Err(CoreError::parameter(
                "mean_delay_seconds",
                "must be finite and >= 0",
            ));
        }
        if !(0.0..=1.0).contains(&self.late_share) {
            return Err(CoreError::parameter("late_share", "must be in [0, 1]"));
        }
        if !(finite_non_negative(self.late_min_seconds)
            && finite_non_negative(self.late_max_seconds)
            && self.late_min_seconds <= self.late_max_seconds)
        {
            return Err(CoreError::parameter(
                "late_min_seconds",
                "need 0 <= late_min_seconds <= late_max_seconds, both finite",
            ));
        }
        Ok(())
    }
}
