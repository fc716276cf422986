//! A private forest: random trees whose splits are drawn without looking at the data (a
//! feature and a threshold on its public range), then leaf counts per class released with
//! exact discrete Laplace noise.
//!
//! Only the leaf counts touch the data. A person with at most k rows changes at most k
//! counts of a tree by one each (L1 sensitivity k), so a tree's counts with noise of scale
//! k·T/ε are (ε/T)-DP and the T trees compose to ε — for features *and* labels. The
//! thresholds are uniform on each feature's public scale (logarithmic for counts, durations
//! and money, [`FeatureRange`]), which is what makes random splits informative: on raw
//! linear bounds most thresholds fall where no data is.

use std::hash::Hash;

use ndarray::{Array1, ArrayView1, ArrayView2};
use rand::{Rng, RngCore};
use websight_core::CoreError;
use websight_core::datasets::FeatureRange;
use websight_core::learn::PredictProba;

use crate::contribution::bound_rows;
use crate::error::positive;
use crate::exact::Guarantee;
use crate::mechanisms::DiscreteLaplace;
use crate::{DpError, Result};

/// Parameters of a [`PrivateForest`] (defaults: 100 trees of depth 5, one row per person).
#[derive(Debug, Clone, PartialEq)]
pub struct PrivateForestParams {
    ranges: Vec<FeatureRange>,
    epsilon: f64,
    trees: usize,
    depth: usize,
    max_rows_per_person: usize,
}

impl PrivateForestParams {
    /// A forest over features with these public ranges, ε-DP in total.
    pub fn new(ranges: Vec<FeatureRange>, epsilon: f64) -> Self {
        PrivateForestParams {
            ranges,
            epsilon,
            trees: 100,
            depth: 5,
            max_rows_per_person: 1,
        }
    }

    /// Number of trees T (each gets ε/T).
    pub fn trees(mut self, trees: usize) -> Self {
        self.trees = trees;
        self
    }

    /// Depth of every tree (2^depth leaves).
    pub fn depth(mut self, depth: usize) -> Self {
        self.depth = depth;
        self
    }

    /// Rows kept per person (their first ones).
    pub fn max_rows_per_person(mut self, k: usize) -> Self {
        self.max_rows_per_person = k;
        self
    }

    /// The guarantee a fit gives, for adding or removing one person with all their rows.
    pub fn guarantee(&self) -> Guarantee {
        Guarantee::Pure {
            epsilon: self.epsilon,
        }
    }

    /// Checks every parameter, naming the first one out of range.
    pub fn check(&self) -> Result<()> {
        positive("epsilon", self.epsilon)?;
        let bad = |param, value: usize, reason: &str| {
            Err(DpError::InvalidParameter {
                param,
                value: value as f64,
                reason: reason.into(),
            })
        };
        if self.ranges.is_empty() {
            return Err(DpError::Shape("no features".into()));
        }
        if self.trees == 0 {
            return bad("trees", 0, "must be >= 1");
        }
        if !(1..=16).contains(&self.depth) {
            return bad("depth", self.depth, "must be in 1..=16");
        }
        if self.max_rows_per_person == 0 {
            return bad("max_rows_per_person", 0, "must be >= 1");
        }
        Ok(())
    }

    /// Fits on rows `x` with labels `y`, `persons[i]` being the person of row `i`, with
    /// noise and splits from `rng` ([`crate::exact::os_rng`] outside tests).
    pub fn fit<P: Hash + Eq>(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, bool>,
        persons: &[P],
        rng: &mut dyn RngCore,
    ) -> Result<PrivateForest> {
        self.check()?;
        let (n, d) = x.dim();
        if d != self.ranges.len() || y.len() != n || persons.len() != n {
            return Err(DpError::Shape(format!(
                "{n} rows × {d} features, {} labels, {} persons, {} ranges",
                y.len(),
                persons.len(),
                self.ranges.len()
            )));
        }
        let rows: Vec<usize> = bound_rows(persons, self.max_rows_per_person)
            .into_iter()
            .flatten()
            .collect();
        let noise = DiscreteLaplace::new(
            self.epsilon / self.trees as f64,
            self.max_rows_per_person as u64,
        )?;
        let forest = PrivateForest {
            ranges: self.ranges.clone(),
            depth: self.depth,
            trees: (0..self.trees)
                .map(|_| {
                    let mut tree = RandomTree::draw(d, self.depth, rng);
                    let leaves = 1usize << self.depth;
                    let mut counts = vec![[0i64; 2]; leaves];
                    for &i in &rows {
                        let leaf = tree.leaf(|j| self.ranges[j].unit(x[[i, j]]), self.depth);
                        counts[leaf][usize::from(y[i])] += 1;
                    }
                    tree.leaves = counts
                        .iter()
                        .map(|c| {
                            let neg = noise.randomise(c[0], rng).max(0) as f64;
                            let pos = noise.randomise(c[1], rng).max(0) as f64;
                            (pos + 0.5) / (pos + neg + 1.0)
                        })
                        .collect();
                    tree
                })
                .collect(),
            guarantee: self.guarantee(),
        };
        Ok(forest)
    }
}

/// A complete binary tree: node i splits on `features[i]` at `thresholds[i]` (on the
/// feature's [0, 1] public scale), children 2i + 1 (at or below) and 2i + 2.
#[derive(Debug, Clone, PartialEq)]
struct RandomTree {
    features: Vec<usize>,
    thresholds: Vec<f64>,
    /// P(class 1) per leaf, from the noisy counts.
    leaves: Vec<f64>,
}

impl RandomTree {
    fn draw(d: usize, depth: usize, rng: &mut dyn RngCore) -> RandomTree {
        let internal = (1usize << depth) - 1;
        RandomTree {
            features: (0..internal).map(|_| rng.gen_range(0..d)).collect(),
            thresholds: (0..internal).map(|_| rng.r#gen::<f64>()).collect(),
            leaves: Vec::new(),
        }
    }

    /// The leaf index of a row whose scaled feature j is `value(j)`.
    fn leaf(&self, value: impl Fn(usize) -> f64, depth: usize) -> usize {
        let mut node = 0;
        for _ in 0..depth {
            let right = value(self.features[node]) > self.thresholds[node];
            node = 2 * node + 1 + usize::from(right);
        }
        node - ((1 << depth) - 1)
    }
}

/// A fitted private forest: the mean of its trees' leaf probabilities.
///
/// ```
/// use ndarray::{Array1, Array2};
/// use websight_core::datasets::FeatureRange;
/// use websight_core::learn::PredictProba;
/// use websight_dp::PrivateForestParams;
/// use websight_dp::exact::os_rng;
///
/// let x = Array2::from_shape_fn((2_000, 2), |(i, j)| ((i * 7 + j * 3) % 100) as f64);
/// let y: Array1<bool> = x.rows().into_iter().map(|r| r[0] > 50.0).collect();
/// let persons: Vec<usize> = (0..2_000).collect();
/// let ranges = vec![FeatureRange::linear(0.0, 100.0); 2];
/// let forest = PrivateForestParams::new(ranges, 1.0).fit(x.view(), y.view(), &persons, &mut os_rng())?;
/// let p = forest.predict_proba(x.view())?;
/// assert!(p.iter().all(|p| (0.0..=1.0).contains(p)));
/// # Ok::<(), websight_dp::DpError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PrivateForest {
    ranges: Vec<FeatureRange>,
    depth: usize,
    trees: Vec<RandomTree>,
    guarantee: Guarantee,
}

impl PrivateForest {
    /// Its guarantee for every person in the training data (features and labels).
    pub fn guarantee(&self) -> Guarantee {
        self.guarantee
    }
}

impl PredictProba for PrivateForest {
    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> websight_core::Result<Array1<f64>> {
        if x.ncols() != self.ranges.len() {
            return Err(CoreError::InvalidParameter {
                param: "x",
                reason: format!(
                    "{} features, the model has {}",
                    x.ncols(),
                    self.ranges.len()
                ),
            });
        }
        Ok(x.rows()
            .into_iter()
            .map(|row| {
                let unit = |j: usize| self.ranges[j].unit(row[j]);
                self.trees
                    .iter()
                    .map(|t| t.leaves[t.leaf(unit, self.depth)])
                    .sum::<f64>()
                    / self.trees.len() as f64
            })
            .collect())
    }
}
