//! websight-dp's exact samplers against OpenDP 0.16's (fixtures made by
//! `scripts/dp_samplers.py`): the same privacy guarantee at sensitivity 1, and samples from
//! the same distribution (a two-sample chi-square test on 200,000 draws each).

use std::collections::BTreeMap;

use serde_json::Value;
use websight_dp::exact::{
    DiscreteGaussian, DiscreteLaplace, Guarantee, Mechanism, Rational, seeded_for_tests,
};

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/samplers.json")).unwrap()
}

/// Two-sample chi-square over bins with at least 20 expected draws (the rest pooled).
fn chi_square(a: &BTreeMap<i64, f64>, b: &BTreeMap<i64, f64>) -> (f64, usize) {
    let keys: std::collections::BTreeSet<i64> = a.keys().chain(b.keys()).copied().collect();
    let (mut stat, mut bins) = (0.0, 0usize);
    let (mut pool_a, mut pool_b) = (0.0, 0.0);
    for k in keys {
        let (x, y) = (
            a.get(&k).copied().unwrap_or(0.0),
            b.get(&k).copied().unwrap_or(0.0),
        );
        if x + y < 40.0 {
            pool_a += x;
            pool_b += y;
            continue;
        }
        stat += (x - y).powi(2) / (x + y);
        bins += 1;
    }
    if pool_a + pool_b > 0.0 {
        stat += (pool_a - pool_b).powi(2) / (pool_a + pool_b);
        bins += 1;
    }
    (stat, bins.saturating_sub(1))
}

#[test]
fn samples_and_guarantees_agree_with_opendp() {
    for (i, config) in fixture()["configs"].as_array().unwrap().iter().enumerate() {
        let mechanism = config["mechanism"].as_str().unwrap();
        let scale = config["scale"].as_f64().unwrap();
        let n = config["samples"].as_u64().unwrap() as usize;
        let reference: BTreeMap<i64, f64> = config["histogram"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.parse().unwrap(), v.as_f64().unwrap()))
            .collect();
        let exact_scale = Rational::from_f64(scale).unwrap();
        let mut rng = seeded_for_tests(100 + i as u64);
        let (draws, guarantee): (Vec<i64>, f64) = match mechanism {
            "discrete-laplace" => {
                let m = DiscreteLaplace::new(exact_scale, 1).unwrap();
                let Guarantee::Pure { epsilon } = m.guarantee() else {
                    panic!("the discrete Laplace is pure DP")
                };
                ((0..n).map(|_| m.sample(&mut rng)).collect(), epsilon)
            }
            "discrete-gaussian" => {
                let m = DiscreteGaussian::from_sigma(exact_scale, 1).unwrap();
                let Guarantee::Zcdp { rho } = m.guarantee() else {
                    panic!("the discrete Gaussian is zCDP")
                };
                ((0..n).map(|_| m.sample(&mut rng)).collect(), rho)
            }
            other => panic!("unknown mechanism {other}"),
        };
        let want = config["privacy_map_at_1"].as_f64().unwrap();
        assert!(
            (guarantee - want).abs() < 1e-12,
            "{mechanism} {scale}: {guarantee} vs OpenDP {want}"
        );
        let mut ours = BTreeMap::new();
        for d in draws {
            *ours.entry(d).or_insert(0.0) += 1.0;
        }
        let (stat, df) = chi_square(&ours, &reference);
        // The 1 - 10⁻⁶ quantile of χ² is below df + 12√df + 30 for these df.
        let bound = df as f64 + 12.0 * (df as f64).sqrt() + 30.0;
        assert!(
            stat < bound,
            "{mechanism} {scale}: χ² = {stat:.1} on {df} degrees of freedom (bound {bound:.1})"
        );
    }
}
