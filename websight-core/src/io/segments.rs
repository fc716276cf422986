//! Logs kept as segment files. A log at `dir/raw.jsonl` is a run of segments: the first, from
//! byte 0 of the log, is `dir/raw.jsonl` itself; each later one is named by the log offset it
//! starts at, `dir/raw.<offset in 20 digits>.jsonl`. The segment holding an offset is found
//! from the names alone, an offset (in a checkpoint, say) keeps its meaning however many
//! segments are added or removed, and a shell sorts the later ones in log order
//! (`raw.0*.jsonl`). The collector's raw log is kept this way
//! (`websight_connectors::collector::FileRawLog`).
//!
//! ```
//! use std::path::Path;
//! use websight_core::io::segments::path_of;
//!
//! let log = Path::new("data/raw.jsonl");
//! assert_eq!(path_of(log, 0), log);
//! assert_eq!(path_of(log, 67_108_864), Path::new("data/raw.00000000000067108864.jsonl"));
//! ```

use std::path::{Path, PathBuf};

/// One segment: where in its log it starts, and its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The log offset of its first byte.
    pub start: u64,
    /// Its file.
    pub path: PathBuf,
}

/// The file of the segment of `log` that starts at log offset `start`.
pub fn path_of(log: &Path, start: u64) -> PathBuf {
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
pub fn list(log: &Path) -> std::io::Result<Vec<Segment>> {
    let entries = match std::fs::read_dir(super::dir_of(log)) {
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

/// The segment at `path` and every later one of its log, in order — what reading the log
/// from there means. `path` may be any file: one that is no log's segment, or a log without
/// later segments, is the only one. A gap (a later segment missing, or one cut short) is an
/// error naming it, never skipped.
pub fn from(path: &Path) -> std::io::Result<Vec<Segment>> {
    let (log, start) = log_of(path);
    let mut later: Vec<Segment> = list(&log)?
        .into_iter()
        .filter(|s| s.start > start)
        .collect();
    if let Some(next) = later.first().filter(|_| !path.exists()) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "{} is gone (removed once processed?); its log goes on in {}",
                path.display(),
                next.path.display()
            ),
        ));
    }
    let mut all = vec![Segment {
        start,
        path: path.to_path_buf(),
    }];
    all.append(&mut later);
    for pair in all.windows(2) {
        let end = pair[0].start + std::fs::metadata(&pair[0].path)?.len();
        if end != pair[1].start {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{} ends at log offset {end} but the next segment, {}, starts at {}: a \
                     segment is missing or was cut",
                    pair[0].path.display(),
                    pair[1].path.display(),
                    pair[1].start
                ),
            ));
        }
    }
    Ok(all)
}

/// The log `path` is a segment of, and where it starts (`path` itself at 0 when it is not
/// a later segment).
fn log_of(path: &Path) -> (PathBuf, u64) {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    // `stem.<digits>.ext`, or `stem.<digits>` for a log without an extension.
    let with_ext = name.rsplit_once('.').and_then(|(rest, ext)| {
        let (stem, _) = rest.rsplit_once('.')?;
        Some(format!("{stem}.{ext}"))
    });
    let without = name.rsplit_once('.').map(|(stem, _)| stem.to_owned());
    [with_ext, without]
        .into_iter()
        .flatten()
        .map(|log| path.with_file_name(log))
        .find_map(|log| start_of(&log, path).filter(|&s| s > 0).map(|s| (log, s)))
        .unwrap_or_else(|| (path.to_path_buf(), 0))
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
        assert_eq!(log_of(&later), (log.to_path_buf(), 67_108_864));
        assert_eq!(log_of(log), (log.to_path_buf(), 0));
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
        assert_eq!(log_of(&path_of(bare, 5)), (bare.to_path_buf(), 5));
        let dotted = Path::new("/d/raw.v2.jsonl");
        assert_eq!(log_of(&path_of(dotted, 9)), (dotted.to_path_buf(), 9));
        let plain = Path::new("/d/my.data.jsonl");
        assert_eq!(log_of(plain), (plain.to_path_buf(), 0));
    }

    #[test]
    fn from_a_segment_on_in_order_and_gaps_are_errors() {
        let dir = std::env::temp_dir().join(format!("websight-segments-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("raw.jsonl");
        for (start, text) in [(0, "a\nb\n"), (4, "c\n"), (6, "d\ne\n")] {
            std::fs::write(path_of(&log, start), text).unwrap();
        }
        std::fs::write(dir.join("other.jsonl"), "x\n").unwrap();
        let starts =
            |path: &Path| -> Vec<u64> { from(path).unwrap().iter().map(|s| s.start).collect() };
        assert_eq!(starts(&log), [0, 4, 6]);
        assert_eq!(starts(&path_of(&log, 4)), [4, 6]);
        assert_eq!(starts(&dir.join("other.jsonl")), [0]);
        // The first segment removed: reading from it says where the log goes on.
        let first = std::fs::read(&log).unwrap();
        std::fs::remove_file(&log).unwrap();
        let err = from(&log).unwrap_err().to_string();
        assert!(
            err.contains("is gone") && err.contains("raw.00000000000000000004.jsonl"),
            "{err}"
        );
        std::fs::write(&log, first).unwrap();
        // The middle segment cut short: reading on would skip a line.
        std::fs::write(path_of(&log, 4), "c").unwrap();
        let err = from(&log).unwrap_err().to_string();
        assert!(
            err.contains("ends at log offset 5") && err.contains("starts at 6"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
