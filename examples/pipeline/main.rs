//! The main job, embedded (no servers): real or generated shop traffic through privacy, the
//! security gate and the live analytics, then offline: purchase features, similar visitors
//! (LSH), purchase models with and without differential privacy, SHAP explanations — and a
//! report.
//!
//! ```text
//! cargo run --release --example pipeline -- [--input FILE|- [--format auto|segment|original]]
//!                                            [--out-dir DIR] [--json FILE] [--report FILE.html]
//!                                            [--sessions N] [--users N] [--days N] [--seed N]
//!                                            [--events-out FILE.jsonl] [--keep-raw-dead-letters]
//!                                            [--consent-category NAME]
//!                                            [--ip-visits-per-minute N] [--max-quantity N]
//!                                            [--stream-only] [--threads N]
//!                                            [--checkpoint FILE|redis [--checkpoint-every N]]
//!                                            [--out-segment-mb MB]
//!                                            [--search URL [--search-prefix P]]
//! cargo run --release --features connectors --example pipeline -- --servers
//!                                            [--kafka HOST:PORT] [--redis URL] [--mongodb URL]
//!                                            [--search URL] [--prefix P] [...]
//! ```
//!
//! Input: `--input FILE` reads JSON lines — Segment-spec messages or `{"batch": […]}` (what
//! tracking SDKs send), or the original system's session records — from a file (`.gz`
//! accepted) or standard input (`-`); a segment of a log kept in segments (`serve
//! --keep-raw`'s raw log) is read on through the later ones. `--format auto` (the default)
//! detects each line's shape. Without `--input` the job generates a month of a furniture
//! shop's traffic (with planted bots and abuse, and the ground truth to score against).
//!
//! Privacy by default: ids become keyed pseudonyms (key from `WEBSIGHT_PSEUDONYM_KEY`; a
//! random one per run, with a warning, when unset), IPs are truncated, traits dropped —
//! before anything is stored, written or logged. Dead letters keep a redacted copy unless
//! `--keep-raw-dead-letters`. `--consent-category NAME` names the category websight falls
//! under in the shop's consent tool (`Analytics`, OneTrust's `C0002`, …): an event whose
//! visitor denied it (Segment's and Jitsu's `context.consent.categoryPreferences`,
//! RudderStack's `context.consentManagement.deniedConsentIds`) is withheld, a dead letter of
//! kind `consent` that keeps its message id alone.
//!
//! The security gate rejects, among others, the visits a sender (an IPv4 address, an IPv6
//! /64) starts beyond `--ip-visits-per-minute N` (default 5): raise it for a shop whose
//! visitors share addresses (offices, campuses, a mobile carrier's NAT); the visits already
//! open from the address go on. An event with more than `--max-quantity N` (default
//! 10,000) units of one product is rejected as impossible: raise it for a trade shop.
//!
//! Inputs are read as the flow asks for them, never held whole. `--stream-only` stops after
//! the stream stage (no models, SHAP or LSH) and streams every store to its file (with
//! `--out-dir`) or only counts, so memory stays flat however long the input. Each batch is
//! decoded (and written as the Segment JSON it leaves as) on `--threads N` threads, by
//! default one per core; the rest of the stream runs on one, and with N > 1 the next batch
//! is read and decoded on the others meanwhile.
//!
//! `--checkpoint FILE` (with `--out-dir`; a file or generated input) saves the stream's whole
//! state every `--checkpoint-every N` batches (default 10) with the lengths of the output
//! files. Killed at any moment and started again with the same command, the run continues
//! from the last checkpoint — output files cut back to it, the input skipped to it — and
//! ends with exactly the files and summary of a run that was never interrupted. The
//! checkpoint is removed when the run completes. With `--servers`, `--checkpoint redis`
//! keeps checkpoints in Redis under the run's `--prefix` (which names the run, so give it):
//! the inputs are sent to Kafka once, a resumed run continues its checkpoint's consumer
//! group at its offsets with the gate state in Redis put back as it was.
//!
//! Output: `--out-dir DIR` writes `checked.jsonl`, `dead_letters.jsonl` (with reasons),
//! `documents/<index>.jsonl`, `sessions.jsonl`, `report.html` and `summary.json`; `--json
//! FILE` writes just the summary. With `--out-segment-mb MB` the first four are written as
//! logs in segments of about MB MiB (`checked.jsonl`, then `checked.<offset>.jsonl` named by
//! where each starts; `cat checked.jsonl checked.0*.jsonl` is the whole file), a new one
//! started after the batch that fills the last. The stream stage runs websight's `Flow` on
//! the embedded stores; `--search URL` (feature `elasticsearch`) sends the documents to
//! Elasticsearch/OpenSearch; `--servers` (feature `connectors`) runs everything on real
//! servers (Kafka, Redis, MongoDB, search; URLs from the flags or the `WEBSIGHT_*` variables of
//! `scripts/services.sh env`). Logs go to standard error through `tracing`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use websight::core::analytics::{AnalyticsConfig, ProductCatalogue, TimeSeries};
use websight::core::decode::Format;
use websight::core::enrich::AgentParser;
use websight::core::flow::{Flow, Ingest, Observer};
use websight::core::gate::{DetectionScore, Gate, GateConfig, Outcome};
use websight::core::io::{EventSource, at_path};
use websight::core::privacy::{Privacy, PrivacyConfig};
use websight::core::summary::{Summary, SummaryTally};
use websight::core::synth::{Generator, SynthConfig};
use websight::dp::dashboard::DashboardTally;
use websight::report::{DashboardView, Report};

use indicatif::{ProgressBar, ProgressStyle};

// jemalloc, not glibc's malloc: the stream path allocates per event (1.4x the events/s).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

// jemalloc's settings, read once at start-up (`_RJEM_MALLOC_CONF` still overrides them): an
// arena per CPU, not four per CPU, so what one thread (the offline stage's workers, the
// decoding shares) frees, the next on that CPU reuses. The default run's peak drops from
// 196–201 MB to 184–190 MB at the same speed.
#[cfg(not(target_env = "msvc"))]
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: MallocConf = MallocConf(c"percpu_arena:percpu".as_ptr());

/// jemalloc reads its settings through a `const char *`.
#[cfg(not(target_env = "msvc"))]
#[repr(transparent)]
struct MallocConf(*const std::ffi::c_char);

// SAFETY: the pointer is to a static C string, which nothing writes.
#[cfg(not(target_env = "msvc"))]
unsafe impl Sync for MallocConf {}

#[path = "../common/cli.rs"]
mod cli;
use cli::say;
mod input;
mod offline;
mod show;
mod stream;

pub struct Args {
    config: SynthConfig,
    input: Option<String>,
    format: Format,
    out_dir: Option<PathBuf>,
    json: Option<PathBuf>,
    events_out: Option<String>,
    report: Option<PathBuf>,
    keep_raw: bool,
    consent_category: Option<String>,
    gate: GateConfig,
    stream_only: bool,
    checkpoint: Option<PathBuf>,
    checkpoint_every: u64,
    out_segment_bytes: Option<u64>,
    threads: usize,
    servers: stream::Servers,
    dp: Option<cli::DpRelease>,
}

const USAGE: &str = "usage: pipeline [--input FILE|- [--format auto|segment|original]] [--out-dir DIR] [--json FILE] [--report FILE.html] [--sessions N] [--users N] [--days N] [--seed N] [--events-out FILE] [--keep-raw-dead-letters] [--consent-category NAME] [--ip-visits-per-minute N] [--max-quantity N] [--stream-only] [--threads N] [--checkpoint FILE|redis [--checkpoint-every N]] [--out-segment-mb MB] [--search URL [--search-prefix P]] [--servers [--kafka HOST:PORT] [--redis URL] [--mongodb URL] [--prefix P]] [--dp-epsilon E --dp-budget TOTAL --dp-ledger FILE [--dp-budget-delta D] [--dp-visits-per-person K] [--dp-revenue-cap R]]";

/// Batches between checkpoints, unless `--checkpoint-every`.
const CHECKPOINT_EVERY: u64 = 10;

/// What `--help` answers.
fn help() -> String {
    let help = cli::Help::new(
        USAGE,
        "Shop traffic — a file of Segment messages, or a month of a furniture shop's traffic \
         generated with planted bots and abuse — through privacy, the security gate and the \
         stream analytics, then purchase models, SHAP explanations and similar visitors, into \
         a report. Embedded: no servers needed.",
    )
    .section("Input")
    .flag(
        "--input FILE|-",
        "JSON lines: Segment messages, {\"batch\": [...]} bodies or the original system's \
         session records; - reads standard input, a .gz file is read as is, a segment of \
         serve's raw log is read on through the later ones (default: generated traffic)",
    )
    .flag(
        "--format auto|segment|original",
        "how the lines are read (default auto: each line's shape is recognised)",
    );
    let help = cli::synth_help(help)
        .flag(
            "--events-out FILE",
            "also write the generated messages, as JSON lines (not with --input)",
        )
        .section("Privacy and the gate")
        .flag(
            "--keep-raw-dead-letters",
            "dead letters keep the bytes received, personal data included (default: a redacted \
         copy)",
        )
        .flag(
            "--consent-category NAME",
            "the category websight falls under in the shop's consent tool (Analytics, OneTrust's \
         C0002, ...): events of visitors who denied it are withheld, dead letters of kind \
         consent keeping only their message id",
        );
    let help = cli::gate_help(help)
        .section("Output")
        .flag(
            "--out-dir DIR",
            "write checked.jsonl, dead_letters.jsonl, sessions.jsonl, documents/<index>.jsonl, \
             report.html and summary.json there",
        )
        .flag(
            "--json FILE",
            "write the summary (inputs, checked, rejected, dead letters, duplicates, ...) there",
        )
        .flag(
            "--report FILE.html",
            "where the report goes (default DIR/report.html with --out-dir, else \
             websight-report.html)",
        )
        .flag(
            "--out-segment-mb MB",
            "write the files of --out-dir as logs in segments of about MB MiB (checked.jsonl, \
             then checked.<offset>.jsonl, ...)",
        )
        .flag(
            "--search URL",
            "send the documents to this Elasticsearch/OpenSearch instead of the document \
             files (feature elasticsearch); with --servers, the search server (default \
             WEBSIGHT_SEARCH_URL)",
        )
        .flag(
            "--search-prefix P",
            "the documents' index names start with P",
        )
        .section("Running")
        .flag(
            "--stream-only",
            "stop after the stream stage: no models, SHAP or similar visitors; memory stays \
             flat however long the input",
        )
        .flag(
            "--threads N",
            "threads that decode each batch (default: one per core); the outputs are the same \
             whatever N",
        )
        .flag(
            "--checkpoint FILE|redis",
            "save the stream's state as it goes: killed and started again with the same \
             command, the run ends with the files and summary of one never stopped (FILE \
             needs --out-dir; redis goes with --servers and a --prefix naming the run)",
        )
        .flag(
            "--checkpoint-every N",
            format!("batches between checkpoints (default {CHECKPOINT_EVERY})"),
        )
        .section("Servers");
    let help = cli::ServerFlags::help(
        help,
        "names the run's topics, keys, collections and indexes (default: websight-<unix \
         time>-, fresh for each run)",
    );
    let help = cli::DpFlags::help(help.section("Differential privacy"));
    cli::environment_help(
        help,
        "a random one for this run, with a warning, so pseudonyms differ between runs",
    )
    .done()
}

fn parse_args() -> Result<Args, String> {
    let mut config = SynthConfig::default();
    let (mut input, mut format, mut out_dir, mut json) = (None, Format::Auto, None, None);
    let (mut events_out, mut report, mut keep_raw, mut stream_only) = (None, None, false, false);
    let mut consent_category = None;
    let mut gate = GateConfig::default();
    let (mut checkpoint, mut checkpoint_every) = (None, CHECKPOINT_EVERY);
    let mut out_segment_mb: Option<f64> = None;
    let mut threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut search = None;
    let mut search_prefix = String::new();
    let mut servers = cli::ServerFlags::default();
    let mut dp = cli::DpFlags::default();
    let mut flags = cli::Flags::from_env();
    while let Some(flag) = flags.next() {
        if dp.take(&flag, &mut flags)?
            || servers.take(&flag, &mut flags)?
            || cli::take_gate_flag(&flag, &mut flags, &mut gate)?
            || cli::take_synth_flag(&flag, &mut flags, &mut config)?
        {
            continue;
        }
        match flag.as_str() {
            "--input" => input = Some(flags.value()?),
            "--format" => format = flags.parse()?,
            "--out-dir" => out_dir = Some(PathBuf::from(flags.value()?)),
            "--json" => json = Some(PathBuf::from(flags.file_out()?)),
            "--keep-raw-dead-letters" => keep_raw = true,
            "--consent-category" => consent_category = Some(flags.value()?),
            "--stream-only" => stream_only = true,
            "--threads" => threads = flags.positive("threads")?,
            "--checkpoint" => checkpoint = Some(PathBuf::from(flags.value()?)),
            "--checkpoint-every" => checkpoint_every = flags.parse()?,
            "--out-segment-mb" => out_segment_mb = Some(flags.parse()?),
            "--events-out" => events_out = Some(flags.value()?),
            "--report" => report = Some(PathBuf::from(flags.file_out()?)),
            "--search" => search = Some(flags.value()?),
            "--search-prefix" => search_prefix = flags.value()?,
            "-h" | "--help" => return Err(help()),
            other => return Err(format!("unknown flag {other:?} (try --help)")),
        }
    }
    let prefix_given = servers.prefix_given();
    // A fresh name space per run unless told otherwise: topics and offsets persist.
    let fresh = || {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(format!("websight-{now}-"))
    };
    let servers = match servers.check(search.clone(), fresh)? {
        Some(servers) => servers,
        // Embedded, or embedded with the documents on a search server.
        None => stream::Servers {
            search,
            prefix: search_prefix,
            ..stream::Servers::default()
        },
    };
    if out_segment_mb.is_some() && out_dir.is_none() {
        return Err("--out-segment-mb splits the files of --out-dir: give one".into());
    }
    if input.is_some() && events_out.is_some() {
        return Err("--events-out writes generated traffic; it does not go with --input".into());
    }
    if let Some(path) = &checkpoint {
        let redis = path.as_os_str() == "redis";
        match () {
            _ if servers.is_embedded() && out_dir.is_some() && !redis => {}
            _ if servers.kafka.is_some() && redis && prefix_given => {}
            _ => return Err("--checkpoint FILE needs --out-dir and the embedded stores (files it can rewind); --checkpoint redis goes with --servers and a --prefix naming the run".into()),
        }
        if events_out.is_some() || input.as_deref() == Some("-") {
            return Err("--checkpoint needs an input it can read again: a file or the generator, without --events-out".into());
        }
    }
    Ok(Args {
        config,
        input,
        format,
        out_dir,
        json,
        events_out,
        report,
        keep_raw,
        consent_category,
        gate,
        stream_only,
        checkpoint,
        checkpoint_every,
        out_segment_bytes: out_segment_mb
            .map(|mb| cli::mebibytes("--out-segment-mb", mb))
            .transpose()?,
        threads,
        servers,
        dp: dp.check(&AnalyticsConfig::default().currency)?,
    })
}

fn main() -> ExitCode {
    // glibc raises its mmap threshold after large frees, so later large buffers (a tree's
    // sorted feature indices, a bootstrap copy) come from arenas that keep the memory: a
    // fixed threshold hands every large buffer back to the OS when it is freed.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's settings; called before any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
    cli::log_to_stderr();
    cli::main_with(parse_args, run)
}

/// The traffic to stream: its lines as a source, the catalogue known up front, and
/// (generated traffic only) the ground truth of each line.
pub struct Traffic<'g> {
    pub source: Box<dyn EventSource + 'g>,
    pub catalogue: ProductCatalogue,
    pub truth: Option<Arc<Mutex<input::Truth>>>,
    pub title: String,
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let s = &args.servers;
    // Ready by the first event: they compile on the other core while the traffic is made
    // (or the first batch read).
    let _ = AgentParser::prepare_in_background();
    let mode = match (&s.kafka, &s.redis, &s.mongodb, &s.search) {
        (None, None, None, None) => "embedded".to_owned(),
        (None, None, None, Some(url)) => format!("embedded, documents to {url}"),
        (Some(k), Some(r), Some(m), Some(url)) => {
            format!("servers: Kafka {k}, Redis {r}, MongoDB {m}, search {url}")
        }
        _ => unreachable!("the flags name no store or all of them"),
    };
    let generator = (args.input.is_none())
        .then(|| Generator::new(args.config.clone()))
        .transpose()?;
    let traffic = match (&generator, &args.input) {
        (Some(generator), _) => input::generate(generator, args.events_out.as_deref())?,
        (None, Some(path)) => input::read(path)?,
        (None, None) => unreachable!("traffic is generated when none is given"),
    };
    say!("websight pipeline ({mode}) — {}", traffic.title);
    if let Some(generator) = &generator {
        input::show_planted(generator);
    }

    let privacy = Privacy::new(PrivacyConfig {
        keep_raw_dead_letters: args.keep_raw,
        consent_category: args.consent_category.clone(),
        ..PrivacyConfig::default()
    })?;
    let ingest = Ingest::new(privacy)
        .format(args.format)
        .threads(args.threads);

    let started = Instant::now();
    let mut watch = Watch {
        truth: traffic.truth.clone(),
        detection: DetectionScore::default(),
        tally: DocumentTally::default(),
        bar: progress("streaming events"),
    };
    let series = TimeSeries::new(&AnalyticsConfig::default().currency);
    let dp_tally = match &args.dp {
        Some(dp) => Some(DashboardTally::new(dp.bounds.clone())?),
        None => None,
    };
    let mut observer = (&mut watch, (SummaryTally::default(), (series, dp_tally)));
    // The offline stage's input, collected as the stored visits are read back (its LSH
    // set-up only when there is an offline stage).
    let catalogue = traffic.catalogue.clone();
    let mut collected = (!args.stream_only).then(|| offline::Collected::new(&catalogue));
    let (outcome, read_back) = stream::run(
        traffic.source,
        traffic.catalogue,
        ingest,
        Gate::new(args.gate.clone())?,
        &stream::TopologyOptions {
            servers: args.servers.clone(),
            out_dir: args.out_dir.clone(),
            keep_sessions: !args.stream_only,
            checkpoint: args
                .checkpoint
                .as_ref()
                .map(|path| (path.clone(), args.checkpoint_every)),
            input: traffic.title.clone(),
            segment_bytes: args.out_segment_bytes,
        },
        &mut observer,
        |visit| {
            if let Some(collected) = &mut collected {
                collected.add(visit);
            }
        },
    )?;
    let (watch, (tally, (series, dp_tally))) = observer;
    watch.bar.finish_and_clear();
    // The stream stage's own time: reading the visits back is the offline stage's input.
    let secs = started.elapsed().as_secs_f64() - read_back.as_ref().map_or(0.0, |r| r.seconds);
    let f = outcome.counts;
    tracing::info!(messages = f.inputs, seconds = secs, "stream stage done");
    if let Some(truth) = &traffic.truth {
        let t = truth.lock().expect("the truth lock is never poisoned");
        say!(
            "  tracker messages    {:>10}  ({} behind the newest, {} very late, peak {} in flight)",
            t.messages,
            t.behind,
            t.very_late,
            t.peak_in_flight
        );
        if let Some(path) = &args.events_out {
            say!("  written to {path}");
        }
    }
    say!(
        "\nStream ({:.2} s, {:.0} messages/s): {} messages",
        secs,
        f.inputs as f64 / secs,
        f.inputs
    );
    let summary = tally.summary(&f, &outcome.gate, &outcome.analytics);
    show::gate(&outcome, &summary);
    if traffic.truth.is_some() {
        let d = &watch.detection;
        let (tp, fp, fn_, _) = d.confusion();
        say!(
            "  detection vs planted labels: precision {:.3}, recall {:.3} ({tp} caught, {fp} false alarms, {fn_} missed sessions)",
            d.precision(),
            d.recall()
        );
    }
    show::dashboard(&outcome.analytics, &watch.tally.windows);
    show::documents(&outcome, &watch.tally, read_back.as_ref())?;

    let mut report = Report::new("websight — shop report");
    report.subtitle = format!(
        "{}, analysed by websight {}",
        traffic.title,
        env!("CARGO_PKG_VERSION")
    );
    report.dashboard = DashboardView::of(&outcome.analytics, &series, &outcome.gate);
    if traffic.truth.is_some() {
        report.dashboard.gate.precision = watch.detection.precision();
        report.dashboard.gate.recall = watch.detection.recall();
    }
    if let (Some(dp), Some(tally)) = (&args.dp, &dp_tally) {
        // A budget that cannot pay is said, as for the private models, not a failed run.
        match dp.publish(tally, args.out_dir.as_deref()) {
            Ok(released) => report.private_dashboard = Some(released),
            Err(e @ websight::dp::DpError::BudgetExceeded { .. }) => {
                say!("DP dashboard not released: {e}");
            }
            Err(e) => return Err(e.into()),
        }
    }
    // The stream's state has been reported: the offline stage gets the memory back.
    drop((outcome, dp_tally, series));
    match read_back.and(collected) {
        Some(collected) => offline::run(
            &mut report,
            collected,
            &catalogue,
            args.config.seed,
            args.dp.as_ref().map(|dp| &dp.ledger),
        )?,
        None => say!("\nOffline stage skipped (--stream-only)"),
    }
    // The report shows the budget as it is now, after the private models' charge too.
    if let (Some(dp), Some(shown)) = (&args.dp, &mut report.private_dashboard) {
        shown.budget_left = dp.ledger.remaining()?;
    }

    let report_path = args.report.clone().or_else(|| {
        Some(match &args.out_dir {
            Some(dir) => dir.join("report.html"),
            None => PathBuf::from("websight-report.html"),
        })
    });
    if let Some(path) = report_path {
        std::fs::write(&path, report.to_html()).map_err(at_path(&path))?;
        say!("\nReport written to {}", path.display());
    }
    write_summary(&summary, &args)?;
    if !summary.conserved {
        return Err("inputs = checked + rejected + dead letters + duplicates does not hold".into());
    }
    Ok(())
}

fn write_summary(summary: &Summary, args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let text = serde_json::to_string_pretty(summary)? + "\n";
    let mut paths = Vec::new();
    if let Some(dir) = &args.out_dir {
        paths.push(dir.join("summary.json"));
    }
    paths.extend(args.json.clone());
    for path in paths {
        std::fs::write(&path, &text).map_err(at_path(&path))?;
        say!("Summary written to {}", path.display());
    }
    Ok(())
}

/// A progress counter on standard error (hidden when it is not a terminal): the input's
/// length is not known before it has been read.
fn progress(what: &'static str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:>20} {human_pos} ({per_sec})")
            .expect("a valid template"),
    );
    bar.set_message(what);
    bar
}

/// Follows the flow: detection against the planted labels (generated traffic: one message
/// per line, so the next outcome is the next line's), the documents, progress.
pub struct Watch {
    truth: Option<Arc<Mutex<input::Truth>>>,
    detection: DetectionScore,
    pub tally: DocumentTally,
    bar: ProgressBar,
}

impl Observer for &mut Watch {
    fn outcome(&mut self, outcome: &Outcome) {
        let Some(line) = self
            .truth
            .as_ref()
            .and_then(|t| t.lock().expect("the truth lock is never poisoned").next())
        else {
            return;
        };
        let rejected = match outcome {
            Outcome::Valid(_) => Some(false),
            Outcome::Rejected { .. } => Some(true),
            _ => None,
        };
        if let Some(rejected) = rejected {
            self.detection.record(&line.session, line.abuse, rejected);
        }
        if line.last {
            self.detection.end(&line.session);
        }
    }

    fn documents(&mut self, docs: &websight::core::analytics::Documents) {
        self.tally.add(docs);
    }

    /// The bar moves once a batch: a tick per event cost as much as the tally.
    fn progress(&mut self, flow: &Flow) {
        self.bar.set_position(flow.counts().inputs);
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({ "detection": self.detection, "tally": self.tally })
    }

    fn restore(&mut self, mut snapshot: serde_json::Value) -> websight::core::Result<()> {
        self.detection = serde_json::from_value(snapshot["detection"].take())?;
        self.tally = serde_json::from_value(snapshot["tally"].take())?;
        Ok(())
    }
}

/// Counts of the documents the analytics emitted, and the KPI windows for the dashboard.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct DocumentTally {
    pub sessions: usize,
    pub products: usize,
    pub sentiments: usize,
    pub late: usize,
    /// Events in the closed visits.
    pub visit_events: u64,
    pub windows: Vec<websight::core::analytics::KpiWindow>,
}

impl DocumentTally {
    fn add(&mut self, docs: &websight::core::analytics::Documents) {
        self.sessions += docs.sessions.len();
        self.products += docs.products.len();
        self.sentiments += docs.sentiments.len();
        self.late += docs.late.len();
        self.visit_events += docs
            .visits
            .iter()
            .map(|v| v.events.len() as u64)
            .sum::<u64>();
        self.windows.extend(docs.windows.iter().cloned());
    }
}
