//! The MongoDB session store against the real server of `scripts/services.sh`
//! (`WEBSIGHT_MONGODB_URL`): idempotent upserts, whole sessions read back, and a server
//! restart in the middle of the writes survived. One test: the restart would disturb others.
#![cfg(feature = "mongodb")]

mod common;

use std::time::Duration;

use websight_connectors::mongo::MongoSessionStore;
use websight_core::io::SessionStore;
use websight_core::record::EventRecord;
use websight_core::synth::{Generator, SynthConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_upserted_once_read_back_whole_and_survive_a_restart() {
    let Some(url) = common::server("WEBSIGHT_MONGODB_URL") else {
        return;
    };
    let generator = Generator::new(SynthConfig {
        sessions: 1_500,
        seed: 5,
        ..SynthConfig::default()
    })
    .unwrap();
    let sessions: Vec<_> = generator.sessions().map(|s| s.session).collect();
    // Events in stream order (sessions interleaved), so a session spans several batches.
    let mut events: Vec<EventRecord> = generator.events().map(|e| e.record).collect();
    let total = events.len();
    let mut store = MongoSessionStore::connect(
        &url,
        "websight_test",
        &format!("sessions_{}", std::process::id()),
    )
    .await
    .unwrap();
    store.clear().await.unwrap();

    // Write in batches; a third of the way in, the server is stopped and started again.
    let batches: Vec<Vec<EventRecord>> = events.chunks(400).map(<[_]>::to_vec).collect();
    let restart_at = batches.len() / 3;
    let mut restarter = None;
    for (i, batch) in batches.iter().enumerate() {
        if i == restart_at {
            restarter = Some(std::thread::spawn(|| {
                common::services(&["stop-one", "mongodb"]);
                std::thread::sleep(Duration::from_millis(500));
                common::services(&["start-one", "mongodb"]);
            }));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let report = store.upsert_events(batch).await.unwrap();
        assert_eq!(report.written, batch.len());
    }
    restarter.unwrap().join().unwrap();
    assert_eq!(store.sessions().await.unwrap(), sessions.len() as u64);

    // A replay of a quarter of the events changes nothing.
    events.truncate(total / 4);
    store.upsert_events(&events).await.unwrap();
    let stored = store.read_sessions().await.unwrap();
    assert_eq!(stored.events, total as u64);
    assert_eq!(stored.incomplete, 0);
    let mut got = stored.complete;
    got.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let mut want = sessions;
    want.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    assert_eq!(got, want, "sessions read back equal the generated ones");
}
