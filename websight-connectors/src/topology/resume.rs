//! Resuming a run: checkpoints tagged with the input they were taken on and the output
//! files' lengths, and the files cut back to those lengths before a restarted run goes on.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use websight_core::flow::{Checkpoint, Checkpoints, FlowCounts};
use websight_core::io::{INDEX_NAMES, IndexCounts, segments};

use super::config;
use super::stores::KafkaEnds;
use crate::Result;

/// The output files, relative to the output directory.
fn output_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["checked.jsonl", "dead_letters.jsonl", "sessions.jsonl"]
        .into_iter()
        .map(PathBuf::from)
        .collect();
    files.extend(
        INDEX_NAMES
            .iter()
            .map(|name| Path::new("documents").join(format!("{name}.jsonl"))),
    );
    files
}

/// Cuts each output file back to its length at the checkpoint (`extra` is the checkpoint's
/// [`Checkpoint::extra`]): what was written after it is written again by the resumed run, so
/// the files end exactly as without the crash. A file in segments is cut back as one log
/// (later segments removed; earlier ones may have been archived). A file, or the segment
/// holding its length, that is missing or shorter than recorded (moved away, replaced) is an
/// error naming it: extending it would put zeros where its lines were.
pub(super) fn rewind(dir: &Path, extra: &serde_json::Value) -> Result<()> {
    let Some(files) = extra["files"].as_object() else {
        return Ok(());
    };
    let known: Vec<String> = output_files()
        .iter()
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    for (file, len) in files {
        if !known.contains(file) {
            return Err(config(format!(
                "the checkpoint names {file:?}, not an output file"
            )));
        }
        let len = len
            .as_u64()
            .ok_or_else(|| config(format!("the checkpoint's length of {file} is not a number")))?;
        segments::cut(&dir.join(file), len).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidData => config(format!(
                "cannot resume from the checkpoint: {e}: put it back, or remove the checkpoint \
                 to start afresh"
            )),
            _ => e.into(),
        })?;
    }
    Ok(())
}

/// Checkpoints (in a file or in Redis) that also record the input they were taken on, the
/// consumer group reading it (servers), and the output files' lengths (embedded: every sink
/// has flushed when a batch is committed).
pub(super) struct Tagged {
    pub(super) inner: Box<dyn Checkpoints>,
    pub(super) input: String,
    pub(super) group: Option<String>,
    pub(super) files: Option<PathBuf>,
    /// Lines per document file (with `files`), so a restart need not count them.
    pub(super) documents: Option<IndexCounts>,
    /// The Kafka output topics and where their acknowledged messages end, which a
    /// checkpoint records.
    pub(super) topics: Vec<(String, KafkaEnds)>,
}

#[async_trait]
impl Checkpoints for Tagged {
    fn due(&mut self, counts: &FlowCounts) -> bool {
        self.inner.due(counts)
    }

    async fn save(&mut self, mut checkpoint: Checkpoint) -> websight_core::Result<u64> {
        let mut extra = serde_json::json!({ "input": self.input, "group": self.group });
        if let Some(dir) = &self.files {
            let mut files = serde_json::Map::new();
            // The stores that are files here (the others are on servers).
            for file in output_files() {
                if let Some(end) = segments::end(&dir.join(&file))? {
                    files.insert(file.to_string_lossy().into_owned(), end.into());
                }
            }
            extra["files"] = files.into();
        }
        if let Some(counts) = &self.documents {
            extra["documents"] = serde_json::json!(counts.get());
        }
        if !self.topics.is_empty() {
            let ends: serde_json::Map<String, serde_json::Value> = self
                .topics
                .iter()
                .map(|(topic, ends)| (topic.clone(), serde_json::json!(ends.get())))
                .collect();
            extra["topics"] = ends.into();
        }
        checkpoint.extra = extra;
        self.inner.save(checkpoint).await
    }

    async fn clear(&mut self) -> websight_core::Result<()> {
        self.inner.clear().await
    }
}

/// Refuses a checkpoint taken on other input.
pub(super) fn check_input(checkpoint: &Checkpoint, input: &str) -> Result<()> {
    let taken_on = checkpoint.extra["input"].as_str();
    if taken_on != Some(input) {
        return Err(config(format!(
            "the checkpoint was taken on {}, not on {input}: remove it to start afresh",
            taken_on.unwrap_or("another input"),
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewind_cuts_back_and_refuses_files_it_cannot_restore() {
        let dir = websight_testkit::scratch_dir("rewind");
        std::fs::create_dir_all(&dir).unwrap();
        let checked = dir.join("checked.jsonl");
        std::fs::write(&checked, b"{\"a\":1}\n{\"b\":2}\n").unwrap();
        let at = |len: u64| serde_json::json!({ "files": { "checked.jsonl": len } });
        rewind(&dir, &at(8)).unwrap();
        assert_eq!(std::fs::read(&checked).unwrap(), b"{\"a\":1}\n");
        // Shorter than recorded: never padded with zeros.
        let err = rewind(&dir, &at(16)).unwrap_err().to_string();
        assert!(err.contains("holds 8 bytes, fewer than the 16"), "{err}");
        assert_eq!(std::fs::read(&checked).unwrap().len(), 8);
        std::fs::remove_file(&checked).unwrap();
        let err = rewind(&dir, &at(8)).unwrap_err().to_string();
        assert!(
            err.contains("checked.jsonl is missing") && err.contains("remove the checkpoint"),
            "{err}"
        );
        // In segments, the first archived: later segments removed, the one holding the
        // length cut.
        let later = segments::path_of(&checked, 8);
        std::fs::write(&later, b"{\"b\":2}\n{\"c\":3}\n").unwrap();
        std::fs::write(segments::path_of(&checked, 24), b"{\"d\":4}\n").unwrap();
        rewind(&dir, &at(16)).unwrap();
        assert_eq!(std::fs::read(&later).unwrap(), b"{\"b\":2}\n");
        assert_eq!(segments::end(&checked).unwrap(), Some(16));
        let err = rewind(&dir, &serde_json::json!({ "files": { "../x": 1 } }))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not an output file"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
