//! Valid events stored per session, and read back as whole sessions for offline work.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::WriteReport;
use crate::Result;
use crate::model::Session;
use crate::record::EventRecord;

/// What a [`SessionStore`] holds, read back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredSessions {
    /// Sessions with every event stored, rebuilt with [`EventRecord::into_session`].
    pub complete: Vec<Session>,
    /// Sessions still missing events (the stream was cut short, or they are still open).
    pub incomplete: usize,
    /// Events held, over all sessions.
    pub events: u64,
}

/// Valid events by session: one record per session id, events keyed by position, so
/// writing an event again (a replay) changes nothing.
#[async_trait]
pub trait SessionStore: Send {
    /// Upserts events into their sessions; returns when all are acknowledged. `written`
    /// counts events, `replaced` those the store reports as already stored (0 when it
    /// cannot tell).
    async fn upsert_events(&mut self, events: &[EventRecord]) -> Result<WriteReport>;
    /// Every stored session — the offline reader that feeds feature engineering.
    async fn read_sessions(&mut self) -> Result<StoredSessions>;
}

impl StoredSessions {
    /// Rebuilds whole sessions from each session's stored events, counting the incomplete
    /// ones.
    pub fn assemble<I>(sessions: I) -> Result<StoredSessions>
    where
        I: IntoIterator<Item = Vec<EventRecord>>,
    {
        let mut out = StoredSessions::default();
        for events in sessions {
            out.events += events.len() as u64;
            let expected = events.first().map_or(0, |e| e.session_events as usize);
            if events.len() == expected {
                out.complete.push(EventRecord::into_session(events)?);
            } else {
                out.incomplete += 1;
            }
        }
        Ok(out)
    }
}

/// The embedded session store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemorySessionStore {
    sessions: BTreeMap<String, BTreeMap<u32, EventRecord>>,
}

impl MemorySessionStore {
    /// Sessions held (complete or not).
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn upsert_events(&mut self, events: &[EventRecord]) -> Result<WriteReport> {
        let mut report = WriteReport::default();
        for e in events {
            report.written += 1;
            let session = self
                .sessions
                .entry(e.session_id.as_str().to_owned())
                .or_default();
            if session.insert(e.seq, e.clone()).is_some() {
                report.replaced += 1;
            }
        }
        Ok(report)
    }

    async fn read_sessions(&mut self) -> Result<StoredSessions> {
        StoredSessions::assemble(
            self.sessions
                .values()
                .map(|events| events.values().cloned().collect()),
        )
    }
}
