//! SHAP speed on the Online Shoppers data (17 features), against references measured in the
//! same run where they exist in Rust's reach, else on this machine by
//! `scripts/explain_reference.py bench target/explain-bench`:
//!
//! - Tree SHAP, random forest of 50 trees, depth 8: ours on websight's forest and (when the
//!   script has run) on the very scikit-learn forest shap timed; vs shap's TreeExplainer.
//! - Tree SHAP, XGBoost 100 rounds, depth 6 (feature `xgboost`): ours vs XGBoost's own C++
//!   `pred_contribs` on one thread, same booster, same run.
//! - Kernel SHAP, 8 features, 50 background rows, logistic regression and a 16-unit MLP:
//!   ours vs shap's KernelExplainer.
//!
//! `cargo bench -p websight-explain --features xgboost --bench explain`. After criterion's
//! statistics, a summary prints rows/s and the ratios.

use std::path::PathBuf;
use std::time::Instant;

use criterion::{Criterion, Throughput};
use ndarray::{Array2, s};
use websight_core::datasets::{Standardizer, online_shoppers, stratified_split};
use websight_core::learn::{Fit, MlpParams, RandomForestParams};
use websight_explain::{
    Algorithm, Explainer, KernelModel, KernelShap, Probability, TreeEnsemble, TreeShap,
};

const TREE_ROWS: usize = 1000;
const KERNEL_ROWS: usize = 40;

struct Data {
    train: Array2<f64>,
    train_y: ndarray::Array1<bool>,
    test: Array2<f64>,
}

fn data() -> Data {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../websight-core/tests/data/online_shoppers_intention.csv"
    );
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let d = online_shoppers(file).unwrap();
    let (train, test) = stratified_split(&d.y, 0.2, 42);
    let (train, test) = (d.rows(&train), d.rows(&test));
    Data {
        train: train.x,
        train_y: train.y,
        test: test.x,
    }
}

/// Directory of the script's exports and timings (absent until the script has run).
fn reference_dir() -> PathBuf {
    std::env::var_os("WEBSIGHT_EXPLAIN_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/explain-bench"
            ))
        })
}

fn reference_timings() -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(reference_dir().join("shap_timings.json")).ok()?;
    serde_json::from_str(&text).ok()
}

fn reference_file(name: &str) -> Option<String> {
    std::fs::read_to_string(reference_dir().join(name)).ok()
}

/// Best of `repeat` runs, in rows per second.
fn rows_per_s(rows: usize, repeat: usize, mut f: impl FnMut()) -> f64 {
    (0..repeat)
        .map(|_| {
            let t = Instant::now();
            f();
            rows as f64 / t.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

fn one_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(f)
}

/// Algorithm 2 alone, and the default (Fast TreeSHAP v2 when it pays, tables included in
/// the timing), on one and two threads.
const ALGORITHMS_THREADS: [(Algorithm, usize); 4] = [
    (Algorithm::PathDependent, 1),
    (Algorithm::Auto, 1),
    (Algorithm::PathDependent, 2),
    (Algorithm::Auto, 2),
];

fn shap_of(model: &TreeEnsemble, algorithm: Algorithm) -> TreeShap<'_> {
    TreeShap::new(model).algorithm(algorithm)
}

struct Line {
    what: String,
    ours: f64,
    reference: Option<(String, f64)>,
}

fn tree_forest(c: &mut Criterion, d: &Data, lines: &mut Vec<Line>) {
    let rows = d.test.slice(s![..TREE_ROWS, ..]);
    let forest = RandomForestParams::new()
        .trees(50)
        .max_depth(Some(8))
        .seed(42)
        .fit(d.train.view(), d.train_y.view())
        .unwrap();
    let ours = TreeEnsemble::from_forest(&forest).unwrap();
    let sklearn =
        reference_file("shoppers_rf.json").map(|j| TreeEnsemble::from_sklearn_json(&j).unwrap());
    let mut g = c.benchmark_group("tree_shap_forest_50x8");
    g.throughput(Throughput::Elements(TREE_ROWS as u64));
    g.sample_size(10);
    g.bench_function("websight_forest", |b| {
        b.iter(|| TreeShap::new(&ours).explain(rows).unwrap())
    });
    if let Some(model) = &sklearn {
        g.bench_function("sklearn_forest", |b| {
            b.iter(|| TreeShap::new(model).explain(rows).unwrap())
        });
    }
    g.finish();
    let shap = reference_timings()
        .and_then(|t| t["forest_50x8_shap_rows_per_s"].as_f64())
        .map(|v| ("shap TreeExplainer (measured by the script)".to_owned(), v));
    let leaves = |m: &TreeEnsemble| {
        m.trees()
            .iter()
            .map(|t| t.nodes.iter().filter(|n| n.children.is_none()).count())
            .sum::<usize>()
    };
    for (name, model) in [
        ("websight forest", Some(&ours)),
        ("scikit-learn forest", sklearn.as_ref()),
    ] {
        let Some(model) = model else { continue };
        for (algorithm, threads) in ALGORITHMS_THREADS {
            let run = || {
                rows_per_s(TREE_ROWS, 5, || {
                    drop(shap_of(model, algorithm).explain(rows).unwrap())
                })
            };
            let ours = if threads == 1 { one_thread(run) } else { run() };
            lines.push(Line {
                what: format!(
                    "Tree SHAP {algorithm:?}, {name} 50×8 ({} leaves), {threads} thread(s)",
                    leaves(model)
                ),
                ours,
                reference: shap.clone(),
            });
        }
    }
}

#[cfg(feature = "xgboost")]
fn tree_xgboost(c: &mut Criterion, d: &Data, lines: &mut Vec<Line>) {
    use websight_core::learn::GradientBoostingParams;
    let rows = d.test.slice(s![..TREE_ROWS, ..]);
    let booster = GradientBoostingParams::new()
        .rounds(100)
        .max_depth(6)
        .threads(1)
        .seed(42)
        .fit(d.train.view(), d.train_y.view())
        .unwrap();
    let model = TreeEnsemble::from_booster(&booster).unwrap();
    let mut g = c.benchmark_group("tree_shap_xgboost_100x6");
    g.throughput(Throughput::Elements(TREE_ROWS as u64));
    g.sample_size(10);
    g.bench_function("websight", |b| {
        b.iter(|| TreeShap::new(&model).explain(rows).unwrap())
    });
    g.bench_function("xgboost_pred_contribs_1_thread", |b| {
        b.iter(|| booster.contributions(rows).unwrap())
    });
    g.finish();
    let xgb = rows_per_s(TREE_ROWS, 5, || drop(booster.contributions(rows).unwrap()));
    for (algorithm, threads) in ALGORITHMS_THREADS {
        let run = || {
            rows_per_s(TREE_ROWS, 5, || {
                drop(shap_of(&model, algorithm).explain(rows).unwrap())
            })
        };
        let ours = if threads == 1 { one_thread(run) } else { run() };
        lines.push(Line {
            what: format!("Tree SHAP {algorithm:?}, XGBoost 100×6, {threads} thread(s)"),
            ours,
            reference: Some(("xgboost C++ pred_contribs, 1 thread, same run".into(), xgb)),
        });
    }
}

#[cfg(not(feature = "xgboost"))]
fn tree_xgboost(_: &mut Criterion, _: &Data, _: &mut Vec<Line>) {
    eprintln!("(XGBoost benchmark skipped: build with --features xgboost)");
}

fn kernel(c: &mut Criterion, d: &Data, lines: &mut Vec<Line>) {
    let eight = |x: &Array2<f64>| x.slice(s![.., ..8]).to_owned();
    let scaler = Standardizer::fit(&eight(&d.train));
    let train = scaler.transform(&eight(&d.train)).unwrap();
    let test = scaler.transform(&eight(&d.test)).unwrap();
    let background = train.slice(s![..50, ..]).to_owned();
    let rows = test.slice(s![..KERNEL_ROWS, ..]);
    let logistic = MlpParams::new()
        .hidden(vec![])
        .max_epochs(30)
        .fit(train.view(), d.train_y.view())
        .unwrap();
    let mlp = MlpParams::new()
        .hidden(vec![16])
        .max_epochs(30)
        .fit(train.view(), d.train_y.view())
        .unwrap();
    let timings = reference_timings();
    let mut g = c.benchmark_group("kernel_shap_8f_50bg");
    g.throughput(Throughput::Elements(KERNEL_ROWS as u64));
    g.sample_size(10);
    for (name, key, explainer) in [
        (
            "logistic",
            "logistic",
            KernelShap::new(&Probability(&logistic), background.clone()).unwrap(),
        ),
        (
            "mlp_16",
            "mlp",
            KernelShap::new(&Probability(&mlp), background.clone()).unwrap(),
        ),
    ] {
        g.bench_function(name, |b| b.iter(|| explainer.explain(rows).unwrap()));
        let ours = rows_per_s(KERNEL_ROWS, 5, || drop(explainer.explain(rows).unwrap()));
        lines.push(Line {
            what: format!("Kernel SHAP, 8 features, 50 background, websight {name}"),
            ours,
            reference: timings
                .as_ref()
                .and_then(|t| t[format!("kernel_8f_50bg_{key}_shap_rows_per_s")].as_f64())
                .map(|v| (format!("shap KernelExplainer, scikit-learn {key}"), v)),
        });
    }
    // The script's own scikit-learn models, from their JSON, on its background and rows.
    for (key, file) in [
        ("logistic", "shoppers_lr8.json"),
        ("mlp", "shoppers_mlp8.json"),
    ] {
        let (Some(model), Some(bg)) = (
            reference_file(file),
            reference_file("shoppers_background8.json"),
        ) else {
            continue;
        };
        let model = KernelModel::from_json(&model).unwrap();
        let bg: serde_json::Value = serde_json::from_str(&bg).unwrap();
        let bg: Vec<Vec<f64>> = serde_json::from_value(bg["values"].clone()).unwrap();
        let bg = Array2::from_shape_vec((bg.len(), 8), bg.into_iter().flatten().collect()).unwrap();
        let raw_rows = d.test.slice(s![..KERNEL_ROWS, ..8]).to_owned();
        let explainer = KernelShap::new(&model, bg).unwrap();
        g.bench_function(format!("sklearn_{key}_from_json"), |b| {
            b.iter(|| explainer.explain(raw_rows.view()).unwrap())
        });
        let ours = rows_per_s(KERNEL_ROWS, 5, || {
            drop(explainer.explain(raw_rows.view()).unwrap())
        });
        lines.push(Line {
            what: format!("Kernel SHAP, 8 features, 50 background, the scikit-learn {key} (JSON)"),
            ours,
            reference: timings
                .as_ref()
                .and_then(|t| t[format!("kernel_8f_50bg_{key}_shap_rows_per_s")].as_f64())
                .map(|v| ("shap KernelExplainer, same model".to_owned(), v)),
        });
    }
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let d = data();
    let mut lines = Vec::new();
    tree_forest(&mut c, &d, &mut lines);
    tree_xgboost(&mut c, &d, &mut lines);
    kernel(&mut c, &d, &mut lines);
    c.final_summary();
    println!(
        "\nSummary (rows/s, best of 5; references: same run, or scripts/explain_reference.py)"
    );
    for l in &lines {
        match &l.reference {
            Some((name, v)) => println!(
                "  {:<78} {:>9.0} vs {:>8.0} ({name}) = {:.1}×",
                l.what,
                l.ours,
                v,
                l.ours / v
            ),
            None => println!(
                "  {:<78} {:>9.0} (no reference: run scripts/explain_reference.py bench target/explain-bench)",
                l.what, l.ours
            ),
        }
    }
}
