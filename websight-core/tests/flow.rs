//! The real-time driver on the embedded stores: batches judge exactly like single events,
//! every input lands in exactly one output, replays change nothing, commits follow acks.

use std::collections::HashSet;

use websight_core::analytics::{AnalyticsConfig, StreamAnalytics};
use websight_core::flow::{Flow, FlowCounts, Observer, Outputs, REASON_HEADER};
use websight_core::gate::{Gate, GateConfig, GateState, MemoryGateState, Outcome};
use websight_core::io::{
    DocumentSink, MemoryIndex, MemorySessionStore, MemorySource, MemoryTopic, SessionStore,
    block_on,
};
use websight_core::synth::{Generator, SynthConfig};

fn inputs(sessions: u64, seed: u64) -> (Generator, Vec<Vec<u8>>) {
    let generator = Generator::new(SynthConfig {
        sessions,
        seed,
        ..SynthConfig::default()
    })
    .unwrap();
    let mut raws = Vec::new();
    for (i, e) in generator.events().enumerate() {
        let bytes = serde_json::to_vec(&e.record).unwrap();
        if i % 97 == 0 {
            raws.push(bytes.clone()); // a redelivery
        }
        raws.push(bytes);
        match i % 400 {
            0 => raws.push(b"\xff\x00garbage".to_vec()),
            100 => raws.push(b"{\"event_id\": \"e\", \"seq\": ".to_vec()),
            200 => raws.push(b"{\"event_id\": 7, \"seq\": \"one\"}".to_vec()),
            _ => {}
        }
    }
    (generator, raws)
}

#[test]
fn batches_judge_exactly_like_single_events() {
    let (_, raws) = inputs(1_500, 3);
    let mut single = Gate::new(GateConfig::default()).unwrap();
    let expected: Vec<Outcome> = raws.iter().map(|r| single.process(r)).collect();
    for batch_size in [1, 7, 500, raws.len()] {
        let mut gate = Gate::new(GateConfig::default()).unwrap();
        let mut state = MemoryGateState::new(&GateConfig::default()).unwrap();
        let mut got = Vec::new();
        for chunk in raws.chunks(batch_size) {
            got.extend(block_on(gate.process_batch(chunk, &mut state)).unwrap());
        }
        assert_eq!(got, expected, "batch size {batch_size}");
        assert_eq!(gate.stats(), single.stats());
        assert_eq!(state.users_with_sessions(), single.users_with_sessions());
        let hll = block_on(state.unique_users()).unwrap();
        assert_eq!(hll, single.unique_users());
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

fn new_flow(generator: &Generator) -> Flow {
    Flow::new(
        Gate::new(GateConfig::default()).unwrap(),
        StreamAnalytics::new(
            AnalyticsConfig::default(),
            generator.config().catalogue.clone(),
        )
        .unwrap(),
    )
}

struct Embedded {
    state: MemoryGateState,
    checked: MemoryTopic,
    dead: MemoryTopic,
    sessions: MemorySessionStore,
    index: MemoryIndex,
}

impl Embedded {
    fn new() -> Self {
        Embedded {
            state: MemoryGateState::new(&GateConfig::default()).unwrap(),
            checked: MemoryTopic::default(),
            dead: MemoryTopic::default(),
            sessions: MemorySessionStore::default(),
            index: MemoryIndex::default(),
        }
    }

    fn run(
        &mut self,
        generator: &Generator,
        raws: &[Vec<u8>],
        observer: &mut dyn Observer,
    ) -> FlowCounts {
        let mut flow = new_flow(generator).batch_size(333);
        let mut out = Outputs {
            state: &mut self.state,
            checked: &mut self.checked,
            dead_letters: &mut self.dead,
            sessions: &mut self.sessions,
            documents: &mut self.index,
        };
        let mut source = MemorySource::new(raws.iter().cloned());
        let counts = block_on(flow.run(&mut source, &mut out, observer)).unwrap();
        assert_eq!(
            source.committed(),
            raws.len(),
            "everything committed at the end"
        );
        counts
    }
}

#[test]
fn every_input_lands_in_exactly_one_output_and_replays_change_nothing() {
    let (generator, raws) = inputs(2_000, 8);
    let mut stores = Embedded::new();
    let mut seen = Seen::default();
    let counts = stores.run(&generator, &raws, &mut seen);
    assert!(counts.is_conserved(), "{counts:?}");
    assert_eq!(counts.inputs, raws.len() as u64);
    assert_eq!(seen.outcomes, counts.inputs);
    assert_eq!(
        counts.dead_letters,
        raws.iter()
            .filter(|r| serde_json::from_slice::<serde_json::Value>(r)
                .map_or(true, |v| v.get("user").is_none()))
            .count() as u64
    );
    assert!(counts.duplicates > 0 && counts.rejected > 0);
    assert_eq!(stores.checked.messages.len() as u64, counts.checked);
    assert_eq!(
        stores.dead.messages.len() as u64,
        counts.rejected + counts.dead_letters
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
    // Checked messages are the valid inputs' own bytes, keyed by user.
    for m in &stores.checked.messages {
        let event: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(m.key.as_deref(), event["user"]["id"].as_str());
    }
    // The session store holds every checked event once; whole sessions read back.
    let stored = block_on(stores.sessions.read_sessions()).unwrap();
    assert_eq!(stored.events, counts.checked);
    assert!(stored.complete.len() > 1_000, "{}", stored.complete.len());
    assert_eq!(stores.index.sessions.len(), seen.sessions.len());
    assert_eq!(stores.index.len() as u64, counts.documents);

    // A replay of everything (at-least-once after a crash of the embedded process, whose gate
    // state is lost with it) adds no document or event to the stores.
    stores.state = MemoryGateState::new(&GateConfig::default()).unwrap();
    let before_index = stores.index.clone();
    let before_events = stored.events;
    let replay = stores.run(&generator, &raws, &mut ());
    assert_eq!(replay.checked, counts.checked);
    assert_eq!(stores.index.len(), before_index.len());
    assert_eq!(stores.index.sessions, before_index.sessions);
    let stored = block_on(stores.sessions.read_sessions()).unwrap();
    assert_eq!(stored.events, before_events);
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
    let (generator, raws) = inputs(50, 1);
    let mut stores = Embedded::new();
    let mut failing = Failing;
    let mut flow = new_flow(&generator);
    let mut out = Outputs {
        state: &mut stores.state,
        checked: &mut stores.checked,
        dead_letters: &mut stores.dead,
        sessions: &mut stores.sessions,
        documents: &mut failing,
    };
    let mut source = MemorySource::new(raws);
    assert!(block_on(flow.run(&mut source, &mut out, &mut ())).is_err());
    assert_eq!(source.committed(), 0);
}
