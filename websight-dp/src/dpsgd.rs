//! DP-SGD (Abadi et al. 2016) for the purchase MLP, private per **person**: each person
//! keeps at most k rows, each step Poisson-samples persons (not rows), a person's rows are
//! clipped so that together they move the gradient by at most C, Gaussian noise σC goes on
//! the sum, then Adam — and an ε that comes from the σ, the person-level sampling rate and
//! the number of steps actually used.
//!
//! The output bias starts at the logit of a DP estimate of the base rate (two discrete
//! Laplace counts, charged to the same run): on imbalanced labels the first noisy steps
//! otherwise push every score down in proportion to its activations, and a short run ends
//! ranked upside down.

use std::hash::Hash;

use ndarray::{Array1, ArrayView1, ArrayView2, Axis};
use rand::{Rng, RngCore};
use rand_distr::{Distribution, StandardNormal};
use websight_core::learn::{Adam, Mlp, MlpParams};

use crate::accountant::{RdpAccountant, noise_multiplier};
use crate::contribution::bound_rows;
use crate::error::{check_range, positive};
use crate::exact::Guarantee;
use crate::mechanisms::DiscreteLaplace;
use crate::{DpError, Result};

/// How much noise to add: a fixed noise multiplier σ, or the smallest σ that keeps the
/// whole run within a target ε.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Noise {
    /// A given σ (noise standard deviation / clipping norm).
    Multiplier(f64),
    /// The smallest σ whose run (base-rate estimate included) spends at most this ε at the
    /// run's δ.
    TargetEpsilon(f64),
}

/// DP-SGD parameters. [`DpSgdParams::recipe`] picks them for a data size and budget.
#[derive(Debug, Clone, PartialEq)]
pub struct DpSgdParams {
    /// Noise.
    pub noise: Noise,
    /// Clipping norm C of one person's whole contribution to a step.
    pub clip_norm: f64,
    /// Expected persons per step; the Poisson sampling rate is q = batch / persons.
    pub expected_batch: usize,
    /// Passes over the persons; steps = ⌈epochs / q⌉.
    pub epochs: f64,
    /// δ of the reported guarantee.
    pub delta: f64,
    /// Adam's learning rate (replaces the network parameters' own).
    pub learning_rate: f64,
    /// Rows kept per person (their first ones); the rest are not used.
    pub max_rows_per_person: usize,
    /// ε spent on the base rate that sets the output bias (0: bias starts at 0).
    pub base_rate_epsilon: f64,
}

impl Default for DpSgdParams {
    fn default() -> Self {
        DpSgdParams {
            noise: Noise::TargetEpsilon(3.0),
            clip_norm: 1.0,
            expected_batch: 256,
            epochs: 5.0,
            delta: 1e-5,
            learning_rate: 1e-3,
            max_rows_per_person: 1,
            base_rate_epsilon: 0.0,
        }
    }
}

impl DpSgdParams {
    /// A recipe for `persons` persons (a public, rounded figure is enough) within ε at δ,
    /// for a linear model (no hidden layers) on features scaled to [0, 1] by public ranges.
    /// Tuned on the synthetic shop at 3,000 persons (ROC-AUC 0.87–0.91 at ε = 3 over ten
    /// seeds; a hidden layer of 16 was less steady) and checked on Online Shoppers: large
    /// batches (a fifth of the persons, 64 to 4,096) because noise on the mean gradient
    /// falls as σ/batch, 20 passes, Adam at 0.1, up to 4 rows per person, and 5 % of ε (at
    /// most 0.25) on the base rate.
    pub fn recipe(persons: usize, epsilon: f64, delta: f64) -> DpSgdParams {
        let batch = (persons / 5).clamp(64, 4_096).min(persons.max(1));
        DpSgdParams {
            noise: Noise::TargetEpsilon(epsilon),
            clip_norm: 1.0,
            expected_batch: batch,
            epochs: 20.0,
            delta,
            learning_rate: 0.1,
            max_rows_per_person: 4,
            base_rate_epsilon: (0.05 * epsilon).min(0.25),
        }
    }
}

/// What a private training run spent, from the parameters it used.
#[derive(Debug, Clone, PartialEq)]
pub struct PrivacyReport {
    /// Total ε at `delta`: DP-SGD (RDP accounting, opacus's conversion) plus the base rate.
    pub epsilon: f64,
    /// δ.
    pub delta: f64,
    /// ε of the DP-SGD steps alone.
    pub sgd_epsilon: f64,
    /// ε of the base-rate estimate (0 if none).
    pub base_rate_epsilon: f64,
    /// The RDP order that gave `sgd_epsilon`.
    pub order: f64,
    /// Noise multiplier used.
    pub noise_multiplier: f64,
    /// Poisson sampling rate of persons.
    pub sampling_rate: f64,
    /// Steps taken.
    pub steps: u64,
    /// Persons in the training data.
    pub persons: usize,
    /// Rows used after bounding each person's contribution.
    pub rows_used: usize,
    /// The bound on rows per person.
    pub max_rows_per_person: usize,
}

impl PrivacyReport {
    /// The run's guarantee, for adding and removing one person with all their rows (labels
    /// included).
    pub fn guarantee(&self) -> Guarantee {
        Guarantee::Approximate {
            epsilon: self.epsilon,
            delta: self.delta,
        }
    }
}

/// A privately trained model and its guarantee.
#[derive(Debug, Clone)]
pub struct PrivateModel {
    /// The network.
    pub model: Mlp,
    /// Its privacy guarantee for every person in the training data.
    pub report: PrivacyReport,
}

/// logit of (positives + ½)/(rows + 1), both counts with discrete Laplace noise of
/// sensitivity k at ε/2 each.
fn private_base_rate(
    groups: &[Vec<usize>],
    y: ArrayView1<'_, bool>,
    k: usize,
    epsilon: f64,
    rng: &mut dyn RngCore,
) -> Result<f64> {
    let mechanism = DiscreteLaplace::new(epsilon / 2.0, k as u64)?;
    let rows: usize = groups.iter().map(Vec::len).sum();
    let positives = groups.iter().flatten().filter(|&&i| y[i]).count();
    let noisy = |c: usize, rng: &mut dyn RngCore| mechanism.randomise(c as i64, rng).max(0) as f64;
    let (pos, all) = (noisy(positives, rng), noisy(rows, rng));
    let rate = ((pos + 0.5) / (all.max(pos) + 1.0)).clamp(1e-4, 1.0 - 1e-4);
    Ok((rate / (1.0 - rate)).ln())
}

/// Trains the MLP of `mlp` (its layers, L2 penalty and initialisation seed — public; its
/// learning rate, batching and early stopping are replaced by `params`) on rows `x` with
/// labels `y`, `persons[i]` being the person of row `i`, under DP-SGD with noise from `rng`
/// ([`crate::exact::os_rng`] outside tests: noise anyone can regenerate protects nobody).
///
/// Every step samples each person with probability q, clips each of their rows to C/nₚ
/// (nₚ their rows kept, so a person moves the sum by at most C), adds N(0, σ²C²) to every
/// coordinate of the sum, divides by the expected batch and takes an Adam step. The
/// accountant records exactly (q, σ, steps).
pub fn train_dp_sgd<P: Hash + Eq>(
    mlp: &MlpParams,
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, bool>,
    persons: &[P],
    params: &DpSgdParams,
    rng: &mut dyn RngCore,
) -> Result<PrivateModel> {
    let n = x.nrows();
    if n == 0 || y.len() != n || persons.len() != n {
        return Err(DpError::Shape(format!(
            "{} rows, {} labels, {} persons",
            n,
            y.len(),
            persons.len()
        )));
    }
    let clip = positive("clip_norm", params.clip_norm)?;
    let epochs = positive("epochs", params.epochs)?;
    let learning_rate = positive("learning_rate", params.learning_rate)?;
    check_range("delta", params.delta, 0.0, 1.0, false)?;
    check_range(
        "base_rate_epsilon",
        params.base_rate_epsilon,
        0.0,
        f64::INFINITY,
        true,
    )?;
    let k = params.max_rows_per_person;
    if k == 0 {
        return Err(DpError::InvalidParameter {
            param: "max_rows_per_person",
            value: 0.0,
            reason: "must be >= 1".into(),
        });
    }
    let groups = bound_rows(persons, k);
    let p = groups.len();
    if params.expected_batch == 0 || params.expected_batch > p {
        return Err(DpError::InvalidParameter {
            param: "expected_batch",
            value: params.expected_batch as f64,
            reason: format!("must be in 1..={p} (the persons)"),
        });
    }
    let q = params.expected_batch as f64 / p as f64;
    let steps = (epochs / q).ceil() as u64;
    let base_eps = params.base_rate_epsilon;
    let sigma = match params.noise {
        Noise::Multiplier(s) => positive("noise_multiplier", s)?,
        Noise::TargetEpsilon(eps) => {
            let left = positive("target_epsilon", eps)? - base_eps;
            if left <= 0.0 {
                return Err(DpError::InvalidParameter {
                    param: "base_rate_epsilon",
                    value: base_eps,
                    reason: format!("leaves nothing of ε = {eps} for the steps"),
                });
            }
            noise_multiplier(left, q, steps, params.delta)?
        }
    };

    let mut model = mlp.init(x.ncols())?;
    if base_eps > 0.0 {
        model.set_output_bias(private_base_rate(&groups, y, k, base_eps, rng)?);
    }
    let yf: Array1<f64> = y.mapv(|b| f64::from(u8::from(b)));
    let mut adam = Adam::new(learning_rate);
    // Rows of the sampled persons, by how many rows their person has (its clip is C/nₚ).
    let mut batch: Vec<Vec<usize>> = vec![Vec::new(); k];
    for _ in 0..steps {
        batch.iter_mut().for_each(Vec::clear);
        for rows in &groups {
            if rng.gen_bool(q) {
                batch[rows.len() - 1].extend(rows);
            }
        }
        let mut g: Option<websight_core::learn::Gradients> = None;
        for (i, rows) in batch.iter().enumerate().filter(|(_, r)| !r.is_empty()) {
            let part = model.gradient_sum(
                x.select(Axis(0), rows).view(),
                yf.select(Axis(0), rows).view(),
                Some(clip / (i + 1) as f64),
            )?;
            match &mut g {
                Some(sum) => sum.add(&part),
                None => g = Some(part),
            }
        }
        let mut g = g.unwrap_or_else(|| model.zero_gradients());
        // Noise on every coordinate, even for an empty batch: the sampling is secret too.
        g.for_each_mut(|v| {
            let z: f64 = StandardNormal.sample(rng);
            *v += sigma * clip * z;
        });
        g.scale(1.0 / params.expected_batch as f64);
        // The penalty depends on the weights only, not on the data: no privacy cost.
        model.add_l2(&mut g, mlp.l2_value());
        model.step(&mut adam, &g);
    }
    let mut accountant = RdpAccountant::new();
    accountant.record(q, sigma, steps)?;
    let (sgd_epsilon, order) = accountant.epsilon(params.delta)?;
    Ok(PrivateModel {
        model,
        report: PrivacyReport {
            epsilon: sgd_epsilon + base_eps,
            delta: params.delta,
            sgd_epsilon,
            base_rate_epsilon: base_eps,
            order,
            noise_multiplier: sigma,
            sampling_rate: q,
            steps,
            persons: p,
            rows_used: groups.iter().map(Vec::len).sum(),
            max_rows_per_person: k,
        },
    })
}
