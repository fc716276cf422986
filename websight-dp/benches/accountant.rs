//! The accountant on the 18 configurations scripts/dp_fixtures.py times opacus on
//! (tests/fixtures/reference.json: `benchmark`), beside the per-order cost of one RDP
//! evaluation as a baseline in the same run.
//!
//! `cargo bench -p websight-dp --bench accountant`

use criterion::{Criterion, criterion_group, criterion_main};
use websight_dp::accountant::{default_orders, epsilon, epsilon_grid, subsampled_gaussian_rdp};

fn bench(c: &mut Criterion) {
    let mut configs = Vec::new();
    for q in [0.004, 0.02, 0.1] {
        for sigma in [0.8, 1.1, 2.0] {
            for steps in [1_000u64, 10_000] {
                configs.push((q, sigma, steps));
            }
        }
    }
    let mut group = c.benchmark_group("accountant");
    let grid: Vec<(f64, f64, u64, f64)> =
        configs.iter().map(|&(q, s, t)| (q, s, t, 1e-5)).collect();
    group.bench_function("18_configurations_grid", |b| {
        b.iter(|| epsilon_grid(&grid).unwrap())
    });
    group.bench_function("18_configurations_one_by_one", |b| {
        b.iter(|| {
            configs
                .iter()
                .map(|&(q, s, t)| epsilon(q, s, t, 1e-5).unwrap().0)
                .sum::<f64>()
        })
    });
    let orders = default_orders();
    group.bench_function("one_curve_q0.02_sigma1.1", |b| {
        b.iter(|| {
            orders
                .iter()
                .map(|&a| subsampled_gaussian_rdp(0.02, 1.1, a))
                .sum::<f64>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
