//! The MongoDB session store against the real server of `scripts/services.sh`
//! (`WEBSIGHT_MONGODB_URL`): idempotent upserts, visits read back equal, and a server restart
//! in the middle of the writes survived. One test: the restart would disturb others.
#![cfg(feature = "mongodb")]

mod common;

use std::time::Duration;

use websight_connectors::mongo::MongoSessionStore;
use websight_core::analytics::Visit;
use websight_core::io::SessionStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visits_are_upserted_once_read_back_equal_and_survive_a_restart() {
    let Some(url) = common::server("WEBSIGHT_MONGODB_URL") else {
        return;
    };
    let generator = websight_testkit::generator(1_500, 5);
    let mut visits: Vec<Visit> = websight_testkit::documents_of(&generator).visits;
    let total = visits.len();
    let events: u64 = visits.iter().map(|v| v.events.len() as u64).sum();
    let mut store = MongoSessionStore::connect(
        &url,
        "websight_test",
        &format!("visits_{}", std::process::id()),
    )
    .await
    .unwrap();
    store.clear().await.unwrap();

    // Write in batches; a third of the way in, the server is stopped and started again.
    let batches: Vec<Vec<Visit>> = visits.chunks(100).map(<[_]>::to_vec).collect();
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
        let report = store.upsert_visits(batch).await.unwrap();
        assert_eq!(report.written, batch.len());
    }
    restarter.unwrap().join().unwrap();
    assert_eq!(store.sessions().await.unwrap(), total as u64);

    // A replay of a quarter of the visits changes nothing.
    store.upsert_visits(&visits[..total / 4]).await.unwrap();
    let stored = store.read_sessions().await.unwrap();
    assert_eq!(stored.events, events);
    visits.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        stored.visits, visits,
        "visits read back equal the written ones"
    );

    // A visit over MongoDB's 16 MiB document limit is refused for good, with the reason
    // (the flow makes it a dead letter); the visits beside it are stored.
    let mut huge = visits[0].clone();
    huge.id = "huge-visit".into();
    let template = huge.events[0].clone();
    huge.events = (0..17)
        .map(|i| {
            let mut e = template.clone();
            e.message_id = format!("{i}{}", "x".repeat(1 << 20)).into();
            e
        })
        .collect();
    let mut beside = visits[1].clone();
    beside.id = "beside-the-huge-visit".into();
    let report = store.upsert_visits(&[huge, beside]).await.unwrap();
    assert_eq!(report.written, 1);
    assert_eq!(report.refused.len(), 1, "{:?}", report.refused);
    let refusal = &report.refused[0];
    assert_eq!(refusal.id, "huge-visit");
    assert!(refusal.reason.contains("16 MiB"), "{}", refusal.reason);
    assert_eq!(refusal.payload.len(), websight_core::io::DEAD_LETTER_BYTES);
    assert_eq!(store.sessions().await.unwrap(), total as u64 + 1);
}
