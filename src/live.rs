//! What a live page shows, kept current as the flow runs.
//!
//! [`LiveObserver`] watches a [`Flow`]: it tallies the summary and
//! the traffic series and, at most every `every` (after a batch or a quiet tick), hands the
//! summary and the [`DashboardView`] to a function of yours — `serve` publishes them to its
//! board; your app can do anything else with them.
//!
//! ```
//! use websight::core::analytics::{AnalyticsConfig, ProductCatalogue, StreamAnalytics};
//! use websight::core::flow::{Flow, Ingest};
//! use websight::core::gate::{Gate, GateConfig};
//! use websight::core::privacy::{Privacy, PrivacyConfig};
//! use websight::live::LiveObserver;
//!
//! let mut flow = Flow::new(
//!     Ingest::new(Privacy::new(PrivacyConfig::default())?),
//!     Gate::new(GateConfig::default())?,
//!     StreamAnalytics::new(AnalyticsConfig::default(), ProductCatalogue::default())?,
//! );
//! let mut seen = Vec::new();
//! let mut live = LiveObserver::new("USD", std::time::Duration::ZERO, |summary, view| {
//!     seen.push((summary.inputs, view.kpis[0].clone()));
//! });
//! let line = br#"{"type":"page","anonymousId":"a","timestamp":"2026-03-01T10:00:00Z",
//!     "context":{"userAgent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"}}"#;
//! flow.run_embedded(vec![line.to_vec()], &mut live)?;
//! drop(live);
//! assert_eq!(seen.last().unwrap().0, 1);
//! assert_eq!(seen.last().unwrap().1, ("Visitors now".to_owned(), "1".to_owned()));
//! # Ok::<(), websight::core::CoreError>(())
//! ```

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use websight_core::analytics::{Documents, StreamAnalytics, TimeSeries};
use websight_core::flow::{Flow, FlowCounts, Observer};
use websight_core::gate::{GateStats, Outcome};
use websight_core::summary::{Summary, SummaryTally};

use crate::report::DashboardView;

/// Tallies what a live page shows and hands it on. See the [module docs](self).
pub struct LiveObserver<F> {
    tally: SummaryTally,
    series: TimeSeries,
    every: Duration,
    last: Option<Instant>,
    /// Something changed since the last hand-over.
    dirty: bool,
    publish: F,
}

impl<F: FnMut(&Summary, &DashboardView) + Send> LiveObserver<F> {
    /// Sums revenue in `currency`; calls `publish` at most every `every`.
    pub fn new(currency: &str, every: Duration, publish: F) -> Self {
        LiveObserver {
            tally: SummaryTally::default(),
            series: TimeSeries::new(currency),
            every,
            last: None,
            dirty: true,
            publish,
        }
    }

    /// The summary and the dashboard of a flow's counts, gate and analytics (during the
    /// run, or from its outcome at the end).
    pub fn view(
        &self,
        counts: &FlowCounts,
        gate: &GateStats,
        analytics: &StreamAnalytics,
    ) -> (Summary, DashboardView) {
        (
            self.tally.summary(counts, gate, analytics),
            DashboardView::of(analytics, &self.series, gate),
        )
    }
}

impl<F: FnMut(&Summary, &DashboardView) + Send> Observer for LiveObserver<F> {
    fn outcome(&mut self, outcome: &Outcome) {
        self.tally.outcome(outcome);
        self.series.outcome(outcome);
        self.dirty = true;
    }

    fn visitor(&mut self, at: DateTime<Utc>, person: &str) {
        self.series.visitor(at, person);
    }

    fn documents(&mut self, documents: &Documents) {
        self.tally.documents(documents);
        self.series.documents(documents);
        // A quiet tick writes empty batches: nothing to show.
        self.dirty |= !(documents.sessions.is_empty() && documents.windows.is_empty());
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!([self.tally.snapshot(), self.series.snapshot()])
    }

    fn restore(&mut self, snapshot: serde_json::Value) -> websight_core::Result<()> {
        let mut pair = (std::mem::take(&mut self.tally), self.series.clone());
        pair.restore(snapshot)?;
        (self.tally, self.series) = pair;
        self.dirty = true;
        Ok(())
    }

    fn progress(&mut self, flow: &Flow) {
        let due = self.last.is_none_or(|t| t.elapsed() >= self.every);
        if !(self.dirty && due) {
            return;
        }
        let (summary, view) = self.view(&flow.counts(), flow.gate().stats(), flow.analytics());
        (self.publish)(&summary, &view);
        self.last = Some(Instant::now());
        self.dirty = false;
    }
}
