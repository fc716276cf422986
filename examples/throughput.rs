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
//! Kafka configurations read a raw topic filled beforehand; their rate is taken from the
//! first batch on (joining the consumer group is reported apart). Not part of the test suite.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use websight::connectors::kafka::{KafkaSink, KafkaSource, Topics, create_topics};
use websight::connectors::mongo::MongoSessionStore;
use websight::connectors::redis::RedisGateState;
use websight::connectors::search::SearchSink;
use websight::core::analytics::{AnalyticsConfig, ProductCatalogue, StreamAnalytics};
use websight::core::flow::{Flow, FlowCounts, Ingest, Outputs};
use websight::core::gate::{Gate, GateConfig, GateState, MemoryGateState};
use websight::core::io::{
    DocumentSink, EventSink, EventSource, MemoryIndex, MemorySessionStore, MemorySource,
    MemoryTopic, Message, SessionStore,
};
use websight::core::model::Catalogue;
use websight::core::privacy::{Privacy, PrivacyConfig};
use websight::core::synth::{Generator, SynthConfig};

#[path = "common/cli.rs"]
mod cli;

type Error = Box<dyn std::error::Error>;

struct Args {
    sessions: u64,
    batch: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        sessions: 20_000,
        batch: 2_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = value
            .parse::<u64>()
            .map_err(|e| format!("{flag} {value:?}: {e}"))?;
        match flag.as_str() {
            "--sessions" => args.sessions = number,
            "--batch" => args.batch = number.max(1) as usize,
            _ => {
                return Err(format!(
                    "unknown flag {flag:?}; usage: throughput [--sessions N] [--batch N]"
                ));
            }
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

/// Notes when the first batch arrives, so group joining is not counted as processing.
struct Timed {
    inner: Box<dyn EventSource>,
    first: Option<Instant>,
}

#[async_trait]
impl EventSource for Timed {
    async fn next_batch(&mut self, max: usize) -> websight::core::Result<Option<Vec<Vec<u8>>>> {
        let batch = self.inner.next_batch(max).await?;
        if batch.is_some() && self.first.is_none() {
            self.first = Some(Instant::now());
        }
        Ok(batch)
    }

    async fn commit(&mut self) -> websight::core::Result<()> {
        self.inner.commit().await
    }
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
    println!(
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
    println!(
        "\n  {:<32} {:>12} {:>9} {:>10}",
        "stores", "events/s", "× embedded", "join (s)"
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
        println!(
            "  {:<32} {rate:>12.0} {:>9.3} {join:>10}",
            setup.name,
            rate / base
        );
    }
    Ok(())
}

async fn measure(
    setup: Setup,
    s: &Env,
    prefix: &str,
    raws: &[Vec<u8>],
    catalogue: &Catalogue,
    batch: usize,
) -> Result<(FlowCounts, f64, Option<Duration>), Error> {
    let topics = Topics::prefixed(prefix);
    let source: Box<dyn EventSource> = if setup.kafka {
        create_topics(&s.kafka, &topics.all(), 1).await?;
        let mut raw = KafkaSink::new(&s.kafka, &topics.raw)?;
        for chunk in raws.chunks(5_000) {
            let messages: Vec<Message> = chunk
                .iter()
                .map(|p| Message {
                    payload: p.clone(),
                    ..Message::default()
                })
                .collect();
            raw.send(&messages).await?;
        }
        Box::new(
            KafkaSource::new(&s.kafka, &format!("{prefix}gate"), &topics.raw)?
                .idle_timeout(Duration::from_secs(2)),
        )
    } else {
        Box::new(MemorySource::new(raws.iter().cloned()))
    };
    let mut state: Box<dyn GateState> = if setup.redis {
        Box::new(RedisGateState::connect(&s.redis, prefix).await?)
    } else {
        Box::new(MemoryGateState::new(&GateConfig::default())?)
    };
    let (mut checked, mut dead): (Box<dyn EventSink>, Box<dyn EventSink>) = if setup.kafka {
        (
            Box::new(KafkaSink::new(&s.kafka, &topics.checked)?),
            Box::new(KafkaSink::new(&s.kafka, &topics.dead_letters)?),
        )
    } else {
        (
            Box::new(MemoryTopic::default()),
            Box::new(MemoryTopic::default()),
        )
    };
    let mut sessions: Box<dyn SessionStore> = if setup.mongodb {
        let collection =
            format!("{prefix}sessions").replace(|c: char| !c.is_ascii_alphanumeric(), "_");
        Box::new(MongoSessionStore::connect(&s.mongodb, "websight_bench", &collection).await?)
    } else {
        Box::new(MemorySessionStore::default())
    };
    let mut documents: Box<dyn DocumentSink> = if setup.search {
        let sink = SearchSink::new(&s.search).prefix(prefix);
        sink.install_templates().await?;
        Box::new(sink)
    } else {
        Box::new(MemoryIndex::default())
    };
    let mut out = Outputs {
        state: state.as_mut(),
        checked: checked.as_mut(),
        dead_letters: dead.as_mut(),
        sessions: sessions.as_mut(),
        documents: documents.as_mut(),
    };
    let privacy = Privacy::new(PrivacyConfig {
        key: Some("throughput benchmark key".into()),
        ..PrivacyConfig::default()
    })?;
    let mut flow = Flow::new(
        Ingest::new(privacy),
        Gate::new(GateConfig::default())?,
        StreamAnalytics::new(
            AnalyticsConfig::default(),
            ProductCatalogue::from_catalogue(catalogue),
        )?,
    )
    .batch_size(batch);
    let mut timed = Timed {
        inner: source,
        first: None,
    };
    let started = Instant::now();
    let counts = flow.run(&mut timed, &mut out, &mut ()).await?;
    let first = timed.first.unwrap_or(started);
    // A Kafka source ends after its idle timeout: not processing time either.
    let idle = if setup.kafka {
        Duration::from_secs(2)
    } else {
        Duration::ZERO
    };
    let busy = (first.elapsed().saturating_sub(idle))
        .as_secs_f64()
        .max(1e-9);
    let join = setup.kafka.then(|| first - started);
    Ok((counts, counts.inputs as f64 / busy, join))
}
