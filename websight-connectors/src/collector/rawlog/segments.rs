//! The raw log's files. A log at `dir/raw.jsonl` is a run of segments: the first, from byte
//! 0 of the log, is `dir/raw.jsonl` itself; each later one is named by the log offset it
//! starts at, `dir/raw.<offset in 20 digits>.jsonl`. The segment holding an offset is found
//! from the names alone, and an offset in a checkpoint keeps its meaning however many
//! segments are added or removed.

use std::path::{Path, PathBuf};

/// One segment: where in the log it starts, and its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Segment {
    pub start: u64,
    pub path: PathBuf,
}

/// The file of the segment of `log` that starts at log offset `start`.
pub(super) fn path_of(log: &Path, start: u64) -> PathBuf {
    if start == 0 {
        return log.to_path_buf();
    }
    let stem = log.file_stem().unwrap_or_default().to_string_lossy();
    let name = match log.extension() {
        Some(ext) => format!("{stem}.{start:020}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{start:020}"),
    };
    log.with_file_name(name)
}

/// The segments of `log` on disk, oldest first (none when its directory does not exist).
pub(super) fn list(log: &Path) -> std::io::Result<Vec<Segment>> {
    let dir = match log.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut segments = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if let Some(start) = start_of(log, &path) {
            segments.push(Segment { start, path });
        }
    }
    segments.sort_unstable_by_key(|s| s.start);
    Ok(segments)
}

/// The start of the segment of `log` whose file is `path`, if it is one.
fn start_of(log: &Path, path: &Path) -> Option<u64> {
    if path.file_name() == log.file_name() {
        return Some(0);
    }
    let name = path.file_name()?.to_str()?;
    let stem = log.file_stem()?.to_str()?;
    let rest = name.strip_prefix(stem)?.strip_prefix('.')?;
    let digits = match log.extension() {
        Some(ext) => rest.strip_suffix(ext.to_str()?)?.strip_suffix('.')?,
        None => rest,
    };
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Only the spelling `path_of` gives: 20 zeros would be a second name for the first.
    let start: u64 = digits.parse().ok()?;
    (start > 0).then_some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_strangers_are_not_segments() {
        let log = Path::new("/data/out/raw.jsonl");
        assert_eq!(path_of(log, 0), log);
        let later = path_of(log, 67_108_864);
        assert_eq!(later, Path::new("/data/out/raw.00000000000067108864.jsonl"));
        assert_eq!(start_of(log, &later), Some(67_108_864));
        assert_eq!(start_of(log, log), Some(0));
        for stranger in [
            "/data/out/raw.00000000000000000000.jsonl",
            "/data/out/raw.123.jsonl",
            "/data/out/raw.0000000000006710886x.jsonl",
            "/data/out/raw.00000000000067108864.json",
            "/data/out/checked.jsonl",
            "/data/out/raw.jsonl.tmp",
        ] {
            assert_eq!(start_of(log, Path::new(stranger)), None, "{stranger}");
        }
        let bare = Path::new("log");
        assert_eq!(path_of(bare, 5), Path::new("log.00000000000000000005"));
        assert_eq!(start_of(bare, &path_of(bare, 5)), Some(5));
    }
}
