//! A random forest: bagged `linfa-trees` decision trees with a random feature subspace per
//! tree, probabilities from routed leaf shares.

use linfa::DatasetBase;
use linfa_trees::DecisionTree;
use ndarray::{Array1, ArrayView1, ArrayView2, Axis};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::tree::Tree;
use super::{Fit, PredictProba};
use crate::{CoreError, Result};

/// Random forest parameters (defaults: 100 trees, unlimited depth, splits need 2 rows,
/// every feature for every tree, bootstrap samples, seed 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomForestParams {
    trees: usize,
    max_depth: Option<usize>,
    min_samples_split: usize,
    max_features: Option<usize>,
    seed: u64,
    #[serde(default)]
    threads: Option<usize>,
}

impl Default for RandomForestParams {
    fn default() -> Self {
        RandomForestParams {
            trees: 100,
            max_depth: None,
            min_samples_split: 2,
            max_features: None,
            seed: 0,
            threads: None,
        }
    }
}

impl RandomForestParams {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    setter!(/// Number of trees.
        trees: usize);

    setter!(
        /// Depth limit (`None`: grow until pure). linfa prunes subtrees whose leaves share a
        /// majority class, so fully grown trees give coarse probabilities: for ranking (AUC), a
        /// limit such as 8 does better (Online Shoppers: ROC-AUC 0.928 at depth 8, 0.914 unlimited).
        max_depth: Option<usize>);

    setter!(/// Rows a node needs to be split.
        min_samples_split: usize);

    setter!(
        /// Features drawn (without replacement) for each tree; `None`: all. linfa trees consider
        /// every feature they are given at every split, so the randomisation is per tree.
        max_features: Option<usize>);

    setter!(
        /// Seed of bootstrap and feature draws (tree `i` uses its own stream: results do not
        /// depend on thread scheduling).
        seed: u64);

    setter!(
        /// Trees fitted at once (`None`: rayon's global pool). Each tree being fitted holds a
        /// bootstrap copy of the data and linfa's sorted index of every feature (about 50 MB
        /// at 37,000 rows × 57 features): `Some(1)` bounds memory, at the cost of time.
        threads: Option<usize>);
}

/// A fitted forest: P(class 1) is the mean of the trees' leaf shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomForest {
    /// The trees, in the explicit form Tree SHAP reads.
    pub trees: Vec<Tree>,
    n_features: usize,
}

impl Fit for RandomForestParams {
    type Model = RandomForest;

    fn fit(&self, x: ArrayView2<'_, f64>, y: ArrayView1<'_, bool>) -> Result<RandomForest> {
        super::check_training(&x, y.len(), 2, false)?;
        if self.trees == 0 || self.min_samples_split < 2 || self.max_features == Some(0) {
            return Err(CoreError::parameter(
                "trees",
                "need >= 1 tree, min_samples_split >= 2, max_features >= 1",
            ));
        }
        let d = x.ncols();
        let k = self.max_features.unwrap_or(d).min(d);
        let labels: Vec<bool> = y.to_vec();
        if let Some(threads) = self.threads {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads.max(1))
                .build()
                .map_err(|e| CoreError::parameter("threads", e.to_string()))?;
            let all = self.clone().threads(None);
            return pool.install(|| all.fit(x, y));
        }
        let trees = (0..self.trees)
            .into_par_iter()
            .map(|t| {
                let mut rng = ChaCha8Rng::seed_from_u64(
                    self.seed ^ (t as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                );
                let rows: Vec<usize> = (0..x.nrows())
                    .map(|_| rng.gen_range(0..x.nrows()))
                    .collect();
                let mut features = sample(&mut rng, d, k).into_vec();
                features.sort_unstable();
                // One copy of the bootstrap rows serves both fitting and routing (with
                // every feature drawn, the usual case): two trees fit at once, and each
                // copy is a fifth of the training data's memory.
                let routed = x.select(Axis(0), &rows);
                let narrowed;
                let xb = if k == d {
                    routed.view()
                } else {
                    narrowed = routed.select(Axis(1), &features);
                    narrowed.view()
                };
                let yb: Vec<bool> = rows.iter().map(|&r| labels[r]).collect();
                let targets: Array1<usize> = yb.iter().map(|&b| usize::from(b)).collect();
                let params = DecisionTree::params()
                    .max_depth(self.max_depth)
                    .min_weight_split(self.min_samples_split as f32);
                let data = DatasetBase::new(xb, targets.view()).with_weights(tie_breaking(&yb));
                let tree = linfa::traits::Fit::fit(&params, &data)
                    .map_err(|e| CoreError::parameter("tree", e.to_string()))?;
                Ok(Tree::from_linfa(&tree, &features, routed.view(), &yb))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RandomForest {
            trees,
            n_features: d,
        })
    }
}

/// Row weights that make class ties impossible: a positive weighs `1 + 2⁻¹²`. linfa keeps a
/// node's class weights in a `HashMap` seeded anew by each process and prunes subtrees by
/// their majority class read in its iteration order, so a 1 : 1 node went either way and the
/// same seed grew a different forest in every run. Splits move by at most that weight.
fn tie_breaking(y: &[bool]) -> Array1<f32> {
    const POSITIVE: f32 = 1.0 + 1.0 / 4096.0;
    y.iter().map(|&p| if p { POSITIVE } else { 1.0 }).collect()
}

impl RandomForest {
    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }
}

impl PredictProba for RandomForest {
    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        super::check_width(&x, self.n_features)?;
        let n = self.trees.len() as f64;
        Ok(x.outer_iter()
            .map(|row| self.trees.iter().map(|t| t.predict_row(row)).sum::<f64>() / n)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn the_same_seed_grows_the_same_forest() {
        // Coarse features with conflicting labels: many nodes hold as many positives as
        // negatives, which linfa's pruning decided by a randomly seeded map's order.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let x = Array2::from_shape_fn((400, 4), |_| f64::from(rng.gen_range(0..4u8)));
        let y: Array1<bool> = x
            .outer_iter()
            .map(|r| r[0] + r[1] > 3.0 || rng.gen_bool(0.3))
            .collect();
        let params = RandomForestParams::new().trees(20).seed(11);
        let first = params.fit(x.view(), y.view()).unwrap();
        let first = first.predict_proba(x.view()).unwrap();
        for _ in 0..5 {
            let again = params.fit(x.view(), y.view()).unwrap();
            assert_eq!(again.predict_proba(x.view()).unwrap(), first);
        }
    }
}
