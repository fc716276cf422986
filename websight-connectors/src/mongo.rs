//! MongoDB: [`MongoSessionStore`], the closed visits stored by id with idempotent bulk
//! upserts, and read back for feature engineering.
//!
//! A visit document: a few queryable fields and the visit itself as JSON (event properties
//! may hold any key, including ones with `.` or `$` that BSON field names refuse):
//!
//! ```json
//! { "_id": "v3f…", "person": "p_91c…", "started_at": "2026-01-05T10:00:00Z",
//!   "channel": "Organic Search", "purchased": true, "events": 12, "visit": "{…Visit…}" }
//! ```
//!
//! Each batch is one `update` command of `$set` upserts (unordered), so a replayed visit
//! overwrites itself; a command that fails because the server went away is retried with
//! capped exponential backoff.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, Database, IndexModel};
use websight_core::analytics::Visit;
use websight_core::io::{SessionStore, StoredSessions, WriteReport};

use crate::backoff::Backoff;
use crate::{ConnectorError, Result};

/// Closed visits in a MongoDB collection.
#[derive(Debug, Clone)]
pub struct MongoSessionStore {
    db: Database,
    collection: Collection<Document>,
    retries: u32,
}

/// Upserts per `update` command (well under MongoDB's 100,000 and 16 MiB limits).
const UPSERTS_PER_COMMAND: usize = 1_000;

impl MongoSessionStore {
    /// Connects to `url` (e.g. `mongodb://127.0.0.1:27017`) and uses `database.collection`,
    /// creating its index on `person`.
    pub async fn connect(url: &str, database: &str, collection: &str) -> Result<Self> {
        let mut options = ClientOptions::parse(url).await?;
        options.server_selection_timeout = Some(Duration::from_secs(5));
        options.connect_timeout = Some(Duration::from_secs(5));
        options.app_name = Some("websight".into());
        let client = Client::with_options(options)?;
        let db = client.database(database);
        let store = MongoSessionStore {
            collection: db.collection(collection),
            db,
            retries: 10,
        };
        store
            .collection
            .create_index(IndexModel::builder().keys(doc! { "person": 1 }).build())
            .await?;
        Ok(store)
    }

    /// Runs a command, retrying while the server is unreachable (every command here is
    /// idempotent).
    async fn command(&self, command: Document) -> Result<Document> {
        let mut backoff = Backoff::new(
            self.retries,
            Duration::from_millis(50),
            Duration::from_secs(2),
        );
        loop {
            match self.db.run_command(command.clone()).await {
                Ok(reply) => return Ok(reply),
                Err(e)
                    if transient(&e) && backoff.retry("mongodb command", e.to_string()).await => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Visit documents held.
    pub async fn sessions(&self) -> Result<u64> {
        Ok(self.collection.count_documents(doc! {}).await?)
    }

    /// Deletes every visit document (e.g. before a fresh run).
    pub async fn clear(&self) -> Result<()> {
        self.collection.delete_many(doc! {}).await?;
        Ok(())
    }
}

fn transient(e: &mongodb::error::Error) -> bool {
    use mongodb::error::ErrorKind;
    matches!(
        *e.kind,
        ErrorKind::Io(_)
            | ErrorKind::ServerSelection { .. }
            | ErrorKind::ConnectionPoolCleared { .. }
    ) || e.contains_label("RetryableWriteError")
        || e.contains_label("TransientTransactionError")
}

fn upsert_of(visit: &Visit) -> Result<Document> {
    let json = serde_json::to_string(visit).map_err(protocol)?;
    let set = doc! {
        "person": &visit.person,
        "started_at": visit.started_at().to_rfc3339(),
        "channel": visit.acquisition.channel.as_str(),
        "purchased": visit.purchased(),
        "events": visit.events.len() as i64,
        "visit": json,
    };
    Ok(doc! { "q": { "_id": &visit.id }, "u": { "$set": set }, "upsert": true })
}

fn protocol(e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Protocol {
        reason: e.to_string(),
    }
}

#[async_trait]
impl SessionStore for MongoSessionStore {
    /// `replaced` stays 0: an `update` reply does not say which visits were stored before.
    async fn upsert_visits(&mut self, visits: &[Visit]) -> websight_core::Result<WriteReport> {
        let mut report = WriteReport::default();
        for chunk in visits.chunks(UPSERTS_PER_COMMAND) {
            let updates = chunk
                .iter()
                .map(|v| upsert_of(v).map(Bson::Document))
                .collect::<Result<Vec<_>>>()?;
            let reply = self
                .command(doc! {
                    "update": self.collection.name(),
                    "updates": updates,
                    "ordered": false,
                })
                .await?;
            if let Ok(errors) = reply.get_array("writeErrors")
                && let Some(first) = errors.first()
            {
                return Err(
                    protocol(format!("{} upserts failed, e.g. {first}", errors.len())).into(),
                );
            }
            if count(&reply, "ok") != 1 {
                return Err(protocol(format!("update failed: {reply}")).into());
            }
            report.written += chunk.len();
        }
        Ok(report)
    }

    async fn read_sessions(&mut self) -> websight_core::Result<StoredSessions> {
        let mut cursor = self
            .collection
            .find(doc! {})
            .projection(doc! { "visit": 1 })
            .await
            .map_err(ConnectorError::from)?;
        let mut visits = Vec::new();
        while let Some(document) = cursor.try_next().await.map_err(ConnectorError::from)? {
            let json = document.get_str("visit").map_err(protocol)?;
            visits.push(serde_json::from_str::<Visit>(json).map_err(protocol)?);
        }
        visits.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(StoredSessions::collect(visits))
    }
}

fn count(reply: &Document, field: &str) -> u64 {
    match reply.get(field) {
        Some(Bson::Int32(n)) => *n as u64,
        Some(Bson::Int64(n)) => *n as u64,
        Some(Bson::Double(n)) => *n as u64,
        _ => 0,
    }
}
