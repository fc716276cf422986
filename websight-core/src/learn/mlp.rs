//! A multilayer perceptron for binary classification.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use super::{Adam, Fit, PredictProba};
use crate::{CoreError, Result};

/// Training parameters of an [`Mlp`] (defaults: hidden layers 128-64, Adam with learning
/// rate 10⁻³, batches of 64, L2 penalty 10⁻⁴, at most 100 epochs, early stopping after 5
/// epochs without a validation-loss gain on a 10% hold-out, seed 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpParams {
    hidden: Vec<usize>,
    learning_rate: f64,
    batch_size: usize,
    max_epochs: usize,
    patience: usize,
    validation_fraction: f64,
    l2: f64,
    seed: u64,
}

impl Default for MlpParams {
    fn default() -> Self {
        MlpParams {
            hidden: vec![128, 64],
            learning_rate: 1e-3,
            batch_size: 64,
            max_epochs: 100,
            patience: 5,
            validation_fraction: 0.1,
            l2: 1e-4,
            seed: 0,
        }
    }
}

impl MlpParams {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }
    setter!(/// Hidden layer widths.
        hidden: Vec<usize>);
    setter!(/// Adam's learning rate.
        learning_rate: f64);
    setter!(/// Mini-batch size.
        batch_size: usize);
    setter!(/// Epoch limit.
        max_epochs: usize);
    setter!(/// Epochs without validation gain before stopping (0: never stop early).
        patience: usize);
    setter!(/// Share of rows held out for early stopping (0: none).
        validation_fraction: f64);
    setter!(/// L2 penalty on weights.
        l2: f64);
    setter!(/// Seed of initialisation and shuffling.
        seed: u64);

    /// The learning rate.
    pub fn learning_rate_value(&self) -> f64 {
        self.learning_rate
    }

    /// The L2 penalty.
    pub fn l2_value(&self) -> f64 {
        self.l2
    }

    /// Checks every parameter, naming the first one out of range.
    pub fn check(&self) -> Result<()> {
        let bad = |param, reason: &str| Err(CoreError::parameter(param, reason));
        if self.hidden.contains(&0) {
            return bad("hidden", "layer widths must be >= 1");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad("learning_rate", "must be finite and > 0");
        }
        if self.batch_size == 0 || self.max_epochs == 0 {
            return bad("batch_size", "batch size and epochs must be >= 1");
        }
        if !(0.0..0.5).contains(&self.validation_fraction) {
            return bad("validation_fraction", "must be in [0, 0.5)");
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return bad("l2", "must be finite and >= 0");
        }
        Ok(())
    }

    /// A fresh network for `n_features` inputs (He-normal weights, zero biases).
    pub fn init(&self, n_features: usize) -> Result<Mlp> {
        self.check()?;
        if n_features == 0 {
            return Err(CoreError::parameter("x", "need at least one feature"));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut widths = vec![n_features];
        widths.extend(&self.hidden);
        widths.push(1);
        let layers = widths
            .windows(2)
            .map(|w| {
                let normal = Normal::new(0.0, (2.0 / w[0] as f64).sqrt()).expect("finite");
                Layer {
                    w: Array2::from_shape_fn((w[1], w[0]), |_| normal.sample(&mut rng)),
                    b: Array1::zeros(w[1]),
                }
            })
            .collect();
        Ok(Mlp { layers })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Layer {
    /// Weights, outputs × inputs.
    w: Array2<f64>,
    b: Array1<f64>,
}

/// A fitted network: ReLU hidden layers and one sigmoid output giving P(class 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mlp {
    layers: Vec<Layer>,
}

/// Gradients (or any per-parameter quantity) with the network's shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradients {
    layers: Vec<(Array2<f64>, Array1<f64>)>,
}

impl Gradients {
    pub(crate) fn zeros_like(&self) -> Gradients {
        Gradients {
            layers: self
                .layers
                .iter()
                .map(|(w, b)| (Array2::zeros(w.raw_dim()), Array1::zeros(b.raw_dim())))
                .collect(),
        }
    }

    pub(crate) fn zip_mut(&mut self, other: &Gradients, mut f: impl FnMut(&mut f64, f64)) {
        for ((w, b), (ow, ob)) in self.layers.iter_mut().zip(&other.layers) {
            w.zip_mut_with(ow, |a, &o| f(a, o));
            b.zip_mut_with(ob, |a, &o| f(a, o));
        }
    }

    /// Adds `other` (same shapes) entry by entry.
    pub fn add(&mut self, other: &Gradients) {
        self.zip_mut(other, |a, b| *a += b);
    }

    /// Applies `f` to every entry (e.g. to add noise).
    pub fn for_each_mut(&mut self, mut f: impl FnMut(&mut f64)) {
        for (w, b) in &mut self.layers {
            w.iter_mut().for_each(&mut f);
            b.iter_mut().for_each(&mut f);
        }
    }

    /// Multiplies every entry by `factor`.
    pub fn scale(&mut self, factor: f64) {
        self.for_each_mut(|v| *v *= factor);
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.layers.iter().map(|(w, b)| w.len() + b.len()).sum()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Euclidean norm over all entries.
    pub fn l2_norm(&self) -> f64 {
        self.layers
            .iter()
            .map(|(w, b)| w.iter().chain(b.iter()).map(|v| v * v).sum::<f64>())
            .sum::<f64>()
            .sqrt()
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Binary cross-entropy of a logit, computed stably.
fn bce(z: f64, y: f64) -> f64 {
    z.max(0.0) - z * y + (-z.abs()).exp().ln_1p()
}

fn check_xy(x: &ArrayView2<'_, f64>, y_len: usize, n_features: Option<usize>) -> Result<()> {
    super::check_training(x, y_len, 0, false)?;
    match n_features {
        Some(d) => super::check_width(x, d),
        None => Ok(()),
    }
}

impl Mlp {
    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.layers[0].w.ncols()
    }

    /// Zero gradients shaped like this network.
    pub fn zero_gradients(&self) -> Gradients {
        Gradients {
            layers: self
                .layers
                .iter()
                .map(|l| (Array2::zeros(l.w.raw_dim()), Array1::zeros(l.b.raw_dim())))
                .collect(),
        }
    }

    /// Sets the output unit's bias: the logit every prediction starts from (e.g. of the
    /// base rate, so that training need not first learn it).
    pub fn set_output_bias(&mut self, bias: f64) {
        if let Some(last) = self.layers.last_mut() {
            last.b.fill(bias);
        }
    }

    /// Pre-activations and activations of every layer (activations[0] is the input).
    fn forward(&self, x: ArrayView2<'_, f64>) -> (Vec<Array2<f64>>, Vec<Array2<f64>>) {
        let mut activations = vec![x.to_owned()];
        let mut pre = Vec::with_capacity(self.layers.len());
        for (i, layer) in self.layers.iter().enumerate() {
            let z = activations[i].dot(&layer.w.t()) + &layer.b;
            let a = if i + 1 < self.layers.len() {
                z.mapv(|v| v.max(0.0))
            } else {
                z.clone()
            };
            pre.push(z);
            activations.push(a);
        }
        (pre, activations)
    }

    /// Output logits.
    pub fn logits(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        check_xy(&x, x.nrows(), Some(self.n_features()))?;
        // Inference keeps only the current layer (training's `forward` keeps them all).
        let (first, rest) = self.layers.split_first().expect("an output layer");
        let mut a = x.dot(&first.w.t()) + &first.b;
        for layer in rest {
            // ReLU on the hidden layer just computed; the output layer stays linear.
            a.mapv_inplace(|v| v.max(0.0));
            a = a.dot(&layer.w.t()) + &layer.b;
        }
        Ok(a.column(0).to_owned())
    }

    /// Mean binary cross-entropy on `(x, y)` (y in {0, 1}).
    pub fn loss(&self, x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>) -> Result<f64> {
        let z = self.logits(x)?;
        Ok(z.iter().zip(y).map(|(&z, &y)| bce(z, y)).sum::<f64>() / y.len().max(1) as f64)
    }

    /// The **sum** over rows of the loss gradient. With `clip = Some(C)`, each row's
    /// gradient is first scaled to L2 norm at most C (the per-example clipping of DP-SGD).
    ///
    /// Per-example norms come without materialising per-example gradients: a dense layer's
    /// per-example weight gradient is the outer product δᵢ aᵢᵀ, whose norm is ‖δᵢ‖·‖aᵢ‖.
    pub fn gradient_sum(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
        clip: Option<f64>,
    ) -> Result<Gradients> {
        check_xy(&x, y.len(), Some(self.n_features()))?;
        let (pre, acts) = self.forward(x);
        let n = x.nrows();
        let last = self.layers.len() - 1;
        // Output deltas: p − y per row.
        let mut delta = Array2::from_shape_fn((n, 1), |(i, _)| sigmoid(pre[last][[i, 0]]) - y[i]);
        let mut deltas = vec![Array2::zeros((0, 0)); self.layers.len()];
        for l in (0..self.layers.len()).rev() {
            let next = if l > 0 {
                let mut back = delta.dot(&self.layers[l].w);
                back.zip_mut_with(&pre[l - 1], |d, &z| {
                    if z <= 0.0 {
                        *d = 0.0
                    }
                });
                Some(back)
            } else {
                None
            };
            deltas[l] =
                std::mem::replace(&mut delta, next.unwrap_or_else(|| Array2::zeros((0, 0))));
        }
        if let Some(c) = clip {
            let mut norm2 = Array1::<f64>::zeros(n);
            for (l, d) in deltas.iter().enumerate() {
                let d2 = d.map_axis(Axis(1), |r| r.dot(&r));
                let a2 = acts[l].map_axis(Axis(1), |r| r.dot(&r));
                norm2 += &(d2 * (a2 + 1.0));
            }
            let factors = norm2.mapv(|s| (c / s.sqrt().max(1e-12)).min(1.0));
            for d in &mut deltas {
                *d *= &factors.view().insert_axis(Axis(1));
            }
        }
        let layers = deltas
            .iter()
            .enumerate()
            .map(|(l, d)| (d.t().dot(&acts[l]), d.sum_axis(Axis(0))))
            .collect();
        Ok(Gradients { layers })
    }

    /// Gradient of the L2 penalty ½·λ·‖W‖² (weights only), to add to a data gradient.
    pub fn add_l2(&self, grads: &mut Gradients, l2: f64) {
        for ((gw, _), layer) in grads.layers.iter_mut().zip(&self.layers) {
            gw.scaled_add(l2, &layer.w);
        }
    }

    /// One optimiser step with gradient `grads`.
    pub fn step(&mut self, optimizer: &mut Adam, grads: &Gradients) {
        let update = optimizer.update(grads);
        for (layer, (uw, ub)) in self.layers.iter_mut().zip(&update.layers) {
            layer.w -= uw;
            layer.b -= ub;
        }
    }
}

impl PredictProba for Mlp {
    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        Ok(self.logits(x)?.mapv(sigmoid))
    }
}

impl Fit for MlpParams {
    type Model = Mlp;

    /// Mini-batch Adam on the mean loss plus the L2 penalty; keeps the weights of the
    /// epoch with the lowest validation loss.
    fn fit(&self, x: ArrayView2<'_, f64>, y: ArrayView1<'_, bool>) -> Result<Mlp> {
        check_xy(&x, y.len(), None)?;
        if x.nrows() < 2 {
            return Err(CoreError::parameter("x", "need at least 2 rows"));
        }
        let mut model = self.init(x.ncols())?;
        let yf = y.mapv(|b| f64::from(u8::from(b)));
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed.wrapping_add(1));
        let mut order: Vec<usize> = (0..x.nrows()).collect();
        order.shuffle(&mut rng);
        let n_val = (x.nrows() as f64 * self.validation_fraction) as usize;
        let (val_idx, train_idx) = order.split_at(n_val);
        let (x_val, y_val) = (x.select(Axis(0), val_idx), yf.select(Axis(0), val_idx));
        let mut train_idx = train_idx.to_vec();
        let mut adam = Adam::new(self.learning_rate);
        let (mut best, mut best_loss, mut stale) = (model.clone(), f64::INFINITY, 0);
        for _ in 0..self.max_epochs {
            train_idx.shuffle(&mut rng);
            for batch in train_idx.chunks(self.batch_size) {
                let xb = x.select(Axis(0), batch);
                let yb = yf.select(Axis(0), batch);
                let mut g = model.gradient_sum(xb.view(), yb.view(), None)?;
                g.scale(1.0 / batch.len() as f64);
                model.add_l2(&mut g, self.l2);
                model.step(&mut adam, &g);
            }
            if n_val == 0 {
                best = model.clone();
                continue;
            }
            let loss = model.loss(x_val.view(), y_val.view())?;
            if loss < best_loss - 1e-4 {
                (best, best_loss, stale) = (model.clone(), loss, 0);
            } else {
                stale += 1;
                if self.patience > 0 && stale >= self.patience {
                    break;
                }
            }
        }
        Ok(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn clipped_gradient_sum_equals_the_sum_of_clipped_per_example_gradients() {
        let model = MlpParams::new().hidden(vec![5, 3]).seed(4).init(3).unwrap();
        let x = array![
            [0.5, -1.0, 2.0],
            [3.0, 0.1, -0.4],
            [-2.0, 2.5, 1.0],
            [0.0, 0.0, 0.3]
        ];
        let y = array![1.0, 0.0, 1.0, 0.0];
        let c = 0.3;
        let clipped = model.gradient_sum(x.view(), y.view(), Some(c)).unwrap();
        // Reference: one row at a time, clipped explicitly.
        let mut expected: Option<Gradients> = None;
        for i in 0..4 {
            let mut g = model
                .gradient_sum(
                    x.slice(ndarray::s![i..i + 1, ..]),
                    y.slice(ndarray::s![i..i + 1]),
                    None,
                )
                .unwrap();
            let norm = g.l2_norm();
            g.scale((c / norm).min(1.0));
            match &mut expected {
                None => expected = Some(g),
                Some(e) => e.zip_mut(&g, |a, b| *a += b),
            }
        }
        let mut diff = clipped.clone();
        diff.zip_mut(&expected.unwrap(), |a, b| *a -= b);
        assert!(diff.l2_norm() < 1e-12, "difference {}", diff.l2_norm());
        // Unclipped, the sum of rows equals the batch gradient.
        assert!(
            model
                .gradient_sum(x.view(), y.view(), None)
                .unwrap()
                .l2_norm()
                > clipped.l2_norm()
        );
    }

    #[test]
    fn inference_equals_the_training_forward_pass() {
        for hidden in [vec![], vec![5], vec![6, 3]] {
            let mlp = MlpParams::new().hidden(hidden).seed(4).init(3).unwrap();
            let x = array![[0.5, -1.0, 2.0], [0.0, 0.3, -0.7]];
            let (_, acts) = mlp.forward(x.view());
            let last = acts.last().unwrap().column(0).to_owned();
            assert_eq!(mlp.logits(x.view()).unwrap(), last);
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let params = MlpParams::new().hidden(vec![4]).seed(1);
        let mut model = params.init(2).unwrap();
        let x = array![[0.3, -0.7], [1.2, 0.4], [-0.5, 0.9]];
        let y = array![1.0, 0.0, 1.0];
        let g = model.gradient_sum(x.view(), y.view(), None).unwrap();
        let h = 1e-6;
        let w0 = model.layers[0].w[[2, 1]];
        model.layers[0].w[[2, 1]] = w0 + h;
        let up = model.loss(x.view(), y.view()).unwrap() * 3.0;
        model.layers[0].w[[2, 1]] = w0 - h;
        let down = model.loss(x.view(), y.view()).unwrap() * 3.0;
        let numeric = (up - down) / (2.0 * h);
        assert!(
            (numeric - g.layers[0].0[[2, 1]]).abs() < 1e-6,
            "{numeric} vs {}",
            g.layers[0].0[[2, 1]]
        );
    }

    #[test]
    fn learns_a_separable_problem_and_validates_input() {
        let x = Array2::from_shape_fn((400, 2), |(i, j)| {
            ((i * 7 + j * 13) % 20) as f64 / 10.0 - 1.0
        });
        let y = x.map_axis(Axis(1), |r| r[0] + r[1] > 0.0);
        let model = MlpParams::new()
            .hidden(vec![16])
            .max_epochs(60)
            .learning_rate(0.01)
            .fit(x.view(), y.view())
            .unwrap();
        let acc = model
            .predict(x.view())
            .unwrap()
            .iter()
            .zip(&y)
            .filter(|(a, b)| a == b)
            .count();
        assert!(acc > 380, "accuracy {acc}/400");
        assert!(
            MlpParams::new()
                .fit(x.view(), y.slice(ndarray::s![..3]))
                .is_err()
        );
        assert!(
            MlpParams::new()
                .learning_rate(-1.0)
                .fit(x.view(), y.view())
                .is_err()
        );
        assert!(model.predict_proba(Array2::zeros((2, 3)).view()).is_err());
        let mut bad = x.clone();
        bad[[0, 0]] = f64::NAN;
        assert!(MlpParams::new().fit(bad.view(), y.view()).is_err());
    }
}
