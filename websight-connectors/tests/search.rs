//! The Elasticsearch/OpenSearch sink against the real server `scripts/services.sh` starts
//! (`WEBSIGHT_SEARCH_URL`): exact counts, idempotent replays, and a server outage survived.
#![cfg(feature = "elasticsearch")]

mod common;

use std::time::Duration;

use websight_connectors::search::{INDEXES, SearchSink};
use websight_core::analytics::Documents;
use websight_core::io::{DocumentSink, MemoryIndex};
use websight_core::synth::{Generator, SynthConfig};

fn documents() -> Documents {
    let generator = Generator::new(SynthConfig {
        sessions: 2_000,
        users: 300,
        seed: 21,
        ..SynthConfig::default()
    })
    .unwrap();
    websight_testkit::documents_of(&generator)
}

fn expected(memory: &MemoryIndex) -> [u64; 4] {
    [
        memory.sessions.len() as u64,
        memory.products.len() as u64,
        memory.sentiments.len() as u64,
        memory.windows.len() as u64,
    ]
}

async fn counts(sink: &SearchSink) -> [u64; 4] {
    sink.refresh().await.unwrap();
    let mut out = [0; 4];
    for (o, index) in out.iter_mut().zip(INDEXES) {
        *o = sink.count(index).await.unwrap();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_land_exactly_once_and_survive_an_outage() {
    let Some(url) = common::server("WEBSIGHT_SEARCH_URL") else {
        return;
    };
    let docs = documents();
    let mut memory = MemoryIndex::default();
    memory.write(&docs).await.unwrap();
    let want = expected(&memory);
    assert!(want.iter().all(|&n| n > 0), "{want:?}");

    // Exact counts, through the strict templates.
    let prefix = format!("t{}-", std::process::id());
    let mut sink = SearchSink::new(&url).prefix(&prefix);
    sink.install_templates().await.unwrap();
    let report = sink.write(&docs).await.unwrap();
    assert_eq!(report.written, memory.len());
    assert_eq!(counts(&sink).await, want);

    // A replay (a retry after a crash) replaces, never duplicates.
    let again = sink.write(&docs).await.unwrap();
    assert_eq!(
        (again.written, again.replaced),
        (memory.len(), memory.len())
    );
    assert_eq!(counts(&sink).await, want);

    // Outage: the server goes down; the write retries with backoff until it is back. (The
    // local server keeps data in memory, so the restarted one starts empty.)
    common::services(&["stop-one", "search"]);
    let outage_prefix = format!("t{}-outage-", std::process::id());
    let mut patient = SearchSink::new(&url)
        .prefix(&outage_prefix)
        .retries(12, Duration::from_millis(100));
    let writer = tokio::spawn(async move {
        let report = patient.write(&documents()).await;
        (patient, report)
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    common::services(&["start-one", "search"]);
    let (patient, report) = writer.await.unwrap();
    assert_eq!(report.unwrap().written, memory.len());
    assert_eq!(counts(&patient).await, want);
}

#[tokio::test]
async fn unreachable_servers_are_errors_and_refused_documents_are_reported() {
    let Some(url) = common::server("WEBSIGHT_SEARCH_URL") else {
        return;
    };
    // Nothing listens on port 9: the retries run out and the error says so.
    let mut nowhere = SearchSink::new("http://127.0.0.1:9").retries(2, Duration::from_millis(10));
    let err = nowhere.write(&documents()).await.unwrap_err();
    assert!(err.to_string().contains("store"), "{err}");
    // The strict template refuses a document with an unknown field.
    let prefix = format!("t{}-strict-", std::process::id());
    let sink = SearchSink::new(&url).prefix(&prefix);
    sink.install_templates().await.unwrap();
    let response: serde_json::Value = reqwest::Client::new()
        .post(format!("{url}/{prefix}kpi_windows/_doc/x"))
        .header("content-type", "application/json")
        .body(r#"{"unknown_field": 1}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(response.to_string().contains("strict"), "{response}");

    // A number beyond the template's `long` is refused for good: reported with the server's
    // reason (the flow makes it a dead letter), the other documents are written.
    let mut docs = Documents {
        windows: documents().windows.into_iter().take(3).collect(),
        ..Documents::default()
    };
    docs.windows[1].sessions = u64::MAX;
    let mut sink = sink.retries(2, Duration::from_millis(10));
    let report = sink.write(&docs).await.unwrap();
    assert_eq!(report.written, 2);
    assert_eq!(report.refused.len(), 1, "{report:?}");
    let refusal = &report.refused[0];
    assert_eq!(refusal.id, docs.windows[1].document_id());
    assert_eq!(refusal.store, format!("{prefix}kpi_windows"));
    assert!(
        refusal.reason.contains("mapper_parsing_exception"),
        "{refusal:?}"
    );
    assert!(String::from_utf8_lossy(&refusal.payload).contains("18446744073709551615"));
    // Written again (a replay), the same answer: refused for good, not retried.
    assert_eq!(sink.write(&docs).await.unwrap().refused.len(), 1);
}
