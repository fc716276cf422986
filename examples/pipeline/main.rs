//! The main job, embedded (no servers): generate shop traffic, stream it through the security
//! gate and the live analytics, then offline: purchase features, similar users (LSH), purchase
//! models with and without differential privacy, SHAP explanations — and a report.
//!
//! ```text
//! cargo run --release --example pipeline -- [--sessions N] [--users N] [--days N] [--seed N]
//!                                            [--events-out FILE.jsonl] [--report FILE.html]
//!                                            [--search URL [--search-prefix P]]
//! cargo run --release --features connectors --example pipeline -- --servers
//!                                            [--kafka HOST:PORT] [--redis URL] [--mongodb URL]
//!                                            [--search URL] [--prefix P] [...]
//! ```
//!
//! The stream stage runs websight's `Flow` — gate, checked and dead-letter outputs, session
//! store, analytics, document store — on the embedded stores; with `--search URL` (feature
//! `elasticsearch`) the documents go to Elasticsearch/OpenSearch; with `--servers` (feature
//! `connectors`) everything runs on real servers: the events go to the Kafka raw topic, the
//! gate keeps its state in Redis, valid events and dead letters go to their topics and to
//! MongoDB, documents to the search server (URLs from the flags or the `WEBSIGHT_*`
//! variables of `scripts/services.sh env`). Either way the document store's counts are
//! checked against what the analytics emitted, and the offline stage reads its sessions back
//! from the session store.
//!
//! The report (default `websight-report.html`) is one self-contained HTML page for the shop
//! manager. Logs go to standard error through `tracing` (`RUST_LOG=debug` for more); progress
//! bars show on a terminal.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::BufWriter;
use std::process::ExitCode;
use std::time::Instant;

use websight::core::analytics::StreamAnalytics;
use websight::core::flow::Observer;
use websight::core::gate::{DetectionScore, Outcome};
use websight::core::metrics::roc_auc;
use websight::core::model::{Catalogue, ProductId, SessionId};
use websight::core::synth::{Generator, SynthConfig};
use websight::report::{GateSummary, PotentialCustomerRow, Report, SentimentRow};

use indicatif::{ProgressBar, ProgressStyle};

#[path = "../common/cli.rs"]
mod cli;
mod offline;
mod stream;

struct Args {
    config: SynthConfig,
    events_out: Option<String>,
    report: String,
    mode: stream::Mode,
}

fn parse_args() -> Result<Args, String> {
    let mut config = SynthConfig::default();
    let mut events_out = None;
    let mut report = "websight-report.html".to_owned();
    let mut search = None;
    let mut search_prefix = String::new();
    let mut servers = false;
    let (mut kafka, mut redis, mut mongodb, mut prefix) = (None, None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        let number =
            |name: &str, v: String| v.parse::<u64>().map_err(|e| format!("{name} {v:?}: {e}"));
        match flag.as_str() {
            "--sessions" => config.sessions = number("--sessions", value("--sessions")?)?,
            "--users" => config.users = number("--users", value("--users")?)? as u32,
            "--days" => config.days = number("--days", value("--days")?)? as u32,
            "--seed" => config.seed = number("--seed", value("--seed")?)?,
            "--events-out" => events_out = Some(value("--events-out")?),
            "--report" => report = value("--report")?,
            "--search" => search = Some(value("--search")?),
            "--search-prefix" => search_prefix = value("--search-prefix")?,
            "--servers" => servers = true,
            "--kafka" => kafka = Some(value("--kafka")?),
            "--redis" => redis = Some(value("--redis")?),
            "--mongodb" => mongodb = Some(value("--mongodb")?),
            "--prefix" => prefix = Some(value("--prefix")?),
            "-h" | "--help" => {
                return Err("usage: pipeline [--sessions N] [--users N] [--days N] [--seed N] [--events-out FILE] [--report FILE.html] [--search URL [--search-prefix P]] [--servers [--kafka HOST:PORT] [--redis URL] [--mongodb URL] [--prefix P]]".into());
            }
            other => return Err(format!("unknown flag {other:?} (try --help)")),
        }
    }
    let from_env = |flag: Option<String>, var: &str, name: &str| {
        flag.or_else(|| std::env::var(var).ok()).ok_or(format!(
            "--servers needs {name} (or {var}; see scripts/services.sh env)"
        ))
    };
    let mode = if servers {
        stream::Mode::Servers(stream::Servers {
            kafka: from_env(kafka, "WEBSIGHT_KAFKA_BROKERS", "--kafka")?,
            redis: from_env(redis, "WEBSIGHT_REDIS_URL", "--redis")?,
            mongodb: from_env(mongodb, "WEBSIGHT_MONGODB_URL", "--mongodb")?,
            search: from_env(search, "WEBSIGHT_SEARCH_URL", "--search")?,
            // A fresh name space per run unless told otherwise: topics and offsets persist.
            prefix: prefix.unwrap_or_else(|| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                format!("websight-{now}-")
            }),
        })
    } else if kafka.is_some() || redis.is_some() || mongodb.is_some() || prefix.is_some() {
        return Err("--kafka, --redis, --mongodb and --prefix go with --servers".into());
    } else if let Some(url) = search {
        stream::Mode::Search {
            url,
            prefix: search_prefix,
        }
    } else {
        stream::Mode::Embedded
    };
    Ok(Args {
        config,
        events_out,
        report,
        mode,
    })
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    cli::main_with(parse_args, run)
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let generator = Generator::new(args.config)?;
    let c = generator.config();
    let mode = match &args.mode {
        stream::Mode::Embedded => "embedded".to_owned(),
        stream::Mode::Search { url, .. } => format!("embedded, documents to {url}"),
        stream::Mode::Servers(s) => format!(
            "servers: Kafka {}, Redis {}, MongoDB {}, search {}",
            s.kafka, s.redis, s.mongodb, s.search
        ),
    };
    println!(
        "websight pipeline ({mode}) — seed {}, {} users, {} sessions over {} days from {}",
        c.seed, c.users, c.sessions, c.days, c.start
    );

    // Sessions: what happened, against the generator's ground truth.
    let started = Instant::now();
    let (mut sessions, mut events, mut purchases, mut revenue, mut carts, mut bounces) =
        (0u64, 0u64, 0u64, 0.0, 0u64, 0u64);
    let mut abuse: BTreeMap<String, u64> = BTreeMap::new();
    let (mut scores, mut labels) = (Vec::new(), Vec::new());
    let bar = progress(c.sessions, "generating sessions");
    for s in generator.sessions() {
        bar.inc(1);
        sessions += 1;
        events += s.session.page_views() as u64;
        if s.session.page_views() == 1 {
            bounces += 1;
        }
        if !s.session.cart_products().is_empty() {
            carts += 1;
        }
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
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "\nTraffic ({:.2} s, {:.0} events/s generated)",
        secs,
        events as f64 / secs
    );
    println!("  sessions            {sessions:>10}");
    println!("  page events         {events:>10}");
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

    // The event stream, as a consumer receives it: JSON bytes through the security gate.
    let mut truth: HashMap<SessionId, bool> = HashMap::new();
    let (mut out_of_order, mut very_late) = (0u64, 0u64);
    let mut latest = None;
    let mut writer = match &args.events_out {
        Some(path) => Some(BufWriter::new(File::create(path)?)),
        None => None,
    };
    let mut stream = generator.events();
    let mut raws = Vec::with_capacity(events as usize);
    for e in stream.by_ref() {
        if latest.is_some_and(|t| e.record.timestamp < t) {
            out_of_order += 1;
        }
        latest = latest.max(Some(e.record.timestamp));
        very_late += u64::from(e.very_late);
        truth.insert(e.record.session_id.clone(), e.abuse.is_some());
        let bytes = serde_json::to_vec(&e.record)?;
        if let Some(w) = writer.as_mut() {
            std::io::Write::write_all(w, &bytes)?;
            std::io::Write::write_all(w, b"\n")?;
        }
        raws.push(bytes);
    }
    let streamed = raws.len() as u64;
    assert_eq!(
        streamed, events,
        "every generated event is streamed exactly once"
    );
    let started = Instant::now();
    let mut watch = Watch {
        truth,
        detection: DetectionScore::default(),
        tally: DocumentTally::default(),
        users: HashSet::new(),
        bar: progress(events, "streaming events"),
    };
    let outcome = stream::run(raws, &c.catalogue, &args.mode, &mut watch)?;
    watch.bar.finish_and_clear();
    let (detection, tally) = (&watch.detection, &watch.tally);
    let analytics = &outcome.analytics;
    let secs = started.elapsed().as_secs_f64();
    tracing::info!(events = streamed, seconds = secs, "stream stage done");
    println!(
        "\nEvent stream through JSON and the gate ({:.2} s, {:.0} events/s)",
        secs,
        streamed as f64 / secs
    );
    println!("  events              {streamed:>10}");
    println!("  behind the newest   {out_of_order:>10}");
    println!("  very late           {very_late:>10}");
    println!("  peak in flight      {:>10}", stream.peak_in_flight());
    if let Some(path) = &args.events_out {
        println!("  written to {path}");
    }
    let stats = &outcome.gate;
    println!("\nSecurity gate");
    println!("  received            {:>10}", stats.received);
    println!("  valid               {:>10}", stats.valid);
    for (rule, n) in &stats.rejected {
        println!("  rejected {rule:<26}{n:>8}");
    }
    println!("  dead letters        {:>10}", stats.dead_letters);
    println!("  duplicates          {:>10}", stats.duplicates);
    println!("  conserved           {:>10}", stats.is_conserved());
    println!(
        "  unique users (HLL)  {:>10.0}  (exact: {})",
        outcome.unique_users,
        watch.users.len()
    );
    let (tp, fp, fn_, _) = detection.confusion();
    println!(
        "  detection vs planted labels: precision {:.3}, recall {:.3} ({tp} caught, {fp} false alarms, {fn_} missed sessions)",
        detection.precision(),
        detection.recall()
    );
    let f = outcome.counts;
    println!(
        "  outputs: {} checked events, {} dead letters with their reason ({} rejected + {} unreadable); conserved: {}",
        outcome.checked_messages,
        outcome.dead_messages,
        f.rejected,
        f.dead_letters,
        f.is_conserved()
            && outcome.checked_messages == f.checked
            && outcome.dead_messages == f.rejected + f.dead_letters
    );
    print_dashboard(analytics, &c.catalogue, &tally.windows);
    println!(
        "
Documents: {} session_summary, {} product_details, {} product_sentiment, {} KPI windows; {} events too late (side output)",
        tally.sessions, tally.products, tally.sentiments, tally.windows.len(), tally.late
    );
    let held = outcome.held;
    let name = outcome.document_store;
    let emitted = [
        tally.sessions as u64,
        tally.products as u64,
        tally.sentiments as u64,
        tally.windows.len() as u64,
    ];
    println!(
        "  {} written to the {name}; it holds {held:?} (emitted {emitted:?}){}",
        f.documents,
        if held == emitted {
            ": exact"
        } else {
            ": MISMATCH"
        }
    );
    if held != emitted {
        return Err(
            format!("the {name} holds {held:?} documents, {emitted:?} were emitted").into(),
        );
    }
    let stored = &outcome.sessions;
    println!(
        "  {} valid events in the {}: {} whole sessions read back for the offline stage ({} incomplete: cut by a rule)",
        stored.events,
        outcome.session_store,
        stored.complete.len(),
        stored.incomplete
    );
    if stored.events != f.checked {
        return Err(format!(
            "the {} holds {} events, {} passed the gate",
            outcome.session_store, stored.events, f.checked
        )
        .into());
    }

    let mut report = Report::new("websight — shop report");
    report.subtitle = format!(
        "{} sessions of {} users over {} days from {} (seed {}), generated and analysed by websight {}",
        c.sessions,
        c.users,
        c.days,
        c.start,
        c.seed,
        env!("CARGO_PKG_VERSION")
    );
    live_sections(&mut report, analytics, &c.catalogue, &tally.windows);
    report.gate = GateSummary {
        received: stats.received,
        valid: stats.valid,
        rejected: stats
            .rejected
            .iter()
            .map(|(rule, n)| (rule.to_string(), *n))
            .collect(),
        dead_letters: stats.dead_letters,
        duplicates: stats.duplicates,
        precision: detection.precision(),
        recall: detection.recall(),
    };
    offline::run(&mut report, &stored.complete, &c.catalogue, c.seed)?;
    std::fs::write(&args.report, report.to_html())?;
    println!("\nReport written to {}", args.report);
    Ok(())
}

/// A progress bar on standard error (hidden when it is not a terminal).
fn progress(len: u64, what: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg:>20} [{bar:40}] {pos}/{len} ({eta})")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what);
    bar
}

/// Orders so far, and the visitors of the last window that saw any.
fn headline(
    analytics: &StreamAnalytics,
    windows: &[websight::core::analytics::KpiWindow],
) -> (u64, u64) {
    let orders = analytics.dashboard().payments.values().sum();
    let current = windows
        .iter()
        .rev()
        .find(|w| w.sessions > 0)
        .map_or(0, |w| w.current_visitors);
    (orders, current)
}

/// The live dashboard's sections of the report.
fn live_sections(
    report: &mut Report,
    analytics: &StreamAnalytics,
    catalogue: &Catalogue,
    windows: &[websight::core::analytics::KpiWindow],
) {
    let d = analytics.dashboard();
    let (orders, current) = headline(analytics, windows);
    report.kpis = vec![
        ("Purchases".into(), orders.to_string()),
        ("Revenue".into(), format!("{:.0}", d.revenue())),
        (
            "Average session".into(),
            format!("{:.0} s", d.average_session_seconds()),
        ),
        ("Current visitors".into(), current.to_string()),
        (
            "Bounce rate".into(),
            format!("{:.1}%", 100.0 * d.bounce_rate()),
        ),
        ("Sessions".into(), d.funnel.sessions.to_string()),
    ];
    report.sentiment = d
        .sentiment
        .iter()
        .map(|(category, s)| SentimentRow {
            category: category.clone(),
            positive: s.positive,
            neutral: s.neutral,
            negative: s.negative,
        })
        .collect();
    report.payments = d
        .payments
        .iter()
        .map(|(m, n)| (m.to_string(), *n))
        .collect();
    report
        .payments
        .push(("abandoned carts".into(), d.abandoned_carts));
    let name = |id: &ProductId| {
        catalogue
            .get(*id)
            .map_or_else(|| id.to_string(), |p| p.name.clone())
    };
    report.top_products = d
        .products
        .revenue_cents
        .top(10)
        .iter()
        .map(|(id, cents)| (name(id), *cents as f64 / 100.0))
        .collect();
    let f = &d.funnel;
    report.funnel = vec![
        ("sessions".into(), f.sessions),
        ("viewed a product".into(), f.viewed),
        ("added to cart".into(), f.carted),
        ("reached checkout".into(), f.checkout),
        ("bought".into(), f.purchased),
    ];
    report.potential_customers = d
        .potential_customers
        .iter()
        .take(10)
        .map(|p| PotentialCustomerRow {
            user: p.user_id.clone(),
            product: p.product.clone(),
            seconds: p.seconds_ms as f64 / 1000.0,
        })
        .collect();
}

/// Follows the flow: detection against the planted labels, the documents, progress.
struct Watch {
    truth: HashMap<SessionId, bool>,
    detection: DetectionScore,
    tally: DocumentTally,
    users: HashSet<String>,
    bar: ProgressBar,
}

impl Observer for Watch {
    fn outcome(&mut self, outcome: &Outcome) {
        self.bar.inc(1);
        let (event, rejected) = match outcome {
            Outcome::Valid(event) => {
                if !self.users.contains(event.user.id.as_str()) {
                    self.users.insert(event.user.id.as_str().to_owned());
                }
                (event, false)
            }
            Outcome::Rejected { event, .. } => (event, true),
            _ => return,
        };
        let abuse = self.truth.get(&event.session_id).copied().unwrap_or(false);
        self.detection.record(&event.session_id, abuse, rejected);
    }

    fn documents(&mut self, docs: &websight::core::analytics::Documents) {
        self.tally.add(docs);
    }
}

/// Counts of the documents the analytics emitted, and the KPI windows for the dashboard.
#[derive(Default)]
struct DocumentTally {
    sessions: usize,
    products: usize,
    sentiments: usize,
    late: usize,
    windows: Vec<websight::core::analytics::KpiWindow>,
}

impl DocumentTally {
    fn add(&mut self, docs: &websight::core::analytics::Documents) {
        self.sessions += docs.sessions.len();
        self.products += docs.products.len();
        self.sentiments += docs.sentiments.len();
        self.late += docs.late.len();
        self.windows.extend(docs.windows.iter().cloned());
    }
}

fn print_dashboard(
    analytics: &StreamAnalytics,
    catalogue: &Catalogue,
    windows: &[websight::core::analytics::KpiWindow],
) {
    let d = analytics.dashboard();
    let name = |id: &ProductId| {
        catalogue
            .get(*id)
            .map_or_else(|| id.to_string(), |p| p.name.clone())
    };
    println!("\nLive dashboard (valid traffic)");
    let (orders, current) = headline(analytics, windows);
    println!(
        "  purchases {orders}, revenue {:.0}, average session {:.0} s, bounce rate {:.1}%, current visitors (last window) {current}",
        d.revenue(),
        d.average_session_seconds(),
        100.0 * d.bounce_rate()
    );
    let top =
        |label: &str, counter: &websight::core::analytics::TopCounter<ProductId>, scale: f64| {
            let items: Vec<String> = counter
                .top(10)
                .iter()
                .map(|(id, n)| format!("{} {:.0}", name(id), *n as f64 * scale))
                .collect();
            println!("  top by {label:<10} {}", items.join(", "));
        };
    top("views", &d.products.views, 1.0);
    top("cart adds", &d.products.cart_adds, 1.0);
    top("purchases", &d.products.purchases, 1.0);
    top("revenue", &d.products.revenue_cents, 0.01);
    let f = &d.funnel;
    let (v2c, c2o, o2p) = f.rates();
    println!(
        "  funnel: {} sessions → {} viewed → {} carted ({:.1}%) → {} checkout ({:.1}%) → {} bought ({:.1}%)",
        f.sessions,
        f.viewed,
        f.carted,
        100.0 * v2c,
        f.checkout,
        100.0 * c2o,
        f.purchased,
        100.0 * o2p
    );
    let mix: Vec<String> = d.payments.iter().map(|(m, n)| format!("{m} {n}")).collect();
    println!(
        "  payment mix: {}, abandoned carts {}",
        mix.join(", "),
        d.abandoned_carts
    );
    for (category, s) in &d.sentiment {
        println!(
            "  sentiment {category:<12} +{} ={} -{}",
            s.positive, s.neutral, s.negative
        );
    }
    for p in d.potential_customers.iter().take(5) {
        println!(
            "  potential customer {} on {} for {:.0} s, no purchase",
            p.user_id,
            p.product,
            p.seconds_ms as f64 / 1000.0
        );
    }
}
