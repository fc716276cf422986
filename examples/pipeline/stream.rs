//! The real-time stage: the input lines through websight's `Flow` — ingest (decode and
//! privacy), gate, checked and dead-letter outputs, stream analytics, session store,
//! document store — on the stores of `websight::connectors::topology` (embedded, with a
//! search server, or every one on a server). The flow does not know which.

use websight::connectors::topology::{Input, Topology};
pub use websight::connectors::topology::{Servers, StreamOutcome, TopologyOptions};
use websight::core::analytics::{AnalyticsConfig, ProductCatalogue, StreamAnalytics, Visit};
use websight::core::flow::{Flow, Ingest, Observer};
use websight::core::gate::Gate;
use websight::core::io::EventSource;

type Error = Box<dyn std::error::Error>;

/// What the offline stage read back from the session store.
pub struct ReadBack {
    /// Visits read.
    pub visits: u64,
    /// Their events.
    pub events: u64,
    /// How long reading them (and handing each to the offline stage) took: offline work,
    /// not part of the stream stage's time.
    pub seconds: f64,
}

/// Runs the stage on a runtime of its own; with [`TopologyOptions::keep_sessions`], then
/// hands every stored visit to `visits` one at a time (on that runtime: a MongoDB client
/// lives on it) and says what it read.
pub fn run(
    source: Box<dyn EventSource + '_>,
    catalogue: ProductCatalogue,
    ingest: Ingest,
    gate: Gate,
    options: &TopologyOptions,
    observer: &mut dyn Observer,
    visits: impl FnMut(Visit) + Send,
) -> Result<(StreamOutcome, Option<ReadBack>), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let topology = Topology::open(Input::Source(source), options).await?;
        let flow = Flow::new(
            ingest,
            gate,
            StreamAnalytics::new(AnalyticsConfig::default(), catalogue)?,
        );
        let mut outcome = topology.run(flow, observer).await?;
        let read = match outcome.sessions.take() {
            Some(mut stored) => {
                let started = std::time::Instant::now();
                let (visits, events) = stored.scan(visits).await?;
                let seconds = started.elapsed().as_secs_f64();
                Some(ReadBack {
                    visits,
                    events,
                    seconds,
                })
            }
            None => None,
        };
        Ok((outcome, read))
    })
}
