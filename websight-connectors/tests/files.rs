//! The embedded file stores across a restart: a run killed after a few batches and opened
//! again on its checkpoint ends holding what a run that never stopped holds — also when the
//! earlier segments of its document files were archived away in between.

use websight_connectors::topology::{Input, Topology, TopologyOptions};
use websight_core::io::{MemorySource, block_on};
use websight_testkit::{Dying, scratch_dir};

fn options(dir: &std::path::Path, checkpoint: bool) -> TopologyOptions {
    TopologyOptions {
        out_dir: Some(dir.to_owned()),
        checkpoint: checkpoint.then(|| (dir.join("checkpoint.json.zst"), 2)),
        input: "generated".into(),
        segment_bytes: Some(16 * 1024),
        ..TopologyOptions::default()
    }
}

#[test]
fn document_counts_come_from_the_checkpoint_not_from_the_files_left() {
    let g = websight_testkit::generator(600, 5);
    let lines = websight_testkit::lines(&g);
    let run = |dir: &std::path::Path, checkpoint: bool, batches: usize| {
        let source = Dying {
            inner: MemorySource::new(lines.clone()),
            batches,
        };
        block_on(async {
            let topology =
                Topology::open(Input::Source(Box::new(source)), &options(dir, checkpoint)).await?;
            topology
                .run(websight_testkit::flow(&g).batch_size(200), &mut ())
                .await
        })
    };
    let clean = run(&scratch_dir("files-clean"), false, usize::MAX).unwrap();
    let dir = scratch_dir("files-killed");
    assert!(run(&dir, true, 12).is_err(), "killed after 12 batches");
    // Every segment of the session summaries but the one being written is archived.
    let documents = dir.join("documents");
    let archived: Vec<_> = std::fs::read_dir(&documents)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("session_summary.0")
        })
        .collect();
    assert!(!archived.is_empty(), "the summaries rolled");
    // The first segment is the plain name, the later ones named by their offsets.
    let mut later = archived;
    later.sort();
    let mut segments = vec![documents.join("session_summary.jsonl")];
    segments.extend(later);
    for segment in &segments[..segments.len() - 1] {
        std::fs::remove_file(segment).unwrap();
    }
    let resumed = run(&dir, true, usize::MAX).unwrap();
    assert_eq!(resumed.counts, clean.counts);
    assert_eq!(resumed.held, clean.held);
    assert!(clean.held[0] > 0);
}
