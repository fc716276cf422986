//! What a DP dashboard tally costs as it grows: the closed visits of N generated sessions
//! counted into a [`DashboardTally`], then the heap it holds (a counting allocator), its
//! checkpoint's size as JSON and the time to take that checkpoint and restore it.
//!
//! ```sh
//! cargo run --release -p websight-dp --example tally_size -- 50000
//! ```

use std::time::Instant;

use websight_core::flow::Observer;
use websight_core::synth::{Generator, SynthConfig};
use websight_dp::dashboard::{ContributionBounds, DashboardTally};
use websight_testkit::alloc::{Counting, live_bytes};

#[global_allocator]
static ALLOCATOR: Counting<std::alloc::System> = Counting(std::alloc::System);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sessions = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 50_000,
    };
    let generator = Generator::new(SynthConfig {
        sessions,
        ..SynthConfig::default()
    })?;
    let docs = websight_testkit::documents_of(&generator);
    let before = live_bytes();
    let mut tally = DashboardTally::new(ContributionBounds::default())?;
    tally.documents(&docs);
    let held = live_bytes() - before;
    let clock = Instant::now();
    let snapshot = tally.snapshot();
    let taken = clock.elapsed();
    let bytes = serde_json::to_string(&snapshot)?.len();
    let clock = Instant::now();
    let mut back = DashboardTally::new(ContributionBounds::default())?;
    back.restore(snapshot)?;
    let restored = clock.elapsed();
    assert_eq!(back, tally);
    let persons = tally.persons();
    println!(
        "{sessions} sessions, {} visits, {persons} persons: heap {held} bytes ({:.0} a person), \
         checkpoint {bytes} bytes of JSON ({:.0} a person), taken in {taken:.2?}, restored in {restored:.2?}",
        docs.visits.len(),
        held as f64 / persons as f64,
        bytes as f64 / persons as f64,
    );
    Ok(())
}
