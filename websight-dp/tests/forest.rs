//! The private forest on Online Shoppers against diffprivlib's DP random forest at equal ε
//! (golden values from `scripts/dp_forest_reference.py`).

use ndarray::Array1;
use serde_json::Value;
use websight_core::datasets::{online_shoppers, online_shoppers_ranges, stratified_split};
use websight_core::learn::PredictProba;
use websight_core::metrics::roc_auc;
use websight_dp::exact::seeded_for_tests;
use websight_dp::{Guarantee, PrivateForestParams};

#[test]
fn beats_diffprivlib_at_equal_epsilon_on_online_shoppers() {
    let csv = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../websight-core/tests/data/online_shoppers_intention.csv"
    );
    let d = online_shoppers(std::io::BufReader::new(std::fs::File::open(csv).unwrap())).unwrap();
    let (train, test) = stratified_split(&d.y, 0.2, 42);
    let (tr, te) = (d.rows(&train), d.rows(&test));
    let persons: Vec<usize> = (0..tr.y.len()).collect();
    let reference: Value =
        serde_json::from_str(include_str!("fixtures/diffprivlib_forest.json")).unwrap();
    for epsilon in [1.0, 3.0] {
        let best_diffprivlib = reference["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["epsilon"].as_f64() == Some(epsilon))
            .map(|r| r["mean_roc_auc"].as_f64().unwrap())
            .fold(0.0, f64::max);
        let params = PrivateForestParams::new(online_shoppers_ranges(), epsilon);
        assert_eq!(params.guarantee(), Guarantee::Pure { epsilon });
        let aucs: Vec<f64> = (0..5)
            .map(|seed| {
                let forest = params
                    .fit(
                        tr.x.view(),
                        tr.y.view(),
                        &persons,
                        &mut seeded_for_tests(seed),
                    )
                    .unwrap();
                let p = forest.predict_proba(te.x.view()).unwrap();
                roc_auc(p.as_slice().unwrap(), te.y.as_slice().unwrap()).unwrap()
            })
            .collect();
        let mean = aucs.iter().sum::<f64>() / aucs.len() as f64;
        println!(
            "ε = {epsilon}: ROC-AUC {aucs:.3?} (mean {mean:.3}); diffprivlib's best mean {best_diffprivlib:.3}"
        );
        assert!(aucs.iter().all(|&a| a > 0.72), "{aucs:?}");
        assert!(
            mean > best_diffprivlib + 0.05,
            "{mean} vs {best_diffprivlib}"
        );
    }
}

#[test]
fn labels_without_signal_give_chance_and_bad_parameters_fail() {
    let x = ndarray::Array2::from_shape_fn((4_000, 2), |(i, j)| ((i * 13 + j * 5) % 97) as f64);
    // Labels independent of the features.
    let y: Array1<bool> = (0..4_000).map(|i| (i * 7919) % 11 < 3).collect();
    let persons: Vec<usize> = (0..4_000).collect();
    let ranges = vec![websight_core::datasets::FeatureRange::linear(0.0, 100.0); 2];
    let forest = PrivateForestParams::new(ranges.clone(), 3.0)
        .fit(x.view(), y.view(), &persons, &mut seeded_for_tests(1))
        .unwrap();
    let p = forest.predict_proba(x.view()).unwrap();
    let auc = roc_auc(p.as_slice().unwrap(), y.as_slice().unwrap()).unwrap();
    assert!((auc - 0.5).abs() < 0.08, "{auc}");
    let rng = &mut seeded_for_tests(2);
    for bad in [
        PrivateForestParams::new(ranges.clone(), 0.0),
        PrivateForestParams::new(ranges.clone(), 1.0).trees(0),
        PrivateForestParams::new(ranges.clone(), 1.0).depth(0),
        PrivateForestParams::new(ranges.clone(), 1.0).depth(17),
        PrivateForestParams::new(ranges.clone(), 1.0).max_rows_per_person(0),
        PrivateForestParams::new(vec![], 1.0),
    ] {
        assert!(bad.fit(x.view(), y.view(), &persons, rng).is_err());
    }
    assert!(
        PrivateForestParams::new(ranges, 1.0)
            .fit(x.view(), y.view(), &persons[..5], rng)
            .is_err()
    );
    assert!(forest.predict_proba(x.slice(ndarray::s![.., ..1])).is_err());
}
