//! Kernel SHAP (Lundberg & Lee 2017) for any model given as a function of a batch of rows:
//! coalitions of features, each valued by the mean output over a background set with the
//! coalition's features taken from the explained row, then a weighted least-squares fit under
//! the efficiency constraint (the values add up to output − expected value).

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::collections::HashMap;

use crate::{ExplainError, Explainer, Explanation, Result};

/// A model as Kernel SHAP sees it: rows in, one output per row out.
///
/// Implemented for closures `Fn(ArrayView2<f64>) -> Array1<f64>`, for [`Probability`] (any
/// websight [`PredictProba`](websight_core::learn::PredictProba) model) and for the
/// [`KernelModel`](crate::KernelModel) files.
pub trait BatchModel: Sync {
    /// Outputs of `x`'s rows.
    fn predict_batch(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>>;
}

impl<F> BatchModel for F
where
    F: Fn(ArrayView2<'_, f64>) -> Array1<f64> + Sync,
{
    fn predict_batch(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        Ok(self(x))
    }
}

/// Explains P(class 1) of a websight model.
#[derive(Debug, Clone, Copy)]
pub struct Probability<'a, M>(pub &'a M);

impl<M: websight_core::learn::PredictProba + Sync> BatchModel for Probability<'_, M> {
    fn predict_batch(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        Ok(self.0.predict_proba(x)?)
    }
}

/// Kernel SHAP over a background set.
///
/// Every coalition is enumerated when all `2^M − 2` fit the budget (then the values are the
/// exact Shapley values of the background-expectation game); otherwise whole subset sizes
/// are enumerated from the outside in while they fit, and the rest are sampled in
/// complementary pairs, as shap does. Features whose value equals every background row's
/// cannot change the output and get 0.
///
/// ```
/// use ndarray::{array, Array1, ArrayView2};
/// use websight_explain::{Explainer, KernelShap};
///
/// // A linear model: SHAP values are w_j (x_j − mean background x_j).
/// let model = |x: ArrayView2<'_, f64>| -> Array1<f64> { x.dot(&array![2.0, -1.0, 0.5]) };
/// let background = array![[0.0, 0.0, 0.0], [2.0, 4.0, 0.0]];
/// let shap = KernelShap::new(&model, background)?;
/// let e = shap.explain(array![[3.0, 1.0, 2.0]].view())?;
/// assert!((e.expected_value - (2.0 - 2.0)).abs() < 1e-12);
/// for (v, want) in e.values.row(0).iter().zip([4.0, 1.0, 1.0]) {
///     assert!((v - want).abs() < 1e-12);
/// }
/// # Ok::<(), websight_explain::ExplainError>(())
/// ```
pub struct KernelShap<'a, M: ?Sized> {
    model: &'a M,
    background: Array2<f64>,
    expected_value: f64,
    max_coalitions: usize,
    seed: u64,
}

impl<M: ?Sized> std::fmt::Debug for KernelShap<'_, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelShap")
            .field("background_rows", &self.background.nrows())
            .field("expected_value", &self.expected_value)
            .field("max_coalitions", &self.max_coalitions)
            .field("seed", &self.seed)
            .finish()
    }
}

/// Rows sent to the model in one call at most (bounds memory for wide backgrounds).
const MAX_BATCH_ROWS: usize = 1 << 16;

impl<'a, M: BatchModel + ?Sized> KernelShap<'a, M> {
    /// An explainer of `model` against `background` (rows × features, finite or NaN; at
    /// least one row). The expected value is the model's mean output over the background.
    /// The coalition budget defaults to `2 × features + 2048` per row (shap's "auto").
    pub fn new(model: &'a M, background: Array2<f64>) -> Result<Self> {
        if background.nrows() == 0 || background.ncols() == 0 {
            return Err(ExplainError::Shape {
                reason: "the background needs at least one row and one feature".into(),
            });
        }
        if background.iter().any(|v| v.is_infinite()) {
            return Err(ExplainError::Shape {
                reason: "background values must be finite or NaN".into(),
            });
        }
        let outputs = model.predict_batch(background.view())?;
        check_outputs(&outputs, background.nrows())?;
        let expected_value = outputs.mean().unwrap_or(0.0);
        let max_coalitions = 2 * background.ncols() + 2048;
        Ok(KernelShap {
            model,
            background,
            expected_value,
            max_coalitions,
            seed: 0,
        })
    }

    /// Coalitions evaluated per row at most (at least 2 × features).
    pub fn max_coalitions(mut self, budget: usize) -> Self {
        self.max_coalitions = budget.max(2 * self.background.ncols());
        self
    }

    /// Seed of the coalition sampling (only used when not every coalition fits the budget).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The mean model output over the background.
    pub fn expected_value(&self) -> f64 {
        self.expected_value
    }

    fn explain_row(&self, row: ArrayView1<'_, f64>, output: f64, seed: u64) -> Result<Array1<f64>> {
        let d = row.len();
        let varying: Vec<usize> = (0..d)
            .filter(|&j| self.background.column(j).iter().any(|&b| !same(b, row[j])))
            .collect();
        let delta = output - self.expected_value;
        let mut phi = Array1::zeros(d);
        match varying.len() {
            0 => return Ok(phi),
            1 => {
                phi[varying[0]] = delta;
                return Ok(phi);
            }
            _ => {}
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (masks, weights) = coalitions(varying.len(), self.max_coalitions, &mut rng);
        let values = self.coalition_values(row, &varying, &masks)?;
        let y = values - self.expected_value;
        let solved = constrained_wls(&masks, &weights, &y, delta)?;
        for (&j, v) in varying.iter().zip(solved) {
            phi[j] = v;
        }
        Ok(phi)
    }

    /// Mean model output over the background with each coalition's features set from `row`.
    fn coalition_values(
        &self,
        row: ArrayView1<'_, f64>,
        varying: &[usize],
        masks: &Array2<f64>,
    ) -> Result<Array1<f64>> {
        let nb = self.background.nrows();
        let per_call = (MAX_BATCH_ROWS / nb).max(1);
        let mut values = Array1::zeros(masks.nrows());
        for (chunk_index, chunk) in masks.axis_chunks_iter(Axis(0), per_call).enumerate() {
            let mut batch = Array2::zeros((chunk.nrows() * nb, row.len()));
            for (k, mask) in chunk.outer_iter().enumerate() {
                let mut block = batch.slice_mut(ndarray::s![k * nb..(k + 1) * nb, ..]);
                block.assign(&self.background);
                for (&j, &inside) in varying.iter().zip(mask) {
                    if inside == 1.0 {
                        block.column_mut(j).fill(row[j]);
                    }
                }
            }
            let out = self.model.predict_batch(batch.view())?;
            check_outputs(&out, batch.nrows())?;
            for (k, block) in out.exact_chunks(nb).into_iter().enumerate() {
                values[chunk_index * per_call + k] = block.sum() / nb as f64;
            }
        }
        Ok(values)
    }
}

impl<M: BatchModel + ?Sized> Explainer for KernelShap<'_, M> {
    fn explain(&self, x: ArrayView2<'_, f64>) -> Result<Explanation> {
        if x.ncols() != self.background.ncols() {
            return Err(ExplainError::Shape {
                reason: format!(
                    "rows have {} features, the background {}",
                    x.ncols(),
                    self.background.ncols()
                ),
            });
        }
        let outputs = self.model.predict_batch(x)?;
        check_outputs(&outputs, x.nrows())?;
        let rows: Vec<Array1<f64>> = (0..x.nrows())
            .into_par_iter()
            .map(|i| {
                let seed = self.seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                self.explain_row(x.row(i), outputs[i], seed)
            })
            .collect::<Result<_>>()?;
        let mut values = Array2::zeros(x.dim());
        for (mut dst, src) in values.outer_iter_mut().zip(rows) {
            dst.assign(&src);
        }
        Ok(Explanation::new(self.expected_value, values, outputs))
    }
}

/// Equal values, NaN (missing) equal to NaN.
fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

fn check_outputs(outputs: &Array1<f64>, rows: usize) -> Result<()> {
    if outputs.len() != rows || outputs.iter().any(|v| !v.is_finite()) {
        return Err(ExplainError::Shape {
            reason: format!(
                "the model returned {} outputs for {rows} rows (all must be finite)",
                outputs.len()
            ),
        });
    }
    Ok(())
}

/// Shapley kernel mass of all coalitions of size `s` out of `m`: (m − 1) / (s (m − s)).
fn size_mass(m: usize, s: usize) -> f64 {
    (m - 1) as f64 / (s * (m - s)) as f64
}

fn binomial(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// Coalitions (rows of 0/1 over the `m` varying features) and their weights.
fn coalitions(m: usize, budget: usize, rng: &mut impl Rng) -> (Array2<f64>, Vec<f64>) {
    let mut masks: Vec<Vec<bool>> = Vec::new();
    let mut weights = Vec::new();
    let push_size = |s: usize, masks: &mut Vec<Vec<bool>>, weights: &mut Vec<f64>| {
        let w = size_mass(m, s) / binomial(m, s);
        for_each_subset(m, s, |mask| {
            masks.push(mask.to_vec());
            weights.push(w);
        });
    };
    // Sizes in complementary pairs from the outside in: (1, m−1), (2, m−2), …
    let half = m / 2;
    let mut left = budget as f64;
    let mut next_size = 1;
    while next_size <= half {
        let s = next_size;
        let count = if 2 * s == m {
            binomial(m, s)
        } else {
            2.0 * binomial(m, s)
        };
        if count > left {
            break;
        }
        push_size(s, &mut masks, &mut weights);
        if 2 * s != m {
            push_size(m - s, &mut masks, &mut weights);
        }
        left -= count;
        next_size += 1;
    }
    if next_size <= half && left >= 1.0 {
        sample_rest(m, next_size, left as usize, rng, &mut masks, &mut weights);
    }
    let rows = masks.len();
    let flat: Vec<f64> = masks
        .into_iter()
        .flatten()
        .map(|b| f64::from(u8::from(b)))
        .collect();
    let z = Array2::from_shape_vec((rows, m), flat).expect("rows of m flags");
    (z, weights)
}

/// Samples coalitions of sizes `first..=m−first` in complementary pairs: a size by its kernel
/// mass, a subset uniformly; repeats add weight. The sampled coalitions share the mass of the
/// sizes not enumerated, in proportion to how often each was drawn.
fn sample_rest(
    m: usize,
    first: usize,
    budget: usize,
    rng: &mut impl Rng,
    masks: &mut Vec<Vec<bool>>,
    weights: &mut Vec<f64>,
) {
    let sizes: Vec<usize> = (first..=m / 2).collect();
    // Mass of size s together with its complement m − s.
    let pair_mass: Vec<f64> = sizes
        .iter()
        .map(|&s| size_mass(m, s) * if 2 * s == m { 1.0 } else { 2.0 })
        .collect();
    let remaining_mass: f64 = pair_mass.iter().sum();
    let mut counts: HashMap<Vec<bool>, f64> = HashMap::new();
    let mut order: Vec<Vec<bool>> = Vec::new();
    let mut draws = 0.0;
    // Each draw adds a coalition and its complement; stop when the budget is used or after
    // a generous number of draws that only repeat.
    let mut attempts = 0;
    while order.len() < budget && attempts < 8 * budget {
        attempts += 1;
        let mut pick = rng.gen_range(0.0..remaining_mass);
        let mut k = 0;
        while k + 1 < sizes.len() && pick >= pair_mass[k] {
            pick -= pair_mass[k];
            k += 1;
        }
        let s = sizes[k];
        let mut mask = vec![false; m];
        for j in rand::seq::index::sample(rng, m, s) {
            mask[j] = true;
        }
        let complement: Vec<bool> = mask.iter().map(|b| !b).collect();
        for coalition in [mask, complement] {
            match counts.get_mut(&coalition) {
                Some(c) => *c += 1.0,
                None => {
                    counts.insert(coalition.clone(), 1.0);
                    order.push(coalition);
                }
            }
        }
        draws += 2.0;
    }
    for coalition in order {
        let c = counts[&coalition];
        weights.push(remaining_mass * c / draws);
        masks.push(coalition);
    }
}

/// Calls `f` with every 0/1 mask of `m` flags with exactly `s` set, in lexicographic order of
/// the chosen indices.
fn for_each_subset(m: usize, s: usize, mut f: impl FnMut(&[bool])) {
    let mut chosen: Vec<usize> = (0..s).collect();
    let mut mask = vec![false; m];
    loop {
        mask.iter_mut().for_each(|b| *b = false);
        for &c in &chosen {
            mask[c] = true;
        }
        f(&mask);
        // Next combination.
        let Some(i) = (0..s).rev().find(|&i| chosen[i] < m - s + i) else {
            return;
        };
        chosen[i] += 1;
        for k in i + 1..s {
            chosen[k] = chosen[k - 1] + 1;
        }
    }
}

/// Weighted least squares of `y ≈ Z φ` subject to `Σ φ = delta`, by eliminating the last
/// coefficient: `y − z_last δ ≈ Σ_{j<m−1} (z_j − z_last) φ_j`.
fn constrained_wls(z: &Array2<f64>, w: &[f64], y: &Array1<f64>, delta: f64) -> Result<Vec<f64>> {
    let m = z.ncols();
    let k = m - 1;
    let mut a = vec![0.0; k * k];
    let mut b = vec![0.0; k];
    let mut xr = vec![0.0; k];
    for ((row, &wi), &yi) in z.outer_iter().zip(w).zip(y) {
        let last = row[k];
        for j in 0..k {
            xr[j] = row[j] - last;
        }
        let target = yi - last * delta;
        for i in 0..k {
            if xr[i] == 0.0 {
                continue;
            }
            let wx = wi * xr[i];
            b[i] += wx * target;
            for j in 0..k {
                a[i * k + j] += wx * xr[j];
            }
        }
    }
    let mut phi = solve(a, b, k).ok_or_else(|| ExplainError::Shape {
        reason: "too few coalitions to identify the SHAP values (raise the budget)".into(),
    })?;
    let rest: f64 = phi.iter().sum();
    phi.push(delta - rest);
    Ok(phi)
}

/// Solves the k × k system `a x = b` (row-major) by Gaussian elimination with partial
/// pivoting; `None` when singular.
fn solve(mut a: Vec<f64>, mut b: Vec<f64>, k: usize) -> Option<Vec<f64>> {
    let scale = a.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    for col in 0..k {
        let pivot =
            (col..k).max_by(|&i, &j| a[i * k + col].abs().total_cmp(&a[j * k + col].abs()))?;
        if a[pivot * k + col].abs() <= scale * 1e-13 {
            return None;
        }
        if pivot != col {
            for j in 0..k {
                a.swap(pivot * k + j, col * k + j);
            }
            b.swap(pivot, col);
        }
        for i in col + 1..k {
            let factor = a[i * k + col] / a[col * k + col];
            if factor == 0.0 {
                continue;
            }
            for j in col..k {
                a[i * k + j] -= factor * a[col * k + j];
            }
            b[i] -= factor * b[col];
        }
    }
    let mut x = vec![0.0; k];
    for i in (0..k).rev() {
        let tail: f64 = (i + 1..k).map(|j| a[i * k + j] * x[j]).sum();
        x[i] = (b[i] - tail) / a[i * k + i];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn subsets_are_enumerated_once_each() {
        let mut seen = Vec::new();
        for_each_subset(5, 2, |m| seen.push(m.to_vec()));
        assert_eq!(seen.len(), 10);
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 10);
        assert!(seen.iter().all(|m| m.iter().filter(|b| **b).count() == 2));
    }

    #[test]
    fn full_enumeration_when_it_fits_and_sampling_keeps_the_budget() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (z, w) = coalitions(6, 100, &mut rng);
        assert_eq!(z.nrows(), 62);
        assert_eq!(w.len(), 62);
        let (z, _) = coalitions(12, 300, &mut rng);
        // Sizes 1 and 11 (24) and 2 and 10 (132) enumerated, the rest sampled.
        assert!(z.nrows() <= 300 && z.nrows() > 156, "{}", z.nrows());
    }

    /// Exact Shapley values of the background-expectation game, by the permutation formula.
    fn brute_force(model: &dyn Fn(&[f64]) -> f64, x: &[f64], background: &Array2<f64>) -> Vec<f64> {
        let d = x.len();
        let value = |mask: usize| -> f64 {
            background
                .outer_iter()
                .map(|b| {
                    let row: Vec<f64> = (0..d)
                        .map(|j| if mask & (1 << j) != 0 { x[j] } else { b[j] })
                        .collect();
                    model(&row)
                })
                .sum::<f64>()
                / background.nrows() as f64
        };
        crate::exact_shapley(d, value)
    }

    #[test]
    fn exact_for_a_nonlinear_model_and_close_when_sampled() {
        let f = |r: &[f64]| (r[0] * r[1]).tanh() + r[2].max(0.3) * r[3] - r[4] * r[4];
        let model = |x: ArrayView2<'_, f64>| -> Array1<f64> {
            x.outer_iter().map(|r| f(r.as_slice().unwrap())).collect()
        };
        let background =
            Array2::from_shape_fn((7, 5), |(i, j)| ((i * 7 + j * 3) % 11) as f64 / 5.0 - 1.0);
        let x = array![[0.9, -0.4, 1.2, 0.7, 0.1], [0.0, 0.3, -0.8, 1.0, -1.0]];
        let exact = KernelShap::new(&model, background.clone()).unwrap();
        let e = exact.explain(x.view()).unwrap();
        assert!(e.additivity_error() < 1e-12);
        for (i, row) in x.outer_iter().enumerate() {
            let truth = brute_force(&f, row.as_slice().unwrap(), &background);
            for (j, t) in truth.iter().enumerate() {
                assert!((e.values[[i, j]] - t).abs() < 1e-12, "{i},{j}");
            }
        }
        // 16 of 30 coalitions: sizes 1 and 4 enumerated (10), 2 and 3 sampled.
        let sampled = KernelShap::new(&model, background)
            .unwrap()
            .max_coalitions(16)
            .seed(3);
        let s = sampled.explain(x.view()).unwrap();
        assert!(s.additivity_error() < 1e-12);
        let worst = (&s.values - &e.values)
            .mapv(f64::abs)
            .fold(0.0, |a: f64, b| a.max(*b));
        assert!(worst < 0.1, "sampled error {worst}");
    }

    #[test]
    fn constant_features_get_zero_and_bad_outputs_are_errors() {
        let model = |x: ArrayView2<'_, f64>| -> Array1<f64> { x.column(0).to_owned() * 3.0 };
        let background = array![[1.0, 5.0], [2.0, 5.0]];
        let e = KernelShap::new(&model, background.clone())
            .unwrap()
            .explain(array![[4.0, 5.0]].view())
            .unwrap();
        assert_eq!(e.values.row(0).to_vec(), [4.0 * 3.0 - 4.5, 0.0]);
        let nan =
            |x: ArrayView2<'_, f64>| -> Array1<f64> { Array1::from_elem(x.nrows(), f64::NAN) };
        assert!(KernelShap::new(&nan, background).is_err());
    }
}
