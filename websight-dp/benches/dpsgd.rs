//! One DP-SGD step against one non-private step on the same batch (256 rows, the purchase
//! features' 31 columns, MLP 128-64).
//!
//! `cargo bench -p websight-dp --bench dpsgd`

use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use websight_core::learn::{Adam, MlpParams};

fn bench(c: &mut Criterion) {
    let x = Array2::from_shape_fn((256, 31), |(i, j)| ((i * 17 + j * 5) % 23) as f64 / 23.0);
    let y = Array1::from_shape_fn(256, |i| f64::from(u8::from(i % 3 == 0)));
    let params = MlpParams::new();
    let mut group = c.benchmark_group("step");
    group.bench_function("non_private", |b| {
        let mut model = params.init(31).unwrap();
        let mut adam = Adam::new(1e-3);
        b.iter(|| {
            let mut g = model.gradient_sum(x.view(), y.view(), None).unwrap();
            g.scale(1.0 / 256.0);
            model.step(&mut adam, &g);
        })
    });
    group.bench_function("dp_sgd", |b| {
        let mut model = params.init(31).unwrap();
        let mut adam = Adam::new(1e-3);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        b.iter(|| {
            let mut g = model.gradient_sum(x.view(), y.view(), Some(1.0)).unwrap();
            g.for_each_mut(|v| {
                let z: f64 = StandardNormal.sample(&mut rng);
                *v += 1.1 * z;
            });
            g.scale(1.0 / 256.0);
            model.step(&mut adam, &g);
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
