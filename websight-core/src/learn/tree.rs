//! Decision trees in an explicit array form: split feature, threshold, comparison rule,
//! children, cover and value at every node — what Tree SHAP needs.

use ndarray::{ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

/// One node. Leaves have `left == right == None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeNode {
    /// Split feature (unused at leaves).
    pub feature: usize,
    /// Split threshold: a row goes left iff `x[feature] < threshold` (linfa's and XGBoost's
    /// rule).
    pub threshold: f64,
    /// Left child index.
    pub left: Option<usize>,
    /// Right child index.
    pub right: Option<usize>,
    /// Training rows that reached the node (bootstrap duplicates counted).
    pub cover: f64,
    /// Share of class 1 among them: the node's predicted probability.
    pub value: f64,
}

/// A binary-classification tree; node 0 is the root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// Nodes, parents before children.
    pub nodes: Vec<TreeNode>,
}

impl Tree {
    /// Converts a fitted linfa tree (whose features are `features[j]` of the full data) and
    /// computes every node's cover and class-1 share by routing the training rows `x`, `y`.
    ///
    /// linfa's leaves keep only the majority class, and linfa prunes subtrees whose leaves
    /// agree on it; the routed shares restore probabilities at the leaves that remain.
    pub(crate) fn from_linfa(
        tree: &linfa_trees::DecisionTree<f64, usize>,
        features: &[usize],
        x: ArrayView2<'_, f64>,
        y: &[bool],
    ) -> Tree {
        let mut nodes = Vec::new();
        let mut stack = vec![(tree.root_node(), None::<(usize, bool)>)];
        while let Some((node, parent)) = stack.pop() {
            let index = nodes.len();
            let (feature, threshold, _) = node.split();
            nodes.push(TreeNode {
                feature: features.get(feature).copied().unwrap_or(0),
                threshold,
                left: None,
                right: None,
                cover: 0.0,
                value: 0.0,
            });
            if let Some((p, is_left)) = parent {
                if is_left {
                    nodes[p].left = Some(index);
                } else {
                    nodes[p].right = Some(index);
                }
            }
            if !node.is_leaf() {
                let children = node.children();
                if let (Some(l), Some(r)) = (children[0].as_deref(), children[1].as_deref()) {
                    stack.push((r, Some((index, false))));
                    stack.push((l, Some((index, true))));
                }
            }
        }
        let mut positives = vec![0.0; nodes.len()];
        let mut t = Tree { nodes };
        for (row, &label) in x.outer_iter().zip(y) {
            let mut i = 0;
            loop {
                t.nodes[i].cover += 1.0;
                positives[i] += f64::from(u8::from(label));
                match t.step(i, row) {
                    Some(next) => i = next,
                    None => break,
                }
            }
        }
        for (node, p) in t.nodes.iter_mut().zip(positives) {
            node.value = if node.cover > 0.0 {
                p / node.cover
            } else {
                0.0
            };
        }
        t
    }

    fn step(&self, i: usize, row: ArrayView1<'_, f64>) -> Option<usize> {
        let n = &self.nodes[i];
        match (n.left, n.right) {
            (Some(l), Some(r)) => Some(if row[n.feature] < n.threshold { l } else { r }),
            _ => None,
        }
    }

    /// The leaf value reached by `row`.
    pub fn predict_row(&self, row: ArrayView1<'_, f64>) -> f64 {
        let mut i = 0;
        while let Some(next) = self.step(i, row) {
            i = next;
        }
        self.nodes[i].value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::prelude::Predict;
    use ndarray::{Array1, Array2};

    #[test]
    fn converted_trees_route_like_linfa_and_carry_covers() {
        let x = Array2::from_shape_fn((300, 3), |(i, j)| ((i * 37 + j * 11) % 29) as f64 / 7.0);
        let y: Vec<bool> = x
            .outer_iter()
            .map(|r| r[0] + 0.5 * r[2] > 3.0 || r[1] < 0.5)
            .collect();
        let targets: Array1<usize> = y.iter().map(|&b| usize::from(b)).collect();
        let dataset = linfa::Dataset::new(x.clone(), targets);
        let fitted = linfa::traits::Fit::fit(
            &linfa_trees::DecisionTree::params().max_depth(Some(4)),
            &dataset,
        )
        .unwrap();
        let tree = Tree::from_linfa(&fitted, &[0, 1, 2], x.view(), &y);
        assert_eq!(tree.nodes[0].cover, 300.0);
        let linfa_classes = fitted.predict(&x);
        for (row, class) in x.outer_iter().zip(linfa_classes.iter()) {
            let p = tree.predict_row(row);
            // The leaf's majority class is linfa's prediction.
            assert!(
                (p > 0.5 && *class == 1) || (p < 0.5 && *class == 0) || p == 0.5,
                "p {p}, class {class}"
            );
        }
        for node in &tree.nodes {
            if let (Some(l), Some(r)) = (node.left, node.right) {
                assert_eq!(tree.nodes[l].cover + tree.nodes[r].cover, node.cover);
            }
        }
    }
}
