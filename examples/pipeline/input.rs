//! Where the pipeline's traffic comes from: a file of JSON lines (or standard input), or the
//! generator with its ground truth.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::time::Instant;

use websight::core::analytics::ProductCatalogue;
use websight::core::metrics::roc_auc;
use websight::core::synth::{Generator, SynthConfig};

use crate::Traffic;

type Error = Box<dyn std::error::Error>;

/// JSON lines from `path` (`-` = standard input, `.gz` decompressed). Blank lines are not
/// inputs; every other line is, whatever it holds.
pub fn read(path: &str) -> Result<Traffic, Error> {
    let raw: Box<dyn Read> = if path == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
        if path.ends_with(".gz") {
            Box::new(flate2::read::MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        }
    };
    let mut lines = Vec::new();
    let mut reader = BufReader::with_capacity(1 << 20, raw);
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            line.pop();
        }
        if !line.iter().all(u8::is_ascii_whitespace) {
            lines.push(line);
        }
    }
    tracing::info!(lines = lines.len(), path, "input read");
    let title = format!("{} lines from {path}", lines.len());
    Ok(Traffic {
        lines,
        catalogue: ProductCatalogue::default(),
        truth: None,
        title,
    })
}

/// The generator's traffic: what happened (against its ground truth), then its tracker
/// messages in arrival order, optionally written to `events_out`.
pub fn generate(config: &SynthConfig, events_out: Option<&str>) -> Result<Traffic, Error> {
    let generator = Generator::new(config.clone())?;
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

    // The tracker messages, as a collector receives them.
    let mut writer = match events_out {
        Some(path) => Some(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => None,
    };
    let (mut lines, mut truth) = (Vec::new(), Vec::new());
    let (mut behind, mut very_late, mut latest) = (0u64, 0u64, None);
    let mut stream = generator.events();
    for e in stream.by_ref() {
        behind += u64::from(latest.is_some_and(|t| e.event.time < t));
        latest = latest.max(Some(e.event.time));
        very_late += u64::from(e.very_late);
        let bytes = e.to_json();
        if let Some(w) = writer.as_mut() {
            w.write_all(&bytes)?;
            w.write_all(b"\n")?;
        }
        truth.push((e.session.clone(), e.abuse.is_some()));
        lines.push(bytes);
    }
    if let Some(mut w) = writer {
        w.flush()?;
    }
    println!(
        "  tracker messages    {:>10}  ({behind} behind the newest, {very_late} very late, peak {} in flight)",
        lines.len(),
        stream.peak_in_flight()
    );
    if let Some(path) = events_out {
        println!("  written to {path}");
    }
    Ok(Traffic {
        lines,
        catalogue: ProductCatalogue::from_catalogue(&c.catalogue),
        truth: Some(truth),
        title,
    })
}
