//! The collector and live dashboard: tracking SDKs send to it, a shop owner keeps its page
//! open.
//!
//! ```text
//! cargo run --release --features collector --example serve -- --listen 127.0.0.1:8080
//!     [--write-key KEY] [--out-dir DIR] [--idle-seconds N] [--checkpoint-every N]
//!     [--checkpoint-share F] [--rate MESSAGES_PER_SECOND] [--max-request-bytes N] [--queue N]
//!     [--publish-ms N] [--lateness SECONDS] [--raw-segment-mb MB] [--keep-raw]
//!     [--out-segment-mb MB] [--consent-category NAME] [--ip-visits-per-minute N] [--max-quantity N]
//!     [--trusted-proxy ADDRESS[/BITS]]... [--asset ROUTE=FILE]...
//!     [--dp-epsilon E --dp-budget TOTAL --dp-ledger FILE [--dp-budget-delta D]
//!     [--dp-visits-per-person K] [--dp-revenue-cap R] [--dp-every SECONDS]]
//! cargo run --release --features collector,connectors --example serve -- --listen 127.0.0.1:8080
//!     --servers --prefix P [--kafka HOST:PORT] [--redis URL] [--mongodb URL] [--search URL] [...]
//! ```
//!
//! Point an SDK's host at it (`new Analytics({ writeKey, host: "http://127.0.0.1:8080" })`
//! for `@segment/analytics-node`; `new Analytics(writeKey, { dataPlaneUrl:
//! "http://127.0.0.1:8080" })` for `@rudderstack/rudder-sdk-node`; `apiHost:
//! "127.0.0.1:8080/v1", protocol: "http"` in the Segment.io settings of
//! `@segment/analytics-next`) and open `http://127.0.0.1:8080/`. Behind a reverse proxy
//! (TLS is its job), name it with `--trusted-proxy ADDRESS[/BITS]` (repeatable): its
//! `X-Forwarded-For` then gives each visitor's address, for the rate limit and
//! `context.ip`; without it every visitor would be the proxy. `--asset ROUTE=FILE`
//! (repeatable) serves a file at ROUTE: a snippet that must come from the collector's own
//! origin, as Jitsu's script tag does (`--asset
//! /p.js=node_modules/@jitsu/js/dist/web/p.js.txt`, then `<script async
//! src="https://HOST/p.js" data-write-key="KEY">`).
//!
//! Every accepted request is first fsynced to the raw log `DIR/raw.jsonl` (default
//! `websight-serve`), then answered; websight's `Flow` reads that log as it grows —
//! privacy, gate, stream analytics — into the same files `pipeline --out-dir` writes, and
//! keeps the live page current (a batch is decoded on up to one thread per core, at least
//! 256 lines each). On SIGINT or SIGTERM it stops accepting, drains, checkpoints, and writes
//! `summary.json` and `report.html`; started again on the same directory it continues from
//! the checkpoint (open visits included) without counting anything twice. Pseudonyms use
//! `WEBSIGHT_PSEUDONYM_KEY`, else a key kept in `DIR/pseudonym.key`. `--consent-category
//! NAME` withholds the events of visitors who denied that category in the shop's consent
//! tool, and `--ip-visits-per-minute N` (default 5) is how many visits one sender (an IPv4
//! address, an IPv6 /64) may start a minute before the gate rejects the next, and
//! `--max-quantity N` (default 10,000) the most units of one product in one event (as
//! `pipeline`'s flags do).
//!
//! The raw log holds what the SDKs sent, personal data included, so it is kept only until
//! it is processed: it is written in segments of `--raw-segment-mb` (default 64;
//! `raw.jsonl`, then `raw.<offset>.jsonl`), and once a checkpoint covers a whole segment the
//! segment is removed. At most the segment being written and what the flow has not yet
//! checkpointed stay on disk. `--keep-raw` keeps every segment.
//!
//! The outputs (`checked.jsonl`, `dead_letters.jsonl`, `sessions.jsonl` and
//! `documents/<index>.jsonl`) are logs in segments too, of `--out-segment-mb` (default 64):
//! `checked.jsonl`, then `checked.<offset>.jsonl`, a new one started after the batch that
//! fills the last. They are the product, so they are never removed; a restart cuts back only
//! the segment the checkpoint's length falls in (usually the last or the one before), so
//! the segments before it can be archived or deleted while `serve` runs.
//!
//! With `--servers` (features `collector` and `connectors`) the raw log is the Kafka raw
//! topic (`acks=all`, idempotent producer: a request is answered once every broker in sync
//! has it), the gate state and checkpoints are in Redis, visits in MongoDB and documents in
//! Elasticsearch/OpenSearch, all named by `--prefix` (which names the deployment: give the
//! same one on a restart). `--out-dir` then holds only `summary.json`, `report.html` and the
//! pseudonym key. Server URLs come from the flags or the `WEBSIGHT_*` variables of
//! `scripts/services.sh env`.
//!
//! With `--dp-epsilon`, the report written at shutdown also holds the dashboard's visitors,
//! visits, orders and revenue per day and per channel released with differential privacy
//! (ε per person, charged first to the persisted budget of `--dp-ledger`), with their 95 %
//! error bars and the budget left; `DIR/dp_dashboard.json` holds the same figures.
//! `--dp-every SECONDS` releases it while `serve` runs instead, every SECONDS since the last
//! release the ledger holds (at the first batch or quiet tick after; a restart keeps the
//! rhythm), replacing `dp_dashboard.json` each time, and at shutdown only if one is due (or
//! none was ever made): restarts cost no releases of their own. Every release is charged ε,
//! so a budget of B pays for B/ε of them; once the ledger refuses one, none is tried again,
//! and the report shows the last one made.
//!
//! Event time moves with the wall clock once the site has been quiet for `--idle-seconds`
//! (default 5), so visits close on a quiet site. `--lateness` (default 1800 s) is how far
//! behind the newest events one may still arrive: raise it for a backfill sent out of
//! order (SDK retries reorder batches); a restart must keep it, since the checkpoint
//! refuses other settings.
//!
//! A checkpoint (`DIR/checkpoint.json.zst`: zstd-compressed JSON) is due every
//! `--checkpoint-every` flow batches (default 20) but takes at most `--checkpoint-share` of
//! the flow's time (default 0.1): it holds every open visit and recent message id, so under
//! heavy traffic it takes long, and the next waits nine times as long (at 0.1). A restart
//! replays the raw log from the last one.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use websight::connectors::collector::{
    Board, BoardUpdate, Closing, Collector, CollectorParams, DEFAULT_SEGMENT_BYTES, FileRawLog,
    RawLog, RawLogSource,
};
use websight::connectors::topology::{Input, Servers, Topology, TopologyOptions};
use websight::core::analytics::{AnalyticsConfig, ProductCatalogue, StreamAnalytics};
use websight::core::enrich::AgentParser;
use websight::core::flow::{Flow, Ingest};
use websight::core::gate::{Gate, GateConfig};
use websight::core::io::{EventSink, at_path};
use websight::core::privacy::{Privacy, PrivacyConfig};
use websight::dp::dashboard::{DashboardTally, ScheduledRelease};
use websight::live::LiveObserver;
use websight::report::{DashboardView, Report, live_page};

// jemalloc, not glibc's malloc: the stream path allocates per event (1.4x the events/s).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[path = "common/cli.rs"]
mod cli;
use cli::say;

struct Args {
    listen: SocketAddr,
    out_dir: PathBuf,
    collector: CollectorParams,
    idle: Duration,
    checkpoint_every: u64,
    checkpoint_share: f64,
    publish: Duration,
    lateness: i64,
    servers: Option<Servers>,
    dp: Option<cli::DpRelease>,
    dp_every: Option<Duration>,
    raw_segment_bytes: u64,
    out_segment_bytes: u64,
    keep_raw: bool,
    consent_category: Option<String>,
    gate: GateConfig,
}

const USAGE: &str = "usage: serve --listen HOST:PORT [--write-key KEY] [--out-dir DIR] [--idle-seconds N] [--checkpoint-every N] [--checkpoint-share F] [--rate MESSAGES_PER_SECOND] [--max-request-bytes N] [--queue N] [--publish-ms N] [--lateness SECONDS] [--raw-segment-mb MB] [--keep-raw] [--out-segment-mb MB] [--consent-category NAME] [--ip-visits-per-minute N] [--max-quantity N] [--trusted-proxy ADDRESS[/BITS]]... [--asset ROUTE=FILE]... [--servers --prefix P [--kafka HOST:PORT] [--redis URL] [--mongodb URL] [--search URL]] [--dp-epsilon E --dp-budget TOTAL --dp-ledger FILE [--dp-budget-delta D] [--dp-visits-per-person K] [--dp-revenue-cap R] [--dp-every SECONDS]]";

/// Seconds of quiet before event time follows the wall clock, unless `--idle-seconds`.
const IDLE_SECONDS: u64 = 5;
/// Flow batches between checkpoints, unless `--checkpoint-every`.
const CHECKPOINT_EVERY: u64 = 20;
/// The most of the flow's time checkpoints take, unless `--checkpoint-share`.
const CHECKPOINT_SHARE: f64 = 0.1;
/// Milliseconds between the live board's updates, unless `--publish-ms`.
const PUBLISH_MS: u64 = 250;

/// What `--help` answers.
fn help() -> String {
    let lateness = AnalyticsConfig::default().sessions.allowed_lateness_seconds;
    let mb = DEFAULT_SEGMENT_BYTES >> 20;
    let defaults = CollectorParams::default()
        .check()
        .expect("the defaults are valid");
    let help = cli::Help::new(
        USAGE,
        "The collector for tracking SDKs (Segment's HTTP Tracking API: /v1/batch, /v1/track, \
         ...) and the live dashboard at /. Each request is fsynced to the raw log before it \
         is answered; the flow reads the log into the files pipeline --out-dir writes. \
         SIGINT or SIGTERM drains and checkpoints; a restart on the same directory goes on \
         where it stopped.",
    )
    .section("Collecting")
    .flag(
        "--listen HOST:PORT",
        "where to listen (required); behind a reverse proxy, 127.0.0.1",
    )
    .flag(
        "--write-key KEY",
        "accept only requests with this write key (default: any)",
    )
    .flag(
        "--rate MESSAGES_PER_SECOND",
        format!(
            "messages one address may send a second before it is answered 429 (bursts of \
             twice that; default {})",
            defaults.rate().0
        ),
    )
    .flag(
        "--max-request-bytes N",
        format!(
            "the largest request body, decompressed (default {}, Segment's limit)",
            defaults.max_request_bytes()
        ),
    )
    .flag(
        "--queue N",
        format!(
            "requests that may wait for the raw log before 503 (default {})",
            defaults.queue()
        ),
    )
    .flag(
        "--trusted-proxy ADDRESS[/BITS]",
        "repeatable: the reverse proxy whose X-Forwarded-For gives each visitor's address, \
         for the rate limit and the gate (without it every visitor would be the proxy)",
    )
    .flag(
        "--asset ROUTE=FILE",
        "repeatable: serve FILE at ROUTE, e.g. Jitsu's script tag, which must come from the \
         collector's own origin (/p.js=node_modules/@jitsu/js/dist/web/p.js.txt)",
    )
    .section("Files")
    .flag(
        "--out-dir DIR",
        "the raw log, outputs, checkpoint, pseudonym key, summary.json and report.html \
         (default websight-serve)",
    )
    .flag(
        "--raw-segment-mb MB",
        format!("the raw log's segments, each removed once a checkpoint covers it (default {mb})"),
    )
    .flag(
        "--keep-raw",
        "keep every segment of the raw log (it holds what the SDKs sent, personal data \
         included)",
    )
    .flag(
        "--out-segment-mb MB",
        format!(
            "the output files' segments, never removed: archive them as serve runs (default \
             {mb})"
        ),
    )
    .section("The flow")
    .flag(
        "--consent-category NAME",
        "the category websight falls under in the shop's consent tool: events of visitors \
         who denied it are withheld (dead letters of kind consent)",
    );
    let help = cli::gate_help(help)
        .flag(
            "--lateness SECONDS",
            format!(
                "how far behind the newest events one may still arrive (default {lateness}); a \
                 restart must keep it"
            ),
        )
        .flag(
            "--idle-seconds N",
            format!(
                "quiet seconds after which event time follows the wall clock, so visits close on a \
             quiet site (default {IDLE_SECONDS})"
            ),
        )
        .flag(
            "--publish-ms N",
            format!("milliseconds between the live dashboard's updates (default {PUBLISH_MS})"),
        )
        .flag(
            "--checkpoint-every N",
            format!("flow batches between checkpoints (default {CHECKPOINT_EVERY})"),
        )
        .flag(
            "--checkpoint-share F",
            format!(
                "the most of the flow's time checkpoints may take (default {CHECKPOINT_SHARE})"
            ),
        )
        .section("Servers");
    let help = cli::ServerFlags::help(
        help,
        "names the deployment's topics, keys, collections and indexes (required with \
         --servers: give the same one on a restart)",
    )
    .flag(
        "--search URL",
        "the Elasticsearch/OpenSearch server of --servers (default WEBSIGHT_SEARCH_URL)",
    );
    let help = cli::DpFlags::help(help.section("Differential privacy")).flag(
        "--dp-every SECONDS",
        "release while serve runs, every SECONDS (default: once, at shutdown)",
    );
    cli::environment_help(help, "one kept in DIR/pseudonym.key").done()
}

fn parse_args() -> Result<Args, String> {
    let mut listen = None;
    let mut out_dir = PathBuf::from("websight-serve");
    let mut collector = CollectorParams::default();
    let (mut idle, mut checkpoint_every) = (IDLE_SECONDS, CHECKPOINT_EVERY);
    let (mut publish, mut checkpoint_share) = (PUBLISH_MS, CHECKPOINT_SHARE);
    let mut lateness = AnalyticsConfig::default().sessions.allowed_lateness_seconds as u64;
    let mut search = None;
    let (mut raw_segment_mb, mut out_segment_mb): (Option<f64>, Option<f64>) = (None, None);
    let mut keep_raw = false;
    let mut consent_category = None;
    let mut gate = GateConfig::default();
    let mut dp_every = None;
    let mut proxies = Vec::new();
    let mut servers = cli::ServerFlags::default();
    let mut dp = cli::DpFlags::default();
    let mut flags = cli::Flags::from_env();
    while let Some(flag) = flags.next() {
        if dp.take(&flag, &mut flags)?
            || servers.take(&flag, &mut flags)?
            || cli::take_gate_flag(&flag, &mut flags, &mut gate)?
        {
            continue;
        }
        match flag.as_str() {
            "--listen" => listen = Some(flags.parse()?),
            "--write-key" => collector = collector.write_key(flags.value()?),
            "--out-dir" => out_dir = PathBuf::from(flags.value()?),
            "--idle-seconds" => idle = flags.parse()?,
            "--checkpoint-every" => checkpoint_every = flags.parse()?,
            "--checkpoint-share" => checkpoint_share = flags.parse()?,
            "--publish-ms" => publish = flags.parse()?,
            "--lateness" => lateness = flags.parse()?,
            "--search" => search = Some(flags.value()?),
            "--raw-segment-mb" => raw_segment_mb = Some(flags.parse()?),
            "--keep-raw" => keep_raw = true,
            "--consent-category" => consent_category = Some(flags.value()?),
            "--dp-every" => dp_every = Some(flags.parse::<f64>()?),
            "--out-segment-mb" => out_segment_mb = Some(flags.parse()?),
            "--rate" => {
                let rate: u64 = flags.parse()?;
                collector = collector.rate(rate as f64, 2.0 * rate as f64);
            }
            "--max-request-bytes" => collector = collector.max_request_bytes(flags.parse()?),
            "--trusted-proxy" => proxies.push(flags.parse()?),
            "--asset" => {
                let given = flags.value()?;
                let (route, file) = given
                    .split_once('=')
                    .ok_or(format!("--asset {given:?}: ROUTE=FILE, e.g. /p.js=p.js"))?;
                let body = std::fs::read(file).map_err(|e| format!("--asset {file:?}: {e}"))?;
                collector = collector.asset(route, body);
            }
            "--queue" => collector = collector.queue(flags.parse()?),
            "-h" | "--help" => return Err(help()),
            other => return Err(format!("unknown flag {other:?} (try --help)")),
        }
    }
    let collector = collector.trusted_proxies(proxies);
    if servers.given() && (raw_segment_mb.is_some() || keep_raw) {
        return Err(
            "--raw-segment-mb and --keep-raw are for the raw log file: with --servers the raw log is the Kafka topic, under its retention"
                .into(),
        );
    }
    if servers.given() && out_segment_mb.is_some() {
        return Err(
            "--out-segment-mb is for the output files: with --servers the outputs are on the servers"
                .into(),
        );
    }
    let searched = search.is_some();
    let servers = servers.check(search, || {
        Err("--servers needs --prefix naming the deployment".into())
    })?;
    if searched && servers.is_none() {
        return Err("--search goes with --servers".into());
    }
    let size = |flag: &str, mb: Option<f64>| {
        mb.map_or(Ok(DEFAULT_SEGMENT_BYTES), |mb| cli::mebibytes(flag, mb))
    };
    let raw_segment_bytes = size("--raw-segment-mb", raw_segment_mb)?;
    let out_segment_bytes = size("--out-segment-mb", out_segment_mb)?;
    if !(checkpoint_share > 0.0 && checkpoint_share <= 1.0) {
        return Err("--checkpoint-share is a share of the time: above 0, at most 1".into());
    }
    let dp = dp.check(&AnalyticsConfig::default().currency)?;
    let dp_every = match dp_every {
        None => None,
        Some(_) if dp.is_none() => return Err("--dp-every goes with --dp-epsilon".into()),
        Some(s) if s > 0.0 && s <= 1e9 => Some(Duration::from_secs_f64(s)),
        Some(_) => return Err("--dp-every is a period in seconds: above 0".into()),
    };
    Ok(Args {
        listen: listen.ok_or(format!("--listen is required\n{USAGE}"))?,
        servers,
        out_dir,
        collector,
        idle: Duration::from_secs(idle.max(1)),
        checkpoint_every: checkpoint_every.max(1),
        checkpoint_share,
        publish: Duration::from_millis(publish),
        lateness: i64::try_from(lateness).map_err(|_| "--lateness is too large")?,
        dp,
        dp_every,
        raw_segment_bytes,
        out_segment_bytes,
        keep_raw,
        consent_category,
        gate,
    })
}

fn main() -> std::process::ExitCode {
    cli::log_to_stderr();
    // Whoever reads its output may go first (`serve | tee log`, Ctrl-C): it still drains.
    cli::outlive_stdout();
    cli::main_with(parse_args, |args| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?
            .block_on(run(args))
    })
}

const TITLE: &str = "websight — live";

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler can be installed");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down: no new requests, draining");
}

fn update(summary: &websight::core::summary::Summary, view: &DashboardView) -> BoardUpdate {
    BoardUpdate {
        page: live_page(TITLE, view),
        stats: serde_json::to_string(summary).unwrap_or_default(),
        dashboard: serde_json::to_string(view).unwrap_or_default(),
        fragment: view.to_html(),
        updated: format!("{} messages, {} visits", summary.inputs, summary.sessions),
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    // Ready before the first request: they compile while the stores open.
    let _ = AgentParser::prepare_in_background();
    std::fs::create_dir_all(&args.out_dir).map_err(at_path(&args.out_dir))?;
    let privacy = PrivacyConfig {
        consent_category: args.consent_category.clone(),
        ..PrivacyConfig::default()
    }
    .with_key_file(&args.out_dir.join("pseudonym.key"))?;
    // Decoding spreads over the cores (batches of a few hundred lines and more).
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let ingest = Ingest::new(Privacy::new(privacy)?).threads(cores);
    let collector_config = args.collector.check()?;
    let closing = Closing::default();
    // The raw log (a file, or the Kafka raw topic) and the flow's input: the same log.
    let (sink, input, options, where_): (Box<dyn EventSink>, Input<'_>, TopologyOptions, String) =
        match &args.servers {
            None => {
                let raw = args.out_dir.join("raw.jsonl");
                let checkpoint = args.out_dir.join("checkpoint.json.zst");
                // Collectors before 2026-12 kept it as plain JSON: read as it is, replaced by
                // the next checkpoint.
                let plain = args.out_dir.join("checkpoint.json");
                if !checkpoint.exists() && plain.exists() {
                    std::fs::rename(&plain, &checkpoint)?;
                }
                let options = TopologyOptions {
                    out_dir: Some(args.out_dir.clone()),
                    checkpoint: Some((checkpoint, args.checkpoint_every)),
                    input: format!("the raw log {}", raw.display()),
                    segment_bytes: Some(args.out_segment_bytes),
                    ..TopologyOptions::default()
                };
                let source = RawLogSource::new(&raw, closing.clone()).keep_processed(args.keep_raw);
                let sink = Box::new(FileRawLog::open(&raw)?.segment_bytes(args.raw_segment_bytes));
                (
                    sink,
                    Input::Source(Box::new(source)),
                    options,
                    raw.display().to_string(),
                )
            }
            Some(s) => servers_raw_log(s, args.checkpoint_every, &closing).await?,
        };
    let (log, writer) = RawLog::spawn(sink, collector_config.queue());
    let collector = Collector::new(collector_config, log);
    let board = Board::new(update(&Default::default(), &DashboardView::default()));

    // The flow follows the raw log from the last checkpoint.
    let topology = Topology::open(input, &options).await?;
    let mut config = AnalyticsConfig::default();
    config.sessions.allowed_lateness_seconds = args.lateness;
    let flow = Flow::new(
        ingest,
        Gate::new(args.gate.clone())?,
        StreamAnalytics::new(config.clone(), ProductCatalogue::default())?,
    )
    .live(args.idle)
    .checkpoint_share(args.checkpoint_share);
    let publisher = board.clone();
    let every = args.publish;
    let dp_tally = match &args.dp {
        Some(dp) => {
            let (release, dir) = (dp.clone(), args.out_dir.clone());
            Some(ScheduledRelease::new(
                DashboardTally::new(dp.bounds.clone())?,
                dp.epsilon,
                dp.ledger.clone(),
                args.dp_every,
                move |tally, released| {
                    let failed = match released {
                        Ok(dp) => release
                            .announce(dp, tally, Some(&dir))
                            .err()
                            .map(|e| e.to_string()),
                        Err(e) => Some(e.to_string()),
                    };
                    if let Some(e) = failed {
                        tracing::warn!("DP dashboard not released: {e}");
                    }
                },
            )?)
        }
        None => None,
    };
    // The flow gets a thread of its own: a batch is long CPU work, and on the request
    // handlers' workers it would hold their answers back; the OS shares the cores fairly.
    let flow_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let streaming = std::thread::spawn(move || {
        let live = LiveObserver::new(&config.currency, every, move |summary, view| {
            publisher.publish(update(summary, view));
        });
        let mut observer = (live, dp_tally);
        let outcome = flow_runtime.block_on(topology.run(flow, &mut observer));
        (outcome, observer)
    });

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("--listen {}: {e}", args.listen))?;
    say!(
        "websight serve: listening on http://{} — raw log {where_}",
        listener.local_addr()?,
    );
    let app = collector
        .clone()
        .router(board.clone())
        .into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown({
            let board = board.clone();
            // Open live pages would hold the shutdown forever: their streams end.
            async move {
                shutdown_signal().await;
                board.close()
            }
        })
        .await?;

    // Stopped accepting: the raw log takes what is queued, the flow reads it to the end.
    say!("collector: {}", collector.stats().to_json());
    drop(collector);
    writer.await?;
    closing.close();
    let (outcome, (live, mut dp_tally)) = tokio::task::spawn_blocking(move || streaming.join())
        .await?
        .map_err(|_| "the flow's thread panicked")?;
    let outcome = outcome?;
    let (summary, view) = live.view(&outcome.counts, &outcome.gate, &outcome.analytics);
    board.publish(update(&summary, &view));
    let path = args.out_dir.join("summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary)? + "\n")
        .map_err(at_path(&path))?;
    let mut report = Report::new("websight — shop report");
    report.subtitle = format!("collected by websight serve {}", env!("CARGO_PKG_VERSION"));
    report.dashboard = view;
    if let Some(dp) = &mut dp_tally {
        // With a schedule, a release only if one is due; otherwise (or refused) the report
        // shows the last one made, by this process or, from its file, by an earlier one.
        report.private_dashboard = dp
            .finish()
            .or_else(|| cli::DpRelease::published(&args.out_dir));
    }
    let path = args.out_dir.join("report.html");
    std::fs::write(&path, report.to_html()).map_err(at_path(&path))?;
    let f = outcome.counts;
    say!(
        "stream: {} messages ({} checked, {} rejected, {} dead letters, {} duplicates, {} late); conserved: {}",
        f.inputs,
        f.checked,
        f.rejected,
        f.dead_letters,
        f.duplicates,
        f.late,
        f.is_conserved()
    );
    say!("Summary written to {}", path.display());
    Ok(())
}

/// The Kafka raw topic as the raw log, and the stores on the servers.
#[cfg(feature = "connectors")]
async fn servers_raw_log(
    s: &Servers,
    every: u64,
    closing: &Closing,
) -> Result<(Box<dyn EventSink>, Input<'static>, TopologyOptions, String), Box<dyn std::error::Error>>
{
    use websight::connectors::kafka::{KafkaSink, Topics, create_topics};
    let topics = Topics::prefixed(&s.prefix);
    let kafka = s.kafka.as_deref().unwrap_or_default();
    create_topics(kafka, &topics.all(), 1).await?;
    let options = TopologyOptions {
        servers: s.clone(),
        checkpoint: Some(("redis".into(), every)),
        input: format!("the Kafka topic {}", topics.raw),
        ..TopologyOptions::default()
    };
    let sink = Box::new(KafkaSink::new(kafka, &topics.raw)?);
    Ok((
        sink,
        Input::RawTopic(closing.clone()),
        options,
        format!("Kafka topic {}", topics.raw),
    ))
}

#[cfg(not(feature = "connectors"))]
async fn servers_raw_log(
    _: &Servers,
    _: u64,
    _: &Closing,
) -> Result<(Box<dyn EventSink>, Input<'static>, TopologyOptions, String), Box<dyn std::error::Error>>
{
    Err("--servers needs the `connectors` feature".into())
}
