//! DP releases of the dashboard: visitors, sessions, orders and revenue per day and per
//! channel, private per **person**.
//!
//! [`DashboardTally`] follows the flow (it is an [`Observer`] of the closed visits) and
//! bounds each person's contribution as it goes: a person's first k visits count, the rest
//! do not (a person is all the ids their visits have linked so far: see
//! [`Visit::ids`](websight_core::analytics::Visit::ids)); a visit adds at most one order
//! (it bought or not) and its revenue clamped to a public cap. Adding or removing a person
//! then changes each histogram (per day, per channel) by at most k in L1 — k·cap for
//! revenue — whatever they did.
//! [`DashboardTally::release`] charges the [`Ledger`] first, then adds exact discrete
//! Laplace noise to every cell: the eight histograms (four measures × two breakdowns) get
//! ε/8 each and compose to ε.
//!
//! Which cells exist must not depend on anyone's data: every channel of GA4's list is
//! released, and every day from the first to the last day with a visit — the days a shop
//! was open are treated as public.

mod persons;

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use websight_core::analytics::{Documents, Visit};
use websight_core::enrich::Channel;
use websight_core::event::{CompactString, Money};
use websight_core::flow::Observer;

use self::persons::{Counted, Persons};
use crate::error::positive;
use crate::exact::Guarantee;
use crate::mechanisms::DiscreteLaplace;
use crate::{DpError, Ledger, Result};

/// At most this many days are released (the last ones).
pub const MAX_DAYS: usize = 366;

/// What the ledger calls a release of the dashboard.
pub const RELEASE: &str = "dashboard: visitors, sessions, orders, revenue per day and per channel";

/// How contributions are bounded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContributionBounds {
    /// Visits counted per person (their first ones).
    pub visits_per_person: u32,
    /// Revenue counted per visit, in the currency's units (public: a shop knows its
    /// largest plausible order).
    pub revenue_cap: f64,
    /// The currency whose revenue is released.
    pub currency: String,
}

impl Default for ContributionBounds {
    /// 4 visits per person, revenue capped at 1,000 per visit, in USD.
    fn default() -> Self {
        ContributionBounds {
            visits_per_person: 4,
            revenue_cap: 1_000.0,
            currency: websight_core::analytics::DEFAULT_CURRENCY.to_owned(),
        }
    }
}

/// Sums of one cell, exact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
struct Sums {
    visitors: u64,
    sessions: u64,
    orders: u64,
    /// In units of 1/10,000 ([`Money`]).
    revenue: i64,
}

/// The bounded aggregates a DP dashboard is released from.
///
/// It remembers every person it has counted (the bound is on a person's whole contribution),
/// in about 80 bytes each; see [`persons`](Self::persons).
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardTally {
    bounds: ContributionBounds,
    cap_units: i64,
    persons: Persons,
    by_day: BTreeMap<NaiveDate, Sums>,
    by_channel: BTreeMap<Channel, Sums>,
    /// Visits not counted because their person had k already.
    dropped: u64,
}

impl DashboardTally {
    /// An empty tally (k ≥ 1, a finite cap ≥ 0).
    pub fn new(bounds: ContributionBounds) -> Result<DashboardTally> {
        if bounds.visits_per_person == 0 {
            return Err(DpError::InvalidParameter {
                param: "visits_per_person",
                value: 0.0,
                reason: "must be >= 1".into(),
            });
        }
        let cap = positive("revenue_cap", bounds.revenue_cap)?;
        let cap_units = Money::from_units((cap * 10_000.0).round().min(1e15) as i64).units();
        Ok(DashboardTally {
            persons: Persons::new(bounds.visits_per_person),
            bounds,
            cap_units,
            by_day: BTreeMap::new(),
            by_channel: BTreeMap::new(),
            dropped: 0,
        })
    }

    /// Counts one closed visit within its person's bound.
    pub fn add(&mut self, visit: &Visit) {
        let day = visit.started_at().date_naive();
        let channel = visit.acquisition.channel;
        let Counted::Counted {
            new_day,
            new_channel,
        } = self.persons.count(&visit.ids(), day, channel)
        else {
            self.dropped += 1;
            return;
        };
        let revenue = visit
            .revenue()
            .get(&self.bounds.currency)
            .map_or(0, |m| m.units().clamp(0, self.cap_units));
        let orders = u64::from(visit.purchased());
        for (sums, new_visitor) in [
            (self.by_day.entry(day).or_default(), new_day),
            (self.by_channel.entry(channel).or_default(), new_channel),
        ] {
            sums.visitors += u64::from(new_visitor);
            sums.sessions += 1;
            sums.orders += orders;
            sums.revenue = sums.revenue.saturating_add(revenue);
        }
    }

    /// Visits left out because their person had already contributed k.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Persons with a visit counted: what the tally's size grows with (a person is
    /// remembered for as long as the tally lives: the bound is on all their visits).
    pub fn persons(&self) -> usize {
        self.persons.len()
    }

    /// What one release of ε costs: eight pure (ε/8)-DP histograms.
    pub fn guarantees(epsilon: f64) -> Vec<Guarantee> {
        vec![
            Guarantee::Pure {
                epsilon: epsilon / 8.0
            };
            8
        ]
    }

    /// Charges `ledger` for a release of ε, then releases every cell with noise from
    /// `rng`. A refused charge releases nothing.
    pub fn release(
        &self,
        epsilon: f64,
        ledger: &Ledger,
        rng: &mut dyn RngCore,
    ) -> Result<PrivateDashboard> {
        let epsilon = positive("epsilon", epsilon)?;
        let k = u64::from(self.bounds.visits_per_person);
        let counts = DiscreteLaplace::new(epsilon / 8.0, k)?;
        let money = DiscreteLaplace::new(epsilon / 8.0, k * self.cap_units.max(1) as u64)?;
        ledger.spend(RELEASE, &Self::guarantees(epsilon))?;
        let days: Vec<NaiveDate> = match (self.by_day.keys().next(), self.by_day.keys().last()) {
            (Some(&first), Some(&last)) => first
                .iter_days()
                .take_while(|d| *d <= last)
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        let days = &days[days.len().saturating_sub(MAX_DAYS)..];
        let mut noisy = |s: Sums| NoisyRow {
            visitors: counts.randomise(s.visitors.min(i64::MAX as u64) as i64, rng),
            sessions: counts.randomise(s.sessions.min(i64::MAX as u64) as i64, rng),
            orders: counts.randomise(s.orders.min(i64::MAX as u64) as i64, rng),
            revenue: money.randomise(s.revenue, rng) as f64 / 10_000.0,
        };
        let by_day = days
            .iter()
            .map(|d| (*d, noisy(self.by_day.get(d).copied().unwrap_or_default())))
            .collect();
        let by_channel = Channel::ALL
            .iter()
            .map(|c| {
                (
                    c.as_str().to_owned(),
                    noisy(self.by_channel.get(c).copied().unwrap_or_default()),
                )
            })
            .collect();
        let spent = ledger.spent()?.epsilon().unwrap_or(f64::INFINITY);
        Ok(PrivateDashboard {
            released_at: chrono::Utc::now(),
            epsilon,
            bounds: self.bounds.clone(),
            count_error95: error95(k as f64 * 8.0 / epsilon),
            revenue_error95: error95(k as f64 * self.cap_units as f64 * 8.0 / epsilon) / 10_000.0,
            by_day,
            by_channel,
            budget_epsilon: ledger.budget().epsilon().unwrap_or(f64::INFINITY),
            budget_left: (ledger.budget().epsilon().unwrap_or(f64::INFINITY) - spent).max(0.0),
        })
    }
}

/// A tally as checkpoints hold it. Before the persons were one hex string they were three
/// sets keyed by pseudonym (`counted`, `visitor_days`, `visitor_channels`): a checkpoint
/// written then restores to the same counts.
#[derive(Serialize, Deserialize)]
struct Stored<P, B, C> {
    bounds: ContributionBounds,
    cap_units: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    persons: Option<P>,
    #[serde(default, skip_serializing)]
    counted: HashMap<CompactString, u32>,
    #[serde(default, skip_serializing)]
    visitor_days: Vec<(CompactString, NaiveDate)>,
    #[serde(default, skip_serializing)]
    visitor_channels: Vec<(CompactString, Channel)>,
    by_day: B,
    by_channel: C,
    dropped: u64,
}

impl Serialize for DashboardTally {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        Stored {
            bounds: self.bounds.clone(),
            cap_units: self.cap_units,
            persons: Some(self.persons.to_hex()),
            counted: HashMap::new(),
            visitor_days: Vec::new(),
            visitor_channels: Vec::new(),
            by_day: &self.by_day,
            by_channel: &self.by_channel,
            dropped: self.dropped,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for DashboardTally {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error;
        let stored =
            Stored::<String, BTreeMap<NaiveDate, Sums>, BTreeMap<Channel, Sums>>::deserialize(d)?;
        let mut tally = DashboardTally::new(stored.bounds).map_err(D::Error::custom)?;
        let k = tally.bounds.visits_per_person;
        tally.persons = match stored.persons {
            Some(hex) => Persons::from_hex(k, &hex).map_err(D::Error::custom)?,
            None => Persons::from_sets(
                k,
                stored.counted.iter().map(|(p, n)| (p.as_str(), *n)),
                stored.visitor_days.iter().map(|(p, d)| (p.as_str(), *d)),
                stored
                    .visitor_channels
                    .iter()
                    .map(|(p, c)| (p.as_str(), *c)),
            ),
        };
        tally.cap_units = stored.cap_units;
        (tally.by_day, tally.by_channel) = (stored.by_day, stored.by_channel);
        tally.dropped = stored.dropped;
        Ok(tally)
    }
}

/// Half-width of the 95 % interval of discrete Laplace noise of scale b: the smallest t
/// with P(|X| > t) = 2·q^{t+1}/(1 + q) ≤ 0.05, q = e^{−1/b}.
pub fn error95(scale: f64) -> f64 {
    let q = (-1.0 / scale).exp();
    // q^{t+1} ≤ 0.025·(1 + q)  ⇔  t ≥ ln(0.025·(1 + q))/ln q − 1.
    ((0.025 * (1.0 + q)).ln() / q.ln() - 1.0).ceil().max(0.0)
}

impl Observer for DashboardTally {
    fn documents(&mut self, documents: &Documents) {
        documents.visits.iter().for_each(|v| self.add(v));
    }
    fn snapshot(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
    fn restore(&mut self, snapshot: serde_json::Value) -> websight_core::Result<()> {
        *self = serde_json::from_value(snapshot)?;
        Ok(())
    }
}

/// A [`DashboardTally`] that can also release its dashboard while the flow runs, not only at
/// the end: with a period, at the first [`Observer::progress`] once that much wall-clock time
/// has passed since the last release the ledger holds — one made before a restart included —
/// or, with none, since it started. Each release is [`DashboardTally::release`]: ε charged to
/// the ledger first, so m releases cost m·ε (sequential composition) and the budget sets how
/// many a deployment gets. Once the ledger refuses one, it releases no more. Every outcome,
/// refusals included, goes to `released`. A run ends with [`finish`](Self::finish), which
/// with a period releases only if one is due: restarts cost no releases of their own.
///
/// A checkpoint holds the tally alone (what a bare [`DashboardTally`] holds), so a restart
/// goes on counting from it, and the ledger holds when the last release was made, so a
/// restart keeps the schedule's rhythm.
pub struct ScheduledRelease<F> {
    tally: DashboardTally,
    epsilon: f64,
    ledger: Ledger,
    every: Option<std::time::Duration>,
    next: Option<std::time::Instant>,
    /// Whether the ledger held a release when this started.
    released_before: bool,
    last: Option<PrivateDashboard>,
    released: F,
}

impl<F> ScheduledRelease<F>
where
    F: FnMut(&DashboardTally, &Result<PrivateDashboard>) + Send,
{
    /// Releases of `tally` at ε each, charged to `ledger`, every `every` (`None`: only when
    /// [`release`](Self::release) or [`finish`](Self::finish) is called). An error if the
    /// ledger cannot be read.
    pub fn new(
        tally: DashboardTally,
        epsilon: f64,
        ledger: Ledger,
        every: Option<std::time::Duration>,
        released: F,
    ) -> Result<ScheduledRelease<F>> {
        let epsilon = positive("epsilon", epsilon)?;
        if every.is_some_and(|e| e.is_zero()) {
            return Err(DpError::InvalidParameter {
                param: "every",
                value: 0.0,
                reason: "a period must be above zero".into(),
            });
        }
        let last_release = ledger
            .entries()?
            .iter()
            .filter(|e| e.what == RELEASE)
            .map(|e| e.at_unix)
            .max();
        let now_unix = chrono::Utc::now().timestamp().max(0) as u64;
        let wait = |every: std::time::Duration| match last_release {
            Some(at) => {
                every.saturating_sub(std::time::Duration::from_secs(now_unix.saturating_sub(at)))
            }
            None => every,
        };
        Ok(ScheduledRelease {
            tally,
            epsilon,
            // A period too long to add to the clock never comes.
            next: every.and_then(|e| std::time::Instant::now().checked_add(wait(e))),
            every,
            released_before: last_release.is_some(),
            ledger,
            last: None,
            released,
        })
    }

    /// The release a run ends with. Without a period: one made now. With one: one made now
    /// if it is due, or if none was ever made (the ledger holds none); else none, so a
    /// restart costs nothing beyond the schedule. Then (or if refused) the last one this
    /// process made, if any.
    pub fn finish(&mut self) -> Option<PrivateDashboard> {
        let first = !self.released_before && self.last.is_none();
        // No `next` with a period: refused once, or a period that never comes.
        let due = self.every.is_none()
            || first
            || self.next.is_some_and(|n| std::time::Instant::now() >= n);
        if due {
            // A refusal or failure is handed to `released`; the last release made stands.
            let _ = self.release();
        }
        self.last.clone()
    }

    /// The tally so far.
    pub fn tally(&self) -> &DashboardTally {
        &self.tally
    }

    /// The last dashboard released (since this process started).
    pub fn last(&self) -> Option<&PrivateDashboard> {
        self.last.as_ref()
    }

    /// Releases now (e.g. at shutdown), as a scheduled release would, and hands the outcome
    /// to `released` too.
    pub fn release(&mut self) -> Result<PrivateDashboard> {
        let released = self
            .tally
            .release(self.epsilon, &self.ledger, &mut crate::exact::os_rng());
        match &released {
            Ok(dashboard) => self.last = Some(dashboard.clone()),
            Err(DpError::BudgetExceeded { .. }) => self.next = None,
            Err(_) => {}
        }
        (self.released)(&self.tally, &released);
        released
    }
}

impl<F> Observer for ScheduledRelease<F>
where
    F: FnMut(&DashboardTally, &Result<PrivateDashboard>) + Send,
{
    fn documents(&mut self, documents: &Documents) {
        self.tally.documents(documents);
    }
    fn snapshot(&self) -> serde_json::Value {
        self.tally.snapshot()
    }
    fn restore(&mut self, snapshot: serde_json::Value) -> websight_core::Result<()> {
        self.tally.restore(snapshot)
    }
    fn progress(&mut self, _flow: &websight_core::flow::Flow) {
        let now = std::time::Instant::now();
        if let (Some(next), Some(every)) = (self.next, self.every)
            && now >= next
        {
            self.next = now.checked_add(every);
            // A refusal stops the schedule (in `release`); a failure to reach the ledger
            // is handed over and tried again at the next period.
            let _ = self.release();
        }
    }
}

/// One released row: noisy counts and revenue.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NoisyRow {
    /// Distinct visitors (a person once per day, or once per channel).
    pub visitors: i64,
    /// Visits.
    pub sessions: i64,
    /// Visits with an order.
    pub orders: i64,
    /// Revenue in the released currency.
    pub revenue: f64,
}

/// A DP release of the dashboard: every figure noised, with its 95 % error bar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrivateDashboard {
    /// When it was released (a dashboard released again and again is told apart by it).
    #[serde(default)]
    pub released_at: chrono::DateTime<chrono::Utc>,
    /// ε of the whole release (per person).
    pub epsilon: f64,
    /// The contribution bounds it assumed.
    pub bounds: ContributionBounds,
    /// 95 % of the noise on each count lies within ± this.
    pub count_error95: f64,
    /// 95 % of the noise on each revenue figure lies within ± this.
    pub revenue_error95: f64,
    /// Per UTC day.
    pub by_day: Vec<(NaiveDate, NoisyRow)>,
    /// Per GA4 channel.
    pub by_channel: Vec<(String, NoisyRow)>,
    /// The ledger's total ε.
    pub budget_epsilon: f64,
    /// ε left in the ledger after this release.
    pub budget_left: f64,
}
