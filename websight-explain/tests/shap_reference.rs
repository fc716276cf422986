//! Agreement with shap 0.51 (TreeExplainer, KernelExplainer), scikit-learn 1.8 and XGBoost
//! 3.2 on the golden fixtures in tests/fixtures (copied from the project's shared fixtures;
//! see tests/fixtures/README.md).

use std::fs;

use ndarray::{Array1, Array2, Axis};
use serde_json::Value;
use websight_explain::{
    Algorithm, Explainer, KernelModel, KernelShap, Output, TreeEnsemble, TreeShap,
};

fn fixture(path: &str) -> String {
    fs::read_to_string(format!(
        "{}/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn json(path: &str) -> Value {
    serde_json::from_str(&fixture(path)).unwrap()
}

fn matrix(v: &Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
    let d = rows[0].len();
    Array2::from_shape_vec((rows.len(), d), rows.into_iter().flatten().collect()).unwrap()
}

fn vector(v: &Value) -> Array1<f64> {
    serde_json::from_value::<Vec<f64>>(v.clone())
        .unwrap()
        .into()
}

/// The fixture's feature rows `rows` of `features.csv` (label dropped).
fn rows(dir: &str, reference: &Value) -> Array2<f64> {
    let table = websight_core::datasets::numeric_csv(
        fixture(&format!("{dir}/features.csv")).as_bytes(),
        Some("label"),
    )
    .unwrap();
    let idx: Vec<usize> = serde_json::from_value(reference["rows"].clone()).unwrap();
    table.values.select(Axis(0), &idx)
}

fn max_abs_diff(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    assert_eq!(a.dim(), b.dim());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Predictions equal the reference model's outputs to `predict_tol`, and both Tree SHAP
/// algorithms equal `shap_values` (and `also`, when given) to `shap_tol`, adding up exactly.
fn tree_case(
    name: &str,
    model: &TreeEnsemble,
    reference: &Value,
    predict_tol: f64,
    shap_tol: f64,
    also: Option<Array2<f64>>,
) {
    let x = rows("treeshap", reference);
    let outputs = model.predict(x.view()).unwrap();
    let theirs = vector(&reference["model_output"]);
    let worst = outputs
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(
        worst <= predict_tol,
        "{name}: prediction differs by {worst}"
    );
    let shap = matrix(&reference["shap_values"]);
    let expected = reference["expected_value"].as_f64().unwrap();
    for algorithm in [Algorithm::PathDependent, Algorithm::FastV2] {
        let e = TreeShap::new(model)
            .algorithm(algorithm)
            .explain(x.view())
            .unwrap();
        assert!((e.expected_value - expected).abs() <= shap_tol.max(1e-12));
        let diff = max_abs_diff(&e.values, &shap);
        let additivity = e.additivity_error();
        println!("{name}, {algorithm:?}: max |ours − shap| = {diff:e}, additivity {additivity:e}");
        assert!(diff <= shap_tol, "{diff}");
        if let Some(other) = &also {
            assert!(max_abs_diff(&e.values, other) <= shap_tol);
        }
        assert!(additivity <= 1e-12);
    }
}

#[test]
fn sklearn_forest_equals_shap_to_1e_9() {
    let model = TreeEnsemble::from_sklearn_json(&fixture("treeshap/rf_model.json")).unwrap();
    assert_eq!((model.trees().len(), model.n_features()), (8, 8));
    assert_eq!(model.output(), Output::Probability);
    // Predictions equal scikit-learn's predict_proba.
    tree_case(
        "forest",
        &model,
        &json("treeshap/shap_rf.json"),
        1e-12,
        1e-9,
        None,
    );
}

#[test]
fn xgboost_json_equals_shap_and_pred_contribs_to_1e_5() {
    let model = TreeEnsemble::from_xgboost_json(&fixture("treeshap/xgb_model.json")).unwrap();
    assert_eq!((model.trees().len(), model.n_features()), (12, 8));
    assert_eq!(model.output(), Output::Margin);
    let reference = json("treeshap/shap_xgb.json");
    let contribs = matrix(&reference["pred_contribs"]);
    let bias_free = contribs.slice(ndarray::s![.., ..8]).to_owned();
    // Margins equal XGBoost's (f32) to 1e-5; values equal shap's and XGBoost's own.
    tree_case("xgboost", &model, &reference, 1e-5, 1e-5, Some(bias_free));
}

fn kernel_case(model_file: &str, reference_file: &str) {
    let model = KernelModel::from_json(&fixture(&format!("kernelshap/{model_file}"))).unwrap();
    let background = matrix(&json("kernelshap/background.json")["values"]);
    let reference = json(&format!("kernelshap/{reference_file}"));
    let x = rows("kernelshap", &reference);
    let explainer = KernelShap::new(&model, background).unwrap();
    let expected = reference["expected_value"].as_f64().unwrap();
    assert!((explainer.expected_value() - expected).abs() <= 1e-12);
    let e = explainer.explain(x.view()).unwrap();
    let outputs = vector(&reference["model_output"]);
    let worst = e
        .outputs
        .iter()
        .zip(&outputs)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst <= 1e-12, "model output differs by {worst}");
    let full = max_abs_diff(&e.values, &matrix(&reference["kernelshap_full"]));
    let exact = max_abs_diff(&e.values, &matrix(&reference["exact_shapley_bruteforce"]));
    println!("{model_file}: max |ours − shap full| = {full:e}, vs brute force {exact:e}");
    assert!(full <= 1e-9 && exact <= 1e-9, "{full} {exact}");
    assert!(e.additivity_error() <= 1e-12);
}

#[test]
fn kernel_shap_equals_shap_full_enumeration_logistic() {
    kernel_case("model_lr.json", "kernelshap_lr.json");
}

#[test]
fn kernel_shap_equals_shap_full_enumeration_mlp() {
    kernel_case("model_mlp.json", "kernelshap_mlp.json");
}

#[test]
fn bad_model_files_are_typed_errors() {
    use websight_explain::ExplainError;
    for bad in ["", "{}", r#"{"format":"sklearn-forest-v1"}"#, "[1,2]"] {
        assert!(matches!(
            TreeEnsemble::from_sklearn_json(bad),
            Err(ExplainError::InvalidModel { .. })
        ));
        assert!(matches!(
            TreeEnsemble::from_xgboost_json(bad),
            Err(ExplainError::InvalidModel { .. })
        ));
        assert!(matches!(
            KernelModel::from_json(bad),
            Err(ExplainError::InvalidModel { .. })
        ));
    }
    // A child index out of range, and a cycle back to the root.
    for child in [999, 0] {
        let mut forest = json("treeshap/rf_model.json");
        forest["trees"][3]["children_left"][0] = child.into();
        let err = TreeEnsemble::from_sklearn_json(&forest.to_string()).unwrap_err();
        assert!(err.to_string().contains("tree 3"), "{err}");
    }
}
