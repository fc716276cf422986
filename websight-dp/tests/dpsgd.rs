//! DP-SGD on synthetic shop traffic: the private model's AUC against the non-private one,
//! and an ε that is the accountant's for the parameters used.

use ndarray::{Array1, Axis};
use websight_core::analytics::{ProductCatalogue, Visit};
use websight_core::features::{PurchaseFeatures, is_test_user, returning_flags};
use websight_core::learn::{Fit, MlpParams, PredictProba};
use websight_core::metrics::roc_auc;
use websight_core::model::Catalogue;
use websight_core::synth::{Generator, SynthConfig};
use websight_dp::accountant::epsilon;
use websight_dp::{DpSgdParams, Noise, train_dp_sgd};

fn auc(model: &impl PredictProba, x: &ndarray::Array2<f64>, labels: &[bool]) -> f64 {
    let scores = model.predict_proba(x.view()).unwrap();
    roc_auc(scores.as_slice().unwrap(), labels).unwrap()
}

#[test]
fn private_auc_is_within_a_tenth_of_the_non_private_one_at_epsilon_3() {
    let generator = Generator::new(SynthConfig {
        sessions: 30_000,
        seed: 12,
        ..SynthConfig::default()
    })
    .unwrap();
    // The visits the stream built from the generator's tracker messages (checked traffic).
    let mut visits = websight_testkit::documents_of(&generator).visits;
    visits.sort_by_key(|v| v.started_at());
    let refs: Vec<&Visit> = visits.iter().collect();
    let returning = returning_flags(&refs);
    let catalogue = ProductCatalogue::from_catalogue(&Catalogue::furniture());
    let features = PurchaseFeatures::fit(&visits, &catalogue, 10);
    let (test, train): (Vec<_>, Vec<_>) = refs
        .iter()
        .zip(returning)
        .partition(|(v, _)| is_test_user(&v.person, 0.2, 1));
    let matrix = |side: &[(&&Visit, bool)]| {
        let x = features.matrix(side.iter().map(|(v, r)| (**v, *r)));
        let y: Array1<bool> = side.iter().map(|(v, _)| v.purchased()).collect();
        (x, y)
    };
    let (x_train, y_train) = matrix(&train);
    let (x_test, y_test) = matrix(&test);
    let labels: Vec<bool> = y_test.to_vec();

    let mlp = MlpParams::new().max_epochs(15).patience(3).seed(3);
    let plain = mlp.fit(x_train.view(), y_train.view()).unwrap();
    let auc_plain = auc(&plain, &x_test, &labels);

    let params = DpSgdParams {
        noise: Noise::TargetEpsilon(3.0),
        epochs: 4.0,
        seed: 5,
        ..DpSgdParams::default()
    };
    let private = train_dp_sgd(&mlp, x_train.view(), y_train.view(), &params).unwrap();
    let auc_private = auc(&private.model, &x_test, &labels);
    let r = &private.report;
    println!(
        "AUC non-private {auc_plain:.3}, DP-SGD {auc_private:.3} at ε = {:.3}, δ = {} (σ = {:.3}, q = {:.4}, {} steps)",
        r.epsilon, r.delta, r.noise_multiplier, r.sampling_rate, r.steps
    );
    assert!(auc_plain > 0.85, "non-private AUC {auc_plain}");
    assert!(
        auc_private > auc_plain - 0.1,
        "private {auc_private} vs non-private {auc_plain}"
    );
    assert!(r.epsilon <= 3.0);
    // The reported ε is the accountant's for the parameters used, recomputed independently.
    let (eps, _) = epsilon(r.sampling_rate, r.noise_multiplier, r.steps, r.delta).unwrap();
    assert_eq!(eps, r.epsilon);
    assert!((r.sampling_rate - 256.0 / x_train.len_of(Axis(0)) as f64).abs() < 1e-15);
}

#[test]
fn a_fixed_noise_multiplier_reports_its_own_epsilon_and_bad_parameters_fail() {
    let x =
        ndarray::Array2::from_shape_fn((500, 3), |(i, j)| ((i * 31 + j * 7) % 13) as f64 / 13.0);
    let y: Array1<bool> = x.map_axis(Axis(1), |r| r.sum() > 1.5);
    let mlp = MlpParams::new().hidden(vec![8]);
    let params = DpSgdParams {
        noise: Noise::Multiplier(1.2),
        expected_batch: 50,
        epochs: 2.0,
        ..DpSgdParams::default()
    };
    let run = train_dp_sgd(&mlp, x.view(), y.view(), &params).unwrap();
    assert_eq!(run.report.steps, 20);
    assert_eq!(run.report.noise_multiplier, 1.2);
    assert_eq!(run.report.epsilon, epsilon(0.1, 1.2, 20, 1e-5).unwrap().0);
    for bad in [
        DpSgdParams {
            clip_norm: 0.0,
            ..params.clone()
        },
        DpSgdParams {
            expected_batch: 0,
            ..params.clone()
        },
        DpSgdParams {
            expected_batch: 501,
            ..params.clone()
        },
        DpSgdParams {
            noise: Noise::Multiplier(f64::NAN),
            ..params.clone()
        },
        DpSgdParams {
            delta: 0.0,
            ..params.clone()
        },
    ] {
        assert!(
            train_dp_sgd(&mlp, x.view(), y.view(), &bad).is_err(),
            "{bad:?}"
        );
    }
    assert!(train_dp_sgd(&mlp, x.view(), y.slice(ndarray::s![..10]), &params).is_err());
}
