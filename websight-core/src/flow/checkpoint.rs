//! Checkpoints: what a [`Flow`](super::Flow) saves to continue exactly after a crash, and
//! where ([`FileCheckpoints`] embedded; Redis in `websight-connectors`).

use serde::{Deserialize, Serialize};

use super::FlowCounts;
use crate::Result;
use crate::snapshot::Snapshot;

/// Where the flow can continue from after a crash: everything the flow, an in-process gate
/// state and the observer hold after `position` source items, taken between batches —
/// after the batch's outputs were acknowledged and the source committed. Restored with
/// [`Flow::restore`], the flow continues exactly as if it had never stopped: the same
/// verdicts, visits, documents and counts.
///
/// [`Flow::restore`]: super::Flow::restore
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version ([`CHECKPOINT_VERSION`]).
    pub version: u32,
    /// Source items taken and committed before the checkpoint.
    pub position: u64,
    /// The counts so far.
    pub counts: FlowCounts,
    /// The gate's own state ([`Gate::snapshot`](crate::gate::Gate::snapshot)).
    pub gate: Snapshot,
    /// The gate state ([`GateState::snapshot`](crate::gate::GateState::snapshot); `None`
    /// when it keeps itself).
    pub state: Option<Snapshot>,
    /// The analytics' state
    /// ([`StreamAnalytics::snapshot`](crate::analytics::StreamAnalytics::snapshot)).
    pub analytics: Snapshot,
    /// The observer's tallies.
    pub observer: serde_json::Value,
    /// The source's own position ([`EventSource::position`](crate::io::EventSource::position)).
    #[serde(default)]
    pub source: Option<serde_json::Value>,
    /// Whatever the caller keeps beside (e.g. the lengths of its output files).
    pub extra: serde_json::Value,
}

impl Checkpoint {
    /// The size of the states it holds (the gate's, the gate state's and the analytics'):
    /// what grows with the traffic.
    pub fn state_bytes(&self) -> usize {
        let state = self.state.as_ref().map_or(0, |s| s.get().len());
        self.gate.get().len() + state + self.analytics.get().len()
    }
}

/// The checkpoint format this version writes and reads.
pub const CHECKPOINT_VERSION: u32 = 3;

/// Where checkpoints go and when: [`Flow::run_checkpointed`] asks after every committed
/// batch, unless the last checkpoint's [share](super::Flow::checkpoint_share) of time has
/// not passed yet. [`FileCheckpoints`] is the embedded one.
///
/// [`Flow::run_checkpointed`]: super::Flow::run_checkpointed
#[async_trait::async_trait]
pub trait Checkpoints: Send {
    /// Whether to take one now (`counts.batches` batches are committed).
    fn due(&mut self, counts: &FlowCounts) -> bool;
    /// Stores `checkpoint` durably; returns when it is.
    async fn save(&mut self, checkpoint: Checkpoint) -> Result<()>;
    /// Removes the last checkpoint (the run completed: a new one starts afresh).
    async fn clear(&mut self) -> Result<()>;
}

/// Checkpoints in a JSON file, every `every` batches, replaced atomically (written beside,
/// synced, renamed): a crash at any moment leaves the previous or the new one whole.
#[derive(Debug, Clone)]
pub struct FileCheckpoints {
    path: std::path::PathBuf,
    every: u64,
}

impl FileCheckpoints {
    /// Checkpoints at `path` every `every` batches (at least 1).
    pub fn new(path: impl Into<std::path::PathBuf>, every: u64) -> FileCheckpoints {
        FileCheckpoints {
            path: path.into(),
            every: every.max(1),
        }
    }

    /// The last checkpoint saved there, if any.
    pub fn load(&self) -> Result<Option<Checkpoint>> {
        let text = match std::fs::read(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let checkpoint: Checkpoint = serde_json::from_slice(&text)?;
        if checkpoint.version != CHECKPOINT_VERSION {
            return Err(crate::CoreError::parameter(
                "checkpoint",
                format!(
                    "version {} (this is {CHECKPOINT_VERSION})",
                    checkpoint.version
                ),
            ));
        }
        Ok(Some(checkpoint))
    }
}

#[async_trait::async_trait]
impl Checkpoints for FileCheckpoints {
    fn due(&mut self, counts: &FlowCounts) -> bool {
        counts.batches.is_multiple_of(self.every)
    }

    async fn save(&mut self, checkpoint: Checkpoint) -> Result<()> {
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        {
            let file = Paced::new(std::fs::File::create(&tmp)?);
            let mut file = std::io::BufWriter::with_capacity(1 << 20, file);
            serde_json::to_writer(&mut file, &checkpoint)?;
            let file = file.into_inner().map_err(|e| e.into_error())?;
            file.file.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        Ok(())
    }

    async fn clear(&mut self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

/// A file synced every [`Paced::STEP`] bytes as it is written. A checkpoint can be hundreds
/// of megabytes; written in one go, its writeback holds other files' fsyncs back — the
/// collector's raw log, whose fsync each answer waits for. `scripts/fsync_pacing.py`: the
/// longest fsync of a small appender while 300 MB are written was 204–769 ms in one go
/// (9 runs), 66–129 ms in 8 MiB steps (6 of 7 runs; one 701 ms).
struct Paced {
    file: std::fs::File,
    unsynced: usize,
}

impl Paced {
    const STEP: usize = 8 << 20;

    fn new(file: std::fs::File) -> Paced {
        Paced { file, unsynced: 0 }
    }
}

impl std::io::Write for Paced {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(bytes)?;
        self.unsynced += n;
        if self.unsynced >= Paced::STEP {
            self.file.sync_data()?;
            self.unsynced = 0;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}
