//! Benchmark: events per second through the real-time stage (`Flow`: gate → checked and
//! dead-letter outputs → session store → analytics → documents) on the embedded stores and
//! on the local servers of `scripts/services.sh`, in the same run, one server swapped in at
//! a time and then together.
//!
//! ```text
//! bash scripts/services.sh start && eval "$(bash scripts/services.sh env)"
//! cargo run --release --features connectors --example throughput -- [--sessions N] [--batch N]
//! ```
//!
//! The stores come from `websight::connectors::topology` (each store on its server or
//! embedded, as the setup says). Kafka configurations first fill a raw topic, then read it;
//! their rate is taken from the first outcome on (sending and joining the consumer group are
//! reported apart). Not part of the test suite.

use std::time::{Duration, Instant};

use websight::connectors::topology::{Input, Servers, Topology, TopologyOptions};
use websight::core::analytics::{AnalyticsConfig, ProductCatalogue, StreamAnalytics};
use websight::core::flow::{Flow, FlowCounts, Ingest, Observer};
use websight::core::gate::{Gate, GateConfig, Outcome};
use websight::core::io::MemorySource;
use websight::core::model::Catalogue;
use websight::core::privacy::{Privacy, PrivacyConfig};
use websight::core::synth::{Generator, SynthConfig};

#[path = "common/cli.rs"]
mod cli;
use cli::say;

type Error = Box<dyn std::error::Error>;

const USAGE: &str = "usage: throughput [--sessions N] [--batch N]";

struct Args {
    sessions: u64,
    batch: usize,
}

/// The settings when no flag changes them.
const DEFAULTS: Args = Args {
    sessions: 20_000,
    batch: 2_000,
};

/// What `--help` answers.
fn help() -> String {
    cli::Help::new(
        USAGE,
        "Events per second through the real-time stage (gate, outputs, session store, \
         analytics, documents) on the embedded stores and on the local servers of \
         scripts/services.sh, in the same run: one server swapped in at a time, then all \
         together (feature connectors; start the servers and eval \"$(bash \
         scripts/services.sh env)\" first).",
    )
    .section("Flags")
    .flag(
        "--sessions N",
        format!(
            "generated sessions sent through each setup (default {})",
            DEFAULTS.sessions
        ),
    )
    .flag(
        "--batch N",
        format!("events per batch (default {})", DEFAULTS.batch),
    )
    .done()
}

fn parse_args() -> Result<Args, String> {
    let mut args = DEFAULTS;
    let mut flags = cli::Flags::from_env();
    while let Some(flag) = flags.next() {
        match flag.as_str() {
            "--sessions" => args.sessions = flags.parse()?,
            "--batch" => args.batch = flags.parse::<usize>()?.max(1),
            "-h" | "--help" => return Err(help()),
            other => return Err(format!("unknown flag {other:?}\n{USAGE}")),
        }
    }
    Ok(args)
}

fn main() -> std::process::ExitCode {
    cli::main_with(parse_args, run)
}

/// Which stores are real servers.
#[derive(Clone, Copy)]
struct Setup {
    name: &'static str,
    kafka: bool,
    redis: bool,
    mongodb: bool,
    search: bool,
}

const SETUPS: [Setup; 7] = [
    Setup {
        name: "embedded (all in memory)",
        kafka: false,
        redis: false,
        mongodb: false,
        search: false,
    },
    Setup {
        name: "Redis gate state",
        kafka: false,
        redis: true,
        mongodb: false,
        search: false,
    },
    Setup {
        name: "search server documents",
        kafka: false,
        redis: false,
        mongodb: false,
        search: true,
    },
    Setup {
        name: "MongoDB sessions",
        kafka: false,
        redis: false,
        mongodb: true,
        search: false,
    },
    Setup {
        name: "Kafka in and out",
        kafka: true,
        redis: false,
        mongodb: false,
        search: false,
    },
    Setup {
        name: "Kafka → gate (Redis) → search",
        kafka: true,
        redis: true,
        mongodb: false,
        search: true,
    },
    Setup {
        name: "all four servers",
        kafka: true,
        redis: true,
        mongodb: true,
        search: true,
    },
];

struct Env {
    kafka: String,
    redis: String,
    mongodb: String,
    search: String,
}

fn env(var: &str) -> Result<String, Error> {
    std::env::var(var).map_err(|_| format!("{var} unset: bash scripts/services.sh start && eval \"$(bash scripts/services.sh env)\"").into())
}

fn run(args: Args) -> Result<(), Error> {
    let servers = Env {
        kafka: env("WEBSIGHT_KAFKA_BROKERS")?,
        redis: env("WEBSIGHT_REDIS_URL")?,
        mongodb: env("WEBSIGHT_MONGODB_URL")?,
        search: env("WEBSIGHT_SEARCH_URL")?,
    };
    let generator = Generator::new(SynthConfig {
        sessions: args.sessions,
        ..SynthConfig::default()
    })?;
    let catalogue = generator.config().catalogue.clone();
    let raws: Vec<Vec<u8>> = generator.events().map(|e| e.to_json()).collect();
    say!(
        "throughput of the real-time stage: {} events ({} sessions), batches of {}, on {} cores",
        raws.len(),
        args.sessions,
        args.batch,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let run_id = std::process::id();
    let mut baseline = None;
    say!(
        "\n  {:<32} {:>12} {:>9} {:>10}",
        "stores",
        "events/s",
        "× embedded",
        "join (s)"
    );
    for (i, setup) in SETUPS.iter().enumerate() {
        let prefix = format!("bench{run_id}n{i}-");
        let (counts, rate, join) = runtime.block_on(measure(
            *setup, &servers, &prefix, &raws, &catalogue, args.batch,
        ))?;
        assert!(
            counts.is_conserved() && counts.inputs == raws.len() as u64,
            "{counts:?}"
        );
        let base = *baseline.get_or_insert(rate);
        let join = join.map_or("-".to_owned(), |j| format!("{:.1}", j.as_secs_f64()));
        say!(
            "  {:<32} {rate:>12.0} {:>9.3} {join:>10}",
            setup.name,
            rate / base
        );
    }
    Ok(())
}

/// Notes the first outcome, so sending the inputs and joining the consumer group are not
/// counted as processing.
#[derive(Default)]
struct FirstOutcome(Option<Instant>);

impl Observer for FirstOutcome {
    fn outcome(&mut self, _: &Outcome) {
        self.0.get_or_insert_with(Instant::now);
    }
}

async fn measure(
    setup: Setup,
    s: &Env,
    prefix: &str,
    raws: &[Vec<u8>],
    catalogue: &Catalogue,
    batch: usize,
) -> Result<(FlowCounts, f64, Option<Duration>), Error> {
    let pick = |on: bool, url: &str| on.then(|| url.to_owned());
    let options = TopologyOptions {
        servers: Servers {
            kafka: pick(setup.kafka, &s.kafka),
            redis: pick(setup.redis, &s.redis),
            mongodb: pick(setup.mongodb, &s.mongodb),
            search: pick(setup.search, &s.search),
            prefix: prefix.to_owned(),
        },
        input: format!("{} generated events", raws.len()),
        ..TopologyOptions::default()
    };
    let started = Instant::now();
    let source = Box::new(MemorySource::new(raws.iter().cloned()));
    let topology = Topology::open(Input::Source(source), &options).await?;
    let privacy = Privacy::new(PrivacyConfig {
        key: Some("throughput benchmark key".into()),
        ..PrivacyConfig::default()
    })?;
    let flow = Flow::new(
        Ingest::new(privacy),
        Gate::new(GateConfig::default())?,
        StreamAnalytics::new(
            AnalyticsConfig::default(),
            ProductCatalogue::from_catalogue(catalogue),
        )?,
    )
    .batch_size(batch);
    let mut first = FirstOutcome::default();
    let outcome = topology.run(flow, &mut first).await?;
    let first = first.0.unwrap_or(started);
    let busy = first.elapsed().as_secs_f64().max(1e-9);
    // With Kafka: sending the inputs to the raw topic and joining the group, apart.
    let join = setup.kafka.then(|| first - started);
    let counts = outcome.counts;
    Ok((counts, counts.inputs as f64 / busy, join))
}
