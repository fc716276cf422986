//! Importers of websight's own models: predictions equal the source model's, SHAP values add
//! up, and (feature `xgboost`) equal XGBoost's own C++ `pred_contribs`.

use ndarray::{Array1, Array2};
use websight_core::learn::{Fit, PredictProba, RandomForestParams};
use websight_explain::{Explainer, KernelShap, Probability, TreeEnsemble, TreeShap};

/// Six uniform features; the label depends on the first three only.
fn data(n: usize) -> (Array2<f64>, Array1<bool>) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let x = Array2::from_shape_fn((n, 6), |_| rng.gen_range(-5.0..5.0));
    let y = x
        .outer_iter()
        .map(|r| r[0] * r[1] > 0.5 || r[2] > 3.0)
        .collect();
    (x, y)
}

#[test]
fn forest_import_predicts_like_the_forest_and_adds_up() {
    let (x, y) = data(600);
    let forest = RandomForestParams::new()
        .trees(12)
        .max_depth(Some(6))
        .seed(5)
        .fit(x.view(), y.view())
        .unwrap();
    let model = TreeEnsemble::from_forest(&forest).unwrap();
    let (ours, theirs) = (
        model.predict(x.view()).unwrap(),
        forest.predict_proba(x.view()).unwrap(),
    );
    // Same leaves; only the order of the final division differs (sum × 1/n vs sum / n).
    assert!(
        ours.iter()
            .zip(&theirs)
            .all(|(a, b)| (a - b).abs() <= 1e-15)
    );
    let e = TreeShap::new(&model).explain(x.view()).unwrap();
    assert!(e.additivity_error() < 1e-12, "{}", e.additivity_error());
    // The unused-by-the-label features matter least.
    let importance = e.mean_abs();
    let used = importance[0].min(importance[1]).min(importance[2]);
    assert!(
        importance[3].max(importance[4]).max(importance[5]) < used,
        "{importance}"
    );
    // Kernel SHAP through the PredictProba adapter agrees with itself on additivity.
    let background = x.slice(ndarray::s![..20, ..]).to_owned();
    let proba = Probability(&forest);
    let k = KernelShap::new(&proba, background).unwrap();
    let ke = k.explain(x.slice(ndarray::s![..5, ..])).unwrap();
    assert!(ke.additivity_error() < 1e-12);
}

#[cfg(feature = "xgboost")]
#[test]
fn booster_import_equals_xgboost_margins_and_pred_contribs() {
    use websight_core::learn::GradientBoostingParams;
    let (mut x, y) = data(800);
    // Missing values exercise the default directions.
    for i in (0..x.nrows()).step_by(7) {
        x[[i, i % 6]] = f64::NAN;
    }
    let booster = GradientBoostingParams::new()
        .rounds(20)
        .max_depth(5)
        .threads(1)
        .fit(x.view(), y.view())
        .unwrap();
    let model = TreeEnsemble::from_booster(&booster).unwrap();
    assert_eq!(model.trees().len(), 20);
    let ours = model.predict(x.view()).unwrap();
    let theirs = booster.predict_margin(x.view()).unwrap();
    let worst = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-5, "margin differs by {worst}");
    let proba = model.predict_proba(x.view()).unwrap();
    let xgb_proba = booster.predict_proba(x.view()).unwrap();
    assert!(
        proba
            .iter()
            .zip(&xgb_proba)
            .all(|(a, b)| (a - b).abs() < 1e-6)
    );

    let e = TreeShap::new(&model).explain(x.view()).unwrap();
    let contribs = booster.contributions(x.view()).unwrap();
    let bias = contribs[[0, 6]];
    assert!(
        (e.expected_value - bias).abs() < 1e-5,
        "{} vs {bias}",
        e.expected_value
    );
    let worst = e
        .values
        .iter()
        .zip(contribs.slice(ndarray::s![.., ..6]).iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    println!("max |ours − xgboost pred_contribs| = {worst:e}");
    assert!(worst < 1e-5, "{worst}");
}
