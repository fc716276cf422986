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
//! Each batch is one `update` command of `$set` upserts (unordered; up to 1,000 visits or
//! 8 MiB), so a replayed visit overwrites itself; a command that fails because the server
//! went away is retried with capped exponential backoff. A visit the server will never take
//! (over the 16 MiB document limit, or any per-document write error) is reported in
//! [`WriteReport::refused`], and the flow makes it a dead letter.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, Database, IndexModel};
use websight_core::analytics::Visit;
use websight_core::io::{Refusal, SessionStore, StoredSessions, WriteReport};

use crate::backoff::Backoff;
use crate::{ConnectorError, Result};

/// Closed visits in a MongoDB collection.
#[derive(Debug, Clone)]
pub struct MongoSessionStore {
    db: Database,
    collection: Collection<Document>,
    retries: u32,
}

/// Upserts per `update` command (well under MongoDB's 100,000 limit).
const UPSERTS_PER_COMMAND: usize = 1_000;
/// Bytes of upserts per `update` command (the command itself must stay under 16 MiB).
const BYTES_PER_COMMAND: usize = 8 << 20;
/// Largest visit document MongoDB stores (16 MiB), less room for the update's envelope.
const MAX_VISIT_BYTES: usize = (16 << 20) - (16 << 10);

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
        "person": visit.person.as_str(),
        "started_at": visit.started_at().to_rfc3339(),
        "channel": visit.acquisition.channel.as_str(),
        "purchased": visit.purchased(),
        "events": visit.events.len() as i64,
        "visit": json,
    };
    Ok(doc! { "q": { "_id": visit.id.as_str() }, "u": { "$set": set }, "upsert": true })
}

fn protocol(e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Protocol {
        reason: e.to_string(),
    }
}

impl MongoSessionStore {
    /// One `update` command of `upserts` (visit, its upsert); what the server refused per
    /// upsert (`writeErrors`: a document it will never take) goes to `report.refused`.
    async fn update(
        &self,
        upserts: Vec<(&Visit, Document)>,
        report: &mut WriteReport,
    ) -> websight_core::Result<()> {
        if upserts.is_empty() {
            return Ok(());
        }
        let n = upserts.len();
        let (visits, updates): (Vec<&Visit>, Vec<Bson>) = upserts
            .into_iter()
            .map(|(v, u)| (v, Bson::Document(u)))
            .unzip();
        let reply = self
            .command(doc! {
                "update": self.collection.name(),
                "updates": updates,
                "ordered": false,
            })
            .await?;
        if count(&reply, "ok") != 1 {
            return Err(protocol(format!("update failed: {reply}")).into());
        }
        let mut refused = 0;
        for error in reply.get_array("writeErrors").into_iter().flatten() {
            let error = error
                .as_document()
                .ok_or_else(|| protocol("bad writeErrors"))?;
            let index = count(error, "index") as usize;
            let visit = visits
                .get(index)
                .ok_or_else(|| protocol(format!("writeError for upsert {index} of {n}")))?;
            let reason = error.get_str("errmsg").unwrap_or("refused");
            report.refused.push(Refusal::of(
                self.collection.name(),
                &visit.id,
                reason,
                visit,
            ));
            refused += 1;
        }
        report.written += n - refused;
        Ok(())
    }
}

#[async_trait]
impl SessionStore for MongoSessionStore {
    /// `replaced` stays 0: an `update` reply does not say which visits were stored before.
    /// A visit over MongoDB's 16 MiB document limit is refused without being sent.
    async fn upsert_visits(&mut self, visits: &[Visit]) -> websight_core::Result<WriteReport> {
        let mut report = WriteReport::default();
        let (mut command, mut bytes) = (Vec::new(), 0);
        for visit in visits {
            let upsert = upsert_of(visit)?;
            let size = mongodb::bson::to_vec(&upsert).map_err(protocol)?.len();
            if size > MAX_VISIT_BYTES {
                let reason = format!("{size} bytes, over MongoDB's 16 MiB document limit");
                report.refused.push(Refusal::of(
                    self.collection.name(),
                    &visit.id,
                    &reason,
                    visit,
                ));
                continue;
            }
            if command.len() == UPSERTS_PER_COMMAND || bytes + size > BYTES_PER_COMMAND {
                self.update(std::mem::take(&mut command), &mut report)
                    .await?;
                bytes = 0;
            }
            command.push((visit, upsert));
            bytes += size;
        }
        self.update(command, &mut report).await?;
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
