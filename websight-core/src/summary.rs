//! A run's figures in the shape of `summary.json`: what came in, what passed, what was built.
//!
//! [`SummaryTally`] watches a [`Flow`](crate::flow::Flow) as an [`Observer`] (checked events
//! per message type, distinct orders and their revenue); [`SummaryTally::summary`] adds the
//! flow's, gate's and analytics' counts. The JSON keys are an interface (`pipeline`,
//! `serve`, and outside checks read them) and never change meaning:
//!
//! | key | meaning |
//! |---|---|
//! | `inputs` | messages taken (a batch line counts once per message, an unreadable line once) |
//! | `checked` | events that passed the gate |
//! | `rejected` | object rule → events a security rule stopped |
//! | `dead_letters` | unreadable or invalid messages |
//! | `duplicates` | messages already seen (same `messageId`) |
//! | `sessions` | visits built from checked events |
//! | `rejected_sessions` | visits of rejected traffic |
//! | `visitors` | distinct persons after identity stitching, checked traffic |
//! | `orders` | distinct `Order Completed` order ids in checked traffic |
//! | `revenue` | object currency → total of those orders' `revenue` (else `total`), rounded to cents |
//! | `channels` | object GA4 channel → visits |
//! | `events` | object message type → checked events |
//! | `late` | checked events too late for the analytics (in the dead letters too) |
//! | `refused` | visits and documents a store refused for good (in the dead letters instead) |
//! | `conserved` | `inputs = checked + rejected + dead_letters + duplicates` held |

use std::collections::BTreeMap;

use crate::hash::FastSet;

use serde::{Deserialize, Serialize};

use crate::analytics::{DEFAULT_CURRENCY, StreamAnalytics};
use crate::event::{Money, names};
use crate::flow::{FlowCounts, Observer};
use crate::gate::{GateStats, Outcome};

/// The figures of `summary.json`. See the [module docs](self) for each key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Messages taken.
    pub inputs: u64,
    /// Events that passed the gate.
    pub checked: u64,
    /// Rule → rejected events.
    pub rejected: BTreeMap<String, u64>,
    /// Unreadable or invalid messages.
    pub dead_letters: u64,
    /// Messages already seen.
    pub duplicates: u64,
    /// Visits built from checked events.
    pub sessions: u64,
    /// Visits of rejected traffic.
    pub rejected_sessions: u64,
    /// Distinct persons after identity stitching.
    pub visitors: u64,
    /// Distinct completed orders.
    pub orders: u64,
    /// Currency → revenue, rounded to cents.
    pub revenue: BTreeMap<String, f64>,
    /// GA4 channel → visits.
    pub channels: BTreeMap<String, u64>,
    /// Message type → checked events.
    pub events: BTreeMap<String, u64>,
    /// Checked events too late for the analytics.
    pub late: u64,
    /// Visits and documents a store refused for good.
    #[serde(default)]
    pub refused: u64,
    /// Whether `inputs = checked + rejected + dead_letters + duplicates`.
    pub conserved: bool,
}

/// Watches a flow's outcomes for the summary's event, order and revenue figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SummaryTally {
    events: BTreeMap<String, u64>,
    /// Distinct orders, as 64-bit hashes of their keys: a few bytes per order on long
    /// streams; each order's revenue is added when it is first seen.
    orders: FastSet<u64>,
    revenue: BTreeMap<String, Money>,
}

impl Observer for SummaryTally {
    fn outcome(&mut self, outcome: &Outcome) {
        let Outcome::Valid(event) = outcome else {
            return;
        };
        // Found by its name: no name allocated per event.
        match self.events.get_mut(event.kind.as_str()) {
            Some(n) => *n += 1,
            None => {
                self.events.insert(event.kind.as_str().to_owned(), 1);
            }
        }
        if event.is_track(names::ORDER_COMPLETED) {
            let p = &event.properties;
            // An order is its id; an order without one is its message.
            let key = p.order_id.as_ref().map_or_else(
                || format!("message:{}", event.message_id),
                |id| format!("order:{id}"),
            );
            if self.orders.insert(crate::hash::hash64(key.as_bytes())) {
                let currency = p.currency.as_deref().unwrap_or(DEFAULT_CURRENCY);
                let value = p.order_value().unwrap_or_default();
                // Bounded as the dashboard's: past a thousand currencies, `(other)`.
                use crate::analytics::labels;
                labels::tally(&mut self.revenue, currency, value, labels::money);
            }
        }
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn restore(&mut self, snapshot: serde_json::Value) -> crate::Result<()> {
        *self = serde_json::from_value(snapshot)?;
        Ok(())
    }
}

impl SummaryTally {
    /// The summary of a finished run.
    pub fn summary(
        &self,
        counts: &FlowCounts,
        gate: &GateStats,
        analytics: &StreamAnalytics,
    ) -> Summary {
        Summary {
            inputs: counts.inputs,
            checked: counts.checked,
            rejected: gate.rejected.clone(),
            dead_letters: counts.dead_letters,
            duplicates: counts.duplicates,
            sessions: analytics.dashboard().funnel.sessions,
            rejected_sessions: analytics.counts().rejected_sessions,
            visitors: analytics.visitors() as u64,
            orders: self.orders.len() as u64,
            revenue: self
                .revenue
                .iter()
                .map(|(c, m)| (c.clone(), m.cents() as f64 / 100.0))
                .collect(),
            channels: analytics.dashboard().channels.clone(),
            events: self.events.clone(),
            late: counts.late,
            refused: counts.refused,
            conserved: counts.is_conserved(),
        }
    }
}
