//! Test helpers shared by websight's test suites (not published): generated traffic as
//! wire lines, a fixed privacy key, the embedded flow and its stores.

use websight_core::analytics::{AnalyticsConfig, Documents, ProductCatalogue, StreamAnalytics};
use websight_core::flow::{Flow, FlowCounts, Ingest, Observer, Outputs};
use websight_core::gate::{Gate, GateConfig, MemoryGateState};
use websight_core::io::{MemoryIndex, MemorySessionStore, MemorySource, MemoryTopic, block_on};
use websight_core::model::Catalogue;
use websight_core::privacy::{Privacy, PrivacyConfig};
use websight_core::synth::{Generator, SynthConfig};

pub mod alloc;
pub mod process;

/// The pseudonym key of every test (a test key, not a secret).
pub const TEST_KEY: &str = "websight test key, not a secret";

/// Privacy with [`TEST_KEY`].
pub fn privacy() -> Privacy {
    Privacy::new(PrivacyConfig {
        key: Some(TEST_KEY.to_owned()),
        ..PrivacyConfig::default()
    })
    .expect("the test key is long enough")
}

/// A fresh, empty directory for one test: `websight-{name}-{pid}` under the system's
/// temporary directory, emptied if a run before left it.
pub fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("websight-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the temporary directory is writable");
    dir
}

/// A generator of `sessions` sessions with `seed`, other settings default.
pub fn generator(sessions: u64, seed: u64) -> Generator {
    Generator::new(SynthConfig {
        sessions,
        seed,
        ..SynthConfig::default()
    })
    .expect("a valid config")
}

/// The generator's messages as Segment JSON lines, in arrival order.
pub fn lines(generator: &Generator) -> Vec<Vec<u8>> {
    generator.events().map(|e| e.to_json()).collect()
}

/// [`lines`] with what real collectors also get: every 97th message delivered twice, and
/// now and then bytes that are not JSON, JSON cut short, and JSON of the wrong shape.
pub fn hostile_lines(generator: &Generator) -> Vec<Vec<u8>> {
    let mut raws = Vec::new();
    for (i, bytes) in lines(generator).into_iter().enumerate() {
        if i % 97 == 0 {
            raws.push(bytes.clone());
        }
        raws.push(bytes);
        match i % 400 {
            0 => raws.push(b"\xff\x00garbage".to_vec()),
            100 => raws.push(b"{\"type\": \"track\", \"event\": ".to_vec()),
            200 => raws.push(b"{\"type\": 7, \"anonymousId\": [1]}".to_vec()),
            _ => {}
        }
    }
    raws
}

/// The embedded flow with default settings, the test key and the generator's catalogue.
pub fn flow(generator: &Generator) -> Flow {
    flow_for(&generator.config().catalogue)
}

/// The flow with default settings and the test key, for `catalogue`'s products.
pub fn flow_for(catalogue: &Catalogue) -> Flow {
    flow_with(catalogue, privacy())
}

/// The flow with default settings and `privacy`, for `catalogue`'s products.
pub fn flow_with(catalogue: &Catalogue, privacy: Privacy) -> Flow {
    Flow::new(
        Ingest::new(privacy),
        Gate::new(GateConfig::default()).expect("default gate"),
        StreamAnalytics::new(
            AnalyticsConfig::default(),
            ProductCatalogue::from_catalogue(catalogue),
        )
        .expect("default analytics"),
    )
}

/// The embedded stores of one run.
pub struct Embedded {
    /// Gate state.
    pub state: MemoryGateState,
    /// Checked topic.
    pub checked: MemoryTopic,
    /// Dead-letter topic.
    pub dead: MemoryTopic,
    /// Session store.
    pub sessions: MemorySessionStore,
    /// Document index.
    pub index: MemoryIndex,
}

impl Default for Embedded {
    fn default() -> Self {
        Embedded {
            state: MemoryGateState::new(&GateConfig::default()).expect("default state"),
            checked: MemoryTopic::default(),
            dead: MemoryTopic::default(),
            sessions: MemorySessionStore::default(),
            index: MemoryIndex::default(),
        }
    }
}

impl Embedded {
    /// These stores as a flow's outputs.
    pub fn outputs(&mut self) -> Outputs<'_> {
        Outputs {
            state: &mut self.state,
            checked: &mut self.checked,
            dead_letters: &mut self.dead,
            sessions: &mut self.sessions,
            documents: &mut self.index,
        }
    }

    /// Runs `flow` over `raws` (batches of `batch`) into these stores; asserts everything
    /// was committed.
    pub fn run(
        &mut self,
        flow: Flow,
        raws: &[Vec<u8>],
        batch: usize,
        observer: &mut dyn Observer,
    ) -> (Flow, FlowCounts) {
        let mut flow = flow.batch_size(batch);
        let mut out = self.outputs();
        let mut source = MemorySource::new(raws.iter().cloned());
        let counts = block_on(flow.run(&mut source, &mut out, observer)).expect("embedded run");
        assert_eq!(source.committed(), raws.len(), "everything committed");
        (flow, counts)
    }
}

/// Every document of a generator's traffic through the default embedded flow: the
/// embedded pipeline's output in one call.
pub fn documents_of(generator: &Generator) -> Documents {
    struct Keep(Documents);
    impl Observer for Keep {
        fn documents(&mut self, d: &Documents) {
            self.0.sessions.extend(d.sessions.iter().cloned());
            self.0.products.extend(d.products.iter().cloned());
            self.0.sentiments.extend(d.sentiments.iter().cloned());
            self.0.windows.extend(d.windows.iter().cloned());
            self.0.visits.extend(d.visits.iter().cloned());
            self.0.late.extend(d.late.iter().cloned());
        }
    }
    let mut keep = Keep(Documents::default());
    Embedded::default().run(flow(generator), &lines(generator), 2_000, &mut keep);
    keep.0
}

/// A source that dies like a killed process after `batches` batches: the next read is an
/// error. Everything else (commits, positions, resuming) is the inner source's.
pub struct Dying<S> {
    /// The source that is read.
    pub inner: S,
    /// Batches left before it dies.
    pub batches: usize,
}

#[async_trait::async_trait]
impl<S: websight_core::io::EventSource> websight_core::io::WrapsSource for Dying<S> {
    type Inner = S;
    fn inner(&self) -> &S {
        &self.inner
    }
    fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }
    async fn take_batch(&mut self, max: usize) -> websight_core::Result<Option<Vec<Vec<u8>>>> {
        if self.batches == 0 {
            return Err(websight_core::CoreError::Store("killed".into()));
        }
        self.batches -= 1;
        self.inner.next_batch(max).await
    }
}

/// A live source ended by the count of inputs the test sent rather than by a short
/// silence: a server restart can hold a broker's deliveries up for seconds (CI saw a flow
/// end 1,507 inputs early on a 4 s idle after MongoDB's restart). `inner` ends on its own
/// idle timeout; below `expected` this waits on, up to [`Expecting::GIVE_UP`] of silence (a
/// message the broker lost stays missing and the test's count fails); at the count, the
/// inner source's one more idle wait catches any excess.
pub struct Expecting<S> {
    /// The source that is read (with a short idle timeout).
    pub inner: S,
    /// Inputs the test sent.
    pub expected: u64,
    taken: u64,
}

impl<S> Expecting<S> {
    /// Silence after which a source still short of the expected count gives up.
    pub const GIVE_UP: std::time::Duration = std::time::Duration::from_secs(60);

    /// `inner`, ended once `expected` inputs came.
    pub fn new(inner: S, expected: u64) -> Self {
        Expecting {
            inner,
            expected,
            taken: 0,
        }
    }
}

#[async_trait::async_trait]
impl<S: websight_core::io::EventSource> websight_core::io::WrapsSource for Expecting<S> {
    type Inner = S;
    fn inner(&self) -> &S {
        &self.inner
    }
    fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }
    async fn take_batch(&mut self, max: usize) -> websight_core::Result<Option<Vec<Vec<u8>>>> {
        let silent = std::time::Instant::now();
        loop {
            if let Some(batch) = self.inner.next_batch(max).await? {
                self.taken += batch.len() as u64;
                return Ok(Some(batch));
            }
            if self.taken >= self.expected || silent.elapsed() >= Self::GIVE_UP {
                return Ok(None);
            }
            eprintln!(
                "source: {} of {} taken, waiting on",
                self.taken, self.expected
            );
        }
    }
    fn resumed(&mut self, taken: u64) {
        self.taken = taken;
    }
}

/// A sink whose writes never finish: a store that cannot keep up, for back-pressure tests.
pub struct Stuck;

#[async_trait::async_trait]
impl websight_core::io::EventSink for Stuck {
    async fn send(&mut self, _: &[websight_core::io::Message]) -> websight_core::Result<()> {
        std::future::pending::<()>().await;
        Ok(())
    }
}
