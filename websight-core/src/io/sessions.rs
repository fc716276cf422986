//! Closed visits stored by id, and read back for offline work.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::WriteReport;
use crate::Result;
use crate::analytics::Visit;

/// What a [`SessionStore`] holds, read back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredSessions {
    /// Every stored visit, in id order.
    pub visits: Vec<Visit>,
    /// Events held, over all visits.
    pub events: u64,
}

impl StoredSessions {
    /// Collects visits, counting their events.
    pub fn collect<I: IntoIterator<Item = Visit>>(visits: I) -> StoredSessions {
        let visits: Vec<Visit> = visits.into_iter().collect();
        let events = visits.iter().map(|v| v.events.len() as u64).sum();
        StoredSessions { visits, events }
    }
}

/// Closed visits by id: writing a visit again (a replay) replaces it.
#[async_trait]
pub trait SessionStore: Send {
    /// Upserts visits; returns when all are acknowledged. `written` counts visits,
    /// `replaced` those the store reports as already stored (0 when it cannot tell).
    async fn upsert_visits(&mut self, visits: &[Visit]) -> Result<WriteReport>;
    /// Every stored visit — the offline reader that feeds feature engineering.
    async fn read_sessions(&mut self) -> Result<StoredSessions>;
}

/// The embedded session store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemorySessionStore {
    visits: BTreeMap<String, Visit>,
}

impl MemorySessionStore {
    /// Visits held.
    pub fn len(&self) -> usize {
        self.visits.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.visits.is_empty()
    }
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn upsert_visits(&mut self, visits: &[Visit]) -> Result<WriteReport> {
        let mut report = WriteReport::default();
        for v in visits {
            report.written += 1;
            if self.visits.insert(v.id.clone(), v.clone()).is_some() {
                report.replaced += 1;
            }
        }
        Ok(report)
    }

    async fn read_sessions(&mut self) -> Result<StoredSessions> {
        Ok(StoredSessions::collect(self.visits.values().cloned()))
    }
}
