//! The collector: Segment's HTTP Tracking API, as tracking SDKs send it, into a durable raw
//! log — and the live board a shop owner keeps open.
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/batch` (`/v1/b`, `/v1/import`, RudderStack's beacons' `/beacon/v1/batch`) | `{"batch": [messages…]}` |
//! | `POST /v1/track`, `/v1/page`, `/v1/identify`, `/v1/alias`, `/v1/screen`, `/v1/group` (and analytics.js's `/v1/t` … `/v1/g`, Jitsu's `/api/s/<type>` and `/api/s/s2s/<type>`) | one message of that type |
//! | `GET /` | the live page ([`Board`]) |
//! | `GET /api/stats`, `GET /api/dashboard` | the summary and the dashboard as JSON |
//! | `GET /api/events` | server-sent `dashboard` events as they change |
//!
//! **Requests.** The write key is the HTTP Basic user (or Jitsu's `X-Write-Key` header, or
//! `writeKey` in the query string, as beacons send it, or in the body); bodies may be gzip;
//! the body is read as JSON whatever the `Content-Type` says (`text/plain` from
//! `sendBeacon`, a form from some server SDKs); CORS preflights are answered, allowing the
//! headers the browser asks for (RudderStack's SDK adds `AnonymousId` and `SentAt`). The
//! collector stamps `receivedAt` (never trusting the client's), the endpoint's `type`, and —
//! for a browser's request only — the visitor's address as `context.ip` (a server SDK's
//! address is the shop's own server, which must not look like one busy visitor). Behind a
//! reverse proxy the address is the one `X-Forwarded-For` names, read only from the proxies
//! named in [`CollectorParams::trusted_proxies`].
//!
//! **Answers.** `200 {"success": true}` once the request is durably in the raw log; `401`
//! for a missing or wrong write key (when one is configured); `413` over
//! [`CollectorConfig::max_request_bytes`]; `400` with a JSON reason for a body that is not a
//! JSON object; `429` with `Retry-After` over the per-address message rate; `503` with
//! `Retry-After` when the raw log cannot keep up (a bounded queue, never unbounded memory).
//! A bad message inside a good batch is accepted with the rest: the flow's decoder turns it
//! into a dead letter with its reason (messages over 32 KB too), so nothing is lost
//! silently. SDKs retry `429`, `5xx` and timeouts with the same `messageId`s, which the
//! gate drops as duplicates.
//!
//! **Durability.** The [`RawLog`] writes whole requests as JSON lines to its sink — the
//! embedded [`FileRawLog`] (append-only, fsynced before any answer) or a Kafka topic
//! (`acks=all`) — in group commits. What got a `200` survives `kill -9`; a line cut by a
//! crash was never acknowledged and is cut off when the log is opened again.
//!
//! ```
//! use websight_connectors::collector::{Board, Collector, CollectorParams, FileRawLog, RawLog};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = std::env::temp_dir().join(format!("websight-doc-collector-{}", std::process::id()));
//! let (log, _writer) = RawLog::spawn(Box::new(FileRawLog::open(dir.join("raw.jsonl"))?), 1024);
//! let config = CollectorParams::default().write_key("my-key").check()?;
//! let app = Collector::new(config, log).router(Board::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # drop((app, listener));
//! // axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```

mod board;
mod http;
mod limits;
mod proxy;
mod rawlog;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post};

pub use board::{Board, BoardUpdate};
pub use proxy::Network;
pub use rawlog::{AppendError, Closing, DEFAULT_SEGMENT_BYTES, FileRawLog, RawLog, RawLogSource};

use crate::{ConnectorError, Result};
use http::Endpoint;

/// The collector's settings, unchecked: set what differs from the defaults, then
/// [`CollectorParams::check`].
#[derive(Debug, Clone)]
pub struct CollectorParams(CollectorConfig);

/// The collector's checked settings; the getters share the setters' names.
#[derive(Debug, Clone)]
pub struct CollectorConfig {
    write_key: Option<String>,
    max_request_bytes: usize,
    rate: f64,
    burst: f64,
    queue: usize,
    trusted_proxies: Vec<Network>,
    assets: Vec<(String, Bytes)>,
}

impl Default for CollectorParams {
    fn default() -> Self {
        CollectorParams(CollectorConfig {
            write_key: None,
            max_request_bytes: 500 * 1024,
            rate: 100_000.0,
            burst: 200_000.0,
            queue: 4_096,
            trusted_proxies: Vec::new(),
            assets: Vec::new(),
        })
    }
}

impl CollectorParams {
    /// Only requests with this write key are accepted (default: any).
    pub fn write_key(mut self, key: impl Into<String>) -> Self {
        self.0.write_key = Some(key.into());
        self
    }

    /// The largest request body, after decompression (Segment's limit: 500 KB).
    pub fn max_request_bytes(mut self, bytes: usize) -> Self {
        self.0.max_request_bytes = bytes;
        self
    }

    /// Messages per second one address may send, and the burst above it (default 100,000
    /// and 200,000: a shop's own server-side SDK is one address and is not throttled).
    pub fn rate(mut self, per_second: f64, burst: f64) -> Self {
        (self.0.rate, self.0.burst) = (per_second, burst);
        self
    }

    /// Requests that may wait for the raw log before the collector answers `503`.
    pub fn queue(mut self, requests: usize) -> Self {
        self.0.queue = requests;
        self
    }

    /// The reverse proxies in front of the collector (a TLS terminator, a load balancer):
    /// a request from one of them is the visitor's whose address it names in
    /// `X-Forwarded-For` — for the per-address rate and a browser's `context.ip`. Default
    /// none: the header is ignored, as anyone can write it.
    pub fn trusted_proxies(mut self, proxies: Vec<Network>) -> Self {
        self.0.trusted_proxies = proxies;
        self
    }

    /// A file the collector serves at `route` (`GET`): a tracking snippet that must come
    /// from the collector's own origin — Jitsu's `<script src="https://HOST/p.js">` sends to
    /// the host it was loaded from. The type follows the route's extension (`.js`, `.json`,
    /// `.html`, `.css`, `.txt`; else bytes).
    pub fn asset(mut self, route: impl Into<String>, body: impl Into<Bytes>) -> Self {
        self.0.assets.push((route.into(), body.into()));
        self
    }

    /// The settings, if they make sense.
    pub fn check(self) -> Result<CollectorConfig> {
        let c = self.0;
        let bad = |reason: &str| {
            Err(ConnectorError::Config {
                reason: format!("collector: {reason}"),
            })
        };
        if c.max_request_bytes < 1024 {
            return bad("a request must be allowed at least 1 KiB");
        }
        if !(c.rate > 0.0 && c.rate.is_finite() && c.burst >= c.rate.min(1.0)) {
            return bad("the rate must be positive and finite, the burst at least one message");
        }
        if c.queue == 0 {
            return bad("the queue must hold at least one request");
        }
        if c.write_key.as_deref() == Some("") {
            return bad("an empty write key would accept anyone: leave it unset instead");
        }
        for (n, (route, _)) in c.assets.iter().enumerate() {
            let plain = route.len() > 1
                && route.len() <= 256
                && route.starts_with('/')
                && route
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/._-~".contains(&b));
            let taken = ["/api/", "/v1/", "/beacon/"]
                .iter()
                .any(|p| route.starts_with(p));
            if !plain || taken || c.assets[..n].iter().any(|(r, _)| r == route) {
                return bad(&format!(
                    "asset route {route:?}: a path of letters, digits and / . _ - ~ (not /, not under /api/, /v1/ or /beacon/, each once)"
                ));
            }
        }
        Ok(c)
    }
}

impl CollectorConfig {
    /// The write key required, if any.
    pub fn write_key(&self) -> Option<&str> {
        self.write_key.as_deref()
    }
    /// The largest request body in bytes.
    pub fn max_request_bytes(&self) -> usize {
        self.max_request_bytes
    }
    /// Messages per second per address, and the burst.
    pub fn rate(&self) -> (f64, f64) {
        (self.rate, self.burst)
    }
    /// Requests waiting for the raw log at most.
    pub fn queue(&self) -> usize {
        self.queue
    }
    /// The reverse proxies whose `X-Forwarded-For` is believed.
    pub fn trusted_proxies(&self) -> &[Network] {
        &self.trusted_proxies
    }
    /// The files served, by route.
    pub fn assets(&self) -> &[(String, Bytes)] {
        &self.assets
    }
}

/// What the collector answered, counted.
#[derive(Debug, Default)]
pub struct CollectorStats {
    requests: AtomicU64,
    accepted: AtomicU64,
    unauthorised: AtomicU64,
    too_large: AtomicU64,
    bad_requests: AtomicU64,
    rate_limited: AtomicU64,
    busy: AtomicU64,
}

impl CollectorStats {
    /// The counts as JSON: `requests`, `accepted_messages`, `unauthorised`, `too_large`,
    /// `bad_requests`, `rate_limited`, `busy`.
    pub fn to_json(&self) -> serde_json::Value {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        serde_json::json!({
            "requests": n(&self.requests),
            "accepted_messages": n(&self.accepted),
            "unauthorised": n(&self.unauthorised),
            "too_large": n(&self.too_large),
            "bad_requests": n(&self.bad_requests),
            "rate_limited": n(&self.rate_limited),
            "busy": n(&self.busy),
        })
    }
}

/// The collector's shared state: settings, raw log, rate limiter, counts.
pub struct Collector {
    config: CollectorConfig,
    log: RawLog,
    limiter: limits::RateLimiter,
    stats: CollectorStats,
}

impl Collector {
    /// A collector writing to `log`.
    pub fn new(config: CollectorConfig, log: RawLog) -> Arc<Collector> {
        let (rate, burst) = config.rate();
        Arc::new(Collector {
            limiter: limits::RateLimiter::new(rate, burst),
            config,
            log,
            stats: CollectorStats::default(),
        })
    }

    /// What it answered so far.
    pub fn stats(&self) -> &CollectorStats {
        &self.stats
    }

    /// Every route: the tracking API and the live `board`. Serve it with
    /// `into_make_service_with_connect_info::<SocketAddr>()` (rate limits are per address).
    pub fn router(self: Arc<Collector>, board: Board) -> Router {
        let single = |kind: &'static str| {
            post(move |state, peer, request| {
                http::receive(state, peer, Endpoint::Single(kind), request)
            })
        };
        let batch =
            post(|state, peer, request| http::receive(state, peer, Endpoint::Batch, request));
        let mut api = Router::new()
            .route("/v1/batch", batch.clone())
            .route("/v1/b", batch.clone())
            .route("/v1/import", batch.clone())
            .route("/beacon/v1/batch", batch);
        for kind in ["track", "page", "identify", "alias", "screen", "group"] {
            api = api
                .route(&format!("/v1/{kind}"), single(kind))
                .route(&format!("/v1/{}", &kind[..1]), single(kind))
                .route(&format!("/api/s/{kind}"), single(kind))
                .route(&format!("/api/s/s2s/{kind}"), single(kind));
        }
        let assets = self.config.assets().to_vec();
        let api = api.with_state(self);
        let mut board_routes = Router::new()
            .route("/", get(board::page))
            .route("/api/stats", get(board::stats))
            .route("/api/dashboard", get(board::dashboard))
            .route("/api/events", get(board::events))
            .with_state(board);
        for (route, body) in assets {
            let kind = http::content_type(&route);
            let serve = move || std::future::ready(http::asset(kind, body.clone()));
            board_routes = board_routes.route(&route, get(serve));
        }
        api.merge(board_routes)
            .layer(axum::middleware::from_fn(http::cors))
    }
}
