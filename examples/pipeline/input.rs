//! Where the pipeline's traffic comes from: a file of JSON lines (or standard input), or the
//! generator with its ground truth. Both are read as the flow asks for them, so memory does
//! not grow with the input.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufReader, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use websight::core::analytics::ProductCatalogue;
use websight::core::io::{EventSource, LineSource, SendBatch, ThreadedSource};
use websight::core::metrics::roc_auc;
use websight::core::model::SessionId;
use websight::core::synth::Generator;

use crate::Traffic;

type Error = Box<dyn std::error::Error>;

/// JSON lines from `path` (`-` = standard input, `.gz` decompressed). Blank lines are not
/// inputs; every other line is, whatever it holds.
pub fn read(path: &str) -> Result<Traffic, Error> {
    let lines = |raw: Box<dyn Read + Send>| LineSource::new(BufReader::with_capacity(1 << 20, raw));
    let source: Box<dyn EventSource> = if path == "-" {
        Box::new(lines(Box::new(std::io::stdin())))
    } else {
        let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
        if path.ends_with(".gz") {
            // Decompressing costs about as much as decoding: on a thread of its own.
            let gz = lines(Box::new(flate2::read::MultiGzDecoder::new(file)));
            Box::new(ThreadedSource::of(gz, BATCH))
        } else {
            Box::new(lines(Box::new(file)))
        }
    };
    Ok(Traffic {
        source,
        catalogue: ProductCatalogue::default(),
        truth: None,
        title: match std::fs::metadata(path) {
            Ok(m) if path != "-" => format!("JSON lines from {path} ({} bytes)", m.len()),
            _ => format!("JSON lines from {path}"),
        },
    })
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

/// The generator's traffic: what happened (against its ground truth) is printed first,
/// then its tracker messages are produced in arrival order as the flow reads them
/// (optionally copied to `events_out`).
pub fn generate(generator: Generator, events_out: Option<&str>) -> Result<Traffic, Error> {
    let c = generator.config();
    let title = format!(
        "seed {}, {} users, {} sessions over {} days from {}, generated",
        c.seed, c.users, c.sessions, c.days, c.start
    );
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
    println!("\nTraffic ({secs:.2} s to generate)");
    println!("  sessions            {sessions:>10}");
    println!("  page views          {pages:>10}");
    println!(
        "  bounce rate         {:>10.1}%",
        100.0 * bounces as f64 / sessions.max(1) as f64
    );
    println!("  sessions with cart  {carts:>10}");
    println!(
        "  purchases           {purchases:>10}  ({:.1}% of sessions)",
        100.0 * purchases as f64 / sessions.max(1) as f64
    );
    println!("  abandoned carts     {:>10}", carts - purchases);
    println!("  revenue             {revenue:>10.0}");
    println!("\nPlanted abuse (ground truth)");
    for (kind, n) in &abuse {
        println!("  {kind:<22}{n:>8}");
    }
    if let Some(auc) = roc_auc(&scores, &labels) {
        println!("\nBayes-optimal purchase AUC (true probabilities): {auc:.3}");
    }
    let writer = match events_out {
        Some(path) => Some(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => None,
    };
    let truth = Arc::new(Mutex::new(Truth::default()));
    let catalogue = ProductCatalogue::from_catalogue(&c.catalogue);
    let queued = Arc::clone(&truth);
    Ok(Traffic {
        source: Box::new(ThreadedSource::new(move |skip, send| {
            produce(&generator, writer, &queued, skip, send)
        })),
        catalogue,
        truth: Some(truth),
        title,
    })
}

/// Lines in a generated batch (the flow's own batch size; it takes what it asks for).
const BATCH: usize = 2_000;

/// Makes the generator's tracker messages, as a collector receives them, in batches handed
/// to `send` (on the [`ThreadedSource`]'s thread: generating costs about as much as
/// decoding, so it runs beside the flow): the first `skip` only counted (a resumed run
/// scored them before), each other one's ground truth queued before its batch leaves.
fn produce(
    generator: &Generator,
    mut writer: Option<std::io::BufWriter<std::fs::File>>,
    truth: &Mutex<Truth>,
    skip: u64,
    send: &mut SendBatch<'_>,
) -> websight::core::Result<()> {
    let mut stream = generator.events();
    let mut latest = None;
    let mut skip = usize::try_from(skip).unwrap_or(usize::MAX);
    loop {
        let (mut batch, mut lines) = (Vec::with_capacity(BATCH), Vec::with_capacity(BATCH));
        let (mut behind, mut very_late, mut taken) = (0, 0, 0);
        for e in stream.by_ref().take(BATCH.max(skip)) {
            taken += 1;
            let at = e.event.time.timestamp_micros();
            behind += u64::from(latest.is_some_and(|t| at < t));
            latest = latest.max(Some(at));
            very_late += u64::from(e.very_late);
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let bytes = e.to_json();
            if let Some(w) = writer.as_mut() {
                w.write_all(&bytes)?;
                w.write_all(b"\n")?;
            }
            lines.push(Line {
                session: e.session,
                abuse: e.abuse.is_some(),
                last: e.last_of_session,
            });
            batch.push(bytes);
        }
        {
            let mut truth = truth.lock().expect("the truth lock is never poisoned");
            truth.behind += behind;
            truth.very_late += very_late;
            truth.messages += taken;
            truth.peak_in_flight = stream.peak_in_flight();
            truth.pending.extend(lines);
        }
        if taken == 0 {
            if let Some(w) = writer.as_mut() {
                w.flush()?;
            }
            return Ok(());
        }
        if !send(batch) {
            return Ok(());
        }
    }
}
