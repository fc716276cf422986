//! The collector's HTTP protocol, as SDKs and browsers speak it, against the real server
//! on 127.0.0.1: write keys, size limits, garbage, gzip, every content type SDKs send, CORS,
//! rate limits, back-pressure, and what the flow makes of a batch with one bad message.
#![cfg(feature = "collector")]

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use websight_connectors::collector::{
    Board, Closing, Collector, CollectorParams, FileRawLog, RawLog, RawLogSource,
};
use websight_core::flow::{Flow, Ingest};
use websight_core::io::{EventSink, EventSource};
use websight_testkit::scratch_dir;

const KEY: &str = "test-write-key";

struct Server {
    url: String,
    raw: PathBuf,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn start_with(
    params: CollectorParams,
    sink: Option<Box<dyn EventSink>>,
    name: &str,
) -> Server {
    let dir = scratch_dir(&format!("collector-{name}"));
    let raw = dir.join("raw.jsonl");
    let sink = match sink {
        Some(s) => s,
        None => Box::new(FileRawLog::open(&raw).unwrap()),
    };
    let config = params.check().unwrap();
    let (log, _writer) = RawLog::spawn(sink, config.queue());
    let app = Collector::new(config, log).router(Board::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Server { url, raw, dir }
}

async fn start(name: &str) -> Server {
    start_with(CollectorParams::default().write_key(KEY), None, name).await
}

fn page(id: &str) -> Value {
    json!({
        "type": "page", "messageId": id, "anonymousId": "anon-1",
        "timestamp": "2026-03-01T10:00:00Z",
        "context": {"userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0", "ip": "203.0.113.9"},
    })
}

fn lines(path: &PathBuf) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// `body` as JSON to `path`, with the write key.
async fn post_json(s: &Server, path: &str, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}{path}", s.url))
        .basic_auth(KEY, Some(""))
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn write_keys_are_checked_from_basic_auth_headers_queries_or_the_body() {
    let s = start("keys").await;
    let post = |body: Value| client().post(format!("{}/v1/batch", s.url)).json(&body);
    let batch = json!({"batch": [page("m1")]});
    let r = post(batch.clone()).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["success"], false);
    let r = post(batch.clone())
        .basic_auth("wrong", Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = post(batch).basic_auth(KEY, Some("")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"success": true}));
    // analytics.js puts it in the body; it is not written to the log.
    let r = post(json!({"batch": [page("m2")], "writeKey": KEY}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // RudderStack's beacons put it in the query string (a beacon cannot set headers), and
    // post a text/plain batch to their own path.
    let beacon = |key: &str| {
        client()
            .post(format!("{}/beacon/v1/batch?writeKey={key}", s.url))
            .header("Content-Type", "text/plain;charset=UTF-8")
            .body(json!({"batch": [page("m3")], "sentAt": "2026-03-01T10:00:01Z"}).to_string())
    };
    assert_eq!(beacon("wrong").send().await.unwrap().status(), 401);
    assert_eq!(beacon(KEY).send().await.unwrap().status(), 200);
    // Jitsu's SDK sends one message to /api/s/<type> (or /api/s/s2s/<type>), the key in its
    // own header; the body's `writeKey` is masked (`key:***`), so it is no key.
    let jitsu = |path: &str, key: &str| {
        client()
            .post(format!("{}{path}", s.url))
            .header("X-Write-Key", key)
            .json(
                &json!({"event": "Product Viewed", "anonymousId": "j1", "messageId": path,
                "timestamp": "2026-03-01T10:00:02Z", "writeKey": "key:***"}),
            )
            .send()
    };
    assert_eq!(jitsu("/api/s/track", "wrong").await.unwrap().status(), 401);
    assert_eq!(jitsu("/api/s/track", KEY).await.unwrap().status(), 200);
    assert_eq!(jitsu("/api/s/s2s/track", KEY).await.unwrap().status(), 200);
    let logged = lines(&s.raw);
    assert_eq!(logged.len(), 5, "only acknowledged requests are in the log");
    assert!(logged.iter().all(|l| l.get("writeKey").is_none()));
    assert_eq!(logged[2]["batch"][0]["messageId"], "m3");
    for (line, path) in logged[3..].iter().zip(["/api/s/track", "/api/s/s2s/track"]) {
        assert_eq!(line["messageId"], path);
        assert_eq!(line["type"], "track", "the path gives the type");
    }
}

#[tokio::test]
async fn oversize_garbage_and_non_objects_are_refused_with_a_reason() {
    let s = start("limits").await;
    let big = json!({"batch": [page("m1")], "padding": "x".repeat(600 * 1024)});
    let r = post_json(&s, "/v1/batch", &big).await;
    assert_eq!(r.status(), 413);
    for body in ["garbage", "[1,2]", ""] {
        let r = client()
            .post(format!("{}/v1/track", s.url))
            .basic_auth(KEY, Some(""))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body:?}");
        let reason = r.json::<Value>().await.unwrap();
        assert!(reason["error"].as_str().unwrap().len() > 5, "{reason}");
    }
    // A gzip bomb is cut at the limit, after decompression.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(format!(r#"{{"batch":[],"x":"{}"}}"#, "a".repeat(2 << 20)).as_bytes())
        .unwrap();
    let r = client()
        .post(format!("{}/v1/batch", s.url))
        .basic_auth(KEY, Some(""))
        .header("Content-Encoding", "gzip")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert!(lines(&s.raw).is_empty());
}

#[tokio::test]
async fn gzip_form_and_beacon_bodies_are_read_as_json_and_stamped() {
    let s = start("bodies").await;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(json!({"batch": [page("gz")]}).to_string().as_bytes())
        .unwrap();
    let r = client()
        .post(format!("{}/v1/batch", s.url))
        .basic_auth(KEY, Some(""))
        .header("Content-Encoding", "gzip")
        .header("Content-Type", "application/json")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A server SDK labelling JSON as a form.
    let r = client()
        .post(format!("{}/v1/track", s.url))
        .basic_auth(KEY, Some(""))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(json!({"event": "Product Viewed", "userId": "u1", "messageId": "form"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // sendBeacon: text/plain, write key in the body, from a browser; a client's own
    // receivedAt is not trusted.
    let beacon = json!({"writeKey": KEY, "event": "Product Added", "anonymousId": "b1",
        "messageId": "beacon", "receivedAt": "1999-01-01T00:00:00Z"});
    let r = client()
        .post(format!("{}/v1/t", s.url))
        .header("Content-Type", "text/plain;charset=UTF-8")
        .header("Origin", "https://shop.example")
        .body(beacon.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let logged = lines(&s.raw);
    assert_eq!(logged.len(), 3);
    assert_eq!(logged[0]["batch"][0]["messageId"], "gz");
    assert!(logged[0]["batch"][0]["receivedAt"].is_string());
    assert_eq!(logged[1]["type"], "track", "the endpoint gives the type");
    assert_eq!(logged[2]["type"], "track");
    assert_ne!(logged[2]["receivedAt"], "1999-01-01T00:00:00Z");
    assert_eq!(
        logged[2]["context"]["ip"], "127.0.0.1",
        "a browser's address is its visitor's"
    );
    assert!(
        logged[1]["context"]["ip"].is_null(),
        "a server SDK's address is not a visitor's"
    );
}

#[tokio::test]
async fn cors_preflights_are_answered() {
    let s = start("cors").await;
    let r = client()
        .request(reqwest::Method::OPTIONS, format!("{}/v1/batch", s.url))
        .header("Origin", "https://shop.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], "https://shop.example");
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert_eq!(h["access-control-allow-headers"], "content-type");
    // RudderStack's browser SDK sends headers of its own: a preflight that does not allow
    // them blocks every event it sends. A value that is no list of names gets the standard
    // three.
    let preflight = |asked: &'static str| {
        client()
            .request(reqwest::Method::OPTIONS, format!("{}/v1/page", s.url))
            .header("Origin", "https://shop.example")
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", asked)
            .send()
    };
    let asked = "anonymousid,authorization,content-type,sentat,x-write-key";
    let r = preflight(asked).await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["access-control-allow-headers"], asked);
    let r = preflight("x-a: b\"c").await.unwrap();
    assert_eq!(
        r.headers()["access-control-allow-headers"],
        "Content-Type, Authorization, Content-Encoding"
    );
}

#[tokio::test]
async fn a_bad_message_in_a_batch_is_a_dead_letter_and_the_rest_count() {
    let s = start("batch").await;
    let huge = json!({"type": "track", "event": "Big", "anonymousId": "a", "messageId": "big",
        "properties": {"blob": "x".repeat(40 * 1024)}});
    let batch =
        json!({"batch": [page("ok1"), 42, {"type": "page"}, huge, page("ok2"), page("ok1")]});
    let r = post_json(&s, "/v1/batch", &batch).await;
    assert_eq!(r.status(), 200);
    // The flow reads the log: 6 messages, 2 valid, 3 dead letters, 1 duplicate.
    let closing = Closing::default();
    closing.close();
    let mut source = RawLogSource::new(&s.raw, closing);
    let mut lines = Vec::new();
    while let Some(batch) = source.next_batch(100).await.unwrap() {
        lines.extend(batch);
    }
    let mut flow = Flow::new(
        Ingest::new(websight_core::privacy::Privacy::new(Default::default()).unwrap()),
        websight_core::gate::Gate::new(Default::default()).unwrap(),
        websight_core::analytics::StreamAnalytics::new(Default::default(), Default::default())
            .unwrap(),
    );
    let run = flow.run_embedded(lines, &mut ()).unwrap();
    let c = run.counts;
    assert_eq!(
        (c.inputs, c.checked, c.dead_letters, c.duplicates),
        (6, 2, 3, 1),
        "{c:?}"
    );
    assert!(c.is_conserved());
    let reasons: Vec<String> = run
        .dead_letters
        .messages
        .iter()
        .map(|m| m.headers[0].1.clone())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("too_large")),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn over_the_rate_is_429_with_retry_after() {
    let s = start_with(CollectorParams::default().rate(10.0, 10.0), None, "rate").await;
    let batch = json!({"batch": (0..8).map(|i| page(&format!("r{i}"))).collect::<Vec<_>>()});
    let send = || {
        client()
            .post(format!("{}/v1/batch", s.url))
            .json(&batch)
            .send()
    };
    assert_eq!(send().await.unwrap().status(), 200);
    let r = send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(
        r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(lines(&s.raw).len(), 1);
}

/// Behind a reverse proxy (here: the test itself, on 127.0.0.1): trusted, its
/// `X-Forwarded-For` names each visitor — their own rate and `context.ip`, a forged entry
/// left of theirs ignored; untrusted, the header is ignored.
#[tokio::test]
async fn a_trusted_proxy_names_the_visitor_and_an_untrusted_one_does_not() {
    let params = |trusted: &[&str]| {
        let proxies = trusted.iter().map(|n| n.parse().unwrap()).collect();
        CollectorParams::default()
            .rate(10.0, 10.0)
            .trusted_proxies(proxies)
    };
    let send = |s: &Server, id: &str, forwarded: &str| {
        let batch = json!({"batch": (0..8).map(|i| {
            let mut m = page(&format!("{id}-{i}"));
            m["context"].as_object_mut().unwrap().remove("ip");
            m
        }).collect::<Vec<_>>()});
        client()
            .post(format!("{}/v1/batch", s.url))
            .header("Origin", "https://shop.example")
            .header("X-Forwarded-For", forwarded)
            .json(&batch)
            .send()
    };
    let behind = start_with(params(&["127.0.0.0/8", "10.0.0.0/8"]), None, "proxied").await;
    // Two visitors, 8 messages each against a rate of 10 a second: neither is throttled.
    let a = send(&behind, "a", "1.2.3.4, 203.0.113.9, 10.0.0.5")
        .await
        .unwrap();
    let b = send(&behind, "b", "198.51.100.23").await.unwrap();
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    // The first again, over its rate, now alone: 429.
    let again = send(&behind, "a2", "203.0.113.9").await.unwrap();
    assert_eq!(again.status(), 429);
    let logged = lines(&behind.raw);
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[0]["batch"][0]["context"]["ip"], "203.0.113.9");
    assert_eq!(logged[1]["batch"][7]["context"]["ip"], "198.51.100.23");
    // Not trusted: the proxy is the visitor, one rate for both.
    let direct = start_with(params(&["10.0.0.0/8"]), None, "unproxied").await;
    assert_eq!(
        send(&direct, "a", "203.0.113.9").await.unwrap().status(),
        200
    );
    assert_eq!(
        send(&direct, "b", "198.51.100.23").await.unwrap().status(),
        429
    );
    let logged = lines(&direct.raw);
    assert_eq!(logged[0]["batch"][0]["context"]["ip"], "127.0.0.1");
}

/// Files given as assets are served at their routes, typed by extension; routes that would
/// shadow the API, or are no plain path, are refused.
#[tokio::test]
async fn assets_are_served_at_their_routes() {
    let params = CollectorParams::default()
        .asset("/p.js", b"console.log(1)".to_vec())
        .asset("/snippets/tag.v2.json", b"{}".to_vec());
    let s = start_with(params, None, "assets").await;
    let get = |path: &str| client().get(format!("{}{path}", s.url)).send();
    let script = get("/p.js").await.unwrap();
    assert_eq!(script.status(), 200);
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(script.headers()["cache-control"], "public, max-age=300");
    assert_eq!(script.text().await.unwrap(), "console.log(1)");
    let json = get("/snippets/tag.v2.json").await.unwrap();
    assert_eq!(json.headers()["content-type"], "application/json");
    assert_eq!(get("/q.js").await.unwrap().status(), 404);
    for route in [
        "/",
        "p.js",
        "/v1/batch",
        "/api/stats",
        "/beacon/x",
        "/{x}",
        "/a b",
        "/*",
    ] {
        let params = CollectorParams::default().asset(route, Vec::new());
        assert!(params.check().is_err(), "{route}");
    }
    let twice = CollectorParams::default()
        .asset("/p.js", Vec::new())
        .asset("/p.js", Vec::new());
    assert!(twice.check().is_err());
}

#[tokio::test]
async fn a_raw_log_that_cannot_keep_up_is_503_not_memory() {
    let s = start_with(
        CollectorParams::default().queue(2),
        Some(Box::new(websight_testkit::Stuck)),
        "busy",
    )
    .await;
    let url = format!("{}/v1/track", s.url);
    // Three requests hang (one being written, two queued)...
    for i in 0..3 {
        let url = url.clone();
        tokio::spawn(async move {
            let _ = client()
                .post(url)
                .json(&page(&format!("w{i}")))
                .timeout(Duration::from_secs(30))
                .send()
                .await;
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // ...the next is turned away at once.
    let r = client()
        .post(&url)
        .json(&page("late"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
}

/// The live board's server-sent events: the current state at once and each one published
/// after, marked unbuffered for nginx (`X-Accel-Buffering: no`); once the board is closed
/// the stream ends, so a graceful shutdown does not wait forever on a page left open.
#[tokio::test]
async fn the_live_board_streams_until_closed_and_a_shutdown_does_not_wait_for_open_pages() {
    use websight_connectors::collector::BoardUpdate;
    let dir = scratch_dir("collector-board");
    let config = CollectorParams::default().check().unwrap();
    let (log, _writer) = RawLog::spawn(
        Box::new(FileRawLog::open(dir.join("raw.jsonl")).unwrap()),
        config.queue(),
    );
    let state = |updated: &str| BoardUpdate {
        updated: updated.into(),
        ..BoardUpdate::default()
    };
    let board = Board::new(state("first"));
    let app = Collector::new(config, log).router(board.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/events", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let closing = board.clone();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stopped.await;
            closing.close();
        })
        .await
        .unwrap();
    });
    let mut page = client().get(&url).send().await.unwrap();
    assert_eq!(page.headers()["x-accel-buffering"], "no");
    assert_eq!(page.headers()["content-type"], "text/event-stream");
    // The next `dashboard` event's `updated`.
    async fn next(page: &mut reqwest::Response) -> Option<String> {
        let mut text = String::new();
        loop {
            let chunk = tokio::time::timeout(Duration::from_secs(5), page.chunk())
                .await
                .expect("an event within 5 s")
                .unwrap()?;
            text.push_str(std::str::from_utf8(&chunk).unwrap());
            // Whole events only (a blank line ends one); a keep-alive comment has no data.
            while let Some(end) = text.find("\n\n") {
                let event: String = text.drain(..end + 2).collect();
                if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                    let event: Value = serde_json::from_str(data).unwrap();
                    return Some(event["updated"].as_str().unwrap().to_owned());
                }
            }
        }
    }
    assert_eq!(next(&mut page).await.as_deref(), Some("first"));
    board.publish(state("second"));
    assert_eq!(next(&mut page).await.as_deref(), Some("second"));
    stop.send(()).unwrap();
    // The open page's stream ends, and with it the server.
    assert_eq!(next(&mut page).await, None);
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops with a page open")
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
