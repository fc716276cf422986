//! MongoDB: [`MongoSessionStore`], the checked events stored per session (one document per
//! session id, events keyed by position) with idempotent bulk upserts, and read back as
//! whole sessions for feature engineering.
//!
//! A session document:
//!
//! ```json
//! { "_id": "s-000042", "user_id": "u-0007", "session_events": 5,
//!   "events": { "0": { …EventRecord… }, "1": { … } } }
//! ```
//!
//! Each batch is one `update` command of `$set` upserts (unordered), so a replayed event
//! overwrites itself; a command that fails because the server went away is retried with
//! capped exponential backoff.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{self, Bson, Document, doc};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, Database, IndexModel};
use websight_core::io::{SessionStore, StoredSessions, WriteReport};
use websight_core::record::EventRecord;

use crate::backoff::Backoff;
use crate::{ConnectorError, Result};

/// Checked events by session in a MongoDB collection.
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
    /// creating its index on `user_id`.
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
            .create_index(IndexModel::builder().keys(doc! { "user_id": 1 }).build())
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

    /// Session documents held.
    pub async fn sessions(&self) -> Result<u64> {
        Ok(self.collection.count_documents(doc! {}).await?)
    }

    /// Deletes every session document (e.g. before a fresh run).
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

fn upsert_of(session: &str, events: &[&EventRecord]) -> Result<Document> {
    let mut set = Document::new();
    if let Some(first) = events.first() {
        set.insert("user_id", first.user.id.as_str());
        set.insert("session_events", i64::from(first.session_events));
    }
    for e in events {
        set.insert(
            format!("events.{}", e.seq),
            bson::to_bson(e).map_err(protocol)?,
        );
    }
    Ok(doc! { "q": { "_id": session }, "u": { "$set": set }, "upsert": true })
}

fn protocol(e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Protocol {
        reason: e.to_string(),
    }
}

#[async_trait]
impl SessionStore for MongoSessionStore {
    /// `replaced` stays 0: an `update` reply does not say which events were stored before.
    async fn upsert_events(
        &mut self,
        events: &[EventRecord],
    ) -> websight_core::Result<WriteReport> {
        let mut by_session: BTreeMap<&str, Vec<&EventRecord>> = BTreeMap::new();
        for e in events {
            by_session.entry(e.session_id.as_str()).or_default().push(e);
        }
        let groups: Vec<_> = by_session.into_iter().collect();
        let mut report = WriteReport::default();
        for chunk in groups.chunks(UPSERTS_PER_COMMAND) {
            let updates = chunk
                .iter()
                .map(|(session, events)| upsert_of(session, events).map(Bson::Document))
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
            report.written += chunk.iter().map(|(_, e)| e.len()).sum::<usize>();
        }
        Ok(report)
    }

    async fn read_sessions(&mut self) -> websight_core::Result<StoredSessions> {
        let mut cursor = self
            .collection
            .find(doc! {})
            .projection(doc! { "events": 1 })
            .await
            .map_err(ConnectorError::from)?;
        let mut sessions = Vec::new();
        while let Some(document) = cursor.try_next().await.map_err(ConnectorError::from)? {
            let events = document.get_document("events").map_err(protocol)?;
            let mut records = Vec::with_capacity(events.len());
            for (_, event) in events {
                records.push(bson::from_bson::<EventRecord>(event.clone()).map_err(protocol)?);
            }
            sessions.push(records);
        }
        StoredSessions::assemble(sessions)
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
