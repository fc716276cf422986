//! DP-SGD (Abadi et al. 2016) for the purchase MLP: Poisson sampling, per-example gradient
//! clipping to L2 norm C, Gaussian noise σC on the sum, Adam — and an ε that comes from the
//! σ, q and number of steps actually used.

use ndarray::{Array1, ArrayView1, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use websight_core::learn::{Adam, Mlp, MlpParams};

use crate::accountant::{RdpAccountant, noise_multiplier};
use crate::error::{check_range, positive};
use crate::{DpError, Result};

/// How much noise to add: a fixed noise multiplier σ, or the smallest σ that keeps the
/// whole run within a target ε.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Noise {
    /// A given σ (noise standard deviation / clipping norm).
    Multiplier(f64),
    /// The smallest σ whose run spends at most this ε at the run's δ.
    TargetEpsilon(f64),
}

/// DP-SGD parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct DpSgdParams {
    /// Noise.
    pub noise: Noise,
    /// Per-example clipping norm C.
    pub clip_norm: f64,
    /// Expected batch size; the Poisson sampling rate is q = batch / n.
    pub expected_batch: usize,
    /// Passes over the data; steps = ⌈epochs / q⌉.
    pub epochs: f64,
    /// δ of the reported guarantee.
    pub delta: f64,
    /// Seed of sampling and noise.
    pub seed: u64,
}

impl Default for DpSgdParams {
    fn default() -> Self {
        DpSgdParams {
            noise: Noise::TargetEpsilon(3.0),
            clip_norm: 1.0,
            expected_batch: 256,
            epochs: 5.0,
            delta: 1e-5,
            seed: 0,
        }
    }
}

/// What a private training run spent, from the parameters it used.
#[derive(Debug, Clone, PartialEq)]
pub struct PrivacyReport {
    /// ε at `delta` (RDP accounting, opacus's conversion).
    pub epsilon: f64,
    /// δ.
    pub delta: f64,
    /// The RDP order that gave ε.
    pub order: f64,
    /// Noise multiplier used.
    pub noise_multiplier: f64,
    /// Poisson sampling rate used.
    pub sampling_rate: f64,
    /// Steps taken.
    pub steps: u64,
}

/// A privately trained model and its guarantee.
#[derive(Debug, Clone)]
pub struct PrivateModel {
    /// The network.
    pub model: Mlp,
    /// Its privacy guarantee for every training record (add/remove-one).
    pub report: PrivacyReport,
}

/// Trains the MLP of `mlp` (its layers, learning rate, L2 penalty and seed; its batching and
/// early stopping are replaced by DP-SGD's Poisson sampling and fixed step count) on rows
/// `x` with labels `y` under DP-SGD.
///
/// Every step samples each row with probability q, clips each sampled row's gradient to
/// norm C, adds N(0, σ²C²) to every coordinate of their sum, divides by the expected batch
/// size and takes an Adam step. The accountant records exactly (σ, q, steps).
pub fn train_dp_sgd(
    mlp: &MlpParams,
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, bool>,
    params: &DpSgdParams,
) -> Result<PrivateModel> {
    let n = x.nrows();
    if n == 0 || y.len() != n {
        return Err(DpError::Shape(format!("{} rows, {} labels", n, y.len())));
    }
    let clip = positive("clip_norm", params.clip_norm)?;
    let epochs = positive("epochs", params.epochs)?;
    check_range("delta", params.delta, 0.0, 1.0, false)?;
    if params.expected_batch == 0 || params.expected_batch > n {
        return Err(DpError::InvalidParameter {
            param: "expected_batch",
            value: params.expected_batch as f64,
            reason: format!("must be in 1..={n}"),
        });
    }
    let q = params.expected_batch as f64 / n as f64;
    let steps = (epochs / q).ceil() as u64;
    let sigma = match params.noise {
        Noise::Multiplier(s) => positive("noise_multiplier", s)?,
        Noise::TargetEpsilon(eps) => noise_multiplier(eps, params.delta, q, steps)?,
    };

    let mut model = mlp.init(x.ncols())?;
    let yf: Array1<f64> = y.mapv(|b| f64::from(u8::from(b)));
    let mut adam = Adam::new(mlp.learning_rate_value());
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let mut accountant = RdpAccountant::new();
    let mut batch = Vec::with_capacity(params.expected_batch * 2);
    for _ in 0..steps {
        batch.clear();
        batch.extend((0..n).filter(|_| rng.gen_bool(q)));
        let xb = x.select(Axis(0), &batch);
        let yb = yf.select(Axis(0), &batch);
        let mut g = model.gradient_sum(xb.view(), yb.view(), Some(clip))?;
        // Noise on every coordinate, even for an empty batch: the sampling is secret too.
        g.for_each_mut(|v| {
            let z: f64 = StandardNormal.sample(&mut rng);
            *v += sigma * clip * z;
        });
        g.scale(1.0 / params.expected_batch as f64);
        // The penalty depends on the weights only, not on the data: no privacy cost.
        model.add_l2(&mut g, mlp.l2_value());
        model.step(&mut adam, &g);
    }
    accountant.record(sigma, q, steps)?;
    let (epsilon, order) = accountant.epsilon(params.delta)?;
    Ok(PrivateModel {
        model,
        report: PrivacyReport {
            epsilon,
            delta: params.delta,
            order,
            noise_multiplier: sigma,
            sampling_rate: q,
            steps,
        },
    })
}
