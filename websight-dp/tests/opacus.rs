//! The accountant against opacus 1.6 (tests/fixtures/reference.json, rdp_table.json).

use serde_json::Value;
use websight_dp::RdpAccountant;
use websight_dp::accountant::{default_orders, epsilon, noise_multiplier, subsampled_gaussian_rdp};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

#[test]
fn default_orders_are_opacus_alphas() {
    let reference = fixture("reference.json");
    let alphas: Vec<f64> = reference["alphas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_f64().unwrap())
        .collect();
    assert_eq!(default_orders(), alphas);
}

#[test]
fn epsilon_equals_opacus_on_the_shared_fixture() {
    let table = fixture("rdp_table.json");
    let row = &table["rows"][0];
    let (eps, order) = epsilon(0.02, 1.0, 500, 1e-5).unwrap();
    let expected = row["eps_opacus_rdp"].as_f64().unwrap();
    assert!(rel(eps, expected) < 1e-6, "{eps} vs {expected}");
    assert_eq!(order, row["opt_alpha_opacus"].as_f64().unwrap());
}

#[test]
fn rdp_curves_equal_opacus_order_by_order() {
    let reference = fixture("reference.json");
    let orders = default_orders();
    for curve in reference["curves"].as_array().unwrap() {
        let (q, sigma) = (
            curve["q"].as_f64().unwrap(),
            curve["sigma"].as_f64().unwrap(),
        );
        for (a, expected) in orders.iter().zip(curve["rdp"].as_array().unwrap()) {
            let ours = subsampled_gaussian_rdp(q, sigma, *a);
            let expected = expected.as_f64().unwrap();
            assert!(
                rel(ours, expected) < 1e-9,
                "q {q} σ {sigma} α {a}: {ours} vs {expected}"
            );
        }
    }
}

#[test]
fn epsilon_equals_opacus_on_a_wide_grid() {
    let reference = fixture("reference.json");
    let grid = reference["grid"].as_array().unwrap();
    assert_eq!(grid.len(), 360);
    let mut worst = 0.0f64;
    for case in grid {
        let get = |k: &str| case[k].as_f64().unwrap();
        let (eps, order) =
            epsilon(get("q"), get("sigma"), get("steps") as u64, get("delta")).unwrap();
        let r = rel(eps, get("epsilon"));
        worst = worst.max(r);
        assert!(r < 1e-6, "{case}: ours {eps}");
        assert_eq!(order, get("order"), "{case}");
    }
    println!("worst relative difference from opacus over 360 configurations: {worst:.2e}");
    // The grid API gives the same answers.
    let configs: Vec<(f64, f64, u64, f64)> = grid
        .iter()
        .map(|c| {
            (
                c["q"].as_f64().unwrap(),
                c["sigma"].as_f64().unwrap(),
                c["steps"].as_u64().unwrap(),
                c["delta"].as_f64().unwrap(),
            )
        })
        .collect();
    for ((eps, order), case) in websight_dp::accountant::epsilon_grid(&configs)
        .unwrap()
        .into_iter()
        .zip(grid)
    {
        assert!(rel(eps, case["epsilon"].as_f64().unwrap()) < 1e-6);
        assert_eq!(order, case["order"].as_f64().unwrap());
    }
}

#[test]
fn inverse_gives_the_smallest_sigma_within_target() {
    let reference = fixture("reference.json");
    for case in reference["inverse"].as_array().unwrap() {
        let get = |k: &str| case[k].as_f64().unwrap();
        let (target, q, steps, delta) = (
            get("target_epsilon"),
            get("q"),
            get("steps") as u64,
            get("delta"),
        );
        let sigma = noise_multiplier(target, q, steps, delta).unwrap();
        let (eps, _) = epsilon(q, sigma, steps, delta).unwrap();
        assert!(eps <= target, "ε({sigma}) = {eps} > {target}");
        assert!(target - eps < 1e-6, "not tight: ε({sigma}) = {eps}");
        // opacus stops within 0.01 of the target from above in σ: ours is never larger.
        let opacus = get("sigma_opacus");
        assert!(
            sigma <= opacus + 1e-12 && sigma > opacus * 0.97,
            "ours {sigma}, opacus {opacus}"
        );
    }
    assert!(
        noise_multiplier(1e-9, 0.5, 1_000_000, 1e-5).is_err(),
        "unreachable target"
    );
}

#[test]
fn accountant_composes_history_and_validates() {
    let mut a = RdpAccountant::new();
    a.record(0.02, 1.0, 200).unwrap();
    a.record(0.02, 1.0, 300).unwrap();
    assert_eq!(a.history(), &[(0.02, 1.0, 500)]);
    let (eps, _) = a.epsilon(1e-5).unwrap();
    assert!((eps - epsilon(0.02, 1.0, 500, 1e-5).unwrap().0).abs() < 1e-12);
    a.record(0.05, 2.0, 100).unwrap();
    assert!(a.epsilon(1e-5).unwrap().0 > eps);
    assert!(a.record(0.1, f64::NAN, 1).is_err());
    assert!(a.record(1.5, 1.0, 1).is_err());
    assert!(a.epsilon(0.0).is_err());
    assert!(a.epsilon_at(1e-5, &[1.0, 2.0]).is_err());
    assert_eq!(
        RdpAccountant::new().epsilon(1e-5).unwrap().0,
        default_orders()
            .iter()
            .map(|&o| -((1e-5f64).ln() + o.ln()) / (o - 1.0) + ((o - 1.0) / o).ln())
            .fold(f64::INFINITY, f64::min)
    );
}
