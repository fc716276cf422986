//! Samplers against their distributions (fixed seeds, tolerances that can fail), the
//! analytic Gaussian against diffprivlib, budgets and releases.

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use websight_dp::{
    Composition, Cost, DiscreteLaplace, DpError, Gaussian, InputPerturbation, Laplace,
    PrivacyFilter, normal_cdf,
};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Kolmogorov–Smirnov statistic of `samples` against `cdf`.
fn ks(mut samples: Vec<f64>, cdf: impl Fn(f64) -> f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let n = samples.len() as f64;
    samples
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
        })
        .fold(0.0, f64::max)
}

/// Two-sample KS statistic.
fn ks2(mut a: Vec<f64>, mut b: Vec<f64>) -> f64 {
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        if a[i] <= b[j] {
            i += 1
        } else {
            j += 1
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    d
}

/// KS critical value at significance 0.001: 1.95/√n.
fn critical(n: usize) -> f64 {
    1.95 / (n as f64).sqrt()
}

#[test]
fn laplace_samples_follow_the_laplace_distribution() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for (eps, sens) in [(1.0, 1.0), (0.1, 1.0), (2.0, 5.0)] {
        let m = Laplace::new(eps, sens).unwrap();
        let b = m.scale();
        // Δ/ε widened by the grid (at most b/1024) so that the snapped output is ε-DP.
        assert!(b > sens / eps && b <= sens / eps * (1.0 + 1.0 / 1024.0) * (1.0 + 1e-15));
        let samples: Vec<f64> = (0..20_000).map(|_| m.sample(&mut rng)).collect();
        let cdf = |x: f64| {
            if x < 0.0 {
                0.5 * (x / b).exp()
            } else {
                1.0 - 0.5 * (-x / b).exp()
            }
        };
        let d = ks(samples.clone(), cdf);
        assert!(d < critical(20_000), "ε {eps}: KS {d}");
        let var = samples.iter().map(|x| x * x).sum::<f64>() / samples.len() as f64;
        assert!(
            (var / (2.0 * b * b) - 1.0).abs() < 0.06,
            "variance {var} vs {}",
            2.0 * b * b
        );
    }
}

#[test]
fn laplace_matches_diffprivlib_samples() {
    let reference = fixture("diffprivlib_laplace.json");
    let theirs: Vec<f64> = reference["samples_eps1.0_sens1.0"]["values_first_1000"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let m = Laplace::new(1.0, 1.0).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let ours: Vec<f64> = (0..1_000).map(|_| m.sample(&mut rng)).collect();
    // Two-sample KS at 0.001: 1.95·√(2/n).
    let d = ks2(ours, theirs);
    assert!(d < 1.95 * (2.0f64 / 1000.0).sqrt(), "two-sample KS {d}");
    for key in ["samples_eps0.1_sens1.0", "samples_eps2.0_sens5.0"] {
        let scale = reference[key]["scale"].as_f64().unwrap();
        let (eps, sens) = if key.contains("0.1") {
            (0.1, 1.0)
        } else {
            (2.0, 5.0)
        };
        let ours = Laplace::new(eps, sens).unwrap().scale();
        assert!(
            ours / scale - 1.0 < 1.0 / 1024.0 + 1e-15 && ours > scale,
            "{ours} vs {scale}"
        );
    }
}

#[test]
fn gaussian_samples_and_analytic_calibration() {
    let reference = fixture("reference.json");
    let cases = reference["analytic_gaussian"].as_array().unwrap();
    for case in cases {
        let get = |k: &str| case[k].as_f64().unwrap();
        let (eps, delta, sens) = (get("epsilon"), get("delta"), get("sensitivity"));
        let g = Gaussian::analytic(eps, delta, sens).unwrap();
        // The defining condition (Balle & Wang 2018, Thm 8) holds tightly at our σ…
        let s = g.sigma();
        // σ is calibrated for Δ plus the output grid (at most Δ·2⁻²⁰).
        let snapped = s / g.noise_multiplier();
        assert!(snapped > sens && snapped <= sens * (1.0 + 2f64.powi(-20)) * (1.0 + 1e-12));
        let sens = snapped;
        let profile = normal_cdf(sens / (2.0 * s) - eps * s / sens)
            - eps.exp() * normal_cdf(-sens / (2.0 * s) - eps * s / sens);
        assert!(profile <= delta * (1.0 + 1e-9), "{case}: δ(σ) = {profile}");
        assert!(
            profile >= delta * (1.0 - 1e-6),
            "{case}: σ not tight, δ(σ) = {profile}"
        );
        // …and σ agrees with diffprivlib, whose erf-based Φ loses digits in the far tail
        // (relative 1.5e-6 at ε = 8, δ = 1e-9).
        let expected = get("sigma");
        assert!((s - expected).abs() / expected < 5e-6, "{case}: ours {s}");
    }
    let g = Gaussian::analytic(1.0, 1e-5, 1.0).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let samples: Vec<f64> = (0..20_000).map(|_| g.randomise(0.0, &mut rng)).collect();
    assert!(
        samples.iter().all(|x| (x / g.grid()).fract() == 0.0),
        "on the grid"
    );
    let d = ks(samples, |x| normal_cdf(x / g.sigma()));
    assert!(d < critical(20_000), "KS {d}");
    assert!(
        Gaussian::classic(2.0, 1e-5, 1.0).is_err(),
        "classic calibration needs ε < 1"
    );
}

#[test]
fn discrete_laplace_has_the_two_sided_geometric_law() {
    let m = DiscreteLaplace::new(0.7, 1).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let n = 50_000;
    let mut counts = std::collections::BTreeMap::new();
    for _ in 0..n {
        *counts.entry(m.sample(&mut rng)).or_insert(0u64) += 1;
    }
    // P(k) = (1 − e^{−t}) / (1 + e^{−t}) · e^{−t|k|}; chi-square over |k| ≤ 6 plus the tail.
    let t: f64 = 0.7;
    let p = |k: i64| (1.0 - (-t).exp()) / (1.0 + (-t).exp()) * (-t * k.abs() as f64).exp();
    let mut chi2 = 0.0;
    let mut inside = 0.0;
    for k in -6..=6 {
        let expected = p(k) * n as f64;
        inside += p(k);
        let observed = *counts.get(&k).unwrap_or(&0) as f64;
        chi2 += (observed - expected).powi(2) / expected;
    }
    let tail_expected = (1.0 - inside) * n as f64;
    let tail_observed = counts
        .iter()
        .filter(|(k, _)| k.abs() > 6)
        .map(|(_, c)| *c as f64)
        .sum::<f64>();
    chi2 += (tail_observed - tail_expected).powi(2) / tail_expected;
    // 13 degrees of freedom: the 0.001 critical value is 34.5.
    assert!(chi2 < 34.5, "chi-square {chi2}");
}

#[test]
fn invalid_parameters_are_typed_errors() {
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            Laplace::new(bad, 1.0),
            Err(DpError::InvalidParameter {
                param: "epsilon",
                ..
            })
        ));
        assert!(matches!(
            Laplace::new(1.0, bad),
            Err(DpError::InvalidParameter {
                param: "sensitivity",
                ..
            })
        ));
        assert!(Gaussian::analytic(bad, 1e-5, 1.0).is_err());
        assert!(DiscreteLaplace::new(bad, 1).is_err());
    }
    for bad_delta in [0.0, 1.0, -0.1, f64::NAN] {
        assert!(matches!(
            Gaussian::analytic(1.0, bad_delta, 1.0),
            Err(DpError::InvalidParameter { param: "delta", .. })
        ));
    }
    assert!(DiscreteLaplace::new(1.0, 0).is_err());
}

#[test]
fn basic_filter_refuses_beyond_budget_and_releases_nothing() {
    let mut filter = PrivacyFilter::new(1.0, 0.0, Composition::Basic).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    filter.release_count(100, 0.6, &mut rng).unwrap();
    let before = rng.clone();
    let refused = filter.release_count(100, 0.5, &mut rng);
    assert!(matches!(refused, Err(DpError::BudgetExceeded { .. })));
    // Nothing was drawn for the refused release, and nothing was charged.
    assert_eq!(rng, before);
    assert_eq!(
        filter.spent(),
        websight_dp::Guarantee::Pure { epsilon: 0.6 }
    );
    assert_eq!(filter.releases(), 1);
    filter.release_count(100, 0.4, &mut rng).unwrap();
    assert!((filter.spent().epsilon().unwrap() - 1.0).abs() < 1e-12);
    assert!(
        filter
            .charge(&Cost::approximate(0.01, 0.0).unwrap())
            .is_err()
    );
}

#[test]
fn renyi_filter_affords_more_gaussian_releases_than_basic_composition() {
    let g = Gaussian::analytic(0.5, 1e-7, 1.0).unwrap();
    let count = |composition| {
        let mut filter = PrivacyFilter::new(4.0, 1e-5, composition).unwrap();
        let mut n = 0;
        while filter.charge(&Cost::gaussian(&g)).is_ok() {
            n += 1;
        }
        (n, filter.spent())
    };
    let (basic, spent_basic) = count(Composition::Basic);
    let (renyi, spent_renyi) = count(Composition::Renyi);
    assert_eq!(basic, 8);
    assert!(renyi > 2 * basic, "Rényi {renyi} vs basic {basic}");
    assert!(spent_basic.epsilon().unwrap() <= 4.0 && spent_renyi.epsilon().unwrap() <= 4.0);
    // DP-SGD charged to a Rényi filter costs what the accountant says.
    let mut filter = PrivacyFilter::new(5.0, 1e-5, Composition::Renyi).unwrap();
    filter
        .charge(&Cost::dp_sgd(0.02, 1.0, 500, 1e-5).unwrap())
        .unwrap();
    assert!((filter.spent().epsilon().unwrap() - 3.1442565).abs() < 1e-6);
    assert!(PrivacyFilter::new(1.0, 0.0, Composition::Renyi).is_err());
}

#[test]
fn releases_clamp_and_follow_diffprivlibs_mean() {
    let reference = fixture("diffprivlib_laplace.json");
    let example = &reference["dp_mean_example"];
    let data: Vec<f64> = example["data_values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let true_mean = example["true_mean"].as_f64().unwrap();
    let mut errors = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for _ in 0..2_000 {
        let mut filter = PrivacyFilter::new(1.0, 0.0, Composition::Basic).unwrap();
        errors.push(
            filter
                .release_mean(&data, (0.0, 100.0), 1.0, &mut rng)
                .unwrap()
                - true_mean,
        );
    }
    // Laplace(b = 0.1): E|X| = b, sd = √2·b, as diffprivlib's empirical run shows.
    let mean_abs = errors.iter().map(|e| e.abs()).sum::<f64>() / errors.len() as f64;
    assert!(
        (mean_abs - example["theory_scale"].as_f64().unwrap()).abs() < 0.01,
        "{mean_abs}"
    );

    let mut filter = PrivacyFilter::new(10.0, 0.0, Composition::Basic).unwrap();
    let sum = filter
        .release_sum(&[1e9, -5.0, f64::NAN], (0.0, 10.0), 5.0, &mut rng)
        .unwrap();
    assert!((sum - 10.0).abs() < 30.0, "clamped sum {sum}");
    let hist = filter
        .release_histogram(&[10, 0, 5], 1.0, &mut rng)
        .unwrap();
    assert_eq!(hist.len(), 3);
    assert!(filter.release_mean(&[], (0.0, 1.0), 1.0, &mut rng).is_err());
    assert!(
        filter
            .release_sum(&[1.0], (1.0, 0.0), 1.0, &mut rng)
            .is_err()
    );
}

#[test]
fn input_perturbation_is_per_record_with_the_right_scale() {
    let n = 20_000;
    let mut x = Array2::<f64>::from_elem((n, 2), 0.5);
    x.column_mut(1).fill(300.0);
    let p = InputPerturbation::new(vec![(0.0, 1.0), (0.0, 600.0)], 2.0).unwrap();
    assert_eq!(p.scales(), vec![1.0, 600.0]);
    p.transform(&mut x.view_mut(), &mut ChaCha8Rng::seed_from_u64(8))
        .unwrap();
    for (j, (centre, b)) in [(0.5, 1.0), (300.0, 600.0)].into_iter().enumerate() {
        let col: Vec<f64> = x.column(j).iter().map(|v| v - centre).collect();
        let distinct = col
            .iter()
            .map(|v| v.to_bits())
            .collect::<std::collections::HashSet<_>>()
            .len();
        // Outputs lie on a grid of b/1024 or finer, so some coincide; one draw per column
        // would give a single value.
        assert!(distinct > n / 4, "one draw per record, not per column");
        let d = ks(col, |v: f64| {
            if v < 0.0 {
                0.5 * (v / b).exp()
            } else {
                1.0 - 0.5 * (-v / b).exp()
            }
        });
        assert!(d < critical(n), "column {j}: KS {d}");
    }
    let mut wrong = Array2::<f64>::zeros((2, 3));
    assert!(
        p.transform(&mut wrong.view_mut(), &mut ChaCha8Rng::seed_from_u64(1))
            .is_err()
    );
    assert!(InputPerturbation::new(vec![(1.0, 1.0)], 1.0).is_err());
}
