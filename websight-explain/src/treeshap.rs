//! Exact path-dependent Tree SHAP (Lundberg, Erion & Lee 2018, "Consistent Individualized
//! Feature Attribution for Tree Ensembles", Algorithm 2): O(leaves × depth²) per tree and row,
//! parallel over rows.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rayon::prelude::*;

use std::sync::OnceLock;

use crate::fast_v2::{self, Tables};
use crate::{Explainer, Explanation, Result, Tree, TreeEnsemble};

/// Tree SHAP for a [`TreeEnsemble`]: exact Shapley values of the ensemble's raw output
/// (probability for forests, margin for boosting), with missing features integrated out
/// along the trees' cover ("tree_path_dependent" in shap).
///
/// ```
/// use websight_explain::{Explainer, Node, Output, SplitRule, Tree, TreeEnsemble, TreeShap};
///
/// // One split on feature 0 at 0.5: left leaf 0.2 (3 rows), right leaf 0.8 (1 row).
/// let leaf = |cover, value| Node {
///     feature: 0, threshold: 0.0, children: None, missing_left: false, cover, value,
/// };
/// let root = Node {
///     feature: 0, threshold: 0.5, children: Some([1, 2]), missing_left: true, cover: 4.0,
///     value: 0.0,
/// };
/// let tree = Tree { nodes: vec![root, leaf(3.0, 0.2), leaf(1.0, 0.8)] };
/// let model = TreeEnsemble::new(vec![tree], SplitRule::Less, 2, 0.0, 1.0, Output::Probability)?;
/// let explanation = TreeShap::new(&model).explain(ndarray::array![[0.9, 7.0]].view())?;
/// assert!((explanation.expected_value - 0.35).abs() < 1e-12);
/// // All of the difference goes to feature 0; feature 1 is never used.
/// assert!((explanation.values[[0, 0]] - 0.45).abs() < 1e-12);
/// assert_eq!(explanation.values[[0, 1]], 0.0);
/// # Ok::<(), websight_explain::ExplainError>(())
/// ```
#[derive(Debug)]
pub struct TreeShap<'a> {
    model: &'a TreeEnsemble,
    algorithm: Algorithm,
    tables: OnceLock<Tables>,
}

/// How [`TreeShap`] computes the (identical) values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Algorithm {
    /// Fast TreeSHAP v2 when its precomputation pays off for the rows at hand and its
    /// tables fit in 32 MiB, else Algorithm 2.
    #[default]
    Auto,
    /// Lundberg et al.'s Algorithm 2: O(leaves × depth²) per tree and row, no memory.
    PathDependent,
    /// Fast TreeSHAP v2: tables of 2^d entries per leaf (d = unique features on its path,
    /// computed once per explainer), then O(nodes + leaves × d) per tree and row.
    FastV2,
}

impl<'a> TreeShap<'a> {
    /// An explainer of `model` ([`Algorithm::Auto`]).
    pub fn new(model: &'a TreeEnsemble) -> TreeShap<'a> {
        TreeShap {
            model,
            algorithm: Algorithm::Auto,
            tables: OnceLock::new(),
        }
    }

    /// Chooses the algorithm (the values agree to rounding).
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    fn use_fast_v2(&self, rows: usize) -> bool {
        match self.algorithm {
            Algorithm::Auto => self.tables.get().is_some() || fast_v2::worthwhile(self.model, rows),
            Algorithm::PathDependent => false,
            Algorithm::FastV2 => true,
        }
    }
}

impl Explainer for TreeShap<'_> {
    fn explain(&self, x: ArrayView2<'_, f64>) -> Result<Explanation> {
        let model = self.model;
        model.check_rows(x)?;
        let values = if self.use_fast_v2(x.nrows()) {
            let tables = self.tables.get_or_init(|| Tables::new(model));
            per_row(x, Vec::new, |row, phi, stack| {
                tables.add_row(model, row, phi, stack)
            })
        } else {
            // The deepest path holds depth + 1 elements; each level copies its parent's path.
            let depth = model.max_depth();
            let buffer_len = (depth + 2) * (depth + 3) / 2;
            per_row(
                x,
                || vec![PathElement::default(); buffer_len],
                |row, phi, path| {
                    for tree in model.trees() {
                        let mut walk = Walk {
                            tree,
                            model,
                            row,
                            phi: &mut *phi,
                            path: &mut *path,
                        };
                        walk.recurse(0, 0, 0, 1.0, 1.0, NO_FEATURE);
                    }
                },
            )
        };
        let outputs: Array1<f64> = x.outer_iter().map(|r| model.predict_row(r)).collect();
        Ok(Explanation::new(model.expected_value(), values, outputs))
    }
}

/// Rows × features of SHAP values, filled in parallel chunks of rows: `fill(row, phi, scratch)`
/// adds one row's values to `phi`, with scratch space made once per chunk by `scratch`.
fn per_row<S>(
    x: ArrayView2<'_, f64>,
    scratch: impl Fn() -> S + Sync,
    fill: impl Fn(ArrayView1<'_, f64>, &mut [f64], &mut S) + Sync,
) -> Array2<f64> {
    let mut values = Array2::zeros(x.dim());
    values
        .axis_chunks_iter_mut(Axis(0), 16)
        .into_par_iter()
        .zip(x.axis_chunks_iter(Axis(0), 16).into_par_iter())
        .for_each(|(mut phi_rows, rows)| {
            let mut space = scratch();
            for (mut phi, row) in phi_rows.outer_iter_mut().zip(rows.outer_iter()) {
                let phi = phi.as_slice_mut().expect("rows of a standard-layout array");
                fill(row, phi, &mut space);
            }
        });
    values
}

const NO_FEATURE: usize = usize::MAX;

/// One feature on the current path: the fraction of "zero" paths (feature not in the
/// coalition: follow both children by cover) and "one" paths (feature known: follow the row)
/// that flow through, and the permutation weight of subsets of each size.
#[derive(Debug, Clone, Copy, Default)]
struct PathElement {
    feature: usize,
    zero: f64,
    one: f64,
    weight: f64,
}

struct Walk<'m, 'r, 'b> {
    tree: &'m Tree,
    model: &'m TreeEnsemble,
    row: ArrayView1<'r, f64>,
    phi: &'b mut [f64],
    path: &'b mut [PathElement],
}

impl Walk<'_, '_, '_> {
    /// Visits `node`; the parent's path is `path[parent_start .. parent_start + depth]`, this
    /// node's is written right after it.
    fn recurse(
        &mut self,
        node_index: usize,
        parent_start: usize,
        depth: usize,
        zero: f64,
        one: f64,
        feature: usize,
    ) {
        let start = parent_start + depth + usize::from(depth > 0);
        // The root (depth 0) starts the buffer; each child copies its parent's path.
        if depth > 0 {
            self.path
                .copy_within(parent_start..parent_start + depth, start);
        }
        let (tree, model) = (self.tree, self.model);
        let path = &mut self.path[start..];
        extend(path, depth, zero, one, feature);
        let node = &tree.nodes[node_index];
        let Some([left, right]) = node.children else {
            let value = node.value * model.weight();
            for i in 1..=depth {
                let w = unwound_sum(path, depth, i);
                let el = path[i];
                self.phi[el.feature] += w * (el.one - el.zero) * value;
            }
            return;
        };
        let (hot, cold) = if node.goes_left(model.rule(), self.row) {
            (left, right)
        } else {
            (right, left)
        };
        // A feature split on again further down: undo its earlier element and carry its
        // fractions, so each feature appears once on the path.
        let (mut incoming_zero, mut incoming_one) = (1.0, 1.0);
        let mut depth = depth;
        if let Some(k) = (1..=depth).find(|&k| path[k].feature == node.feature) {
            incoming_zero = path[k].zero;
            incoming_one = path[k].one;
            unwind(path, depth, k);
            depth -= 1;
        }
        let nodes = &tree.nodes;
        let hot_zero = nodes[hot].cover / node.cover;
        let cold_zero = nodes[cold].cover / node.cover;
        let split = node.feature;
        self.recurse(
            hot,
            start,
            depth + 1,
            hot_zero * incoming_zero,
            incoming_one,
            split,
        );
        self.recurse(
            cold,
            start,
            depth + 1,
            cold_zero * incoming_zero,
            0.0,
            split,
        );
    }
}

/// Adds a feature with its zero/one fractions to a path of `depth` elements
/// (`path[0..depth]`), updating the subset-size weights.
fn extend(path: &mut [PathElement], depth: usize, zero: f64, one: f64, feature: usize) {
    path[depth] = PathElement {
        feature,
        zero,
        one,
        weight: if depth == 0 { 1.0 } else { 0.0 },
    };
    let n = (depth + 1) as f64;
    for i in (0..depth).rev() {
        path[i + 1].weight += one * path[i].weight * (i + 1) as f64 / n;
        path[i].weight = zero * path[i].weight * (depth - i) as f64 / n;
    }
}

/// Removes element `index` from a path of `depth + 1` elements, inverting [`extend`].
fn unwind(path: &mut [PathElement], depth: usize, index: usize) {
    let PathElement { one, zero, .. } = path[index];
    let n = (depth + 1) as f64;
    let mut next = path[depth].weight;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let kept = path[i].weight;
            path[i].weight = next * n / ((i + 1) as f64 * one);
            next = kept - path[i].weight * zero * (depth - i) as f64 / n;
        } else {
            path[i].weight = path[i].weight * n / (zero * (depth - i) as f64);
        }
    }
    for i in index..depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero = path[i + 1].zero;
        path[i].one = path[i + 1].one;
    }
}

/// The total weight the path would have without element `index`, without changing it.
fn unwound_sum(path: &[PathElement], depth: usize, index: usize) -> f64 {
    let PathElement { one, zero, .. } = path[index];
    let n = (depth + 1) as f64;
    let mut total = 0.0;
    if one != 0.0 {
        let mut next = path[depth].weight;
        for i in (0..depth).rev() {
            let w = next * n / ((i + 1) as f64 * one);
            total += w;
            next = path[i].weight - w * zero * (depth - i) as f64 / n;
        }
    } else {
        for i in (0..depth).rev() {
            total += path[i].weight * n / (zero * (depth - i) as f64);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Node, Output, SplitRule};

    /// Shapley values by brute force over coalitions, with the path-dependent value function
    /// E[f | x_S] computed by walking both children weighted by cover where a feature is
    /// unknown.
    fn brute_force(model: &TreeEnsemble, row: ArrayView1<'_, f64>) -> Vec<f64> {
        let d = model.n_features();
        let value = |mask: u32| -> f64 {
            fn walk(
                t: &Tree,
                rule: SplitRule,
                i: usize,
                row: ArrayView1<'_, f64>,
                mask: u32,
            ) -> f64 {
                let n = &t.nodes[i];
                match n.children {
                    None => n.value,
                    Some([l, r]) => {
                        if mask & (1 << n.feature) != 0 {
                            let next = if rule.goes_left(row[n.feature], n.threshold) {
                                l
                            } else {
                                r
                            };
                            walk(t, rule, next, row, mask)
                        } else {
                            (t.nodes[l].cover * walk(t, rule, l, row, mask)
                                + t.nodes[r].cover * walk(t, rule, r, row, mask))
                                / n.cover
                        }
                    }
                }
            }
            model.base()
                + model.weight()
                    * model
                        .trees()
                        .iter()
                        .map(|t| walk(t, model.rule(), 0, row, mask))
                        .sum::<f64>()
        };
        crate::exact_shapley(d, |m| value(m as u32))
    }

    /// A random tree of the given depth over `d` features, repeats allowed along paths.
    fn random_tree(seed: &mut u64, depth: usize, d: usize) -> Tree {
        let mut next = || {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed
        };
        let mut nodes = vec![];
        let mut queue = vec![(0usize, 0usize)];
        nodes.push(None);
        while let Some((i, level)) = queue.pop() {
            if level == depth || (level > 1 && next() % 5 == 0) {
                nodes[i] = Some(Node {
                    feature: 0,
                    threshold: 0.0,
                    children: None,
                    missing_left: false,
                    cover: 0.0,
                    value: (next() % 1000) as f64 / 1000.0,
                });
                continue;
            }
            let (l, r) = (nodes.len(), nodes.len() + 1);
            nodes.push(None);
            nodes.push(None);
            nodes[i] = Some(Node {
                feature: (next() % d as u64) as usize,
                threshold: (next() % 100) as f64 / 100.0,
                children: Some([l, r]),
                missing_left: next() % 2 == 0,
                cover: 0.0,
                value: 0.0,
            });
            queue.push((l, level + 1));
            queue.push((r, level + 1));
        }
        let mut nodes: Vec<Node> = nodes.into_iter().map(Option::unwrap).collect();
        // Covers: random leaf weights summed upwards (children come after parents).
        for i in (0..nodes.len()).rev() {
            nodes[i].cover = match nodes[i].children {
                None => 1.0 + (next() % 50) as f64,
                Some([l, r]) => nodes[l].cover + nodes[r].cover,
            };
        }
        Tree { nodes }
    }

    #[test]
    fn equals_brute_force_shapley_values_and_adds_up() {
        let mut seed = 0x2545_F491_4F6C_DD1D_u64;
        let d = 5;
        let trees = (0..4).map(|_| random_tree(&mut seed, 6, d)).collect();
        let model =
            TreeEnsemble::new(trees, SplitRule::Less, d, 0.3, 0.25, Output::Margin).unwrap();
        let x = Array2::from_shape_fn((20, d), |(i, j)| ((i * 31 + j * 17) % 23) as f64 / 22.0);
        let e = TreeShap::new(&model)
            .algorithm(Algorithm::PathDependent)
            .explain(x.view())
            .unwrap();
        let fast = TreeShap::new(&model)
            .algorithm(Algorithm::FastV2)
            .explain(x.view())
            .unwrap();
        let worst = (&fast.values - &e.values)
            .mapv(f64::abs)
            .fold(0.0, |a: f64, b| a.max(*b));
        assert!(worst < 1e-12, "Fast TreeSHAP v2 differs by {worst}");
        for (i, row) in x.outer_iter().enumerate() {
            let expected = brute_force(&model, row);
            for (j, want) in expected.iter().enumerate() {
                let got = e.values[[i, j]];
                assert!(
                    (got - want).abs() < 1e-12,
                    "row {i} feature {j}: {got} vs {want}"
                );
            }
            let total = e.expected_value + e.values.row(i).sum();
            assert!((total - model.predict_row(row)).abs() < 1e-12);
            assert_eq!(e.outputs[i], model.predict_row(row));
        }
    }
}
