//! The examples' command lines and JSON shapes are interfaces: run the built examples.
//!
//! `cargo test` builds every example next to the test binaries (target/<profile>/examples).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
#[cfg(feature = "connectors")]
use websight_testkit::process::ALL_SERVERS;
#[cfg(feature = "elasticsearch")]
use websight_testkit::process::servers;
use websight_testkit::process::{
    chromium, example, headless, node_sdk, python_sdk, run_failing, run_ok,
};
use websight_testkit::scratch_dir;

fn run_json(cmd: &mut Command) -> Value {
    serde_json::from_slice(&run_ok(cmd).stdout).unwrap()
}

#[test]
fn dp_epsilon_prints_the_opacus_value() {
    let v = run_json(example("dp").args([
        "epsilon", "--q", "0.02", "--sigma", "1.0", "--steps", "500", "--delta", "1e-5",
    ]));
    assert!((v["epsilon"].as_f64().unwrap() - 3.1442564752172406).abs() < 1e-9);
    assert_eq!(v["order"].as_f64().unwrap(), 5.9);
}

#[test]
fn dp_grid_and_sigma() {
    let dir = scratch_dir("dp-grid");
    let grid = dir.join("grid.json");
    std::fs::write(&grid, r#"[{"q":0.02,"sigma":1.0,"steps":500,"delta":1e-5},{"q":0.01,"sigma":1.5,"steps":1000,"delta":1e-6}]"#).unwrap();
    let v = run_json(example("dp").args(["epsilon", "--grid", grid.to_str().unwrap()]));
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for key in ["q", "sigma", "steps", "delta", "epsilon", "order"] {
        assert!(rows[1].get(key).is_some(), "missing {key}");
    }
    let s = run_json(example("dp").args([
        "sigma",
        "--epsilon",
        "3",
        "--q",
        "0.02",
        "--steps",
        "500",
        "--delta",
        "1e-5",
    ]));
    assert!(s["epsilon"].as_f64().unwrap() <= 3.0);
    let bad = example("dp")
        .args([
            "epsilon", "--q", "2", "--sigma", "1", "--steps", "5", "--delta", "1e-5",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`q`"));
}

/// `dp ledger`: six processes at once each try to spend ε = 0.3 of a budget of 1 — exactly
/// three succeed, the others are refused and change nothing; a later process (a restart)
/// sees the three spends.
#[test]
fn dp_ledger_refuses_overspending_across_processes() {
    let dir = scratch_dir("dp-ledger");
    let path = dir.join("ledger.json");
    let ledger = |extra: &[&str]| {
        let mut cmd = example("dp");
        cmd.args([
            "ledger",
            "--ledger",
            path.to_str().unwrap(),
            "--budget",
            "1",
        ])
        .args(extra);
        cmd
    };
    let children: Vec<_> = (0..6)
        .map(|i| {
            ledger(&["--spend", "0.3", "--what", &format!("release {i}")])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let ok = outputs.iter().filter(|o| o.status.success()).count();
    assert_eq!(ok, 3, "{outputs:?}");
    for refused in outputs.iter().filter(|o| !o.status.success()) {
        assert!(String::from_utf8_lossy(&refused.stderr).contains("privacy budget exceeded"));
    }
    let state = run_json(&mut ledger(&[]));
    assert_eq!(state["entries"].as_array().unwrap().len(), 3);
    assert!((state["spent_epsilon"].as_f64().unwrap() - 0.9).abs() < 1e-12);
    assert!((state["remaining_epsilon"].as_f64().unwrap() - 0.1).abs() < 1e-12);
    // Reopening with a larger budget is refused: the budget is the file's.
    let raised = example("dp")
        .args([
            "ledger",
            "--ledger",
            path.to_str().unwrap(),
            "--budget",
            "5",
        ])
        .output()
        .unwrap();
    assert!(!raised.status.success());
    assert!(String::from_utf8_lossy(&raised.stderr).contains("holds a budget"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `pipeline --dp-budget-delta`: the ledger it creates holds that δ; reopened without the
/// flag (δ = 1e-5) it is refused, as a ledger is the budget it was created with.
#[test]
fn pipeline_dp_budget_delta_sets_the_ledgers_delta() {
    let dir = scratch_dir("dp-delta");
    let ledger = dir.join("ledger.json");
    let pipeline = |extra: &[&str]| {
        let mut cmd = example("pipeline");
        cmd.args([
            "--sessions",
            "200",
            "--users",
            "50",
            "--stream-only",
            "--out-dir",
        ])
        .arg(dir.join("out"))
        .args(["--dp-epsilon", "1", "--dp-budget", "10", "--dp-ledger"])
        .arg(&ledger)
        .args(extra)
        .env("WEBSIGHT_PSEUDONYM_KEY", "fixed-test-key-0123456789");
        cmd
    };
    run_ok(&mut pipeline(&["--dp-budget-delta", "1e-7"]));
    let state = run_json(
        example("dp")
            .args(["ledger", "--ledger"])
            .arg(&ledger)
            .args(["--budget", "10", "--budget-delta", "1e-7"]),
    );
    assert_eq!(state["budget_delta"].as_f64(), Some(1e-7));
    assert!((state["spent_epsilon"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    // A release the budget cannot pay is said, and the run still succeeds (as when the
    // private models are skipped); nothing is charged.
    let out = run_ok(&mut pipeline(&[
        "--dp-budget-delta",
        "1e-7",
        "--dp-epsilon",
        "20",
    ]));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("DP dashboard not released: privacy budget exceeded"),
        "{said}"
    );
    let state = run_json(
        example("dp")
            .args(["ledger", "--ledger"])
            .arg(&ledger)
            .args(["--budget", "10", "--budget-delta", "1e-7"]),
    );
    assert!((state["spent_epsilon"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    let other = pipeline(&[]).output().unwrap();
    assert!(!other.status.success());
    assert!(String::from_utf8_lossy(&other.stderr).contains("holds a budget"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `dp sample` prints N exact samples one per line: integers for the discrete mechanisms,
/// multiples of a power of two for the snapped Laplace, with the variances of their laws.
#[test]
fn dp_sample_prints_one_sample_per_line() {
    let draw = |mechanism: &str, scale: &str| -> Vec<f64> {
        let out = run_ok(example("dp").args([
            "sample",
            "--mechanism",
            mechanism,
            "--scale",
            scale,
            "--n",
            "20000",
            "--seed-for-tests",
            "7",
        ]));
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| l.parse().unwrap())
            .collect()
    };
    let variance = |x: &[f64]| {
        let m = x.iter().sum::<f64>() / x.len() as f64;
        x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / x.len() as f64
    };
    let dl = draw("discrete-laplace", "2");
    assert_eq!(dl.len(), 20_000);
    assert!(dl.iter().all(|x| x.fract() == 0.0));
    let q = (-0.5f64).exp();
    let want = 2.0 * q / (1.0 - q).powi(2);
    assert!(
        (variance(&dl) / want - 1.0).abs() < 0.06,
        "{}",
        variance(&dl)
    );
    let dg = draw("discrete-gaussian", "3");
    assert!(dg.iter().all(|x| x.fract() == 0.0));
    assert!(
        (variance(&dg) / 9.0 - 1.0).abs() < 0.06,
        "{}",
        variance(&dg)
    );
    let l = draw("laplace", "1.5");
    let g = 2f64.powi(-10);
    assert!(l.iter().all(|x| (x / g).fract() == 0.0), "on the grid");
    assert!((variance(&l) / 4.5 - 1.0).abs() < 0.06, "{}", variance(&l));
    // Without the test seed the noise comes from the OS and differs run to run.
    let os = |_| {
        run_ok(example("dp").args([
            "sample",
            "--mechanism",
            "laplace",
            "--scale",
            "1",
            "--n",
            "5",
        ]))
        .stdout
    };
    assert_ne!(os(0), os(1));
}

#[test]
fn lsh_writes_the_documented_json() {
    let users = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/websight-lsh/tests/fixtures/datasketch/users.txt"
    );
    let out = std::env::temp_dir().join(format!("websight-lsh-{}.json", std::process::id()));
    run_ok(example("lsh").args([
        "--users",
        users,
        "--num-perm",
        "128",
        "--threshold",
        "0.5",
        "--queries",
        "100",
        "--out",
        out.to_str().unwrap(),
    ]));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!((v["b"].as_u64(), v["r"].as_u64()), (Some(25), Some(5)));
    assert_eq!(v["signatures"].as_object().unwrap().len(), 100);
    assert_eq!(v["signatures"]["0"].as_array().unwrap().len(), 128);
    assert_eq!(v["queries"].as_object().unwrap().len(), 100);
    assert!(v["recall"].as_f64().unwrap() > 0.7 && v["precision"].as_f64().unwrap() > 0.7);
    let missing = example("lsh").args(["--users", users]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2), "usage error without --out");
}

/// What the stream stage of `pipeline --out-dir` writes.
const STREAM_FILES: [&str; 7] = [
    "checked.jsonl",
    "dead_letters.jsonl",
    "sessions.jsonl",
    "documents/session_summary.jsonl",
    "documents/product_details.jsonl",
    "documents/product_sentiment.jsonl",
    "documents/kpi_windows.jsonl",
];

#[test]
fn pipeline_runs_embedded() {
    let dir = scratch_dir("pipeline");
    // The same traffic and one key for both runs below, so their pseudonyms agree.
    let pipeline = |out: &std::path::Path, extra: &[&str]| {
        let mut cmd = example("pipeline");
        cmd.env(
            "WEBSIGHT_PSEUDONYM_KEY",
            "a key for the embedded pipeline test",
        )
        .args(["--sessions", "3000", "--users", "500", "--seed", "3"])
        .args(extra)
        .args(["--out-dir", out.to_str().unwrap()]);
        run_ok(&mut cmd)
    };
    let out = pipeline(&dir, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("sessions                  3000"), "{text}");
    assert!(text.contains("Bayes-optimal purchase AUC"));
    assert!(text.contains("Purchase models") && text.contains("random forest"));
    assert!(text.contains("What drives purchases") && text.contains("Report written to"));
    assert!(
        text.contains("written to the document files") && text.contains(": exact"),
        "{text}"
    );
    for section in [
        "Security gate",
        "conserved                 true",
        "detection vs planted labels",
        "funnel:",
        "channels:",
        "payment mix:",
        "sentiment ",
        "session_summary",
    ] {
        assert!(text.contains(section), "missing {section:?} in\n{text}");
    }
    // --out-dir: everything the run produced, as files.
    for file in [
        "checked.jsonl",
        "dead_letters.jsonl",
        "sessions.jsonl",
        "report.html",
        "summary.json",
        "documents/session_summary.jsonl",
        "documents/product_details.jsonl",
        "documents/product_sentiment.jsonl",
        "documents/kpi_windows.jsonl",
    ] {
        let len = std::fs::metadata(dir.join(file))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(len > 0, "{file} missing or empty");
    }
    let summary = summary(&dir.join("summary.json"));
    let lines = |f: &str| {
        std::fs::read_to_string(dir.join(f))
            .unwrap()
            .lines()
            .count() as u64
    };
    assert_eq!(lines("checked.jsonl"), summary["checked"].as_u64().unwrap());
    assert_eq!(
        lines("sessions.jsonl"),
        summary["sessions"].as_u64().unwrap()
    );
    assert_eq!(
        lines("documents/session_summary.jsonl"),
        summary["sessions"].as_u64().unwrap()
    );
    let rejected: u64 = summary["rejected"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(
        lines("dead_letters.jsonl"),
        rejected
            + summary["dead_letters"].as_u64().unwrap()
            + summary["late"].as_u64().unwrap()
            + summary["refused"].as_u64().unwrap()
    );
    assert!(summary["channels"].as_object().unwrap().len() >= 10);
    // Without the DP flags nothing is released privately and no budget is touched.
    assert!(!dir.join("dp_dashboard.json").exists());
    assert!(
        !std::fs::read_to_string(dir.join("report.html"))
            .unwrap()
            .contains("data-dp-epsilon")
    );

    // --stream-only streams every store to its file as it goes: the same figures, topics,
    // documents and visits (in closing order, not sorted).
    let streamed = dir.join("streamed");
    let out = pipeline(&streamed, &["--stream-only"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Offline stage skipped (--stream-only)"),
        "{text}"
    );
    assert!(text.contains("written to the document files") && text.contains(": exact"));
    let mut streamed_summary = self::summary(&streamed.join("summary.json"));
    assert_eq!(streamed_summary, summary);
    streamed_summary["inputs"] = 0.into();
    assert_ne!(streamed_summary, summary, "the comparison can fail");
    let sorted = |path: PathBuf| {
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines.sort();
        assert!(!lines.is_empty(), "{} is empty", path.display());
        lines
    };
    for file in STREAM_FILES {
        assert_eq!(
            sorted(streamed.join(file)),
            sorted(dir.join(file)),
            "{file}"
        );
    }
    assert!(
        !example("pipeline")
            .arg("--bogus")
            .output()
            .unwrap()
            .status
            .success()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Reads `summary.json` and checks its documented keys and the conservation law.
fn summary(path: &std::path::Path) -> Value {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for key in [
        "inputs",
        "checked",
        "rejected",
        "dead_letters",
        "duplicates",
        "sessions",
        "rejected_sessions",
        "visitors",
        "orders",
        "revenue",
        "channels",
        "events",
        "late",
        "refused",
        "conserved",
    ] {
        assert!(v.get(key).is_some(), "summary.json lacks {key:?}: {v}");
    }
    let n = |k: &str| v[k].as_u64().unwrap();
    let rejected: u64 = v["rejected"]
        .as_object()
        .unwrap()
        .values()
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert_eq!(
        n("inputs"),
        n("checked") + rejected + n("dead_letters") + n("duplicates"),
        "{v}"
    );
    v
}

/// Every file under `dir` (and `logs`) is free of every string in `personal`.
fn assert_no_personal_data(dir: &std::path::Path, logs: &[u8], personal: &[String]) {
    fn files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut all = Vec::new();
    files(dir, &mut all);
    assert!(all.len() >= 8, "{all:?}");
    let mut texts: Vec<(String, String)> = all
        .iter()
        .map(|p| {
            (
                p.display().to_string(),
                String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned(),
            )
        })
        .collect();
    texts.push(("logs".into(), String::from_utf8_lossy(logs).into_owned()));
    for (name, text) in &texts {
        for secret in personal {
            assert!(
                !text.contains(secret.as_str()),
                "{secret:?} leaked into {name}"
            );
        }
    }
}

/// The real `@segment/analytics-node` SDK sends a scripted shop's traffic (logins mid-session,
/// second devices, server-side calls, an alias, orders in two currencies, a retried batch)
/// to a local capture endpoint; the pipeline reads what it sent and finds exactly the
/// script's sessions, visitors, orders, revenue and channels — and no personal data leaks.
#[test]
fn pipeline_reads_what_segment_analytics_node_sent() {
    pipeline_reads_what_a_node_sdk_sent("segment_node_traffic.mjs");
}

/// The same shop sent by the real `@rudderstack/rudder-sdk-node` (gzip bodies, identify
/// traits in `context.traits` too, a batch-level `timestamp`, its own retry of the first
/// batch): the same truth.
#[test]
fn pipeline_reads_what_rudderstack_node_sent() {
    pipeline_reads_what_a_node_sdk_sent("rudderstack_node_traffic.mjs");
}

/// The same shop sent by the real Python server SDKs from PyPI, Segment's
/// (`segment-analytics-python`) and RudderStack's (`rudder-sdk-python`): their own time
/// format (`+00:00`, microseconds), `null` ids and categories, `integrations`: the same
/// truth.
#[test]
fn pipeline_reads_what_the_python_sdks_sent() {
    let (Some(sdk), Some(python)) = (node_sdk(), python_sdk()) else {
        return;
    };
    for name in ["segment", "rudderstack"] {
        pipeline_reads_what_the_sdk_sent(&format!("{name}-python"), |dir| {
            let mut send = Command::new(&python);
            send.arg(sdk.join("python_traffic.py")).arg(name).arg(dir);
            send
        });
    }
}

/// `scripts/sdk/<script>`, one of the Node drivers of the scripted shop.
fn pipeline_reads_what_a_node_sdk_sent(script: &str) {
    let Some(sdk) = node_sdk() else { return };
    pipeline_reads_what_the_sdk_sent(script.trim_end_matches(".mjs"), |dir| {
        let mut send = Command::new("node");
        send.arg(sdk.join(script)).arg(dir);
        send
    });
}

/// The scripted shop of `scripts/sdk/shop.mjs` sent by a real SDK (`send(dir)`, to which 60
/// visitors are added) to a capture endpoint, then read by the pipeline: the script's truth,
/// the SDK's retry de-duplicated, no leak.
fn pipeline_reads_what_the_sdk_sent(name: &str, send: impl Fn(&Path) -> Command) {
    let dir = scratch_dir(name);
    run_ok(send(&dir).arg("60"));
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap();
    let out_dir = dir.join("out");
    let out = run_ok(
        example("pipeline")
            .args(["--input", dir.join("captured.jsonl").to_str().unwrap()])
            .args(["--out-dir", out_dir.to_str().unwrap()])
            .env("RUST_LOG", "debug"),
    );
    let s = summary(&out_dir.join("summary.json"));
    for key in ["sessions", "visitors", "orders"] {
        assert_eq!(s[key], truth[key], "{key}: {s}");
    }
    let revenue = |v: &Value| -> std::collections::BTreeMap<String, f64> {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, x)| (k.clone(), x.as_f64().unwrap()))
            .collect()
    };
    assert_eq!(revenue(&s["revenue"]), revenue(&truth["revenue"]), "{s}");
    assert_eq!(s["channels"], truth["channels"], "{s}");
    assert_eq!(s["events"], truth["events"], "{s}");
    assert!(
        s["rejected"].as_object().unwrap().is_empty(),
        "clean traffic passes: {s}"
    );
    assert!(
        s["duplicates"].as_u64().unwrap() > 0,
        "the SDK's retry is de-duplicated"
    );
    assert_eq!(s["dead_letters"], 0);
    let personal: Vec<String> = truth["personal"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    let mut logs = out.stdout.clone();
    logs.extend(&out.stderr);
    assert_no_personal_data(&out_dir, &logs, &personal);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `pipeline --stream-only` over `input` with the gate's `flags`, its outputs in `out` beside
/// the input (replaced each run): the summary.
fn gate_flag_run(input: &std::path::Path, flags: &[&str]) -> Value {
    let out = input.with_file_name("out");
    let _ = std::fs::remove_dir_all(&out);
    run_ok(
        example("pipeline")
            .env("WEBSIGHT_PSEUDONYM_KEY", "a key of at least sixteen bytes")
            .args(["--input", input.to_str().unwrap(), "--stream-only"])
            .args(["--out-dir", out.to_str().unwrap()])
            .args(flags),
    );
    summary(&out.join("summary.json"))
}

/// `--ip-visits-per-minute`: twenty visitors start a visit within a minute from one office
/// address and twenty from one provider's /24, an address each. By default the office's
/// sixth and later visits are rejected (`ip_rate`) and no neighbour's; with the flag at 20,
/// none.
#[test]
fn pipeline_ip_rate_counts_each_sender_and_is_set_by_a_flag() {
    let dir = scratch_dir("pipeline-ip-rate");
    let input = dir.join("visits.jsonl");
    let mut lines = String::new();
    for i in 0..20 {
        for (who, ip) in [
            ("office", "192.0.2.44".to_owned()),
            ("home", format!("203.0.113.{}", i + 1)),
        ] {
            lines.push_str(&format!(
                r#"{{"type":"page","messageId":"{who}-{i}","anonymousId":"{who}-visitor-{i}","timestamp":"2026-03-02T08:00:{:02}Z","context":{{"ip":"{ip}","userAgent":"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}},"properties":{{"path":"/","url":"https://shop.example/"}}}}"#,
                i * 2
            ));
            lines.push('\n');
        }
    }
    std::fs::write(&input, lines).unwrap();
    let run = |extra: &[&str]| gate_flag_run(&input, extra);
    let default = run(&[]);
    assert_eq!(
        default["rejected"],
        serde_json::json!({ "ip_rate": 15 }),
        "{default}"
    );
    assert_eq!(default["sessions"], 25, "{default}");
    let office = run(&["--ip-visits-per-minute", "20"]);
    assert_eq!(office["rejected"], serde_json::json!({}), "{office}");
    assert_eq!(office["sessions"], 40, "{office}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--max-quantity`: a trade customer's order of 25,000 screws is beyond the default limit
/// of 10,000 units a product (rejected, `impossible_figures`); a shop that sells by the
/// pallet raises the limit and counts the order.
#[test]
fn pipeline_max_quantity_is_set_by_a_flag() {
    let dir = scratch_dir("pipeline-max-quantity");
    let input = dir.join("order.jsonl");
    let context = r#""context":{"ip":"192.0.2.80","userAgent":"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}"#;
    let lines = format!(
        "{}\n{}\n",
        format_args!(
            r#"{{"type":"page","messageId":"t1","anonymousId":"trade-1","timestamp":"2026-03-02T08:00:00Z",{context},"properties":{{"path":"/screws","url":"https://shop.example/screws"}}}}"#
        ),
        format_args!(
            r#"{{"type":"track","event":"Order Completed","messageId":"t2","anonymousId":"trade-1","timestamp":"2026-03-02T08:03:00Z",{context},"properties":{{"order_id":"t-1","revenue":2500,"currency":"EUR","products":[{{"product_id":"screw-m4","price":0.1,"quantity":25000}}]}}}}"#
        ),
    );
    std::fs::write(&input, lines).unwrap();
    let run = |extra: &[&str]| gate_flag_run(&input, extra);
    let default = run(&[]);
    assert_eq!(
        default["rejected"],
        serde_json::json!({ "impossible_figures": 1 }),
        "{default}"
    );
    assert_eq!(default["orders"], 0, "{default}");
    let trade = run(&["--max-quantity", "50000"]);
    assert_eq!(trade["rejected"], serde_json::json!({}), "{trade}");
    assert_eq!(trade["orders"], 1, "{trade}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The original system's session records (the seed's format) read with `--format original`:
/// one visit per record, one person per user, exact orders and revenue, no leak of names,
/// e-mails or IPs.
#[test]
fn pipeline_reads_original_records() {
    use websight::core::model::Catalogue;
    use websight::core::record::SessionRecord;
    use websight::core::synth::{Generator, SynthConfig};
    let dir = scratch_dir("original");
    let generator = Generator::new(SynthConfig {
        sessions: 400,
        users: 10_000_000,
        bot_share: 0.0,
        abuse_share: 0.0,
        seed: 11,
        ..SynthConfig::default()
    })
    .unwrap();
    let (mut lines, mut personal) = (String::new(), Vec::new());
    let (mut orders, mut cents) = (0u64, 0i64);
    let mut users = std::collections::HashSet::new();
    for s in generator.sessions() {
        let record = SessionRecord::from_session(&s.session, &Catalogue::furniture()).unwrap();
        users.insert(record.user_id.clone());
        if record.purchase_made {
            orders += 1;
            cents += (record.amount_spent.0 * 100.0).round() as i64;
        }
        personal.extend([
            record.email.clone(),
            record.name.clone(),
            record.user_id.clone(),
        ]);
        // A truncated address ends in .0: such an address is its own truncation.
        if !record.ip_address.ends_with(".0") {
            personal.push(record.ip_address.clone());
        }
        lines.push_str(&serde_json::to_string(&record).unwrap());
        lines.push('\n');
    }
    assert_eq!(users.len(), 400, "one user per record");
    let input = dir.join("records.jsonl");
    std::fs::write(&input, lines).unwrap();
    let out_dir = dir.join("out");
    let out = run_ok(example("pipeline").args([
        "--input",
        input.to_str().unwrap(),
        "--format",
        "original",
        "--out-dir",
        out_dir.to_str().unwrap(),
    ]));
    let s = summary(&out_dir.join("summary.json"));
    assert!(s["rejected"].as_object().unwrap().is_empty(), "{s}");
    assert_eq!(s["sessions"], 400, "{s}");
    assert_eq!(s["visitors"], 400, "{s}");
    assert_eq!(s["orders"], orders, "{s}");
    assert_eq!(
        s["revenue"]["USD"].as_f64().unwrap(),
        cents as f64 / 100.0,
        "{s}"
    );
    let mut logs = out.stdout.clone();
    logs.extend(&out.stderr);
    assert_no_personal_data(&out_dir, &logs, &personal);
    // Auto-detection reads the same lines the same way.
    let auto_dir = dir.join("auto");
    run_ok(example("pipeline").args([
        "--input",
        input.to_str().unwrap(),
        "--json",
        auto_dir.with_extension("json").to_str().unwrap(),
    ]));
    let auto = summary(&auto_dir.with_extension("json"));
    assert_eq!(auto["sessions"], s["sessions"]);
    // Gzip in two members (as `cat a.gz b.gz` makes, cut mid-line): the same summary.
    let gz = dir.join("records.jsonl.gz");
    let text = std::fs::read(&input).unwrap();
    let mut file = std::fs::File::create(&gz).unwrap();
    for part in [&text[..text.len() / 2], &text[text.len() / 2..]] {
        let mut member = flate2::write::GzEncoder::new(&mut file, flate2::Compression::fast());
        std::io::Write::write_all(&mut member, part).unwrap();
        member.finish().unwrap();
    }
    let gz_summary = dir.join("gz.json");
    run_ok(example("pipeline").args([
        "--input",
        gz.to_str().unwrap(),
        "--json",
        gz_summary.to_str().unwrap(),
    ]));
    assert_eq!(summary(&gz_summary), auto);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A log kept in segments (`serve --keep-raw`: `raw.jsonl`, then `raw.<offset>.jsonl`) is
/// read from the segment named through every later one, in log order: the same summary as
/// the whole log in one file. From a later segment on, only what it and the rest hold; a
/// segment cut short is an error naming it, never a gap read over.
#[test]
fn pipeline_reads_a_log_kept_in_segments() {
    use websight::core::io::segments::path_of;
    let dir = scratch_dir("segments");
    let lines = websight_testkit::lines(&websight_testkit::generator(300, 5));
    let whole = dir.join("whole.jsonl");
    let text: Vec<u8> = lines
        .iter()
        .flat_map(|l| [&l[..], b"\n"].concat())
        .collect();
    std::fs::write(&whole, &text).unwrap();
    let log = dir.join("raw.jsonl");
    let (third, mut at) = (lines.len() / 3, 0u64);
    let mut second = None;
    for part in [
        &lines[..third],
        &lines[third..2 * third],
        &lines[2 * third..],
    ] {
        let bytes: Vec<u8> = part.iter().flat_map(|l| [&l[..], b"\n"].concat()).collect();
        let path = path_of(&log, at);
        if at > 0 && second.is_none() {
            second = Some(path.clone());
        }
        std::fs::write(&path, &bytes).unwrap();
        at += bytes.len() as u64;
    }
    let run = |input: &std::path::Path, name: &str| {
        let json = dir.join(name);
        let out = run_ok(example("pipeline").args([
            "--input",
            input.to_str().unwrap(),
            "--stream-only",
            "--json",
            json.to_str().unwrap(),
        ]));
        (
            summary(&json),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (one_file, _) = run(&whole, "whole.json");
    let (segmented, said) = run(&log, "segmented.json");
    assert_eq!(one_file["inputs"], lines.len() as u64);
    assert_eq!(segmented, one_file);
    assert!(
        said.contains("and the 2 later segments of its log"),
        "{said}"
    );
    let second = second.unwrap();
    let (later, _) = run(&second, "later.json");
    assert_eq!(later["inputs"], (lines.len() - third) as u64);
    // The middle segment cut short by a line.
    let bytes = std::fs::read(&second).unwrap();
    let cut = bytes[..bytes.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    std::fs::write(&second, &bytes[..cut]).unwrap();
    let out = example("pipeline")
        .args(["--input", log.to_str().unwrap(), "--stream-only"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("a segment is missing or was cut"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A tool's output piped into a reader that stops early (`| head`) ends the tool as it ends
/// `cat`: killed by SIGPIPE, with no panic and no `error:` (the pipeline's report used to
/// panic in `println!`, `generate` to fail with `Broken pipe`).
#[cfg(unix)]
#[test]
fn a_closed_stdout_ends_a_tool_quietly() {
    let dir = scratch_dir("closed-stdout");
    let reviews = dir.join("reviews.txt");
    std::fs::write(&reviews, "I LOVE this sofa!!!\n".repeat(50_000)).unwrap();
    let tools: [(&str, &[&str]); 4] = [
        ("pipeline", &["--stream-only", "--sessions", "300"]),
        ("generate", &["--sessions", "3000"]),
        ("sentiment", &[reviews.to_str().unwrap()]),
        (
            "dp",
            &[
                "sample",
                "--mechanism",
                "laplace",
                "--scale",
                "1",
                "--n",
                "1000",
            ],
        ),
    ];
    // (`lsh`, `explain` and `train` make the same call as `generate` and `sentiment`; the
    // pipeline prints as `load` and `throughput` do, and is also checked on the servers.)
    for (name, args) in tools {
        ends_by_sigpipe_on_a_closed_stdout(example(name).args(args));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
/// Runs `command` with its stdout closed before it writes: it must end by SIGPIPE, as `cat`
/// does, with no panic and no error.
fn ends_by_sigpipe_on_a_closed_stdout(command: &mut std::process::Command) {
    use std::os::unix::process::ExitStatusExt;
    let mut child = command
        .env("WEBSIGHT_PSEUDONYM_KEY", "a key of at least sixteen bytes")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader is gone before the tool has written: its next write has none.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let name = command.get_program().to_string_lossy().into_owned();
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{name}: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("error:"),
        "{name}: {stderr}"
    );
}

#[test]
fn sentiment_writes_one_json_object_per_line() {
    use std::io::Write;
    let mut child = example("sentiment")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            "I LOVE this sofa!!!\nThe chair is terrible.\nIt arrived on Monday.\n".as_bytes(),
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let rows: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["text"], "I LOVE this sofa!!!");
    // `-h` is asked for the usage, not a file of that name.
    let help = run_ok(example("sentiment").arg("-h"));
    assert!(String::from_utf8_lossy(&help.stdout).starts_with("usage: sentiment"));
    for key in ["neg", "neu", "pos", "compound"] {
        assert!(rows[1][key].is_f64(), "{key}");
    }
    let labels: Vec<&str> = rows.iter().map(|r| r["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["positive", "negative", "neutral"]);
}

#[test]
fn generate_writes_json_lines_in_both_shapes() {
    for (format, key) in [("events", "messageId"), ("sessions", "sessionId")] {
        let out = run_ok(example("generate").args([
            "--sessions",
            "50",
            "--seed",
            "9",
            "--format",
            format,
        ]));
        let text = String::from_utf8(out.stdout).unwrap();
        let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert!(first.get(key).is_some(), "{format}: {first}");
    }
    assert_eq!(
        example("generate")
            .args(["--format", "xml"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
}

/// A file a tool cannot make or read is a failure (exit 1) that names it, wherever the
/// failure comes from (the tool, the stores' files, the checkpoint): `/x/out: Not a
/// directory`, not the bare OS message.
#[test]
fn a_file_that_cannot_be_made_or_read_is_named() {
    let dir = scratch_dir("unwritable");
    let file = dir.join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let under = |name: &str| file.join(name).to_str().unwrap().to_owned();
    let (out_dir, events, checkpoint) = (under("out"), under("events.jsonl"), under("ck"));
    let small = ["--stream-only", "--sessions", "20"];
    for (name, args, named) in [
        ("pipeline", vec!["--out-dir", &out_dir], &out_dir),
        ("pipeline", vec!["--events-out", &events], &events),
        (
            "pipeline",
            vec![
                "--out-dir",
                dir.to_str().unwrap(),
                "--checkpoint",
                &checkpoint,
            ],
            &checkpoint,
        ),
        ("sentiment", vec![&events[..]], &events),
    ] {
        run_failing(
            example(name)
                .args(&args)
                .args(if name == "pipeline" { &small[..] } else { &[] })
                .env("WEBSIGHT_PSEUDONYM_KEY", "a key of at least sixteen bytes"),
            1,
            &format!("{named}: Not a directory"),
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A flag's bad value is a usage error (exit 2) that names the flag: a number out of its
/// field's range is refused, never cut to fit, a flag at the end without its value is said
/// to need one, and a file to write at the end in a directory that is not there is refused
/// before the work.
#[test]
fn a_bad_flag_value_is_a_usage_error_naming_the_flag() {
    for (name, args, said) in [
        (
            "generate",
            &["--users", "4294967296"][..],
            "--users \"4294967296\"",
        ),
        ("generate", &["--seed"], "--seed needs a value"),
        ("pipeline", &["--days", "-1"], "--days \"-1\""),
        (
            "pipeline",
            &["--stream-only", "--dp-epsilon", "x"],
            "--dp-epsilon \"x\"",
        ),
        ("lsh", &["--num-perm", "many"], "--num-perm \"many\""),
        (
            "dp",
            &["epsilon", "--q", "0.1", "--sigma", "1", "--stepz", "5"],
            "dp epsilon: unknown flag \"--stepz\"",
        ),
        (
            "dp",
            &[
                "sigma",
                "--epsilon",
                "1",
                "--q",
                "x",
                "--steps",
                "5",
                "--delta",
                "1e-5",
            ],
            "--q \"x\"",
        ),
        (
            "dp",
            &[
                "sample",
                "--mechanism",
                "laplace",
                "--scale",
                "1/0",
                "--n",
                "3",
            ],
            "--scale \"1/0\"",
        ),
        (
            "dp",
            &[
                "ledger", "--ledger", "l.json", "--budget", "1", "--what", "w",
            ],
            "--delta and --what go with --spend",
        ),
        (
            "pipeline",
            &["--ip-visits-per-minute", "0"],
            "--ip-visits-per-minute is a number of visits: at least 1",
        ),
        (
            "serve",
            &["--max-quantity", "0"],
            "--max-quantity is a number of units: at least 1",
        ),
        (
            "serve",
            &["--ip-visits-per-minute", "-3"],
            "--ip-visits-per-minute \"-3\"",
        ),
        (
            "serve",
            &["--trusted-proxy", "10.0.0.0/33"],
            "--trusted-proxy \"10.0.0.0/33\": \"10.0.0.0/33\" is no address or address block",
        ),
        (
            "serve",
            &["--asset", "p.js"],
            "--asset \"p.js\": ROUTE=FILE",
        ),
        (
            "pipeline",
            &["--threads", "0"],
            "--threads is a number of threads: at least 1",
        ),
        // A file written when the work is done is refused before it starts.
        (
            "pipeline",
            &["--report", "/no-such-websight-dir/r.html"],
            "--report /no-such-websight-dir/r.html: no directory /no-such-websight-dir to write it in",
        ),
        (
            "train",
            &[
                "--data",
                "synthetic",
                "--json",
                "/no-such-websight-dir/m.json",
            ],
            "--json /no-such-websight-dir/m.json: no directory",
        ),
    ] {
        run_failing(example(name).args(args), 2, said);
    }
}

#[test]
fn train_prints_the_table_and_writes_the_documented_json() {
    let out_path = std::env::temp_dir().join(format!("websight-train-{}.json", std::process::id()));
    let out = run_ok(example("train").args([
        "--data",
        "synthetic",
        "--sessions",
        "3000",
        "--json",
        out_path.to_str().unwrap(),
    ]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("bayes_optimal") && text.contains("shuffled_label_baseline"),
        "{text}"
    );
    let rows: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
    let models: Vec<&str> = rows.iter().map(|r| r["model"].as_str().unwrap()).collect();
    let mut expected = vec![
        "random_forest",
        "mlp_128_64",
        "mlp_dp_sgd",
        "private_forest",
        "shuffled_label_baseline",
    ];
    if cfg!(feature = "xgboost") {
        expected.insert(1, "xgboost");
    }
    assert_eq!(models, expected);
    for r in &rows {
        for key in ["accuracy", "roc_auc", "pr_auc", "f1"] {
            assert!(r[key].is_f64(), "{key} in {r}");
        }
        assert!(r["below_baseline"].is_boolean(), "{r}");
    }
    assert!(rows[0]["dp_epsilon"].is_null());
    let dp_sgd = rows.iter().find(|r| r["model"] == "mlp_dp_sgd").unwrap();
    assert!(dp_sgd["dp_epsilon"].as_f64().unwrap() <= 3.0);
    assert_eq!(dp_sgd["below_baseline"], false, "{dp_sgd}");
    let csv = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/websight-core/tests/data/online_shoppers_intention.csv"
    );
    // Online Shoppers: a private tree model at ε ≤ 3 above 0.72 (diffprivlib's DP forest
    // reaches 0.62 at best: websight-dp/tests/fixtures/diffprivlib_forest.json).
    run_ok(example("train").args([
        "--data",
        "shoppers",
        "--csv",
        csv,
        "--json",
        out_path.to_str().unwrap(),
    ]));
    let rows: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
    assert!(
        rows.iter().any(|r| {
            let name = r["model"].as_str().unwrap();
            ["forest", "tree", "boost"].iter().any(|k| name.contains(k))
                && r["dp_epsilon"].as_f64().is_some_and(|e| e <= 3.0)
                && r["roc_auc"].as_f64().unwrap() > 0.72
        }),
        "{rows:#?}"
    );
    let bad = example("train")
        .args(["--data", "shoppers", "--csv", "/nonexistent.csv"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    // Too little data to score any model: said before anything is trained.
    let said = run_failing(
        example("train").args(["--data", "synthetic", "--sessions", "50"]),
        1,
        "hold 0 purchases",
    );
    assert!(said.contains("--sessions"), "{said}");
    let _ = csv;
    assert_eq!(
        example("train")
            .args(["--data", "mnist"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
}

/// The explain example on the shap fixtures: the listed rows equal shap's values.
fn explain_matches(args: &[&str], reference: &str, tolerance: f64) {
    let dir = std::env::temp_dir().join(format!("websight-explain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(format!("{}.json", reference.replace('/', "_")));
    let mut cmd = example("explain");
    cmd.args(args).args(["--out", out.to_str().unwrap()]);
    run_ok(&mut cmd);
    let got: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(
        got.as_object().unwrap().len(),
        2,
        "only expected_value and shap_values"
    );
    let fixtures = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/websight-explain/tests/fixtures/"
    );
    let want: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{fixtures}{reference}")).unwrap())
            .unwrap();
    let expected = &want["expected_value"];
    assert!(
        (got["expected_value"].as_f64().unwrap() - expected.as_f64().unwrap()).abs() <= tolerance
    );
    let values = if want.get("shap_values").is_some() {
        &want["shap_values"]
    } else {
        &want["kernelshap_full"]
    };
    for (k, row) in want["rows"].as_array().unwrap().iter().enumerate() {
        let ours = &got["shap_values"][row.as_u64().unwrap() as usize];
        for (a, b) in ours
            .as_array()
            .unwrap()
            .iter()
            .zip(values[k].as_array().unwrap())
        {
            assert!(
                (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() <= tolerance,
                "row {row}"
            );
        }
    }
}

#[test]
fn explain_tree_and_kernel_reproduce_shap() {
    let f = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/websight-explain/tests/fixtures/"
    );
    let tree = format!("{f}treeshap/");
    let kernel = format!("{f}kernelshap/");
    explain_matches(
        &[
            "tree",
            "--model",
            &format!("{tree}rf_model.json"),
            "--format",
            "sklearn",
            "--data",
            &format!("{tree}features.csv"),
            "--label",
            "label",
        ],
        "treeshap/shap_rf.json",
        1e-9,
    );
    explain_matches(
        &[
            "tree",
            "--model",
            &format!("{tree}xgb_model.json"),
            "--format",
            "xgboost",
            "--data",
            &format!("{tree}features.csv"),
            "--label",
            "label",
        ],
        "treeshap/shap_xgb.json",
        1e-5,
    );
    explain_matches(
        &[
            "kernel",
            "--model",
            &format!("{kernel}model_mlp.json"),
            "--background",
            &format!("{kernel}background.json"),
            "--data",
            &format!("{kernel}features.csv"),
            "--label",
            "label",
        ],
        "kernelshap/kernelshap_mlp.json",
        1e-9,
    );
}

#[test]
fn explain_rows_limit_and_errors() {
    let f = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/websight-explain/tests/fixtures/treeshap/"
    );
    let out =
        std::env::temp_dir().join(format!("websight-explain-rows-{}.json", std::process::id()));
    run_ok(example("explain").args([
        "tree",
        "--model",
        &format!("{f}rf_model.json"),
        "--format",
        "sklearn",
        "--data",
        &format!("{f}features.csv"),
        "--label",
        "label",
        "--rows",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["shap_values"].as_array().unwrap().len(), 3);
    assert_eq!(v["shap_values"][0].as_array().unwrap().len(), 8);
    // Without dropping the label the widths disagree: a clear error, exit 1.
    let bad = example("explain")
        .args([
            "tree",
            "--model",
            &format!("{f}rf_model.json"),
            "--format",
            "sklearn",
            "--data",
            &format!("{f}features.csv"),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("9 features, the model 8"));
    let usage = example("explain")
        .args(["tree", "--model", "x"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

/// The report of a run with a DP release (`--dp-epsilon`): it renders in Chromium with
/// every chart, and shows every released figure noised with its error bar and the budget
/// left in the ledger, which holds both the release and the private models' training.
#[test]
fn report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else { return };
    let artefacts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artefacts");
    let out = artefacts.join("dp-run");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let report = artefacts.join("websight-report.html");
    let ledger = out.join("ledger.json");
    run_ok(example("pipeline").args([
        "--sessions",
        "4000",
        "--users",
        "600",
        "--seed",
        "5",
        "--out-dir",
        out.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--dp-epsilon",
        "1",
        "--dp-budget",
        "10",
        "--dp-ledger",
        ledger.to_str().unwrap(),
    ]));
    let dp: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("dp_dashboard.json")).unwrap())
            .unwrap();
    let book: Value = serde_json::from_str(&std::fs::read_to_string(&ledger).unwrap()).unwrap();
    let entries = book["entries"].as_array().unwrap();
    assert_eq!(
        entries.len(),
        2,
        "the release and the private models: {book}"
    );
    assert!(
        entries[1]["what"]
            .as_str()
            .unwrap()
            .contains("purchase models")
    );
    // Left after the release alone (the file is written then); the page below shows what
    // is left after the models too: 10 − 1 − (3 + 3).
    assert!(
        (dp["budget_left"].as_f64().unwrap() - 9.0).abs() < 1e-9,
        "{dp}"
    );
    let days = dp["by_day"].as_array().unwrap().len();
    assert!(days >= 20, "{days} days");
    assert_eq!(dp["by_channel"].as_array().unwrap().len(), 19);
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        !html.contains("https://") && !html.contains("<link"),
        "self-contained"
    );
    let profile = std::env::temp_dir().join(format!("websight-chromium-{}", std::process::id()));
    let url = format!("file://{}", report.display());

    let dom = run_ok(headless(&browser, &profile).arg("--dump-dom").arg(&url));
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    let charts = websight::report::Report::chart_names().len();
    assert!(
        dom_text.contains(&format!("data-charts=\"{charts}/{charts}\"")),
        "not every chart rendered: {}",
        dom_text
            .lines()
            .find(|l| l.contains("<body"))
            .unwrap_or("no <body>")
    );
    // The page logs nothing; anything on the console is an error.
    // Every released figure is marked noised and carries its 95 % error bar.
    let noised = dom_text.matches("data-noised").count();
    assert_eq!(noised, 4 * (days + 19), "noised cells");
    let bar = format!("±{}", dp["count_error95"].as_f64().unwrap());
    assert!(
        dom_text.matches(bar.as_str()).count() >= 3 * (days + 19),
        "{bar}"
    );
    assert!(dom_text.contains("data-dp-epsilon=\"1\"") && dom_text.contains("3.00 of ε = 10 left"));
    let log = String::from_utf8_lossy(&dom.stderr);
    let console: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert!(console.is_empty(), "console output: {console:#?}");

    let shot = artefacts.join("websight-report.png");
    let _ = std::fs::remove_file(&shot);
    run_ok(
        headless(&browser, &profile)
            .arg(format!("--screenshot={}", shot.display()))
            .arg("--window-size=1280,4200")
            .arg(&url),
    );
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 20_000,
        "screenshot {} is {size} bytes",
        shot.display()
    );
    let _ = std::fs::remove_dir_all(&profile);
}

/// With `--search`, the stream's documents go to the real search server of
/// scripts/services.sh, and the pipeline checks the server's counts against what it emitted.
#[cfg(feature = "elasticsearch")]
#[test]
fn pipeline_writes_exact_counts_to_the_search_server() {
    let Some([url]) = servers(["WEBSIGHT_SEARCH_URL"]) else {
        return;
    };
    let report = std::env::temp_dir().join(format!("websight-search-{}.html", std::process::id()));
    let prefix = format!("pipeline{}-", std::process::id());
    let out = run_ok(example("pipeline").args([
        "--sessions",
        "2000",
        "--users",
        "300",
        "--seed",
        "8",
        "--report",
        report.to_str().unwrap(),
        "--search",
        &url,
        "--search-prefix",
        &prefix,
    ]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("written to the search server") && text.contains(": exact"),
        "{text}"
    );
}

/// A CSV background (with the label column dropped) gives the same values as its JSON form.
#[test]
fn explain_kernel_reads_a_csv_background() {
    let f = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/websight-explain/tests/fixtures/kernelshap/"
    );
    let background: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{f}background.json")).unwrap())
            .unwrap();
    let dir = scratch_dir("bg");
    let mut csv = String::from("f0,f1,f2,f3,f4,f5,label\n");
    for row in background["values"].as_array().unwrap() {
        let cells: Vec<String> = row
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.to_string())
            .collect();
        csv.push_str(&format!("{},0\n", cells.join(",")));
    }
    let csv_path = dir.join("background.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let run = |bg: &str, out: &std::path::Path| -> Value {
        run_ok(example("explain").args([
            "kernel",
            "--model",
            &format!("{f}model_lr.json"),
            "--background",
            bg,
            "--data",
            &format!("{f}features.csv"),
            "--label",
            "label",
            "--rows",
            "5",
            "--out",
            out.to_str().unwrap(),
        ]));
        serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
    };
    let from_csv = run(csv_path.to_str().unwrap(), &dir.join("csv.json"));
    let from_json = run(&format!("{f}background.json"), &dir.join("json.json"));
    assert_eq!(from_csv, from_json);
}

/// `--servers` (feature `connectors`): the whole stream stage on the real servers of
/// scripts/services.sh — Kafka, Redis, MongoDB, the search server — with exact counts, and the
/// offline stage fed from MongoDB.
#[cfg(feature = "connectors")]
#[test]
fn pipeline_runs_on_the_real_servers() {
    if servers(ALL_SERVERS).is_none() {
        return;
    }
    let report = std::env::temp_dir().join(format!("websight-servers-{}.html", std::process::id()));
    let prefix = format!("pipelineservers{}-", std::process::id());
    let out = run_ok(example("pipeline").args([
        "--sessions",
        "1500",
        "--users",
        "300",
        "--seed",
        "4",
        "--report",
        report.to_str().unwrap(),
        "--servers",
        "--prefix",
        &prefix,
    ]));
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "websight pipeline (servers: Kafka",
        "conserved                 true",
        "written to the search server",
        ": exact",
        "in the MongoDB for the offline stage",
        "Purchase models",
        "Report written to",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert!(
        text.contains("dead letters with their reason") && text.contains("conserved: true"),
        "{text}"
    );
    // Its output closed early (`pipeline --servers | head`), it ends as `cat` does.
    ends_by_sigpipe_on_a_closed_stdout(example("pipeline").args([
        "--servers",
        "--prefix",
        &format!("{prefix}closed-"),
        "--stream-only",
        "--sessions",
        "100",
    ]));
    // The flags that only make sense with --servers are refused without it.
    let misuse = example("pipeline").args(["--kafka", "x"]).output().unwrap();
    assert_eq!(misuse.status.code(), Some(2));
}

/// `pipeline --checkpoint`: killed with SIGKILL at random moments and started again with the
/// same command until it completes, it leaves byte for byte the files and summary of a run
/// that was never interrupted.
#[test]
fn pipeline_killed_at_random_points_resumes_to_the_same_files() {
    let base = scratch_dir("kill");
    let key = ("WEBSIGHT_PSEUDONYM_KEY", "a key for the kill -9 test");
    let run = |dir: &std::path::Path| {
        let mut cmd = example("pipeline");
        cmd.env(key.0, key.1).args([
            "--stream-only",
            "--sessions",
            "3000",
            "--users",
            "500",
            "--seed",
            "3",
            "--checkpoint-every",
            "1",
            "--out-dir",
            dir.to_str().unwrap(),
            "--checkpoint",
            dir.with_extension("checkpoint").to_str().unwrap(),
        ]);
        cmd
    };
    let clean = base.join("clean");
    let started = std::time::Instant::now();
    run_ok(&mut run(&clean));
    // Kills fall within a whole run's time, so every seed is killed however fast the machine
    // (fixed delays of up to a second outlasted a whole run on a fast one).
    let mut span = started.elapsed();
    assert!(
        !clean.with_extension("checkpoint").exists(),
        "removed when done"
    );
    let files = std::iter::once("summary.json").chain(STREAM_FILES);
    // A file's text: its segments one after the other (one file when not in segments).
    let text = |path: std::path::PathBuf| -> Vec<u8> {
        let segments = websight::core::io::segments::list(&path).unwrap();
        assert!(!segments.is_empty(), "{} is missing", path.display());
        segments
            .iter()
            .flat_map(|s| std::fs::read(&s.path).unwrap())
            .collect()
    };
    for seed in [1u64, 2, 3] {
        let dir = base.join(format!("killed-{seed}"));
        // The last seed writes its outputs in segments of 200 KiB, rolled, cut back and
        // removed across the kills: read whole, they are the clean run's files.
        let segmented = if seed == 3 {
            &["--out-segment-mb", "0.2"][..]
        } else {
            &[]
        };
        let mut rng = seed;
        let (mut kills, mut resumed) = (0, 0);
        loop {
            let mut child = run(&dir)
                .args(segmented)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let delay = span.mul_f64(0.05 + 0.85 * ((rng >> 33) % 1000) as f64 / 1000.0);
            let started = std::time::Instant::now();
            while started.elapsed() < delay && child.try_wait().unwrap().is_none() {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            if kills < 6 && child.try_wait().unwrap().is_none() {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
                continue;
            }
            let out = child.wait_with_output().unwrap();
            let log = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{log}");
            if kills == 0 {
                // Done before its first kill: the clean run was timed on a busier machine
                // (CI runs other tests beside it). Start over from nothing, killing sooner.
                span /= 2;
                let _ = std::fs::remove_dir_all(&dir);
                assert!(
                    span > std::time::Duration::from_millis(20),
                    "seed {seed}: never killed"
                );
                continue;
            }
            resumed += usize::from(log.contains("resumed from the checkpoint"));
            // The lines the outputs held at the checkpoint, taken from its counts, agree
            // with the counts at the end.
            let said = String::from_utf8_lossy(&out.stdout);
            assert!(said.contains("conserved: true"), "seed {seed}: {said}");
            break;
        }
        for file in files.clone() {
            let want = std::fs::read(clean.join(file)).unwrap();
            let got = text(dir.join(file));
            assert!(want == got, "seed {seed}, {kills} kills: {file} differs");
        }
        if seed == 3 {
            let checked = websight::core::io::segments::list(&dir.join("checked.jsonl")).unwrap();
            assert!(checked.len() > 3, "{} segments", checked.len());
        }
        eprintln!("seed {seed}: {kills} kills, final run resumed: {resumed}");
    }
    // A checkpoint of other traffic is refused, not continued from.
    let dir = base.join("other");
    let mut child = run(&dir)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    while !dir.with_extension("checkpoint").exists() && child.try_wait().unwrap().is_none() {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let other = run(&dir).args(["--seed", "4"]).output().unwrap();
    assert!(!other.status.success());
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("the checkpoint was taken on seed 3"),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );
    let _ = std::fs::remove_dir_all(&base);
}

/// `pipeline --servers --checkpoint redis`: killed with SIGKILL at random moments after a
/// checkpoint (sometimes between saving it and committing Kafka's offsets) and started again
/// with the same command, it ends with byte for byte the summary of a run never interrupted,
/// the exact document counts in the search server, and the same messages in its Kafka
/// checked and dead-letter topics — none repeated by the replay after the checkpoint.
#[cfg(feature = "connectors")]
#[test]
fn pipeline_killed_on_the_servers_resumes_to_the_same_summary() {
    use std::io::BufRead;
    let Some([kafka, ..]) = servers(ALL_SERVERS) else {
        return;
    };
    // Every message of a topic: key, payload, headers.
    let topic = |prefix: &str, name: &str| {
        use websight::connectors::kafka::{KafkaSource, Topics};
        let topics = Topics::prefixed(prefix);
        let topic = if name == "checked" {
            topics.checked
        } else {
            topics.dead_letters
        };
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let mut source = KafkaSource::from_beginning(&kafka, &topic)
                .await
                .unwrap()
                .idle_timeout(std::time::Duration::from_secs(3));
            let mut all = Vec::new();
            while let Some(batch) = source.next_messages(5_000).await.unwrap() {
                all.extend(batch.into_iter().map(|m| (m.key, m.payload, m.headers)));
            }
            all
        })
    };
    let prefix = |name: &str| format!("killservers{}{name}-", std::process::id());
    let base = scratch_dir("kill-servers");
    let run = |name: &str| {
        let mut cmd = example("pipeline");
        cmd.env("WEBSIGHT_PSEUDONYM_KEY", "a key for the servers kill test")
            .args(["--servers", "--stream-only", "--checkpoint", "redis"])
            .args(["--checkpoint-every", "1", "--sessions", "1500"])
            .args(["--users", "300", "--seed", "5", "--prefix"])
            .arg(prefix(name))
            .arg("--json")
            .arg(base.join(format!("{name}.json")))
            .arg("--report")
            .arg(base.join(format!("{name}.html")));
        cmd
    };
    run_ok(&mut run("clean"));
    let clean = std::fs::read(base.join("clean.json")).unwrap();
    let clean_topics = [
        topic(&prefix("clean"), "checked"),
        topic(&prefix("clean"), "dead"),
    ];
    assert!(!clean_topics[0].is_empty() && !clean_topics[1].is_empty());
    for seed in [7u64, 8] {
        let name = format!("killed{seed}");
        let (mut rng, mut kills, mut resumed) = (seed, 0, 0);
        loop {
            let mut child = run(&name)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            // Watch the log for checkpoints; kill a little after the k-th.
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let (k, delay) = (1 + (rng >> 33) % 3, (rng >> 20) % 300);
            let stderr = child.stderr.take().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stderr)
                    .lines()
                    .map_while(Result::ok)
                {
                    let _ = tx.send(line);
                }
            });
            let (mut saved, mut log) = (0, String::new());
            let mut killed = false;
            while let Ok(line) = rx.recv() {
                saved += u64::from(line.contains("checkpoint saved"));
                resumed += usize::from(line.contains("resumed from the checkpoint"));
                log.push_str(&line);
                log.push('\n');
                if kills < 2 && saved == k {
                    std::thread::sleep(std::time::Duration::from_millis(delay));
                    killed = child.kill().is_ok(); // SIGKILL
                    break;
                }
            }
            let status = child.wait().unwrap();
            if killed && !status.success() {
                kills += 1;
                continue;
            }
            assert!(status.success(), "{log}");
            break;
        }
        assert!(
            kills > 0 && resumed > 0,
            "seed {seed}: {kills} kills, {resumed} resumes"
        );
        let got = std::fs::read(base.join(format!("{name}.json"))).unwrap();
        assert!(
            got == clean,
            "seed {seed}: the summary differs after {kills} kills"
        );
        for (i, which) in ["checked", "dead"].into_iter().enumerate() {
            let got = topic(&prefix(&name), which);
            assert_eq!(
                got.len(),
                clean_topics[i].len(),
                "seed {seed}: the {which} topic after {kills} kills"
            );
            assert!(
                got == clean_topics[i],
                "seed {seed}: the {which} topic's messages differ"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&base);
}

/// The `--flag`s a text names.
fn flags_in(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|t| t.len() > 2 && t.starts_with("--"))
        .collect()
}

/// `--help` (and `-h`) answers on stdout, exit 0: the usage, then each flag of the usage
/// described once, with nothing the usage leaves out — and the parser takes every flag it
/// describes (a flag followed by an unknown one is a usage error about anything but it).
/// `--version` (and `-V`) answers with the tool's name and version.
#[test]
fn every_tool_describes_each_of_its_flags_in_its_help() {
    // Each tool with the command its flags follow; dp takes any `--name` into a map.
    let mut tools = vec![
        ("pipeline", None, true),
        ("train", None, true),
        ("generate", None, true),
        ("lsh", None, true),
        ("explain", Some("tree"), true),
        ("dp", None, false),
        ("sentiment", None, true),
    ];
    if cfg!(feature = "collector") {
        tools.extend([("serve", None, true), ("load", None, true)]);
    }
    if cfg!(feature = "connectors") {
        tools.push(("throughput", None, true));
    }
    for (name, command, parsed) in tools {
        for flag in ["--version", "-V"] {
            let said = String::from_utf8(run_ok(example(name).arg(flag)).stdout).unwrap();
            assert_eq!(said, format!("{name} {}\n", env!("CARGO_PKG_VERSION")));
        }
        let help = String::from_utf8(run_ok(example(name).arg("--help")).stdout).unwrap();
        let short = String::from_utf8(run_ok(example(name).arg("-h")).stdout).unwrap();
        assert_eq!(help, short, "{name}: -h and --help");
        assert!(
            help.starts_with("usage:") && help.contains(name),
            "{name}: {help}"
        );
        let (usage, rest) = help.split_once("\n\n").unwrap();
        let mut wanted = flags_in(usage);
        wanted.sort_unstable();
        wanted.dedup();
        let mut described: Vec<&str> = rest
            .lines()
            .filter_map(|l| l.strip_prefix("  "))
            .filter(|l| l.starts_with("--"))
            .map(|l| l.split_whitespace().next().unwrap())
            .collect();
        let listed = described.len();
        described.sort_unstable();
        described.dedup();
        assert_eq!(described.len(), listed, "{name}: a flag described twice");
        assert_eq!(
            described, wanted,
            "{name}: the flags described and the usage's"
        );
        assert!(name == "sentiment" || !described.is_empty(), "{name}");
        if !parsed {
            continue;
        }
        for flag in described {
            let mut cmd = example(name);
            cmd.args(command)
                .args([flag, "--no-such-flag", "--no-such-flag"]);
            let out = cmd.output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd:?}: {stderr}");
            assert!(
                !stderr.contains(&format!("{flag:?}")),
                "{cmd:?} does not take {flag}: {stderr}"
            );
        }
    }
}
