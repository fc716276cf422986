//! Logs kept as segment files. A log at `dir/raw.jsonl` is a run of segments: the first, from
//! byte 0 of the log, is `dir/raw.jsonl` itself; each later one is named by the log offset it
//! starts at, `dir/raw.<offset in 20 digits>.jsonl`. The segment holding an offset is found
//! from the names alone, an offset (in a checkpoint, say) keeps its meaning however many
//! segments are added or removed, and a shell sorts the later ones in log order
//! (`raw.0*.jsonl`). The collector's raw log is kept this way
//! (`websight_connectors::collector::FileRawLog`), and so are the embedded outputs when given
//! a segment size ([`SegmentWriter`], through [`output_file`](super::output_file)): a
//! checkpoint records a log's length ([`end`]), a restart cuts it back there ([`cut`]).
//!
//! ```
//! use std::path::Path;
//! use websight_core::io::segments::path_of;
//!
//! let log = Path::new("data/raw.jsonl");
//! assert_eq!(path_of(log, 0), log);
//! assert_eq!(path_of(log, 67_108_864), Path::new("data/raw.00000000000067108864.jsonl"));
//! ```

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The segment size of the logs that roll unless told otherwise — the collector's raw log,
/// `serve`'s outputs: 64 MiB. A [`SegmentWriter`] itself rolls only when given a size.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;

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
        Err(e) => return Err(super::at_path(super::dir_of(log))(e)),
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

/// Where `log` ends: the log offset after its last segment's last byte (`None` when it has
/// no segment on disk).
pub fn end(log: &Path) -> std::io::Result<Option<u64>> {
    match list(log)?.last() {
        Some(last) => Ok(Some(last.start + std::fs::metadata(&last.path)?.len())),
        None => Ok(None),
    }
}

/// Newlines in the segments of `log` on disk (0 without any): its lines, where every one
/// ends with a newline.
pub fn count_lines(log: &Path) -> std::io::Result<u64> {
    let mut lines = 0;
    for segment in list(log)? {
        let file = File::open(&segment.path).map_err(super::at_path(&segment.path))?;
        let mut file = std::io::BufReader::with_capacity(1 << 16, file);
        loop {
            let chunk = std::io::BufRead::fill_buf(&mut file)?;
            if chunk.is_empty() {
                break;
            }
            lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
            let n = chunk.len();
            std::io::BufRead::consume(&mut file, n);
        }
    }
    Ok(lines)
}

/// Cuts `log` back so that it ends at log offset `end`: the segment holding `end` is cut
/// there and every later one removed. Segments before it may be gone (archived). A log that
/// does not reach `end` — the segment holding it missing, or shorter than `end` needs — is
/// an error naming it: it is never padded.
pub fn cut(log: &Path, end: u64) -> std::io::Result<()> {
    let segments = list(log)?;
    let Some(holding) = segments.iter().rev().find(|s| s.start <= end) else {
        let missing = match segments.first() {
            None => format!("{} is missing", log.display()),
            Some(first) => format!(
                "the segment of {} holding log offset {end} is missing (the first left, {}, \
                 starts at {})",
                log.display(),
                first.path.display(),
                first.start
            ),
        };
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{missing}, but the log is to be kept up to offset {end}"),
        ));
    };
    let file = OpenOptions::new()
        .write(true)
        .open(&holding.path)
        .map_err(super::at_path(&holding.path))?;
    let (held, need) = (file.metadata()?.len(), end - holding.start);
    if held < need {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} holds {held} bytes, fewer than the {need} to be kept (cut or replaced)",
                holding.path.display()
            ),
        ));
    }
    file.set_len(need).map_err(super::at_path(&holding.path))?;
    for later in segments.iter().filter(|s| s.start > holding.start) {
        std::fs::remove_file(&later.path).map_err(super::at_path(&later.path))?;
    }
    Ok(())
}

/// Appends to a log kept in segments. Writes go to the last segment; once it holds
/// `segment_bytes`, [`roll`](Self::roll) starts the next, named by the offset it starts at.
/// As a [`Write`] it rolls when flushed, so a writer flushed only after whole lines (every
/// embedded sink flushes after each batch) never splits a line between segments. Without
/// [`set_segment_bytes`](Self::set_segment_bytes) a log is one file however long.
///
/// ```
/// use std::io::Write;
/// use websight_core::io::segments::{self, SegmentWriter};
///
/// let dir = std::env::temp_dir().join(format!("websight-doc-segments-{}", std::process::id()));
/// let log = dir.join("checked.jsonl");
/// let mut out = SegmentWriter::create(&log)?;
/// out.set_segment_bytes(8);
/// for line in ["{\"a\":1}\n", "{\"b\":2}\n", "{\"c\":3}\n"] {
///     out.write_all(line.as_bytes())?;
///     out.flush()?; // a whole line written: the segment may end here
/// }
/// let starts: Vec<u64> = segments::list(&log)?.iter().map(|s| s.start).collect();
/// assert_eq!(starts, [0, 8, 16, 24]);
/// assert_eq!(segments::count_lines(&log)?, 3);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct SegmentWriter {
    log: PathBuf,
    /// The last segment: opened to append (and to read).
    file: File,
    start: u64,
    len: u64,
    segment_bytes: u64,
}

impl SegmentWriter {
    /// Starts `log` afresh (and its directory, if needed): every segment it had is removed
    /// and the first one created empty.
    pub fn create(log: impl Into<PathBuf>) -> std::io::Result<SegmentWriter> {
        let log = log.into();
        let dir = super::dir_of(&log);
        std::fs::create_dir_all(dir).map_err(super::at_path(dir))?;
        for later in list(&log)?.into_iter().filter(|s| s.start > 0) {
            std::fs::remove_file(&later.path).map_err(super::at_path(&later.path))?;
        }
        File::create(&log).map_err(super::at_path(&log))?;
        SegmentWriter::append(log)
    }

    /// Opens `log` to append to its last segment (the first, created, when it has none).
    pub fn append(log: impl Into<PathBuf>) -> std::io::Result<SegmentWriter> {
        let log = log.into();
        let start = list(&log)?.last().map_or(0, |s| s.start);
        let file = append_to(&path_of(&log, start))?;
        let len = file.metadata()?.len();
        Ok(SegmentWriter {
            log,
            file,
            start,
            len,
            segment_bytes: u64::MAX,
        })
    }

    /// Starts a new segment once the last one holds `bytes` or more (at least 1).
    pub fn set_segment_bytes(&mut self, bytes: u64) {
        self.segment_bytes = bytes.max(1);
    }

    /// The log (its first segment's path).
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Where the last segment starts in the log.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// The log offset after the last byte written: the log's length.
    pub fn end(&self) -> u64 {
        self.start + self.len
    }

    /// The last segment's file (to sync it, or read it back).
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Cuts the last segment back so the log ends at `end` (not before the segment's
    /// start): what a failed or unfinished write left is removed.
    pub fn cut_to(&mut self, end: u64) -> std::io::Result<()> {
        let len = end.clamp(self.start, self.end()) - self.start;
        self.file.set_len(len)?;
        self.len = len;
        Ok(())
    }

    /// Starts the next segment (its name made durable) if the last holds `segment_bytes`
    /// or more; otherwise nothing.
    pub fn roll(&mut self) -> std::io::Result<()> {
        if self.len < self.segment_bytes {
            return Ok(());
        }
        let start = self.end();
        let path = path_of(&self.log, start);
        self.file = append_to(&path)?;
        super::sync_parent(&path)?;
        (self.start, self.len) = (start, 0);
        Ok(())
    }
}

impl Write for SegmentWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(bytes)?;
        self.len += n as u64;
        Ok(n)
    }

    /// Flushes, then starts the next segment if the last is full.
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()?;
        self.roll()
    }
}

fn append_to(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(super::at_path(path))
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

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("websight-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// The log's segments as (start, text).
    fn held(log: &Path) -> Vec<(u64, String)> {
        list(log)
            .unwrap()
            .into_iter()
            .map(|s| (s.start, std::fs::read_to_string(&s.path).unwrap()))
            .collect()
    }

    #[test]
    fn a_writer_rolls_when_flushed_full_and_appends_where_it_ended() {
        let dir = scratch("segment-writer");
        let log = dir.join("out").join("checked.jsonl");
        let mut out = SegmentWriter::create(&log).unwrap();
        out.set_segment_bytes(5);
        // Not flushed: one segment however much is written.
        out.write_all(b"a\nb\nc\n").unwrap();
        assert_eq!(held(&log), [(0, "a\nb\nc\n".into())]);
        out.flush().unwrap();
        out.write_all(b"d\n").unwrap();
        out.flush().unwrap();
        assert_eq!(out.end(), 8);
        assert_eq!(held(&log), [(0, "a\nb\nc\n".into()), (6, "d\n".into())]);
        // A failed write cut back, never before the last segment's start.
        out.write_all(b"e").unwrap();
        out.cut_to(8).unwrap();
        out.cut_to(2).unwrap();
        assert_eq!(held(&log)[1], (6, String::new()));
        out.write_all(b"d\n").unwrap();
        drop(out);
        // Appending goes on in the last segment, and rolls by its length.
        let mut out = SegmentWriter::append(&log).unwrap();
        out.set_segment_bytes(4);
        assert_eq!((out.start(), out.end()), (6, 8));
        out.write_all(b"ee\n").unwrap();
        out.flush().unwrap();
        assert_eq!(out.end(), 11);
        assert_eq!(
            held(&log)[1..],
            [(6, "d\nee\n".into()), (11, String::new())]
        );
        assert_eq!(end(&log).unwrap(), Some(11));
        assert_eq!(count_lines(&log).unwrap(), 5);
        // Created afresh: the later segments go.
        let out = SegmentWriter::create(&log).unwrap();
        assert_eq!(out.end(), 0);
        assert_eq!(held(&log), [(0, String::new())]);
        assert_eq!(end(&dir.join("none.jsonl")).unwrap(), None);
        assert_eq!(count_lines(&dir.join("none.jsonl")).unwrap(), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn cutting_a_log_back_removes_later_segments_and_never_pads() {
        let dir = scratch("segment-cut");
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("sessions.jsonl");
        let write = |parts: &[(u64, &str)]| {
            for (start, text) in parts {
                std::fs::write(path_of(&log, *start), text).unwrap();
            }
        };
        write(&[(0, "a\nb\n"), (4, "c\n"), (6, "d\ne\n")]);
        cut(&log, 7).unwrap();
        assert_eq!(
            held(&log),
            [(0, "a\nb\n".into()), (4, "c\n".into()), (6, "d".into())]
        );
        // At a segment's start: that segment is kept, empty.
        cut(&log, 4).unwrap();
        assert_eq!(held(&log), [(0, "a\nb\n".into()), (4, String::new())]);
        // Earlier segments archived: the one holding the end is all that is needed.
        write(&[(4, "c\n"), (6, "d\ne\n")]);
        std::fs::remove_file(&log).unwrap();
        cut(&log, 8).unwrap();
        assert_eq!(held(&log), [(4, "c\n".into()), (6, "d\n".into())]);
        // The segment holding the end archived too: an error naming what is left.
        let err = cut(&log, 2).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        let err = err.to_string();
        assert!(
            err.contains("holding log offset 2 is missing") && err.contains("starts at 4"),
            "{err}"
        );
        // Shorter than the end: never padded.
        let err = cut(&log, 9).unwrap_err().to_string();
        assert!(err.contains("holds 2 bytes, fewer than the 3"), "{err}");
        assert_eq!(held(&log)[1], (6, "d\n".into()));
        let err = cut(&dir.join("gone.jsonl"), 0).unwrap_err().to_string();
        assert!(err.contains("gone.jsonl is missing"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
