//! A load test of `serve` from a second process: batches of tracker messages at a steady
//! rate over keep-alive connections; prints accepted events/s, request latency (p50, p99,
//! max), refusals, and whether the collector's flow counted exactly what was accepted.
//!
//! ```text
//! cargo run --release --features collector --example serve -- --listen 127.0.0.1:8080 --out-dir /tmp/load &
//! cargo run --release --features collector --example load -- --target http://127.0.0.1:8080 \
//!     [--rate EVENTS_PER_SECOND] [--seconds N] [--batch N] [--connections N] [--write-key KEY] [--json FILE]
//! ```
//!
//! The rate is an open-loop schedule: each connection sends its next request at its planned
//! time (or at once when behind), so a slow collector shows as latency, not as a lower
//! offered rate. `--rate 0` sends as fast as the connections allow (the capacity).

use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use websight::core::io::at_path;

#[path = "common/cli.rs"]
mod cli;
use cli::say;

struct Args {
    host: String,
    rate: f64,
    seconds: f64,
    batch: usize,
    connections: usize,
    write_key: Option<String>,
    json: Option<String>,
}

const USAGE: &str = "usage: load --target http://HOST:PORT [--rate EVENTS_PER_SECOND] [--seconds N] [--batch N] [--connections N] [--write-key KEY] [--json FILE]";

/// The settings when no flag changes them.
const DEFAULTS: Args = Args {
    host: String::new(),
    rate: 50_000.0,
    seconds: 10.0,
    batch: 50,
    connections: 16,
    write_key: None,
    json: None,
};

/// What `--help` answers.
fn help() -> String {
    let d = DEFAULTS;
    cli::Help::new(
        USAGE,
        "A load test of serve from a second process: batches of tracker messages at a steady \
         rate over keep-alive connections. Prints accepted events/s, request latency (p50, \
         p99, max), refusals, and whether the collector's flow counted exactly what it \
         accepted (exit 1 when it did not).",
    )
    .section("Flags")
    .flag("--target http://HOST:PORT", "the collector (required)")
    .flag(
        "--rate EVENTS_PER_SECOND",
        format!(
            "events offered a second, on an open-loop schedule: a slow collector shows as \
             latency, not as a lower rate; 0 sends as fast as the connections allow \
             (default {})",
            d.rate
        ),
    )
    .flag(
        "--seconds N",
        format!("how long to send (default {})", d.seconds),
    )
    .flag(
        "--batch N",
        format!("messages per request (default {})", d.batch),
    )
    .flag(
        "--connections N",
        format!("keep-alive connections (default {})", d.connections),
    )
    .flag(
        "--write-key KEY",
        "the collector's write key, sent as Basic auth (default: none)",
    )
    .flag(
        "--json FILE",
        "also write the figures there as JSON (accepted_events_per_second, p50_ms, p99_ms, \
         refused, nothing_lost, ...)",
    )
    .done()
}

fn parse_args() -> Result<Args, String> {
    let mut a = DEFAULTS;
    let mut flags = cli::Flags::from_env();
    while let Some(flag) = flags.next() {
        match flag.as_str() {
            "--target" => {
                let v = flags.value()?;
                a.host = v
                    .strip_prefix("http://")
                    .ok_or(format!("--target {v:?}: an http:// URL"))?
                    .trim_end_matches('/')
                    .to_owned();
            }
            "--rate" => a.rate = flags.parse()?,
            "--seconds" => a.seconds = flags.parse()?,
            "--batch" => a.batch = flags.parse()?,
            "--connections" => a.connections = flags.parse()?,
            "--write-key" => a.write_key = Some(flags.value()?),
            "--json" => a.json = Some(flags.file_out()?),
            "-h" | "--help" => return Err(help()),
            other => return Err(format!("unknown flag {other:?} (try --help)")),
        }
    }
    if a.host.is_empty() {
        return Err(format!("--target is required\n{USAGE}"));
    }
    if a.batch == 0 || a.connections == 0 || a.seconds <= 0.0 || a.rate < 0.0 {
        return Err(
            "--batch, --connections and --seconds must be positive, --rate not negative".into(),
        );
    }
    Ok(a)
}

fn main() -> std::process::ExitCode {
    cli::main_with(parse_args, |args| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(run(args))
    })
}

/// One keep-alive HTTP/1.1 connection.
struct Connection {
    stream: BufReader<TcpStream>,
    host: String,
}

impl Connection {
    async fn open(host: &str) -> std::io::Result<Connection> {
        let stream = TcpStream::connect(host).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream: BufReader::new(stream),
            host: host.to_owned(),
        })
    }

    /// Sends a request; returns the status and body.
    async fn request(
        &mut self,
        method: &str,
        path: &str,
        extra: &str,
        body: &[u8],
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n",
            self.host,
            body.len()
        );
        let s = self.stream.get_mut();
        s.write_all(head.as_bytes()).await?;
        s.write_all(body).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let mut length = 0;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        self.stream.read_exact(&mut body).await?;
        Ok((status, body))
    }
}

/// A batch of `n` page views and product views from many visitors, ids unique per run.
fn batch(run: u128, conn: usize, seq: usize, n: usize) -> Vec<u8> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let messages: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let visitor = (conn * 7919 + seq * 131 + i) % 1_000_000;
            let base = serde_json::json!({
                "messageId": format!("load-{run}-{conn}-{seq}-{i}"),
                "anonymousId": format!("visitor-{visitor}"),
                "timestamp": now,
                "context": {
                    "ip": format!("10.{}.{}.{}", visitor % 250, (visitor / 250) % 250, conn + 1),
                    "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                    "page": {"path": format!("/products/{}", i % 40), "url": "https://shop.example/"},
                },
            });
            let mut m = base;
            if i % 2 == 0 {
                m["type"] = "page".into();
            } else {
                m["type"] = "track".into();
                m["event"] = "Product Viewed".into();
                m["properties"] = serde_json::json!({"product_id": format!("sku-{}", i % 40), "price": 19.5});
            }
            m
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "batch": messages })).unwrap_or_default()
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    accepted: u64,
    refused: std::collections::BTreeMap<u16, u64>,
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let auth = match &args.write_key {
        Some(k) => format!("Authorization: Basic {}\r\n", base64(&format!("{k}:"))),
        None => String::new(),
    };
    let mut probe = Connection::open(&args.host).await?;
    let inputs_before = stats(&mut probe).await?["inputs"].as_u64().unwrap_or(0);
    let run_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    // Requests per second per connection; 0: as fast as possible.
    let per_connection = args.rate / args.batch as f64 / args.connections as f64;
    let requests =
        ((args.rate.max(1.0) * args.seconds) / args.batch as f64 / args.connections as f64).ceil()
            as usize;
    say!(
        "load: {} connections × batches of {} at {} events/s for {:.0} s against http://{}",
        args.connections,
        args.batch,
        if args.rate > 0.0 {
            format!("{:.0}", args.rate)
        } else {
            "max".into()
        },
        args.seconds,
        args.host
    );
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.seconds);
    let mut tasks = Vec::new();
    for c in 0..args.connections {
        let (host, auth) = (args.host.clone(), auth.clone());
        let batch_size = args.batch;
        tasks.push(tokio::spawn(async move {
            let mut conn = Connection::open(&host).await?;
            let mut tally = Tally::default();
            // Bodies prepared before the clock starts matter little; built per request here
            // so memory stays flat on long runs.
            let mut seq = 0;
            loop {
                let planned = if per_connection > 0.0 {
                    if seq >= requests {
                        break;
                    }
                    started + Duration::from_secs_f64(seq as f64 / per_connection)
                } else {
                    if Instant::now() >= deadline {
                        break;
                    }
                    Instant::now()
                };
                let body = batch(run_id, c, seq, batch_size);
                tokio::time::sleep_until(planned.into()).await;
                // Latency from the planned start: waiting behind a slow answer counts.
                let (status, _) = conn.request("POST", "/v1/batch", &auth, &body).await?;
                tally.latencies.push(planned.elapsed());
                if status == 200 {
                    tally.accepted += batch_size as u64;
                } else {
                    *tally.refused.entry(status).or_default() += 1;
                }
                seq += 1;
            }
            Ok::<Tally, std::io::Error>(tally)
        }));
    }
    let mut all = Tally::default();
    for t in tasks {
        let t = t.await??;
        all.latencies.extend(t.latencies);
        all.accepted += t.accepted;
        for (k, v) in t.refused {
            *all.refused.entry(k).or_default() += v;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.latencies.sort();
    let pick = |q: f64| {
        let i = ((all.latencies.len() as f64 - 1.0) * q).round() as usize;
        all.latencies
            .get(i)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    // Nothing lost: the flow counts exactly what was acknowledged.
    let want = inputs_before + all.accepted;
    let waited = Instant::now();
    let mut counted = 0;
    while waited.elapsed() < Duration::from_secs(120) {
        counted = stats(&mut probe).await?["inputs"].as_u64().unwrap_or(0);
        if counted >= want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let result = serde_json::json!({
        "offered_events_per_second": args.rate,
        "accepted_events": all.accepted,
        "accepted_events_per_second": all.accepted as f64 / elapsed,
        "requests": all.latencies.len(),
        "p50_ms": pick(0.50),
        "p99_ms": pick(0.99),
        "max_ms": pick(1.0),
        "refused": all.refused.iter().map(|(k, v)| (k.to_string(), serde_json::Value::from(*v))).collect::<serde_json::Map<_, _>>(),
        "counted_by_the_flow": counted - inputs_before,
        "nothing_lost": counted == want,
        "seconds": elapsed,
    });
    say!(
        "accepted {} events in {:.1} s: {:.0} events/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; refused {:?}; the flow counted {} (nothing lost: {})",
        all.accepted,
        elapsed,
        all.accepted as f64 / elapsed,
        pick(0.5),
        pick(0.99),
        pick(1.0),
        all.refused,
        counted - inputs_before,
        counted == want
    );
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&result)? + "\n")
            .map_err(at_path(path.as_ref()))?;
    }
    if counted != want {
        return Err(format!(
            "the flow counted {} of {} accepted events",
            counted - inputs_before,
            all.accepted
        )
        .into());
    }
    Ok(())
}

async fn stats(conn: &mut Connection) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let (status, body) = conn.request("GET", "/api/stats", "", b"").await?;
    if status != 200 {
        return Err(format!("/api/stats answered {status}").into());
    }
    Ok(serde_json::from_slice(&body)?)
}

fn base64(text: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
