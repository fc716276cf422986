//! The real-time stage: the input lines through websight's `Flow` — ingest (decode and
//! privacy), gate, checked and dead-letter outputs, stream analytics, session store,
//! document store — on the stores of `websight::connectors::topology` (embedded, with a
//! search server, or every one on a server). The flow does not know which.

use websight::connectors::topology::{Input, Topology};
pub use websight::connectors::topology::{Servers, StreamOutcome, TopologyOptions};
use websight::core::analytics::{AnalyticsConfig, ProductCatalogue, StreamAnalytics, Visit};
use websight::core::flow::{Flow, Ingest, Observer};
use websight::core::gate::{Gate, GateConfig};
use websight::core::io::EventSource;

type Error = Box<dyn std::error::Error>;

/// Runs the stage on a runtime of its own; with [`TopologyOptions::keep_sessions`], then
/// hands every stored visit to `visits` one at a time (on that runtime: a MongoDB client
/// lives on it) and returns how many visits and events it read.
pub fn run(
    source: Box<dyn EventSource + '_>,
    catalogue: ProductCatalogue,
    ingest: Ingest,
    options: &TopologyOptions,
    observer: &mut dyn Observer,
    visits: impl FnMut(Visit) + Send,
) -> Result<(StreamOutcome, Option<(u64, u64)>), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let topology = Topology::open(Input::Source(source), options).await?;
        let flow = Flow::new(
            ingest,
            Gate::new(GateConfig::default())?,
            StreamAnalytics::new(AnalyticsConfig::default(), catalogue)?,
        );
        let mut outcome = topology.run(flow, observer).await?;
        let read = match outcome.sessions.take() {
            Some(mut stored) => Some(stored.scan(visits).await?),
            None => None,
        };
        Ok((outcome, read))
    })
}
