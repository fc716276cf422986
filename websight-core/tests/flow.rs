//! The real-time driver on the embedded stores: batches judge exactly like single events,
//! every input lands in exactly one output, replays change nothing, commits follow acks.

use std::collections::HashSet;

use websight_core::flow::{Observer, Outputs, REASON_HEADER};
use websight_core::gate::{Gate, GateConfig, GateState, MemoryGateState, Outcome};
use websight_core::io::{DocumentSink, MemorySource, SessionStore, block_on};
use websight_testkit::{
    Dying, Embedded, TEST_KEY, flow, flow_with, generator, hostile_lines, lines, privacy,
    scratch_dir,
};

#[test]
fn batches_judge_exactly_like_single_events() {
    let g = generator(1_500, 3);
    let raws = hostile_lines(&g);
    let ingest = websight_core::flow::Ingest::new(privacy());
    let items: Vec<_> = raws.iter().flat_map(|r| ingest.decode(r)).collect();
    let mut single = Gate::new(GateConfig::default()).unwrap();
    let mut single_state = MemoryGateState::new(&GateConfig::default()).unwrap();
    let expected: Vec<Outcome> = items
        .iter()
        .cloned()
        .map(|i| single.process(i, &mut single_state).unwrap())
        .collect();
    for batch_size in [1, 7, 500, items.len()] {
        let mut gate = Gate::new(GateConfig::default()).unwrap();
        let mut state = MemoryGateState::new(&GateConfig::default()).unwrap();
        let mut got = Vec::new();
        for chunk in items.chunks(batch_size) {
            got.extend(block_on(gate.process_batch(chunk.to_vec(), &mut state)).unwrap());
        }
        assert_eq!(got, expected, "batch size {batch_size}");
        assert_eq!(gate.stats(), single.stats());
        assert_eq!(
            state.users_with_sessions(),
            single_state.users_with_sessions()
        );
        let hll = block_on(state.unique_users()).unwrap();
        assert_eq!(hll, single_state.unique_estimate());
    }
}

#[derive(Default)]
struct Seen {
    outcomes: u64,
    sessions: HashSet<String>,
}

impl Observer for Seen {
    fn outcome(&mut self, _: &Outcome) {
        self.outcomes += 1;
    }
    fn documents(&mut self, docs: &websight_core::analytics::Documents) {
        self.sessions
            .extend(docs.sessions.iter().map(|s| s.document_id()));
    }
}

#[test]
fn every_input_lands_in_exactly_one_output_and_replays_change_nothing() {
    let g = generator(2_000, 8);
    let raws = hostile_lines(&g);
    let mut stores = Embedded::default();
    let mut seen = Seen::default();
    let (_, counts) = stores.run(flow(&g), &raws, 333, &mut seen);
    assert!(counts.is_conserved(), "{counts:?}");
    assert_eq!(
        counts.inputs,
        raws.len() as u64,
        "one message per line here"
    );
    assert_eq!(seen.outcomes, counts.inputs);
    assert_eq!(
        counts.dead_letters,
        raws.iter()
            .filter(|r| serde_json::from_slice::<serde_json::Value>(r)
                .map_or(true, |v| v.get("messageId").is_none()))
            .count() as u64
    );
    assert!(counts.duplicates > 0 && counts.rejected > 0);
    assert_eq!(stores.checked.messages.len() as u64, counts.checked);
    assert_eq!(
        stores.dead.messages.len() as u64,
        counts.rejected + counts.dead_letters + counts.late
    );
    // Every dead letter says why, in the documented JSON shape.
    let mut kinds = HashSet::new();
    for m in &stores.dead.messages {
        let (name, reason) = &m.headers[0];
        assert_eq!(name, REASON_HEADER);
        let reason: serde_json::Value = serde_json::from_str(reason).unwrap();
        kinds.insert(reason["kind"].as_str().unwrap().to_owned());
        assert!(reason["detail"].is_string());
    }
    for kind in ["rejected", "syntax", "truncated", "shape"] {
        assert!(kinds.contains(kind), "{kind} in {kinds:?}");
    }
    // Checked messages are protected Segment messages keyed by their anonymous id.
    for m in &stores.checked.messages {
        let event: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(m.key.as_deref(), event["anonymousId"].as_str());
        assert!(event["anonymousId"].as_str().unwrap().starts_with("p_"));
        assert!(event.get("traits").is_none());
    }
    // The session store holds every visit once, with every checked event not too late.
    let stored = block_on(stores.sessions.read_sessions()).unwrap();
    assert_eq!(stored.events, counts.checked - counts.late);
    assert_eq!(stored.visits.len() as u64, counts.sessions);
    assert!(stored.visits.len() > 1_000, "{}", stored.visits.len());
    assert_eq!(stores.index.sessions.len(), seen.sessions.len());
    assert_eq!(stores.index.len() as u64, counts.documents);

    // A replay of everything (at-least-once after a crash of the embedded process, whose gate
    // state is lost with it) adds no document or visit to the stores.
    stores.state = MemoryGateState::new(&GateConfig::default()).unwrap();
    let before_index = stores.index.clone();
    let before_visits = stored.visits.len();
    let (_, replay) = stores.run(flow(&g), &raws, 333, &mut ());
    assert_eq!(replay.checked, counts.checked);
    assert_eq!(stores.index.len(), before_index.len());
    assert_eq!(stores.index.sessions, before_index.sessions);
    let stored = block_on(stores.sessions.read_sessions()).unwrap();
    assert_eq!(stored.visits.len(), before_visits);
}

/// With a consent category configured, the events of visitors who denied it are withheld at
/// the door: counted as dead letters of kind `consent` that hold their message id alone, and
/// everything else — checked events, visits, documents — is what the flow makes of the
/// other visitors' events alone. Without the setting, denial is carried, not acted on.
#[test]
fn events_of_visitors_who_denied_consent_are_withheld_whole() {
    let g = generator(600, 5);
    // A third of the visitors denied the analytics category; some others say nothing.
    let mut withheld = HashSet::new();
    let (mut all, mut consenting) = (Vec::new(), Vec::new());
    for raw in lines(&g) {
        let mut m: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        let visitor = websight_core::hash::hash64(m["anonymousId"].as_str().unwrap().as_bytes());
        let preferences = match visitor % 3 {
            0 => serde_json::json!({"Analytics": false, "Marketing": true}),
            1 => serde_json::json!({"Analytics": true}),
            _ => serde_json::Value::Null,
        };
        if !preferences.is_null() {
            m["context"]["consent"] = serde_json::json!({ "categoryPreferences": preferences });
        }
        let line = serde_json::to_vec(&m).unwrap();
        if visitor.is_multiple_of(3) {
            withheld.insert(m["messageId"].as_str().unwrap().to_owned());
        } else {
            consenting.push(line.clone());
        }
        all.push(line);
    }
    assert!(withheld.len() > 1_000 && consenting.len() > 2_000);
    let asking = |category: Option<&str>| {
        let privacy = websight_core::privacy::Privacy::new(websight_core::privacy::PrivacyConfig {
            key: Some(TEST_KEY.to_owned()),
            consent_category: category.map(str::to_owned),
            ..Default::default()
        })
        .unwrap();
        flow_with(&g.config().catalogue, privacy)
    };
    let mut stores = Embedded::default();
    let (_, counts) = stores.run(asking(Some("Analytics")), &all, 500, &mut ());
    assert!(counts.is_conserved(), "{counts:?}");
    assert_eq!(counts.dead_letters, withheld.len() as u64, "{counts:?}");
    // The dead-letter output also holds the events the gate rejected (the generator's bots).
    let mut withheld_letters = 0;
    for m in &stores.dead.messages {
        let reason: serde_json::Value = serde_json::from_str(&m.headers[0].1).unwrap();
        if reason["kind"] != "consent" {
            continue;
        }
        withheld_letters += 1;
        let kept: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
        let id = kept["messageId"].as_str().unwrap();
        assert!(withheld.contains(id));
        assert_eq!(kept, serde_json::json!({ "messageId": id }), "nothing else");
    }
    assert_eq!(withheld_letters, withheld.len());
    // As if the withheld events had never been sent.
    let mut without = Embedded::default();
    let (_, alone) = without.run(asking(None), &consenting, 500, &mut ());
    assert_eq!(counts.checked, alone.checked);
    assert_eq!(counts.sessions, alone.sessions);
    assert_eq!(stores.checked.messages, without.checked.messages);
    assert_eq!(stores.index, without.index);
    // Not configured: every event is kept, denial carried in its context.
    let mut carried = Embedded::default();
    let (_, kept) = carried.run(asking(None), &all, 500, &mut ());
    assert_eq!(kept.dead_letters, 0);
    // In the checked events, or with the gate's rejections in the dead letters.
    let denied = carried
        .checked
        .messages
        .iter()
        .chain(&carried.dead.messages)
        .filter(|m| {
            let m: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
            m["context"]["consent"]["categoryPreferences"]["Analytics"] == false
        })
        .count();
    assert_eq!(denied, withheld.len());
}

#[test]
fn decoding_on_several_threads_changes_no_output() {
    let g = generator(1_500, 5);
    let raws = hostile_lines(&g);
    let run = |threads: usize| {
        let (gate, analytics) = flow(&g).into_parts();
        let ingest = websight_core::flow::Ingest::new(privacy()).threads(threads);
        let mut stores = Embedded::default();
        // 2,000 lines a batch: three shares of at least 256 lines each.
        let (_, counts) = stores.run(
            websight_core::flow::Flow::new(ingest, gate, analytics),
            &raws,
            2_000,
            &mut (),
        );
        (counts, stores)
    };
    let (one_counts, one) = run(1);
    let (three_counts, three) = run(3);
    assert!(one_counts.checked > 1_000 && one_counts.rejected > 0 && one_counts.dead_letters > 0);
    assert_eq!(three_counts, one_counts);
    assert_eq!(three.checked, one.checked);
    assert_eq!(three.dead, one.dead);
    assert_eq!(three.sessions, one.sessions);
    assert_eq!(three.index, one.index);
}

#[test]
fn an_unacknowledged_batch_is_not_committed() {
    struct Failing;
    #[async_trait::async_trait]
    impl DocumentSink for Failing {
        async fn write(
            &mut self,
            _: &websight_core::analytics::Documents,
        ) -> websight_core::Result<websight_core::io::WriteReport> {
            Err(websight_core::CoreError::Store("down".into()))
        }
    }
    let g = generator(50, 1);
    let raws = hostile_lines(&g);
    let mut stores = Embedded::default();
    let mut failing = Failing;
    let mut f = flow(&g);
    let mut out = Outputs {
        state: &mut stores.state,
        checked: &mut stores.checked,
        dead_letters: &mut stores.dead,
        sessions: &mut stores.sessions,
        documents: &mut failing,
    };
    let mut source = MemorySource::new(raws);
    assert!(block_on(f.run(&mut source, &mut out, &mut ())).is_err());
    assert_eq!(source.committed(), 0);
}

#[test]
fn file_stores_hold_what_the_memory_stores_hold_and_replays_replace() {
    use websight_core::io::segments;
    use websight_core::io::{JsonLinesIndex, JsonLinesSessionStore, LineSource, MemoryTopic};
    let g = generator(800, 5);
    let raws = hostile_lines(&g);
    let mut memory = Embedded::default();
    let (_, expected) = memory.run(flow(&g), &raws, 250, &mut ());
    let expected_visits = block_on(memory.sessions.read_sessions()).unwrap();

    let dir = scratch_dir("file-stores");
    let mut text = raws.join(&b"\n"[..]);
    text.extend_from_slice(b"\n\n");
    // In segments of 16 KiB: read back, and counted, as one file would be.
    let mut sessions = JsonLinesSessionStore::create(dir.join("sessions.jsonl"))
        .unwrap()
        .segment_bytes(16 << 10);
    let mut index = JsonLinesIndex::create(&dir.join("documents"))
        .unwrap()
        .segment_bytes(16 << 10);
    for round in 0..2 {
        // The second round is a replay after a crash that lost the gate state: the session
        // file then holds every visit twice, and reading it back keeps one of each.
        let (mut state, mut checked, mut dead) = (
            MemoryGateState::new(&GateConfig::default()).unwrap(),
            MemoryTopic::default(),
            MemoryTopic::default(),
        );
        let mut out = Outputs {
            state: &mut state,
            checked: &mut checked,
            dead_letters: &mut dead,
            sessions: &mut sessions,
            documents: &mut index,
        };
        let mut source = LineSource::new(&text[..]);
        let counts =
            block_on(flow(&g).batch_size(250).run(&mut source, &mut out, &mut ())).unwrap();
        assert_eq!(counts, expected, "round {round}");
        assert_eq!(source.committed(), raws.len() as u64);
        assert_eq!(checked, memory.checked);
        assert_eq!(dead, memory.dead);
    }
    assert_eq!(block_on(sessions.read_sessions()).unwrap(), expected_visits);
    let log = |name: &str| dir.join("documents").join(format!("{name}.jsonl"));
    let lines = |name: &str| segments::count_lines(&log(name)).unwrap() as usize;
    assert_eq!(lines("session_summary"), 2 * memory.index.sessions.len());
    assert_eq!(lines("kpi_windows"), 2 * memory.index.windows.len());
    assert_eq!(
        index.written().iter().sum::<u64>(),
        2 * memory.index.len() as u64
    );
    for log in [dir.join("sessions.jsonl"), log("session_summary")] {
        assert!(segments::list(&log).unwrap().len() > 2, "{}", log.display());
    }
    // Reopened to append: the lines of every segment counted.
    drop(index);
    let reopened = JsonLinesIndex::append(&dir.join("documents")).unwrap();
    assert_eq!(
        reopened.written().iter().sum::<u64>(),
        2 * memory.index.len() as u64
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dead_letters_are_written_as_a_checking_sink_writes_them_whichever_way_they_are_sent() {
    use websight_core::analytics::{AnalyticsConfig, ProductCatalogue, StreamAnalytics};
    use websight_core::flow::{Flow, Ingest};
    use websight_core::io::{EventSink, JsonLinesSink, MemoryTopic, Message};
    use websight_core::privacy::{Privacy, PrivacyConfig};
    use websight_testkit::TEST_KEY;

    /// A dead-letter file, written through whichever method the flow picks, and the picks.
    struct Picks<'a> {
        file: JsonLinesSink<&'a mut Vec<u8>>,
        sent: MemoryTopic,
        vouched: usize,
        checked: usize,
    }
    #[async_trait::async_trait]
    impl EventSink for Picks<'_> {
        async fn send(&mut self, messages: &[Message]) -> websight_core::Result<()> {
            self.checked += 1;
            self.sent.send(messages).await?;
            self.file.send(messages).await
        }
        async fn send_json(&mut self, messages: &[Message]) -> websight_core::Result<()> {
            self.vouched += 1;
            self.sent.send(messages).await?;
            self.file.send_json(messages).await
        }
    }

    /// The dead-letter file of a run of `flow`, what a checking sink writes of the same
    /// messages, and how many batches were vouched for and checked.
    fn run(flow: Flow, raws: &[Vec<u8>]) -> (String, String, usize, usize) {
        let mut stores = Embedded::default();
        let mut text = Vec::new();
        let mut picks = Picks {
            file: JsonLinesSink::envelopes(&mut text),
            sent: MemoryTopic::default(),
            vouched: 0,
            checked: 0,
        };
        let mut out = Outputs {
            state: &mut stores.state,
            checked: &mut stores.checked,
            dead_letters: &mut picks,
            sessions: &mut stores.sessions,
            documents: &mut stores.index,
        };
        let mut source = MemorySource::new(raws.to_vec());
        let counts = block_on(flow.batch_size(50).run(&mut source, &mut out, &mut ())).unwrap();
        assert!(counts.dead_letters > 0 && counts.rejected > 0, "{counts:?}");
        let Picks {
            sent,
            vouched,
            checked,
            ..
        } = picks;
        let mut want = Vec::new();
        block_on(JsonLinesSink::envelopes(&mut want).send(&sent.messages)).unwrap();
        let text = String::from_utf8_lossy(&text).into_owned();
        (
            text,
            String::from_utf8_lossy(&want).into_owned(),
            vouched,
            checked,
        )
    }

    let g = generator(400, 21);
    let raws = hostile_lines(&g);
    // By default a dead letter's payload is a redacted copy, always JSON: every batch vouched.
    let (text, want, vouched, checked) = run(flow(&g), &raws);
    assert_eq!(text, want);
    assert!(vouched > 0 && checked == 0, "{vouched} {checked}");
    // Raw bytes kept: a batch with bytes that are not one line of JSON goes through the checks.
    let raw = Flow::new(
        Ingest::new(
            Privacy::new(PrivacyConfig {
                key: Some(TEST_KEY.to_owned()),
                keep_raw_dead_letters: true,
                ..PrivacyConfig::default()
            })
            .unwrap(),
        ),
        Gate::new(GateConfig::default()).unwrap(),
        StreamAnalytics::new(
            AnalyticsConfig::default(),
            ProductCatalogue::from_catalogue(&g.config().catalogue),
        )
        .unwrap(),
    );
    let (text, want, vouched, checked) = run(raw, &raws);
    assert_eq!(text, want);
    assert!(vouched > 0 && checked > 0, "{vouched} {checked}");
}

#[test]
fn items_a_store_refuses_for_good_become_dead_letters_and_the_stream_goes_on() {
    use websight_core::analytics::{Documents, Visit};
    use websight_core::io::{MemoryIndex, MemorySessionStore, Refusal, WriteReport};

    /// Refuses every sentiment document (as a strict mapping might).
    struct NoSentiments(MemoryIndex);
    #[async_trait::async_trait]
    impl DocumentSink for NoSentiments {
        async fn write(&mut self, docs: &Documents) -> websight_core::Result<WriteReport> {
            let mut kept = docs.clone();
            let sentiments = std::mem::take(&mut kept.sentiments);
            let mut report = self.0.write(&kept).await?;
            report.refused = sentiments
                .iter()
                .map(|d| Refusal::of("product_sentiment", &d.document_id(), "mapping", d))
                .collect();
            Ok(report)
        }
    }
    /// Refuses visits of more than 12 events (as a document size limit would).
    struct SmallVisits(MemorySessionStore);
    #[async_trait::async_trait]
    impl SessionStore for SmallVisits {
        async fn upsert_visits(&mut self, visits: &[Visit]) -> websight_core::Result<WriteReport> {
            let (small, big): (Vec<Visit>, Vec<Visit>) =
                visits.iter().cloned().partition(|v| v.events.len() <= 12);
            let mut report = self.0.upsert_visits(&small).await?;
            report.refused = big
                .iter()
                .map(|v| Refusal::of("sessions", &v.id, "too large", v))
                .collect();
            Ok(report)
        }
        async fn read_sessions(
            &mut self,
        ) -> websight_core::Result<websight_core::io::StoredSessions> {
            self.0.read_sessions().await
        }
    }

    let g = generator(600, 12);
    let raws = hostile_lines(&g);
    let mut clean = Embedded::default();
    let (_, expected) = clean.run(flow(&g), &raws, 100, &mut ());
    let big_visits = block_on(clean.sessions.read_sessions())
        .unwrap()
        .visits
        .iter()
        .filter(|v| v.events.len() > 12)
        .count();
    assert!(big_visits > 0 && !clean.index.sentiments.is_empty());

    let mut stores = Embedded::default();
    let (mut index, mut sessions) = (
        NoSentiments(MemoryIndex::default()),
        SmallVisits(MemorySessionStore::default()),
    );
    let mut out = Outputs {
        state: &mut stores.state,
        checked: &mut stores.checked,
        dead_letters: &mut stores.dead,
        sessions: &mut sessions,
        documents: &mut index,
    };
    let mut source = MemorySource::new(raws.clone());
    let counts = block_on(flow(&g).batch_size(100).run(&mut source, &mut out, &mut ())).unwrap();
    assert_eq!(source.committed(), raws.len(), "every batch committed");
    let refused = (clean.index.sentiments.len() + big_visits) as u64;
    assert_eq!(counts.refused, refused);
    assert_eq!(counts.sessions, expected.sessions - big_visits as u64);
    assert_eq!(
        counts.documents,
        expected.documents - clean.index.sentiments.len() as u64
    );
    assert!(counts.is_conserved());
    assert_eq!(
        stores.dead.messages.len() as u64,
        counts.rejected + counts.dead_letters + counts.late + counts.refused
    );
    let refusals: Vec<serde_json::Value> = stores
        .dead
        .messages
        .iter()
        .map(|m| serde_json::from_str(&m.headers[0].1).unwrap())
        .filter(|r: &serde_json::Value| r["kind"] == "refused")
        .collect();
    assert_eq!(refusals.len() as u64, refused);
    assert!(refusals[0]["detail"].as_str().unwrap().contains("refused"));
    // Everything else is exactly what the clean run stored.
    assert_eq!(index.0.sessions, clean.index.sessions);
    assert_eq!(index.0.products, clean.index.products);
}

#[test]
fn a_run_restored_from_its_last_checkpoint_ends_exactly_like_one_that_never_stopped() {
    use websight_core::flow::{Checkpoints, FileCheckpoints};
    use websight_core::io::LineSource;
    use websight_core::summary::SummaryTally;

    let g = generator(1_200, 17);
    let raws = hostile_lines(&g);
    let text: &'static [u8] = Box::leak(raws.join(&b"\n"[..]).into_boxed_slice());
    let mut clean = Embedded::default();
    let mut clean_tally = SummaryTally::default();
    let (clean_flow, clean_counts) = clean.run(flow(&g), &raws, 150, &mut clean_tally);
    let clean_summary = clean_tally.summary(
        &clean_counts,
        clean_flow.gate().stats(),
        clean_flow.analytics(),
    );
    let clean_visits = block_on(clean.sessions.read_sessions()).unwrap();
    let batches = raws.len().div_ceil(150);

    let dir = scratch_dir("checkpoints");
    // With two threads the flow reads a file ahead: each batch is decoded while the one
    // before is processed, and a checkpoint still records where that one ended.
    let cases = [1, 4, 5, batches / 2, batches - 1].into_iter().enumerate();
    for (threads, (case, crash_after)) in [1, 2]
        .into_iter()
        .flat_map(|t| cases.clone().map(move |c| (t, c)))
    {
        let case = format!("{case} on {threads} threads");
        let path = dir.join(format!("case-{case}.json"));
        let mut checkpoints = FileCheckpoints::new(&path, 2);
        block_on(checkpoints.clear()).unwrap();
        // The durable stores outlive the crash; the process's own state does not.
        let mut stores = Embedded::default();
        let mut restarts = 0;
        for attempt in 0.. {
            let (gate, analytics) = flow(&g).into_parts();
            let ingest = websight_core::flow::Ingest::new(privacy()).threads(threads);
            let mut f = websight_core::flow::Flow::new(ingest, gate, analytics).batch_size(150);
            stores.state = MemoryGateState::new(&GateConfig::default()).unwrap();
            let mut tally = SummaryTally::default();
            let mut source = Dying {
                inner: Positioned {
                    lines: LineSource::new(text),
                },
                batches: if attempt == 0 {
                    crash_after
                } else {
                    usize::MAX
                },
            };
            if let Some(checkpoint) = checkpoints.load().unwrap() {
                block_on(f.restore(checkpoint, &mut source, &mut stores.state, &mut tally))
                    .unwrap();
                restarts += 1;
            }
            let mut out = stores.outputs();
            match block_on(f.run_checkpointed(&mut source, &mut out, &mut tally, &mut checkpoints))
            {
                Err(_) => continue,
                Ok(counts) => {
                    assert_eq!(counts, clean_counts, "case {case}");
                    let summary = tally.summary(&counts, f.gate().stats(), f.analytics());
                    assert_eq!(summary, clean_summary, "case {case}");
                    break;
                }
            }
        }
        assert_eq!(restarts, usize::from(crash_after >= 2), "case {case}");
        assert_eq!(stores.index, clean.index, "case {case}: documents");
        assert_eq!(
            block_on(stores.sessions.read_sessions()).unwrap(),
            clean_visits,
            "case {case}: visits"
        );
        // Outputs after the checkpoint were written again (at-least-once), never lost.
        assert!(stores.checked.messages.len() >= clean.checked.messages.len());
        block_on(checkpoints.save(websight_core::flow::Checkpoint {
            version: 0,
            ..block_on(flow(&g).checkpoint(&mut stores.state, &mut ())).unwrap()
        }))
        .unwrap();
        assert!(checkpoints.load().is_err(), "another version is refused");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Lines that say where they are (the count read) and resume only at the count a checkpoint
/// was taken after: a checkpoint that recorded the position after a batch read ahead is
/// refused.
struct Positioned {
    lines: websight_core::io::LineSource<&'static [u8]>,
}

#[async_trait::async_trait]
impl websight_core::io::EventSource for Positioned {
    async fn next_batch(&mut self, max: usize) -> websight_core::Result<Option<Vec<Vec<u8>>>> {
        self.lines.next_batch(max).await
    }
    async fn commit(&mut self) -> websight_core::Result<()> {
        self.lines.commit().await
    }
    fn position(&self) -> Option<serde_json::Value> {
        Some(self.lines.read().into())
    }
    fn reads_ahead(&self) -> bool {
        self.lines.reads_ahead()
    }
    async fn resume(
        &mut self,
        taken: u64,
        position: Option<&serde_json::Value>,
    ) -> websight_core::Result<()> {
        assert_eq!(position.and_then(serde_json::Value::as_u64), Some(taken));
        self.lines.resume(taken, None).await
    }
}

/// Counts the checkpoints saved, each taking `takes` (a large state written slowly).
struct Slow {
    takes: std::time::Duration,
    saved: usize,
}

#[async_trait::async_trait]
impl websight_core::flow::Checkpoints for Slow {
    fn due(&mut self, _: &websight_core::flow::FlowCounts) -> bool {
        true
    }
    async fn save(&mut self, _: websight_core::flow::Checkpoint) -> websight_core::Result<u64> {
        std::thread::sleep(self.takes);
        self.saved += 1;
        Ok(0)
    }
    async fn clear(&mut self) -> websight_core::Result<()> {
        Ok(())
    }
}

#[test]
fn checkpoints_take_at_most_their_share_of_the_time() {
    let g = generator(300, 5);
    let raws = websight_testkit::lines(&g);
    let batches = raws.len().div_ceil(100);
    assert!(batches >= 10);
    let saved = |share: f64| {
        let mut stores = Embedded::default();
        let mut f = flow(&g).batch_size(100).checkpoint_share(share);
        let mut out = stores.outputs();
        let mut source = MemorySource::new(raws.iter().cloned());
        let mut slow = Slow {
            takes: std::time::Duration::from_millis(50),
            saved: 0,
        };
        let counts =
            block_on(f.run_checkpointed(&mut source, &mut out, &mut (), &mut slow)).unwrap();
        assert_eq!(counts.batches, batches as u64);
        slow.saved
    };
    // Every batch, and the last one at the end.
    assert_eq!(saved(1.0), batches + 1);
    // The first took 50 ms: none for the next 4.95 s (the run is shorter), then the end's.
    assert_eq!(saved(0.01), 2);
}

#[test]
fn the_live_series_counts_a_visitor_who_logs_in_once() {
    use websight_core::analytics::{Resolution, TimeSeries};
    use websight_core::decode::{DecodeContext, decode_segment};
    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    let line = |id: &str, kind: &str, members: &str, second: &str| {
        format!(
            r#"{{"type":"{kind}","messageId":"{id}",{members},"timestamp":"2026-03-01T10:00:{second}Z","context":{{"userAgent":"{FIREFOX}"}}}}"#
        )
        .into_bytes()
    };
    let raws = vec![
        line("1", "page", r#""anonymousId":"anon""#, "05"),
        line(
            "2",
            "identify",
            r#""anonymousId":"anon","userId":"user""#,
            "20",
        ),
        line("3", "page", r#""anonymousId":"anon","userId":"user""#, "30"),
        // Sent by the shop's server: the user id alone.
        line(
            "4",
            "track",
            r#""userId":"user","event":"Order Completed""#,
            "40",
        ),
        line("5", "page", r#""anonymousId":"other""#, "50"),
    ];
    // Keyed by each event's own ids, the login makes the visitor two.
    let mut by_ids = TimeSeries::new("EUR");
    for raw in &raws {
        by_ids.observe(
            &decode_segment(raw, &DecodeContext::default())
                .remove(0)
                .unwrap(),
        );
    }
    assert_eq!(by_ids.points(Resolution::Minute)[0].visitors, 3);
    // A flow keys them by the person identity names, in one batch or one event a batch.
    for batch in [1, raws.len()] {
        let mut series = TimeSeries::new("EUR");
        let flow = websight_testkit::flow_for(&websight_core::model::Catalogue::furniture());
        let (_, counts) = Embedded::default().run(flow, &raws, batch, &mut series);
        assert_eq!(counts.checked, 5, "{counts:?}");
        for r in Resolution::ALL {
            let point = &series.points(r)[0];
            assert_eq!(
                (point.visitors, point.page_views),
                (2, 3),
                "{r:?}, batch {batch}"
            );
        }
        assert_eq!(series.visitors_now(300), 2);
    }
}
