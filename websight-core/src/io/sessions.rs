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
    /// Upserts visits; returns when each is acknowledged or refused for good. `written`
    /// counts stored visits, `replaced` those the store reports as already stored (0 when it
    /// cannot tell), `refused` those it will never take (e.g. over its document size limit).
    async fn upsert_visits(&mut self, visits: &[Visit]) -> Result<WriteReport>;
    /// Every stored visit — the offline reader that feeds feature engineering.
    async fn read_sessions(&mut self) -> Result<StoredSessions>;
    /// Every stored visit handed to `each` one at a time, so a reader need not hold them
    /// all (a visit stored twice may come twice). The default reads them all first; stores
    /// that can stream override it.
    async fn scan_sessions(&mut self, each: &mut (dyn FnMut(Visit) + Send)) -> Result<()> {
        for visit in self.read_sessions().await?.visits {
            each(visit);
        }
        Ok(())
    }
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
            if self.visits.insert(v.id.to_string(), v.clone()).is_some() {
                report.replaced += 1;
            }
        }
        Ok(report)
    }

    async fn read_sessions(&mut self) -> Result<StoredSessions> {
        Ok(StoredSessions::collect(self.visits.values().cloned()))
    }
}

/// The embedded session store on disk: visits appended to a JSON-lines file as they close
/// (memory stays flat), read back with the last line per id winning — so a replayed visit
/// replaces the earlier copy, as in any [`SessionStore`].
pub struct JsonLinesSessionStore {
    path: std::path::PathBuf,
    out: std::io::BufWriter<super::segments::SegmentWriter>,
    /// Lines on their way to `out`, reused.
    line: Vec<u8>,
}

impl JsonLinesSessionStore {
    /// Creates (truncates) the file at `path`, and its directory if needed; any later
    /// segments it had are removed.
    pub fn create(path: impl Into<std::path::PathBuf>) -> Result<JsonLinesSessionStore> {
        let path = path.into();
        Ok(JsonLinesSessionStore {
            out: super::output_file(&path, false)?,
            path,
            line: Vec::new(),
        })
    }

    /// Opens the file at `path` (its last segment) to append to what it holds (e.g. after a
    /// restart).
    pub fn append(path: impl Into<std::path::PathBuf>) -> Result<JsonLinesSessionStore> {
        let path = path.into();
        Ok(JsonLinesSessionStore {
            out: super::output_file(&path, true)?,
            path,
            line: Vec::new(),
        })
    }

    /// Writes the visits in [`segments`](super::segments) of about `bytes` (a new one
    /// started once the last holds `bytes`, after a whole write), which a reader takes in
    /// order; older ones can be archived while the store runs.
    pub fn segment_bytes(mut self, bytes: u64) -> JsonLinesSessionStore {
        self.out.get_mut().set_segment_bytes(bytes);
        self
    }

    /// The file (its first segment).
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Every visit written, segment after segment (those on disk), in the order written.
    fn each_visit(&mut self, mut each: impl FnMut(Visit)) -> Result<()> {
        std::io::Write::flush(&mut self.out)?;
        for segment in super::segments::list(&self.path)? {
            let file = std::fs::File::open(&segment.path).map_err(super::at_path(&segment.path))?;
            let file = std::io::BufReader::new(file);
            for line in std::io::BufRead::lines(file) {
                each(serde_json::from_str(&line?)?);
            }
        }
        Ok(())
    }
}

#[async_trait]
impl SessionStore for JsonLinesSessionStore {
    async fn upsert_visits(&mut self, visits: &[Visit]) -> Result<WriteReport> {
        super::write_lines(
            &mut self.out,
            &mut self.line,
            visits,
            super::visit_json::write_visit,
        )?;
        std::io::Write::flush(&mut self.out)?;
        Ok(WriteReport {
            written: visits.len(),
            ..WriteReport::default()
        })
    }

    async fn read_sessions(&mut self) -> Result<StoredSessions> {
        let mut visits = BTreeMap::new();
        self.each_visit(|visit| {
            visits.insert(visit.id.clone(), visit);
        })?;
        Ok(StoredSessions::collect(visits.into_values()))
    }

    async fn scan_sessions(&mut self, each: &mut (dyn FnMut(Visit) + Send)) -> Result<()> {
        self.each_visit(each)
    }
}
