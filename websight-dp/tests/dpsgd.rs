//! DP-SGD per person on synthetic shop traffic: the recipe's AUC at a small shop's size on
//! every seed, and an ε that is the accountant's for the person-level sampling rate.

use ndarray::{Array1, Array2, Axis};
use websight_core::analytics::{ProductCatalogue, Visit};
use websight_core::datasets::scale_to_unit;
use websight_core::features::PurchaseData;
use websight_core::learn::{MlpParams, PredictProba};
use websight_core::metrics::roc_auc;
use websight_core::model::Catalogue;
use websight_core::synth::{Generator, SynthConfig};
use websight_dp::accountant::epsilon;
use websight_dp::exact::seeded_for_tests;
use websight_dp::{DpSgdParams, Noise, train_dp_sgd};

/// Visits of `sessions` generated sessions as the stream builds them.
fn visits(sessions: u64, seed: u64) -> Vec<Visit> {
    let generator = Generator::new(SynthConfig {
        sessions,
        seed,
        ..SynthConfig::default()
    })
    .unwrap();
    websight_testkit::documents_of(&generator).visits
}

/// ROC-AUC of the recipe at ε = 3 (train/test split by person), and the run's report.
fn private_auc(visits: &[Visit], seed: u64) -> (f64, websight_dp::PrivacyReport) {
    let catalogue = ProductCatalogue::from_catalogue(&Catalogue::furniture());
    let p = PurchaseData::build(visits, &catalogue, 0.2, seed);
    let public = p.public_columns();
    let ranges: Vec<_> = public.iter().map(|&j| p.features.ranges()[j]).collect();
    let side = |rows: &[usize]| -> (Array2<f64>, Array1<bool>) {
        let d = p.data.rows(rows);
        (
            scale_to_unit(&d.x.select(Axis(1), &public), &ranges).unwrap(),
            d.y,
        )
    };
    let (x_train, y_train) = side(&p.train);
    let (x_test, y_test) = side(&p.test);
    let persons = p.train_persons();
    let mut distinct = persons.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let params = DpSgdParams::recipe(distinct.len(), 3.0, 1e-5);
    let run = train_dp_sgd(
        &MlpParams::new().hidden(vec![]),
        x_train.view(),
        y_train.view(),
        &persons,
        &params,
        &mut seeded_for_tests(seed),
    )
    .unwrap();
    let scores = run.model.predict_proba(x_test.view()).unwrap();
    let auc = roc_auc(scores.as_slice().unwrap(), y_test.as_slice().unwrap()).unwrap();
    (auc, run.report)
}

#[test]
fn the_recipe_learns_at_5000_sessions_and_epsilon_3_on_every_seed() {
    for seed in [1, 2, 3] {
        let (auc, r) = private_auc(&visits(5_000, seed), seed);
        println!(
            "seed {seed}: ROC-AUC {auc:.3} at ε = {:.3} ({} persons, q = {:.3}, σ = {:.3}, {} steps)",
            r.epsilon, r.persons, r.sampling_rate, r.noise_multiplier, r.steps
        );
        assert!(auc >= 0.80, "seed {seed}: ROC-AUC {auc}");
        assert!(r.epsilon <= 3.0 + 1e-9);
        // Person-level accounting: q is persons sampled per step over all persons, and ε is
        // the accountant's for it, plus the base rate's share.
        let q = (r.persons / 5).clamp(64, 4_096) as f64 / r.persons as f64;
        assert_eq!(r.sampling_rate, q);
        let (eps, _) = epsilon(q, r.noise_multiplier, r.steps, r.delta).unwrap();
        assert_eq!(eps, r.sgd_epsilon);
        assert_eq!(r.epsilon, r.sgd_epsilon + r.base_rate_epsilon);
        assert!(r.rows_used <= 4 * r.persons);
    }
}

#[test]
fn persons_keep_at_most_k_rows_and_bad_parameters_fail() {
    let x = Array2::from_shape_fn((500, 3), |(i, j)| ((i * 31 + j * 7) % 13) as f64 / 13.0);
    let y: Array1<bool> = x.map_axis(Axis(1), |r| r.sum() > 1.5);
    // 100 persons with 5 rows each; at most 2 rows each are used.
    let persons: Vec<usize> = (0..500).map(|i| i % 100).collect();
    let mlp = MlpParams::new().hidden(vec![8]);
    let params = DpSgdParams {
        noise: Noise::Multiplier(1.2),
        expected_batch: 10,
        epochs: 2.0,
        max_rows_per_person: 2,
        ..DpSgdParams::default()
    };
    let rng = &mut seeded_for_tests(1);
    let run = train_dp_sgd(&mlp, x.view(), y.view(), &persons, &params, rng).unwrap();
    assert_eq!(run.report.persons, 100);
    assert_eq!(run.report.rows_used, 200);
    assert_eq!(run.report.sampling_rate, 0.1);
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
            expected_batch: 101,
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
        DpSgdParams {
            max_rows_per_person: 0,
            ..params.clone()
        },
        DpSgdParams {
            noise: Noise::TargetEpsilon(0.1),
            base_rate_epsilon: 0.1,
            ..params.clone()
        },
    ] {
        assert!(
            train_dp_sgd(&mlp, x.view(), y.view(), &persons, &bad, rng).is_err(),
            "{bad:?}"
        );
    }
    assert!(train_dp_sgd(&mlp, x.view(), y.view(), &persons[..10], &params, rng).is_err());
}
