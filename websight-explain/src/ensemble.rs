//! Tree ensembles in one explicit form: every node's split feature, threshold, comparison
//! rule, missing-value direction, cover and value — what prediction and Tree SHAP read.

use ndarray::{Array1, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::{ExplainError, Result};

/// How a split compares a feature value with its threshold. Each source library rounds
/// differently, and a tie or a rounding difference sends a row down another path, so the
/// rule is part of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SplitRule {
    /// scikit-learn: left iff `(f64)(f32)x <= threshold` — the value is rounded to f32
    /// first, then compared in f64 with the f64 threshold.
    F32InputLessEqual,
    /// XGBoost: left iff `(f32)x < (f32)threshold`.
    F32Less,
    /// websight's random forest (linfa): left iff `x < threshold` in f64.
    Less,
}

impl SplitRule {
    /// Whether a non-missing `x` goes to the left child.
    #[inline]
    pub fn goes_left(self, x: f64, threshold: f64) -> bool {
        match self {
            SplitRule::F32InputLessEqual => f64::from(x as f32) <= threshold,
            SplitRule::F32Less => (x as f32) < (threshold as f32),
            SplitRule::Less => x < threshold,
        }
    }
}

/// What the ensemble's output means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Output {
    /// P(class 1) directly (an averaging forest).
    Probability,
    /// Log-odds: P(class 1) = sigmoid(output) (a boosted ensemble).
    Margin,
}

/// One node of a [`Tree`]: a leaf when `children` is `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Split feature (unused at leaves).
    pub feature: usize,
    /// Split threshold, compared by the ensemble's [`SplitRule`].
    pub threshold: f64,
    /// `[left, right]` child indices; `None` at a leaf.
    pub children: Option<[usize; 2]>,
    /// Where a missing (NaN) value goes: left when true.
    pub missing_left: bool,
    /// Training weight that reached the node (rows, or XGBoost's hessian sum).
    pub cover: f64,
    /// The node's output contribution (leaves' values are the prediction).
    pub value: f64,
}

impl Node {
    /// Whether `row` goes to the left child: NaN (missing) follows `missing_left`, any other
    /// value is compared by `rule`. Meaningless at a leaf.
    #[inline]
    pub fn goes_left(&self, rule: SplitRule, row: ArrayView1<'_, f64>) -> bool {
        let x = row[self.feature];
        if x.is_nan() {
            self.missing_left
        } else {
            rule.goes_left(x, self.threshold)
        }
    }
}

/// A binary tree; node 0 is the root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// The nodes.
    pub nodes: Vec<Node>,
}

/// A tree ensemble: `output = base + weight × Σ_trees leaf value`.
///
/// Built by the importers ([`TreeEnsemble::from_sklearn_json`],
/// [`TreeEnsemble::from_xgboost_json`], [`TreeEnsemble::from_forest`], and
/// `TreeEnsemble::from_booster` with feature `xgboost`); checked on construction: every
/// child index in range, no node reached twice from the root, finite thresholds and values,
/// positive covers (on the nodes reachable from the root), at most [`MAX_NODES`] nodes and
/// [`MAX_DEPTH`] levels per tree. A deserialised ensemble is checked the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "EnsembleParts")]
pub struct TreeEnsemble {
    trees: Vec<Tree>,
    rule: SplitRule,
    n_features: usize,
    base: f64,
    weight: f64,
    output: Output,
}

/// Most nodes in one tree (XGBoost and scikit-learn trees hold far fewer).
pub const MAX_NODES: usize = 1 << 24;
/// Deepest tree accepted: Tree SHAP's path buffer grows with depth², its recursion with depth.
pub const MAX_DEPTH: usize = 1024;

/// The serialised form, checked on the way in.
#[derive(Deserialize)]
struct EnsembleParts {
    trees: Vec<Tree>,
    rule: SplitRule,
    n_features: usize,
    base: f64,
    weight: f64,
    output: Output,
}

impl TryFrom<EnsembleParts> for TreeEnsemble {
    type Error = ExplainError;

    fn try_from(p: EnsembleParts) -> Result<TreeEnsemble> {
        TreeEnsemble::new(p.trees, p.rule, p.n_features, p.base, p.weight, p.output)
    }
}

impl Tree {
    /// The leaf `row` reaches.
    #[inline]
    pub fn leaf(&self, rule: SplitRule, row: ArrayView1<'_, f64>) -> &Node {
        let mut node = &self.nodes[0];
        while let Some([left, right]) = node.children {
            node = &self.nodes[if node.goes_left(rule, row) {
                left
            } else {
                right
            }];
        }
        node
    }

    /// Longest root-to-leaf path, in edges.
    pub fn depth(&self) -> usize {
        let mut max = 0;
        let mut stack = vec![(0usize, 0usize)];
        while let Some((i, depth)) = stack.pop() {
            max = max.max(depth);
            if let Some(children) = self.nodes[i].children {
                stack.extend(children.map(|c| (c, depth + 1)));
            }
        }
        max
    }

    /// The cover-weighted mean leaf value: the tree's expected output over its training data.
    pub fn expected_value(&self) -> f64 {
        let mut sum = 0.0;
        let mut stack = vec![0usize];
        while let Some(i) = stack.pop() {
            match self.nodes[i].children {
                Some(children) => stack.extend(children),
                None => sum += self.nodes[i].cover * self.nodes[i].value,
            }
        }
        sum / self.nodes[0].cover
    }

    /// Checks the nodes reachable from the root (XGBoost keeps pruned nodes in its arrays,
    /// unreachable; they are ignored).
    fn check(&self, n_features: usize, index: usize) -> Result<()> {
        let bad = |reason: String| ExplainError::InvalidModel {
            reason: format!("tree {index}: {reason}"),
        };
        if self.nodes.is_empty() || self.nodes.len() > MAX_NODES {
            return Err(bad(format!(
                "{} nodes (1 to {MAX_NODES})",
                self.nodes.len()
            )));
        }
        // A tree: from the root every node is reached at most once (no cycles, no sharing).
        let mut reached = vec![false; self.nodes.len()];
        reached[0] = true;
        let mut stack = vec![(0usize, 0usize)];
        while let Some((i, depth)) = stack.pop() {
            if depth > MAX_DEPTH {
                return Err(bad(format!("deeper than {MAX_DEPTH} levels")));
            }
            let node = &self.nodes[i];
            if !(node.cover > 0.0 && node.cover.is_finite() && node.value.is_finite()) {
                return Err(bad(format!("node {i}: cover must be > 0, value finite")));
            }
            if node.children.is_some() && (node.feature >= n_features || node.threshold.is_nan()) {
                return Err(bad(format!(
                    "node {i}: feature {} of {n_features}, threshold {}",
                    node.feature, node.threshold
                )));
            }
            for c in node.children.into_iter().flatten() {
                if c >= self.nodes.len() || reached[c] {
                    return Err(bad(format!("node {i}: bad child {c}")));
                }
                reached[c] = true;
                stack.push((c, depth + 1));
            }
        }
        Ok(())
    }
}
impl TreeEnsemble {
    /// Builds and checks an ensemble (see the type's docs for what is checked).
    pub fn new(
        trees: Vec<Tree>,
        rule: SplitRule,
        n_features: usize,
        base: f64,
        weight: f64,
        output: Output,
    ) -> Result<TreeEnsemble> {
        if trees.is_empty() || n_features == 0 || !base.is_finite() || !weight.is_finite() {
            return Err(ExplainError::InvalidModel {
                reason: format!(
                    "{} trees, {n_features} features, base {base}, weight {weight}",
                    trees.len()
                ),
            });
        }
        for (i, tree) in trees.iter().enumerate() {
            tree.check(n_features, i)?;
        }
        Ok(TreeEnsemble {
            trees,
            rule,
            n_features,
            base,
            weight,
            output,
        })
    }

    /// The trees.
    pub fn trees(&self) -> &[Tree] {
        &self.trees
    }

    /// The comparison rule of every split.
    pub fn rule(&self) -> SplitRule {
        self.rule
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Constant added to the weighted sum of leaves (XGBoost's base margin; 0 for forests).
    pub fn base(&self) -> f64 {
        self.base
    }

    /// Factor on each tree's leaf value (1 / trees for an averaging forest, 1 for boosting).
    pub fn weight(&self) -> f64 {
        self.weight
    }

    /// What [`TreeEnsemble::predict`] returns.
    pub fn output(&self) -> Output {
        self.output
    }

    /// Longest path of any tree.
    pub fn max_depth(&self) -> usize {
        self.trees.iter().map(Tree::depth).max().unwrap_or(0)
    }

    /// The expected output over the training data (cover-weighted): Tree SHAP's base value.
    pub fn expected_value(&self) -> f64 {
        self.base + self.weight * self.trees.iter().map(Tree::expected_value).sum::<f64>()
    }

    /// The raw output of one row (probability or margin, see [`Output`]).
    pub fn predict_row(&self, row: ArrayView1<'_, f64>) -> f64 {
        self.base
            + self.weight
                * self
                    .trees
                    .iter()
                    .map(|t| t.leaf(self.rule, row).value)
                    .sum::<f64>()
    }

    /// Raw outputs of rows (NaN = missing); an error if the width is not
    /// [`TreeEnsemble::n_features`].
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        self.check_rows(x)?;
        Ok(x.outer_iter().map(|row| self.predict_row(row)).collect())
    }

    /// P(class 1) per row: the output itself, or its sigmoid for a margin.
    pub fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        let raw = self.predict(x)?;
        Ok(match self.output {
            Output::Probability => raw,
            Output::Margin => raw.mapv(|m| 1.0 / (1.0 + (-m).exp())),
        })
    }

    pub(crate) fn check_rows(&self, x: ArrayView2<'_, f64>) -> Result<()> {
        if x.ncols() != self.n_features {
            return Err(ExplainError::Shape {
                reason: format!(
                    "rows have {} features, the model {}",
                    x.ncols(),
                    self.n_features
                ),
            });
        }
        if x.iter().any(|v| v.is_infinite()) {
            return Err(ExplainError::Shape {
                reason: "features must be finite or NaN (missing)".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_differ_where_the_libraries_differ() {
        // Ties: only scikit-learn's `<=` goes left.
        assert!(SplitRule::F32InputLessEqual.goes_left(0.5, 0.5));
        assert!(!SplitRule::F32Less.goes_left(0.5, 0.5));
        assert!(!SplitRule::Less.goes_left(0.5, 0.5));
        // scikit-learn rounds the value to f32 first: (f32)0.1 > 0.1, so 0.1 goes right of a
        // threshold of exactly 0.1 although 0.1 <= 0.1 in f64.
        assert!(!SplitRule::F32InputLessEqual.goes_left(0.1, 0.1));
        // XGBoost compares in f32: a value just below the threshold ties after rounding.
        assert!(!SplitRule::F32Less.goes_left(0.099_999_999_9, 0.1));
        assert!(SplitRule::Less.goes_left(0.099_999_999_9, 0.1));
    }

    fn stump(missing_left: bool) -> Tree {
        let leaf = |cover, value| Node {
            feature: 0,
            threshold: 0.0,
            children: None,
            missing_left: false,
            cover,
            value,
        };
        Tree {
            nodes: vec![
                Node {
                    feature: 1,
                    threshold: 2.0,
                    children: Some([1, 2]),
                    missing_left,
                    cover: 4.0,
                    value: 0.0,
                },
                leaf(3.0, 1.0),
                leaf(1.0, 5.0),
            ],
        }
    }

    /// One-tree margin ensemble over two features with base `base`.
    fn single(tree: Tree, base: f64) -> Result<TreeEnsemble> {
        TreeEnsemble::new(vec![tree], SplitRule::Less, 2, base, 1.0, Output::Margin)
    }

    #[test]
    fn missing_values_follow_the_default_direction() {
        let e = single(stump(false), 0.5).unwrap();
        let x = ndarray::array![[0.0, 1.0], [0.0, 3.0], [0.0, f64::NAN]];
        assert_eq!(e.predict(x.view()).unwrap().to_vec(), [1.5, 5.5, 5.5]);
        assert_eq!(e.expected_value(), 0.5 + (3.0 + 5.0) / 4.0);
        let e = single(stump(true), 0.0).unwrap();
        assert_eq!(e.predict(x.view()).unwrap()[2], 1.0);
    }

    #[test]
    fn malformed_trees_are_refused() {
        let mut t = stump(false);
        t.nodes[0].children = Some([1, 1]);
        assert!(single(t, 0.0).is_err());
        let mut t = stump(false);
        t.nodes[0].feature = 7;
        assert!(single(t, 0.0).is_err());
        let mut t = stump(false);
        t.nodes[2].cover = 0.0;
        assert!(single(t, 0.0).is_err());
        let e = single(stump(false), 0.0).unwrap();
        assert!(e.predict(ndarray::array![[1.0]].view()).is_err());
        // A chain deeper than MAX_DEPTH.
        let chain = |levels: usize| {
            let mut nodes = vec![stump(false).nodes[0].clone(); levels];
            nodes.resize(2 * levels + 1, stump(false).nodes[1].clone());
            // Every split's right child is the next split, so covers stay positive.
            for (i, n) in nodes.iter_mut().enumerate().take(levels) {
                n.children = Some([levels + 1 + i, i + 1]);
            }
            Tree { nodes }
        };
        assert!(single(chain(MAX_DEPTH), 0.0).is_ok());
        assert!(single(chain(MAX_DEPTH + 1), 0.0).is_err());
    }

    #[test]
    fn deserialised_ensembles_are_checked() {
        let e = single(stump(false), 0.5).unwrap();
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<TreeEnsemble>(&json).unwrap(), e);
        let mut cyclic: serde_json::Value = serde_json::from_str(&json).unwrap();
        cyclic["trees"][0]["nodes"][1]["children"] = serde_json::json!([0, 2]);
        assert!(serde_json::from_value::<TreeEnsemble>(cyclic).is_err());
        let mut out_of_range: serde_json::Value = serde_json::from_str(&json).unwrap();
        out_of_range["trees"][0]["nodes"][0]["children"] = serde_json::json!([1, 9]);
        assert!(serde_json::from_value::<TreeEnsemble>(out_of_range).is_err());
    }
}
