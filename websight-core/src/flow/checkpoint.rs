//! Checkpoints: what a [`Flow`](super::Flow) saves to continue exactly after a crash, and
//! where ([`FileCheckpoints`] embedded; Redis in `websight-connectors`).

use serde::{Deserialize, Serialize};

use super::FlowCounts;
use crate::Result;
use crate::io::at_path;
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

    /// Writes the checkpoint as a store keeps it: its JSON, compressed as one
    /// [zstd](https://facebook.github.io/zstd/) frame (level 1) on a second thread while the
    /// JSON is written. A checkpoint holds every open visit's events, every message id the
    /// gate remembers and every person's rule state, hundreds of megabytes under load; the
    /// frame is 8–15 times smaller (`serve` under load: 49 MB for 378 MB; 13 MB for 192 MB
    /// in `examples/checkpoint_cost.rs`), so it takes that much less of the disk a
    /// collector's raw log is synced to, and stays far below Redis's 512 MB value limit.
    /// `zstd -dc` reads it back as JSON.
    pub fn write_to(&self, out: impl std::io::Write) -> Result<()> {
        let mut encoder = zstd::stream::write::Encoder::new(out, COMPRESSION_LEVEL)?;
        // Without threads built in, zstd compresses on this one: slower, the same bytes.
        let _ = encoder.multithread(1);
        // A damaged file is then an error, never a different state.
        encoder.include_checksum(true)?;
        // serde_json writes a few bytes at a time; each call into zstd is a foreign call.
        let mut buffered = std::io::BufWriter::with_capacity(1 << 20, encoder);
        serde_json::to_writer(&mut buffered, self)?;
        let encoder = buffered.into_inner().map_err(|e| e.into_error())?;
        encoder.finish()?;
        Ok(())
    }

    /// The checkpoint `bytes` hold: what [`Checkpoint::write_to`] wrote, or the plain JSON
    /// that versions before 2026-12 wrote. Refuses another format version
    /// ([`CHECKPOINT_VERSION`]) and says why bytes are not a checkpoint.
    pub fn read_from(bytes: &[u8]) -> Result<Checkpoint> {
        let bad =
            |e: &dyn std::fmt::Display| crate::CoreError::parameter("checkpoint", e.to_string());
        let json = if bytes.starts_with(&ZSTD_MAGIC) {
            // Room for what it usually holds, so the text is not copied as it grows (pages
            // reserved and not written cost no memory).
            let mut json = Vec::with_capacity(bytes.len().saturating_mul(16));
            zstd::stream::read::Decoder::new(bytes)
                .and_then(|mut d| std::io::Read::read_to_end(&mut d, &mut json))
                .map_err(|e| bad(&e))?;
            std::borrow::Cow::Owned(json)
        } else {
            std::borrow::Cow::Borrowed(bytes)
        };
        let checkpoint: Checkpoint = serde_json::from_slice(&json).map_err(|e| bad(&e))?;
        if checkpoint.version != CHECKPOINT_VERSION {
            let version = checkpoint.version;
            return Err(bad(&format!(
                "version {version} (this is {CHECKPOINT_VERSION})"
            )));
        }
        Ok(checkpoint)
    }
}

/// zstd's fastest regular level: on its own thread, it keeps up with serde_json writing.
const COMPRESSION_LEVEL: i32 = 1;

/// The first bytes of a zstd frame (RFC 8878, little-endian 0xFD2FB528).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

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
    /// Stores `checkpoint` durably; returns when it is, with the bytes it takes there.
    async fn save(&mut self, checkpoint: Checkpoint) -> Result<u64>;
    /// Removes the last checkpoint (the run completed: a new one starts afresh).
    async fn clear(&mut self) -> Result<()>;
}

/// Checkpoints in a file ([`Checkpoint::write_to`]: compressed JSON), every `every` batches,
/// replaced atomically (written beside, synced, renamed): a crash at any moment leaves the
/// previous or the new one whole.
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
        match std::fs::read(&self.path) {
            Ok(bytes) => Checkpoint::read_from(&bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(at_path(&self.path)(e).into()),
        }
    }
}

#[async_trait::async_trait]
impl Checkpoints for FileCheckpoints {
    fn due(&mut self, counts: &FlowCounts) -> bool {
        counts.batches.is_multiple_of(self.every)
    }

    async fn save(&mut self, checkpoint: Checkpoint) -> Result<u64> {
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        let written = {
            let mut file = Paced::new(std::fs::File::create(&tmp).map_err(at_path(&tmp))?);
            checkpoint.write_to(&mut file)?;
            file.file.sync_all().map_err(at_path(&tmp))?;
            file.written
        };
        std::fs::rename(&tmp, &self.path).map_err(at_path(&self.path))?;
        // Durable before the source is committed: a raw log may then drop what it covers.
        crate::io::sync_parent(&self.path)?;
        Ok(written)
    }

    async fn clear(&mut self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(at_path(&self.path)(e).into())
            }
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
    written: u64,
}

impl Paced {
    const STEP: usize = 8 << 20;

    fn new(file: std::fs::File) -> Paced {
        Paced {
            file,
            unsynced: 0,
            written: 0,
        }
    }
}

impl std::io::Write for Paced {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(bytes)?;
        self.unsynced += n;
        self.written += n as u64;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint() -> Checkpoint {
        let events: Vec<String> = (0..2_000)
            .map(|i| format!("event {i} of visit {}", i / 7))
            .collect();
        Checkpoint {
            version: CHECKPOINT_VERSION,
            position: 42,
            counts: FlowCounts::default(),
            gate: Snapshot::of(&serde_json::json!({"seen": [1, 2, 3]})).unwrap(),
            state: None,
            analytics: Snapshot::of(&events).unwrap(),
            observer: serde_json::json!({"pages": 7}),
            source: Some(serde_json::json!(42)),
            extra: serde_json::Value::Null,
        }
    }

    #[test]
    fn checkpoints_are_compressed_json_and_read_back_whole() {
        let saved = checkpoint();
        let mut bytes = Vec::new();
        saved.write_to(&mut bytes).unwrap();
        assert!(bytes.starts_with(&ZSTD_MAGIC));
        // One standard frame holding the JSON: `zstd -dc` reads it.
        let json = zstd::stream::decode_all(&bytes[..]).unwrap();
        assert_eq!(json, serde_json::to_vec(&saved).unwrap());
        assert!(
            bytes.len() * 4 < json.len(),
            "{} of {}",
            bytes.len(),
            json.len()
        );
        assert_eq!(Checkpoint::read_from(&bytes).unwrap(), saved);
        // The plain JSON of earlier versions still reads.
        assert_eq!(Checkpoint::read_from(&json).unwrap(), saved);
    }

    #[test]
    fn a_file_checkpoint_says_the_bytes_it_stored() {
        let dir = std::env::temp_dir().join(format!("websight-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut store = FileCheckpoints::new(dir.join("checkpoint.json.zst"), 1);
        let stored = crate::io::block_on(store.save(checkpoint())).unwrap();
        let on_disk = std::fs::metadata(dir.join("checkpoint.json.zst"))
            .unwrap()
            .len();
        assert_eq!(stored, on_disk);
        assert_eq!(store.load().unwrap(), Some(checkpoint()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn damaged_or_foreign_checkpoints_are_errors() {
        let mut bytes = Vec::new();
        checkpoint().write_to(&mut bytes).unwrap();
        let mut flipped = bytes.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x01;
        for damaged in [
            &bytes[..4],
            &bytes[..bytes.len() / 2],
            &bytes[..bytes.len() - 1],
            &flipped,
            b"",
            b"{\"version\":3",
        ] {
            let error = Checkpoint::read_from(damaged).unwrap_err().to_string();
            assert!(error.contains("checkpoint"), "{error}");
        }
        let mut other = checkpoint();
        other.version = CHECKPOINT_VERSION + 1;
        let mut bytes = Vec::new();
        other.write_to(&mut bytes).unwrap();
        let error = Checkpoint::read_from(&bytes).unwrap_err().to_string();
        assert!(error.contains("version"), "{error}");
    }
}
