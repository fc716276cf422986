//! Where the pipeline's traffic comes from: a file of JSON lines (or standard input), or the
//! generator with its ground truth. Both are read as the flow asks for them, so memory does
//! not grow with the input.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufReader, Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::cli::say;
use async_trait::async_trait;
use websight::core::analytics::ProductCatalogue;
use websight::core::decode::ORIGINAL_CURRENCY;
use websight::core::io::{EventSource, LineSource, at_path, segments};
use websight::core::metrics::roc_auc;
use websight::core::model::SessionId;
use websight::core::synth::{EventStream, Generator};

use crate::Traffic;

type Error = Box<dyn std::error::Error>;

/// JSON lines from `path` (`-` = standard input, `.gz` decompressed). Blank lines are not
/// inputs; every other line is, whatever it holds. A segment of a log kept in segments
/// (`serve --keep-raw`'s `raw.jsonl`, `raw.<offset>.jsonl`, …) is read on through every later
/// one, in log order.
pub fn read(path: &str) -> Result<Traffic<'static>, Error> {
    let (raw, title): (Box<dyn Read + Send>, String) = if path == "-" {
        (
            Box::new(std::io::stdin()),
            format!("JSON lines from {path}"),
        )
    } else if path.ends_with(".gz") {
        let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
        let bytes = file.metadata()?.len();
        let title = format!("JSON lines from {path} ({bytes} bytes)");
        (Box::new(flate2::read::MultiGzDecoder::new(file)), title)
    } else {
        let parts = segments::from(Path::new(path)).map_err(|e| format!("{path}: {e}"))?;
        let mut files = VecDeque::new();
        let mut bytes = 0;
        for part in &parts {
            let file = std::fs::File::open(&part.path)
                .map_err(|e| format!("{}: {e}", part.path.display()))?;
            bytes += file.metadata()?.len();
            files.push_back(file);
        }
        let raw = Box::new(OneAfterAnother(files));
        let title = match parts.len() {
            1 => format!("JSON lines from {path} ({bytes} bytes)"),
            n => format!(
                "JSON lines from {path} and the {} later segments of its log ({bytes} bytes)",
                n - 1
            ),
        };
        (raw, title)
    };
    Ok(Traffic {
        source: Box::new(LineSource::new(BufReader::with_capacity(1 << 20, raw))),
        catalogue: ProductCatalogue::default(),
        truth: None,
        title,
    })
}

/// Files read one after another, as one.
struct OneAfterAnother(VecDeque<std::fs::File>);

impl Read for OneAfterAnother {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while let Some(file) = self.0.front_mut() {
            match file.read(buf)? {
                0 if !buf.is_empty() => drop(self.0.pop_front()),
                n => return Ok(n),
            }
        }
        Ok(0)
    }
}

/// What the generated stream has produced so far: the ground truth of lines the flow has
/// not scored yet (one message per line, in order), and figures for the printout.
#[derive(Default)]
pub struct Truth {
    pending: VecDeque<Line>,
    pub messages: u64,
    pub behind: u64,
    pub very_late: u64,
    pub peak_in_flight: usize,
}

impl Truth {
    /// The ground truth of the next line the flow decided on.
    pub fn next(&mut self) -> Option<Line> {
        self.pending.pop_front()
    }
}

/// The ground truth of one generated line.
pub struct Line {
    pub session: SessionId,
    pub abuse: bool,
    /// The last line of its session: the session can be scored.
    pub last: bool,
}

/// The generator's traffic: its tracker messages produced in arrival order as the flow reads
/// them (optionally copied to `events_out`).
pub fn generate<'g>(
    generator: &'g Generator,
    events_out: Option<&str>,
) -> Result<Traffic<'g>, Error> {
    let c = generator.config();
    let title = format!(
        "seed {}, {} users, {} sessions over {} days from {}, generated",
        c.seed, c.users, c.sessions, c.days, c.start
    );
    let writer = match events_out {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(at_path(path.as_ref()))?,
        )),
        None => None,
    };
    let truth = Arc::new(Mutex::new(Truth::default()));
    Ok(Traffic {
        source: Box::new(Generated {
            stream: generator.events(),
            writer,
            truth: Arc::clone(&truth),
            latest: None,
        }),
        catalogue: ProductCatalogue::from_catalogue(&c.catalogue),
        truth: Some(truth),
        title,
    })
}

/// What the generator's traffic holds, against its ground truth: sessions, purchases, the
/// abuse it planted and the best purchase AUC any model could reach.
pub fn show_planted(generator: &Generator) {
    let started = Instant::now();
    let (mut sessions, mut pages, mut purchases, mut revenue, mut carts, mut bounces) =
        (0u64, 0u64, 0u64, 0.0, 0u64, 0u64);
    let mut abuse: BTreeMap<String, u64> = BTreeMap::new();
    let (mut scores, mut labels) = (Vec::new(), Vec::new());
    for s in generator.sessions() {
        sessions += 1;
        pages += s.session.page_views() as u64;
        bounces += u64::from(s.session.page_views() == 1);
        carts += u64::from(!s.session.cart_products().is_empty());
        if let Some(order) = &s.session.order {
            purchases += 1;
            revenue += order.amount;
        }
        match s.truth.abuse {
            Some(kind) => *abuse.entry(format!("{kind:?}")).or_default() += 1,
            None => {
                scores.push(s.truth.purchase_probability);
                labels.push(s.session.purchased());
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    say!("\nTraffic ({secs:.2} s to generate)");
    say!("  sessions            {sessions:>10}");
    say!("  page views          {pages:>10}");
    say!(
        "  bounce rate         {:>10.1}%",
        100.0 * bounces as f64 / sessions.max(1) as f64
    );
    say!("  sessions with cart  {carts:>10}");
    say!(
        "  purchases           {purchases:>10}  ({:.1}% of sessions)",
        100.0 * purchases as f64 / sessions.max(1) as f64
    );
    say!("  abandoned carts     {:>10}", carts - purchases);
    say!("  revenue             {revenue:>10.0} {ORIGINAL_CURRENCY}");
    say!("\nPlanted abuse (ground truth)");
    for (kind, n) in &abuse {
        say!("  {kind:<22}{n:>8}");
    }
    if let Some(auc) = roc_auc(&scores, &labels) {
        say!("\nBayes-optimal purchase AUC (true probabilities): {auc:.3}");
    }
}

/// The generator's tracker messages as an [`EventSource`], as a collector receives them.
struct Generated<'g> {
    stream: EventStream<'g>,
    writer: Option<std::io::BufWriter<std::fs::File>>,
    truth: Arc<Mutex<Truth>>,
    latest: Option<i64>,
}

#[async_trait]
impl EventSource for Generated<'_> {
    async fn next_batch(&mut self, max: usize) -> websight::core::Result<Option<Vec<Vec<u8>>>> {
        let mut batch = Vec::with_capacity(max);
        let mut truth = self.truth.lock().expect("the truth lock is never poisoned");
        for e in self.stream.by_ref().take(max.max(1)) {
            let at = e.event.time.timestamp_micros();
            truth.behind += u64::from(self.latest.is_some_and(|t| at < t));
            self.latest = self.latest.max(Some(at));
            truth.very_late += u64::from(e.very_late);
            let bytes = e.to_json();
            if let Some(w) = self.writer.as_mut() {
                w.write_all(&bytes)?;
                w.write_all(b"\n")?;
            }
            truth.pending.push_back(Line {
                session: e.session,
                abuse: e.abuse.is_some(),
                last: e.last_of_session,
            });
            batch.push(bytes);
        }
        truth.messages += batch.len() as u64;
        truth.peak_in_flight = self.stream.peak_in_flight();
        if batch.is_empty() {
            if let Some(w) = self.writer.as_mut() {
                w.flush()?;
            }
            return Ok(None);
        }
        Ok(Some(batch))
    }

    async fn commit(&mut self) -> websight::core::Result<()> {
        Ok(())
    }

    /// Nothing to acknowledge; the truth is kept in the order batches are read.
    fn reads_ahead(&self) -> bool {
        true
    }

    /// Resuming at a checkpoint: the lines before it were scored by the run that wrote it.
    async fn resume(
        &mut self,
        n: u64,
        _position: Option<&serde_json::Value>,
    ) -> websight::core::Result<()> {
        let mut truth = self.truth.lock().expect("the truth lock is never poisoned");
        for e in self
            .stream
            .by_ref()
            .take(usize::try_from(n).unwrap_or(usize::MAX))
        {
            let at = e.event.time.timestamp_micros();
            truth.behind += u64::from(self.latest.is_some_and(|t| at < t));
            self.latest = self.latest.max(Some(at));
            truth.very_late += u64::from(e.very_late);
            truth.messages += 1;
        }
        Ok(())
    }
}
