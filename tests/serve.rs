//! `serve` as shops and their owners use it: real SDKs from npm (Segment's and RudderStack's
//! node SDKs) send through the collector (with rate limits, retries and a `kill -9` in the
//! middle), a real browser runs `@segment/analytics-next` on a shop page and keeps the live
//! dashboard open, and runs `@rudderstack/analytics-js` with both of its transports; and
//! `serve` behind real nginx with the proxy settings shipped in `deploy/nginx`.
#![cfg(feature = "collector")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use websight_testkit::process::{chromium, example, node_sdk, run_failing, run_ok};
use websight_testkit::scratch_dir;

const KEY: &str = "websight-test-write-key";
/// `@segment/analytics-node` sending the scripted shop.
const SEGMENT: &str = "segment_node_traffic.mjs";
/// `@rudderstack/rudder-sdk-node` sending the same shop.
const RUDDERSTACK: &str = "rudderstack_node_traffic.mjs";

/// A running `serve` on a port of its own, its output in files of `dir`.
struct Served {
    child: Child,
    port: u16,
    dir: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Served {
    fn start(dir: &Path, port: u16, extra: &[&str]) -> Served {
        Served::start_keyed(dir, port, KEY, extra)
    }

    /// With the write key `key` (Jitsu's are `key:secret`).
    fn start_keyed(dir: &Path, port: u16, key: &str, extra: &[&str]) -> Served {
        Served::spawn(dir, port, key, extra, false)
    }

    /// Its stdout a pipe whose reader is gone before it writes (`serve | tee log`, the `tee`
    /// stopped).
    fn start_with_closed_stdout(dir: &Path, port: u16) -> Served {
        Served::spawn(dir, port, KEY, &[], true)
    }

    fn spawn(dir: &Path, port: u16, key: &str, extra: &[&str], closed_stdout: bool) -> Served {
        std::fs::create_dir_all(dir).unwrap();
        let log = |name: &str| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(name))
                .unwrap()
        };
        let mut child = example("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--out-dir", dir.join("out").to_str().unwrap()])
            .args(["--write-key", key])
            .args(extra)
            .stdout(if closed_stdout {
                Stdio::piped()
            } else {
                Stdio::from(log("stdout.txt"))
            })
            .stderr(Stdio::from(log("stderr.txt")))
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        Served::up(child, port, dir)
    }

    /// `child`, a `serve` on `port` with its stderr in `dir/stderr.txt`, once it answers.
    fn up(child: Child, port: u16, dir: &Path) -> Served {
        let served = Served {
            child,
            port,
            dir: dir.to_owned(),
        };
        let started = Instant::now();
        while served.get("/api/stats").is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "serve did not come up: {}",
                served.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        served
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.txt")).unwrap_or_default()
    }

    /// The body of `GET path`, `None` while nobody answers.
    fn get(&self, path: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        let (head, body) = text.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
    }

    fn stats(&self) -> Value {
        serde_json::from_str(&self.get("/api/stats").unwrap()).unwrap()
    }

    /// Waits until `/api/stats` counts `inputs` messages, duplicates aside.
    fn wait_for_inputs(&self, inputs: u64) -> Value {
        let started = Instant::now();
        loop {
            let s = self.stats();
            let distinct =
                s["inputs"].as_u64().unwrap_or(0) - s["duplicates"].as_u64().unwrap_or(0);
            if distinct == inputs {
                return s;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "{inputs} messages never arrived: {s}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIGTERM: a graceful stop, which writes the summary; returns it.
    fn stop(mut self) -> Value {
        run_ok(Command::new("kill").args(["-TERM", &self.child.id().to_string()]));
        let asked = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if asked.elapsed() > Duration::from_secs(60) {
                self.child.kill().unwrap();
                panic!(
                    "serve did not stop within 60 s of SIGTERM: {}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(status.success(), "serve failed: {}", self.stderr());
        let text = std::fs::read_to_string(self.dir.join("out/summary.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// SIGKILL: no goodbye.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// The scripted shop (`scripts/sdk/shop.mjs`) sent by a real SDK, `script` one of
/// [`SEGMENT`] and [`RUDDERSTACK`], against the collector; it writes its truth to `dir`.
fn send_with_the_sdk(
    sdk: &Path,
    script: &str,
    collector: &str,
    dir: &Path,
    visitors: u32,
    pace_ms: u32,
) -> Child {
    Command::new("node")
        .arg(sdk.join(script))
        .arg(dir)
        .arg(visitors.to_string())
        .env("WEBSIGHT_COLLECTOR", collector)
        .env("WEBSIGHT_SDK_MAX_RETRIES", "40")
        .env("WEBSIGHT_SDK_PACE_MS", pace_ms.to_string())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

fn truth(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap()
}

/// Every message the SDK made: the truth's count per type, and those withheld for consent.
fn messages(truth: &Value) -> u64 {
    let counted: u64 = truth["events"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    counted + withheld(truth)
}

/// The messages the truth says are withheld for consent (none unless it says).
fn withheld(truth: &Value) -> u64 {
    truth["withheld"].as_u64().unwrap_or(0)
}

fn assert_matches_truth(summary: &Value, truth: &Value) {
    for key in ["sessions", "visitors", "orders", "channels", "events"] {
        assert_eq!(summary[key], truth[key], "{key}: {summary}");
    }
    for (currency, amount) in truth["revenue"].as_object().unwrap() {
        assert_eq!(
            summary["revenue"][currency].as_f64(),
            amount.as_f64(),
            "{summary}"
        );
    }
    assert_eq!(summary["dead_letters"], withheld(truth), "{summary}");
    assert_eq!(summary["late"], 0, "{summary}");
    assert_eq!(summary["conserved"], true, "{summary}");
}

/// A browser driver's run ends: `serve` stopped, its summary `truth`, none of the personal
/// data the driver sent (`seen["personal"]`) in its outputs or logs, `dir` removed.
fn assert_stopped_with(served: Served, dir: &Path, truth: &Value, seen: &Value) {
    assert_matches_truth(&served.stop(), truth);
    assert_nothing_personal(dir, seen);
    let _ = std::fs::remove_dir_all(dir);
}

/// Runs the headless-Chromium driver `script` of `scripts/sdk` against `served` with the
/// write key `key`, its output in `out`: what it saw (it must have seen no error).
fn drive_chromium(
    sdk: &Path,
    browser: &Path,
    script: &str,
    served: &Served,
    key: &str,
    out: &Path,
) -> Value {
    let run = run_ok(
        Command::new("node")
            .arg(sdk.join(script))
            .args([&served.url(), key, out.to_str().unwrap()])
            .env("WEBSIGHT_CHROMIUM", browser),
    );
    let seen: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(seen["errors"], Value::Array(vec![]), "{seen}");
    seen
}

/// The `POST`s among a driver's record of what the collector answered (`{answers, failed}`):
/// none may have failed and each must be answered 200 (`seen`: the whole record, for the
/// message).
fn answered_posts<'a>(sent: &'a Value, seen: &Value) -> Vec<&'a Value> {
    assert_eq!(sent["failed"], Value::Array(vec![]), "{seen}");
    let answers = sent["answers"].as_array().unwrap();
    let posts: Vec<&Value> = answers.iter().filter(|a| a["method"] == "POST").collect();
    assert!(posts.iter().all(|a| a["status"] == 200), "{seen}");
    posts
}

fn temp(name: &str) -> PathBuf {
    scratch_dir(&format!("serve-{name}"))
}

/// `@segment/analytics-node` sends a scripted shop (thousands of messages in batches; a low
/// rate limit makes it retry many with 429s) through the collector: `/api/stats` counts every
/// message exactly once as it arrives, and after SIGTERM the summary and files match the
/// script's truth — visits, persons, orders, revenue, channels — with no personal data in
/// any output.
#[test]
fn serve_counts_what_segment_analytics_node_sent_exactly_once() {
    let Some(sdk) = node_sdk() else { return };
    let dir = temp("sdk");
    // Visitors a day apart, sent as fast as the SDK can: a backfill, retried out of order.
    // 300 of them span less than the year of allowed lateness, so however late a retry lands
    // no event is late and no visit closes before its person is whole (with 400, a retry
    // landing over a year behind the newest event was late now and then, under load).
    // The dashboard is also released with DP while it runs, every second, each release
    // charged to a ledger: its budget pays for two.
    let ledger = dir.join("ledger.json");
    let ledger_path = ledger.to_str().unwrap();
    let flags = |every: &'static str| {
        let dp = [
            "--dp-epsilon",
            "2",
            "--dp-budget",
            "5",
            "--dp-ledger",
            ledger_path,
        ];
        [&["--lateness", "31536000"][..], &dp, &["--dp-every", every]].concat()
    };
    let served = Served::start(
        &dir,
        free_port(),
        &[&["--rate", "1000"][..], &flags("1")].concat(),
    );
    let mut node = send_with_the_sdk(&sdk, SEGMENT, &served.url(), &dir, 300, 0);
    assert!(node.wait().unwrap().success());
    let truth = truth(&dir);
    let live = served.wait_for_inputs(messages(&truth));
    assert_eq!(live["checked"].as_u64(), Some(messages(&truth)), "{live}");
    assert_eq!(live["events"], truth["events"]);
    assert_eq!(live["orders"], truth["orders"]);
    let dashboard: Value = serde_json::from_str(&served.get("/api/dashboard").unwrap()).unwrap();
    assert_eq!(dashboard["traffic"].as_array().unwrap().len(), 3);
    let released = dir.join("out").join("dp_dashboard.json");
    let started = Instant::now();
    let releases = || -> usize {
        let Ok(text) = std::fs::read_to_string(&ledger) else {
            return 0;
        };
        let book: Value = serde_json::from_str(&text).unwrap();
        book["entries"].as_array().map_or(0, Vec::len)
    };
    // The budget pays for two: both made while it runs, a second apart.
    while !released.exists() || releases() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{} DP releases while running",
            releases()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let summary = served.stop();
    assert_matches_truth(&summary, &truth);
    assert!(rate_limited(&dir) > 0, "the rate limit was never reached");
    let out = dir.join("out");
    for file in [
        "checked.jsonl",
        "dead_letters.jsonl",
        "sessions.jsonl",
        "report.html",
        "dp_dashboard.json",
    ] {
        assert!(out.join(file).exists(), "{file}");
    }
    let dp: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("dp_dashboard.json")).unwrap())
            .unwrap();
    assert_eq!(dp["epsilon"], 2.0);
    assert_eq!(dp["by_channel"].as_array().unwrap().len(), 19);
    // A third would pass the budget: none at shutdown, and the report keeps the last made.
    assert!(
        (dp["budget_left"].as_f64().unwrap() - 1.0).abs() < 1e-9,
        "{dp}"
    );
    let spent: Value = serde_json::from_str(&std::fs::read_to_string(&ledger).unwrap()).unwrap();
    assert_eq!(spent["entries"].as_array().unwrap().len(), 2, "{spent}");
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("data-dp-epsilon=\"2\"") && report.contains("data-noised"));
    assert_nothing_personal(&dir, &truth);
    // Restarted on the same ledger with an hourly schedule and stopped at once: nothing is
    // due (the last release is a second old), so nothing is spent, and the new report shows
    // the release the earlier run made.
    std::fs::remove_file(out.join("report.html")).unwrap();
    let restarted = Served::start(&dir, free_port(), &flags("3600"));
    restarted.stop();
    assert_eq!(releases(), 2);
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("data-dp-epsilon=\"2\"") && report.contains("data-noised"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `@rudderstack/rudder-sdk-node` sends the same shop through the collector the way
/// RudderStack's SDK sends by default: gzip bodies, one request in flight, identify traits
/// copied into `context.traits`, a batch-level `timestamp` beside `sentAt`, `channel` and
/// `_metadata` on every message; a low rate limit makes it retry with 429s (honouring
/// `Retry-After`). Every message is counted once, the summary after SIGTERM matches the
/// script's truth, and no personal data reaches any output.
#[test]
fn serve_counts_what_rudderstack_node_sent_exactly_once() {
    let Some(sdk) = node_sdk() else { return };
    let dir = temp("rudderstack");
    // 2,350 messages against a burst of 800 and 400 a second: about 4 s of refills, while
    // the SDK alone sends them in under 2 s.
    let flags = ["--rate", "400", "--lateness", "31536000"];
    let served = Served::start(&dir, free_port(), &flags);
    let mut node = send_with_the_sdk(&sdk, RUDDERSTACK, &served.url(), &dir, 300, 0);
    assert!(node.wait().unwrap().success());
    let truth = truth(&dir);
    let live = served.wait_for_inputs(messages(&truth));
    assert_eq!(live["checked"].as_u64(), Some(messages(&truth)), "{live}");
    let summary = served.stop();
    assert_matches_truth(&summary, &truth);
    assert!(rate_limited(&dir) > 0, "the rate limit was never reached");
    assert_nothing_personal(&dir, &truth);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file of `deploy/nginx`, what is shipped for users.
fn shipped_nginx(name: &str) -> PathBuf {
    websight_testkit::process::root()
        .join("deploy/nginx")
        .join(name)
}

/// Writes `dir/nginx.conf`: nginx in the foreground, its pid, error log and temporary files
/// in `dir`, and `http` as its `http` block's contents.
fn nginx_conf(dir: &Path, http: &str) -> PathBuf {
    let temp = dir.join("nginx-temp");
    std::fs::create_dir_all(&temp).unwrap();
    let (d, t) = (dir.display(), temp.display());
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/nginx-error.log warn;\n\
         events {{ worker_connections 256; }}\n\
         http {{\nclient_body_temp_path {t}/body;\nproxy_temp_path {t}/proxy;\n\
         fastcgi_temp_path {t}/fastcgi;\nuwsgi_temp_path {t}/uwsgi;\nscgi_temp_path {t}/scgi;\n\
         {http}}}\n"
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    path
}

/// Real nginx in front of `serve`, with the proxy settings shipped for users
/// (`deploy/nginx/websight-proxy.conf`), nginx connecting from 127.0.0.9 (the address `serve`
/// is told to trust) while its clients connect from 127.0.0.1 and 127.0.0.2.
struct Proxy {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Proxy {
    fn start(nginx: &Path, dir: &Path, upstream: u16) -> Proxy {
        let port = free_port();
        let shipped = shipped_nginx("websight-proxy.conf");
        let http = format!(
            "log_format visitors '$remote_addr $request_method $status';\n\
             access_log {}/access.log visitors;\n\
             upstream websight {{ server 127.0.0.1:{upstream}; keepalive 16; }}\n\
             server {{\n  listen 127.0.0.1:{port};\n  location / {{\n    include {};\n    \
             proxy_bind 127.0.0.9;\n  }}\n}}\n",
            dir.display(),
            shipped.display()
        );
        let path = nginx_conf(dir, &http);
        let child = Command::new(nginx)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&path)
            .arg("-e")
            .arg(dir.join("nginx-error.log"))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let proxy = Proxy {
            child,
            port,
            dir: dir.to_owned(),
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            let log = std::fs::read_to_string(dir.join("nginx-error.log")).unwrap_or_default();
            assert!(started.elapsed() < Duration::from_secs(20), "nginx: {log}");
            std::thread::sleep(Duration::from_millis(50));
        }
        proxy
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The statuses nginx answered each client address, from its access log.
    fn answered(&self) -> std::collections::BTreeMap<(String, String), u64> {
        let log = std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default();
        let mut counts = std::collections::BTreeMap::new();
        for line in log.lines() {
            let mut words = line.split(' ');
            let (Some(address), Some(_), Some(status)) = (words.next(), words.next(), words.next())
            else {
                continue;
            };
            *counts
                .entry((address.to_owned(), status.to_owned()))
                .or_default() += 1;
        }
        counts
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `n` requests of 100 messages of no known type (dead letters once accepted) sent as fast
/// as one client can from 127.0.0.2 to `port`: how many were answered 200 and how many 429.
fn flood_from_another_address(port: u16, n: usize) -> (u64, u64) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (mut ok, mut limited) = (0, 0);
        for i in 0..n {
            let messages: Vec<String> = (0..100)
                .map(|j| format!(r#"{{"type":"nonsense","messageId":"flood-{i}-{j}"}}"#))
                .collect();
            let body = format!(r#"{{"batch":[{}]}}"#, messages.join(","));
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
            let mut stream = socket
                .connect(([127, 0, 0, 1], port).into())
                .await
                .unwrap();
            // The write key as HTTP Basic user: base64 of "websight-test-write-key:".
            let request = format!(
                "POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                "d2Vic2lnaHQtdGVzdC13cml0ZS1rZXk6",
                body.len()
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.unwrap();
            match answer.get(9..12) {
                Some("200") => ok += 1,
                Some("429") => limited += 1,
                _ => panic!("the flood was answered {answer}"),
            }
        }
        (ok, limited)
    })
}

/// Reads `GET /api/events` from `port` on a thread of its own: each `dashboard` event's
/// `updated` (the counts of the board state it carries), as it arrives. HTTP/1.0, so the
/// body comes unchunked and each line whole.
fn follow_live_board(port: u16) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET /api/events HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            let Some(data) = line.strip_prefix("data: ") else {
                continue;
            };
            let Ok(event) = serde_json::from_str::<Value>(data) else {
                continue;
            };
            let updated = event["updated"].as_str().unwrap_or_default().to_owned();
            if tx.send(updated).is_err() {
                return;
            }
        }
    });
    rx
}

/// Waits up to `wait` for `board` to deliver the state taken at `updated`.
fn delivers(board: &std::sync::mpsc::Receiver<String>, updated: &str, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match board.recv_timeout(left) {
            Ok(u) if u == updated => return true,
            Ok(_) => continue,
            Err(_) => return false,
        }
    }
    false
}

/// Behind real nginx with the shipped proxy settings (`deploy/nginx/websight-proxy.conf`):
/// `@rudderstack/rudder-sdk-node` sends the scripted shop (gzip bodies) through it, right
/// after a client from another address flooded it with junk past the rate limit. `serve`,
/// trusting nginx's address, rates each client by the address `X-Forwarded-For` names: the
/// flood is answered 429s, the SDK none. Every message is counted once (the flood's
/// accepted ones as dead letters), nothing personal is written, and the live page's
/// server-sent events pass through nginx as they are sent, not when its buffers fill.
#[test]
fn serve_behind_nginx_rates_each_visitor_and_streams_the_live_board() {
    let Some(sdk) = node_sdk() else { return };
    let Some(nginx) = websight_testkit::process::nginx() else {
        return;
    };
    let dir = temp("nginx");
    let flags = [
        "--trusted-proxy",
        "127.0.0.9",
        "--rate",
        "500",
        "--lateness",
        "31536000",
    ];
    let served = Served::start(&dir, free_port(), &flags);
    let proxy = Proxy::start(&nginx, &dir, served.port);
    // The live page through nginx gets the board's state at once, and each new one as it is
    // published, however small (not once more data fills nginx's buffer).
    let board = follow_live_board(proxy.port);
    let latest = |served: &Served| follow_live_board(served.port).recv().unwrap();
    let shown = latest(&served);
    assert!(delivers(&board, &shown, Duration::from_secs(5)), "{shown}");
    let (ok, limited) = flood_from_another_address(proxy.port, 30);
    assert!(
        ok > 0 && limited > 0,
        "flood: {ok} accepted, {limited} limited"
    );
    let mut node = send_with_the_sdk(&sdk, RUDDERSTACK, &proxy.url(), &dir, 100, 0);
    assert!(node.wait().unwrap().success());
    let mut truth = truth(&dir);
    // The flood's accepted messages are inputs that end as dead letters, as withheld ones do.
    truth["withheld"] = (100 * ok).into();
    served.wait_for_inputs(messages(&truth));
    // The last state published after the traffic reaches the live page through nginx.
    std::thread::sleep(Duration::from_secs(2));
    let shown = latest(&served);
    assert!(delivers(&board, &shown, Duration::from_secs(5)), "{shown}");
    let answered = proxy.answered();
    let count = |address: &str, status: &str| {
        answered
            .get(&(address.to_owned(), status.to_owned()))
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(count("127.0.0.2", "429"), limited, "{answered:?}");
    assert_eq!(count("127.0.0.1", "429"), 0, "{answered:?}");
    assert!(count("127.0.0.1", "200") > 0, "{answered:?}");
    let summary = served.stop();
    assert_matches_truth(&summary, &truth);
    assert_eq!(rate_limited(&dir), limited);
    assert_nothing_personal(&dir, &truth);
    drop(proxy);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The site shipped for users (`deploy/nginx/websight.conf`: TLS, HTTP redirected, the proxy
/// settings included) is one nginx accepts (`nginx -t`), with a throw-away certificate in
/// place of Let's Encrypt's and the proxy settings where they are shipped.
/// `serve | tee log` with the `tee` gone (Ctrl-C stops both; `serve` drains): `serve` comes
/// up, takes messages and stops with its summary as with a reader (its first line used to
/// panic in `println!`, so it never came up).
#[test]
fn serve_outlives_whoever_reads_its_output() {
    let dir = temp("closed-stdout");
    let served = Served::start_with_closed_stdout(&dir, free_port());
    let (accepted, limited) = flood_from_another_address(served.port, 3);
    assert_eq!((accepted, limited), (3, 0));
    served.wait_for_inputs(300);
    let summary = served.stop();
    assert_eq!(summary["inputs"], 300, "{summary}");
    assert_eq!(summary["dead_letters"], 300, "{summary}");
    assert_eq!(summary["conserved"], true, "{summary}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An address already taken is a failure that names it (it said only `Address already in
/// use`).
#[test]
fn serve_names_the_address_it_cannot_listen_on() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let dir = temp("taken");
    run_failing(
        example("serve").args(["--listen", &address, "--out-dir", dir.to_str().unwrap()]),
        1,
        &format!("error: --listen {address}: "),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The systemd unit shipped in `deploy/systemd`: `systemd-analyze verify` accepts it without
/// a warning (pointed at the built binary and the shipped settings), and its command line,
/// its `${…}` filled in as systemd fills them, starts `serve`: it takes the settings' write
/// key (another is refused), counts what it took, and stops on the unit's `KillSignal` with
/// its summary in the state directory.
#[test]
fn the_shipped_systemd_unit_runs_serve() {
    let root = websight_testkit::process::root().join("deploy/systemd");
    let unit = std::fs::read_to_string(root.join("websight-serve.service")).unwrap();
    let settings = root.join("serve.env");
    let binary = example("serve").get_program().to_owned();
    let binary = binary.to_str().unwrap();
    let dir = temp("systemd");
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("websight-serve.service");
    std::fs::write(
        &copy,
        unit.replace("/usr/local/bin/serve", binary)
            .replace("/etc/websight/serve.env", settings.to_str().unwrap()),
    )
    .unwrap();
    let verified = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("systemd-analyze (Debian's systemd, installed by scripts/test.sh)");
    let complaints = String::from_utf8_lossy(&verified.stderr);
    assert!(
        verified.status.success() && complaints.trim().is_empty(),
        "{complaints}"
    );

    let value = |key: &str| -> String {
        unit.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("no {key} in the unit"))
            .to_owned()
    };
    assert_eq!(value("KillSignal"), "SIGTERM", "what Served::stop sends");
    let mut env: Vec<(String, String)> = std::fs::read_to_string(&settings)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let key = env
        .iter()
        .find(|(k, _)| k == "WEBSIGHT_WRITE_KEY")
        .map(|(_, v)| v.clone())
        .expect("the settings name the write key");
    env.push((
        "STATE_DIRECTORY".into(),
        dir.join("out").to_str().unwrap().into(),
    ));
    let port = free_port();
    let command = value("ExecStart");
    let mut words = command.split_whitespace().map(|w| {
        let w = env
            .iter()
            .fold(w.to_owned(), |w, (k, v)| w.replace(&format!("${{{k}}}"), v));
        assert!(!w.contains('$'), "{w}: not in the settings");
        w.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
    });
    assert_eq!(words.next().as_deref(), Some("/usr/local/bin/serve"));
    let child = Command::new(binary)
        .args(words)
        .envs(env.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.join("stderr.txt")).unwrap(),
        ))
        .spawn()
        .unwrap();
    let served = Served::up(child, port, &dir);
    assert_eq!(post_pages(port, "not-the-key", 5), 401);
    assert_eq!(post_pages(port, &key, 5), 200);
    served.wait_for_inputs(5);
    let summary = served.stop();
    assert_eq!(summary["inputs"], 5, "{summary}");
    assert_eq!(summary["conserved"], true, "{summary}");
    assert!(dir.join("out/pseudonym.key").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// POSTs `n` page calls to `/v1/batch?writeKey=key`: the answer's status.
fn post_pages(port: u16, key: &str, n: usize) -> u16 {
    let pages: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"type":"page","messageId":"unit-{key}-{i}","anonymousId":"a{i}","timestamp":"2026-01-01T00:00:0{}Z"}}"#,
                i % 10
            )
        })
        .collect();
    let body = format!(r#"{{"batch":[{}]}}"#, pages.join(","));
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST /v1/batch?writeKey={key} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0)
}

#[test]
fn the_shipped_nginx_site_is_one_nginx_accepts() {
    let Some(nginx) = websight_testkit::process::nginx() else {
        return;
    };
    let dir = temp("nginx-site");
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    run_ok(
        Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=collect.shop.example", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert),
    );
    let mut site = std::fs::read_to_string(shipped_nginx("websight.conf")).unwrap();
    let live = "/etc/letsencrypt/live/collect.shop.example";
    for (shipped, here) in [
        (format!("{live}/fullchain.pem"), cert),
        (format!("{live}/privkey.pem"), key),
        (
            "/etc/nginx/snippets/websight-proxy.conf".into(),
            shipped_nginx("websight-proxy.conf"),
        ),
    ] {
        assert!(
            site.contains(&shipped),
            "{shipped} is no longer in the site"
        );
        site = site.replace(&shipped, here.to_str().unwrap());
    }
    std::fs::write(dir.join("site.conf"), site).unwrap();
    let conf = nginx_conf(&dir, &format!("include {}/site.conf;\n", dir.display()));
    run_ok(
        Command::new(nginx)
            .arg("-t")
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(conf)
            .arg("-e")
            .arg(dir.join("nginx-error.log")),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The real `@jitsu/js` in Node.js through Jitsu's own routes — `/api/s/<type>` for half the
/// visitors, server-to-server `/api/s/s2s/<type>` for the rest — with the write key in its
/// `X-Write-Key` header (Jitsu's `key:secret`): nine visitors who log in and order, three of
/// whom denied the consent category `serve` is told to honour. Counted exactly after
/// SIGTERM: the six, and the three's events withheld (dead letters of kind `consent` holding
/// a message id alone); nothing personal in any output (addresses, forwarded in the
/// context, only truncated). The six start their visits within seconds from one /24, an
/// address each: none is stopped by the per-address rate (5 visits a minute), which counts
/// whole addresses, not the truncated one kept.
#[test]
fn serve_counts_what_jitsu_sent_and_withholds_what_consent_denies() {
    let Some(sdk) = node_sdk() else { return };
    let dir = temp("jitsu");
    let key = "websight-test:jitsu-secret";
    let consent = ["--consent-category", "Analytics"];
    let served = Served::start_keyed(&dir, free_port(), key, &consent);
    run_ok(Command::new("node").arg(sdk.join("jitsu_node.mjs")).args([
        &served.url(),
        key,
        dir.to_str().unwrap(),
        "9",
    ]));
    let truth = truth(&dir);
    served.wait_for_inputs(messages(&truth));
    let summary = served.stop();
    assert_matches_truth(&summary, &truth);
    assert_eq!(summary["rejected"], serde_json::json!({}), "{summary}");
    assert_eq!(withheld(&truth), 12, "{truth}");
    let letters = std::fs::read_to_string(dir.join("out/dead_letters.jsonl")).unwrap();
    assert_eq!(letters.lines().count(), 12);
    for letter in letters.lines() {
        let letter: Value = serde_json::from_str(letter).unwrap();
        assert_eq!(letter["headers"]["websight.reason"]["kind"], "consent");
        let id = letter["payload"]["messageId"].as_str().unwrap();
        assert_eq!(letter["payload"], serde_json::json!({ "messageId": id }));
    }
    assert_nothing_personal(&dir, &truth);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The requests the collector answered `429`, from the counters `serve` prints on stdout.
fn rate_limited(dir: &Path) -> u64 {
    let stdout = std::fs::read_to_string(dir.join("stdout.txt")).unwrap();
    let counters = stdout
        .lines()
        .find_map(|l| l.strip_prefix("collector: "))
        .unwrap_or_else(|| panic!("no collector counters: {stdout}"));
    serde_json::from_str::<Value>(counters).unwrap()["rate_limited"]
        .as_u64()
        .unwrap()
}

/// No personal value of the truth in any file of `dir/out` nor in `serve`'s output — but
/// the raw log's segments (`raw.jsonl`, `raw.<offset>.jsonl`): they are the input, what the
/// SDK sent, as Kafka's raw topic would hold it; everything written from them is protected.
fn assert_nothing_personal(dir: &Path, truth: &Value) {
    let logs = ["stdout.txt", "stderr.txt"].map(|f| dir.join(f));
    let written = walk(&dir.join("out"))
        .into_iter()
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with("raw."));
    for path in written.chain(logs) {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        for secret in truth["personal"].as_array().unwrap() {
            let secret = secret.as_str().unwrap();
            assert!(!text.contains(secret), "{secret:?} leaked into {path:?}");
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// `kill -9` while the SDK is sending; started again on the same directory and port, the
/// collector gets the SDK's retries of what it had not acknowledged: in the end every
/// message is counted once — nothing acknowledged was lost, no retry counted twice, and the
/// open visits continued across the crash. The raw log rolls over segments of 50 KiB and
/// removes those a checkpoint covers as it goes: the kill comes once its first segment is
/// gone, so the restart resumes in what is kept; at the end only the last segment is left.
/// The outputs roll over segments of 50 KiB too, cut back across them on the restart: read
/// whole, they hold each checked event once.
#[test]
fn serve_killed_while_the_sdk_sends_loses_nothing_and_counts_nothing_twice() {
    let pruned = |out: &Path| !out.join("raw.jsonl").exists();
    let sizes = ["--raw-segment-mb", "0.05", "--out-segment-mb", "0.05"];
    let Some(dir) = kill_while_sending("kill", &sizes, pruned) else {
        return;
    };
    let out = dir.join("out");
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let checked = out.join("checked.jsonl");
    let segments = websight::core::io::segments::list(&checked).unwrap();
    assert!(segments.len() > 1, "the outputs never rolled: {segments:?}");
    assert_eq!(
        websight::core::io::segments::count_lines(&checked).unwrap(),
        summary["checked"].as_u64().unwrap(),
        "{summary}"
    );
    let raw: Vec<(String, u64)> = std::fs::read_dir(dir.join("out"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with("raw."))
        .map(|e| {
            let len = e.metadata().unwrap().len();
            (e.file_name().to_string_lossy().into_owned(), len)
        })
        .collect();
    assert_eq!(raw.len(), 1, "{raw:?}");
    let (name, len) = &raw[0];
    assert!(name != "raw.jsonl", "the log never rolled: {raw:?}");
    // A segment closes once it holds 50 KiB; its last group commit may run over.
    assert!(*len < 2 << 20, "{raw:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same on the real servers: the Kafka raw topic is the raw log, the gate state and
/// checkpoints are in Redis, visits in MongoDB, documents in the search server.
#[cfg(feature = "connectors")]
#[test]
fn serve_on_the_servers_killed_while_the_sdk_sends_loses_nothing() {
    if websight_testkit::process::servers(websight_testkit::process::ALL_SERVERS).is_none() {
        return;
    }
    let prefix = format!("serve-{}-", std::process::id());
    let args = ["--servers", "--prefix", &prefix];
    if let Some(dir) = kill_while_sending("kill-servers", &args, |_| true) {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The kill -9 run, killed once 600 messages arrived and `ready` holds for the output
/// directory; its directory, or `None` when the SDK is not installed.
fn kill_while_sending(
    name: &str,
    extra: &[&str],
    ready: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    let sdk = node_sdk()?;
    let dir = temp(name);
    let port = free_port();
    let mut args = vec!["--lateness", "31536000", "--checkpoint-every", "3"];
    args.extend(extra);
    let served = Served::start(&dir, port, &args);
    // About four seconds of sending.
    let mut node = send_with_the_sdk(&sdk, SEGMENT, &served.url(), &dir, 400, 10);
    let started = Instant::now();
    while served.stats()["inputs"].as_u64().unwrap_or(0) < 600 || !ready(&dir.join("out")) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not ready to be killed after 60 s: {}",
            served.stats()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    served.kill();
    let served = Served::start(&dir, port, &args);
    assert!(node.wait().unwrap().success(), "the SDK gave up");
    let truth = truth(&dir);
    served.wait_for_inputs(messages(&truth));
    let summary = served.stop();
    assert_matches_truth(&summary, &truth);
    assert_eq!(
        summary["inputs"].as_u64().unwrap() - summary["duplicates"].as_u64().unwrap(),
        messages(&truth),
        "{summary}"
    );
    Some(dir)
}

/// The live page in headless Chromium while a single-page shop runs the real
/// `@segment/analytics-next` (settings inline, posting to the collector): its page views
/// (the landing twice, by the snippet and the router, then a second page) and track calls
/// arrive, and the open dashboard's "Visitors now" tile and traffic chart change over
/// server-sent events without a reload; the visit and its order are counted, nothing
/// rejected. A screenshot is kept in target/test-artefacts.
#[test]
fn live_dashboard_follows_analytics_next_in_chromium() {
    let Some(sdk) = node_sdk() else { return };
    let Some(browser) = chromium() else { return };
    let dir = temp("browser");
    let served = Served::start(&dir, free_port(), &[]);
    let artefacts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artefacts");
    let seen = drive_chromium(&sdk, &browser, "browser_live.mjs", &served, KEY, &artefacts);
    assert!(seen["shop_error"].is_null(), "{seen}");
    let (before, after) = (&seen["before"], &seen["after"]);
    assert_eq!(before["visitors_now"], "0", "{seen}");
    assert_eq!(after["visitors_now"], "1", "{seen}");
    assert!(
        after["updates"].as_u64() > before["updates"].as_u64(),
        "{seen}"
    );
    assert_ne!(after["traffic"], before["traffic"], "{seen}");
    assert!(after["bars"].as_u64().unwrap() >= 1, "{seen}");
    let stats = served.wait_for_inputs(5);
    assert_eq!(stats["events"]["page"], 3, "{stats}");
    assert_eq!(stats["events"]["track"], 2, "{stats}");
    let shot = std::fs::metadata(artefacts.join("live.png")).unwrap().len();
    assert!(shot > 20_000, "screenshot is {shot} bytes");
    // The landing reported twice and a second page within the second are one visitor's
    // two pages, not a scraper's three: the visit and its order are kept.
    let truth = serde_json::json!({
        "sessions": 1, "visitors": 1, "orders": 1, "revenue": {"EUR": 499.9},
        "channels": {"Direct": 1}, "events": {"page": 3, "track": 2},
    });
    assert_matches_truth(&served.stop(), &truth);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The real `@rudderstack/analytics-js` (v3) in headless Chromium, on a shop page of another
/// origin than the collector, with each of its transports: the XHR queue (one request per
/// event with RudderStack's own `AnonymousId` and `SentAt` headers, so each is preflighted
/// by the browser itself) and the beacon queue (a text/plain batch to
/// `/beacon/v1/batch?writeKey=…`). Every event is answered 200 and counted once: two
/// visitors who log in, an order each, and neither e-mail nor name in any output.
#[test]
fn rudderstack_analytics_js_in_chromium_sends_through_both_transports() {
    let Some(sdk) = node_sdk() else { return };
    let Some(browser) = chromium() else { return };
    let dir = temp("rudderstack-browser");
    let served = Served::start(&dir, free_port(), &[]);
    let seen = drive_chromium(
        &sdk,
        &browser,
        "rudderstack_browser.mjs",
        &served,
        KEY,
        &dir,
    );
    for (transport, requests) in [("xhr", 4), ("beacon", 1)] {
        let posts = answered_posts(&seen["transports"][transport], &seen);
        assert!(posts.len() >= requests, "{transport}: {seen}");
    }
    served.wait_for_inputs(8);
    // One visit each (RudderStack sends its own session id in `context.sessionId`).
    let truth = serde_json::json!({
        "sessions": 2, "visitors": 2, "orders": 2, "revenue": {"EUR": 1999.6},
        "channels": {"Direct": 2}, "events": {"identify": 2, "page": 2, "track": 4},
    });
    assert_stopped_with(served, &dir, &truth, &seen);
}

/// Jitsu's script tag, as most Jitsu sites load it, in headless Chromium: the shop's page
/// (another origin) loads the real `p.js` of `@jitsu/js` from `serve` (`--asset`), which
/// then sends to the host it came from — the page view it sends on load and three calls
/// queued in `jitsuQ`, each preflighted for its `X-Write-Key` header. Counted exactly; no
/// e-mail or name anywhere.
#[test]
fn jitsu_script_tag_in_chromium_loads_p_js_from_serve_and_sends_to_it() {
    let Some(sdk) = node_sdk() else { return };
    let Some(browser) = chromium() else { return };
    let dir = temp("jitsu-browser");
    let key = "websight-test:jitsu-secret";
    let p_js = sdk.join("node_modules/@jitsu/js/dist/web/p.js.txt");
    let asset = format!("/p.js={}", p_js.display());
    let served = Served::start_keyed(&dir, free_port(), key, &["--asset", &asset]);
    let seen = drive_chromium(&sdk, &browser, "jitsu_browser.mjs", &served, key, &dir);
    let script = serde_json::json!({"method": "GET", "path": "/p.js", "status": 200});
    assert!(
        seen["answers"].as_array().unwrap().contains(&script),
        "{seen}"
    );
    let posts = answered_posts(&seen, &seen);
    assert_eq!(posts.len(), 4, "{seen}");
    for post in posts {
        assert!(
            post["path"].as_str().unwrap().starts_with("/api/s/"),
            "{seen}"
        );
    }
    served.wait_for_inputs(4);
    let truth = serde_json::json!({
        "sessions": 1, "visitors": 1, "orders": 1, "revenue": {"EUR": 179.0},
        "channels": {"Direct": 1}, "events": {"identify": 1, "page": 1, "track": 2},
    });
    assert_stopped_with(served, &dir, &truth, &seen);
}

/// `pipeline` and `serve` read the server flags alike: the ones that name servers go with
/// `--servers` (a usage error, exit 2, without it); `serve --servers` needs the `--prefix`
/// naming its deployment (a restart must find its state), and `--search` only goes with
/// `--servers` in `serve` (in `pipeline` it sends the embedded run's documents there). The
/// raw log's flags are refused with `--servers`; `--help` is the usage on stdout, exit 0.
#[test]
fn server_flags_are_read_alike_by_pipeline_and_serve() {
    let listen = ["--listen", "127.0.0.1:0"];
    for (name, args, said) in [
        ("pipeline", &["--kafka", "x"][..], "go with --servers"),
        ("pipeline", &["--prefix", "p"], "go with --servers"),
        (
            "serve",
            &[&listen[..], &["--redis", "x"]].concat(),
            "go with --servers",
        ),
        (
            "serve",
            &[&listen[..], &["--prefix", "p"]].concat(),
            "go with --servers",
        ),
        (
            "serve",
            &[&listen[..], &["--servers"]].concat(),
            "needs --prefix",
        ),
        (
            "serve",
            &[&listen[..], &["--search", "x"]].concat(),
            "--search goes with --servers",
        ),
        (
            "serve",
            &[&listen[..], &["--servers", "--prefix", "p", "--keep-raw"]].concat(),
            "are for the raw log file",
        ),
        (
            "serve",
            &[&listen[..], &["--raw-segment-mb", "0"]].concat(),
            "--raw-segment-mb is a size",
        ),
        (
            "serve",
            &[&listen[..], &["--out-segment-mb", "-1"]].concat(),
            "--out-segment-mb is a size",
        ),
        (
            "serve",
            &[
                &listen[..],
                &["--servers", "--prefix", "p", "--out-segment-mb", "8"],
            ]
            .concat(),
            "the outputs are on the servers",
        ),
        (
            "pipeline",
            &["--out-segment-mb", "8"],
            "splits the files of --out-dir",
        ),
        (
            "serve",
            &[&listen[..], &["--dp-every", "60"]].concat(),
            "--dp-every goes with --dp-epsilon",
        ),
    ] {
        let out = example(name).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name} {args:?}: {stderr}");
        assert!(stderr.contains(said), "{name} {args:?}: {stderr}");
    }
    // Help asked for is an answer, not a misuse: the usage on stdout, exit 0.
    for name in ["pipeline", "serve"] {
        let out = example(name).arg("--help").output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name} --help: {out:?}");
        assert!(
            stdout.starts_with(&format!("usage: {name} ")) && stdout.contains("--out-dir"),
            "{name} --help: {stdout}"
        );
    }
}
