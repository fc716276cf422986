//! Fast TreeSHAP v2 (Yang 2021, "Fast TreeSHAP: Accelerating SHAP Value Computation for
//! Trees"): the same exact path-dependent values as Algorithm 2, with the per-leaf work moved
//! to a precomputation over the 2^d satisfaction patterns of each leaf's d path features.
//!
//! For a leaf with value v, unique path features U (|U| = d), cover fractions z_j (products
//! over the feature's splits on the path) and a row that satisfies the splits of the
//! features in P ⊆ U, the leaf adds to feature i ∈ U
//!
//! - `−v · B(P)` when i ∉ P, and
//! - `v · (1 − z_i)/z_i · B(P ∖ {i})` when i ∈ P,
//!
//! where `B(Q) = Σ_{S ⊆ Q} |S|!(d−|S|−1)!/d! · Π_{j ∈ U∖S} z_j`. B is tabulated per leaf
//! (2^d entries); a row then costs one pass over the nodes plus O(d) per leaf instead of
//! O(d²). Covers are positive (checked on import), so every z_j > 0.

use ndarray::ArrayView1;

use crate::{Tree, TreeEnsemble};

/// One leaf's precomputed table.
#[derive(Debug)]
struct Leaf {
    /// Unique path features in order of first appearance from the root (bit b ↔ features[b]).
    features: Vec<usize>,
    /// (1 − z_b) / z_b per bit.
    ratios: Vec<f64>,
    /// B(Q) for every Q ⊆ U, times the leaf's (weighted) value.
    table: Vec<f64>,
}

/// Tables of one tree, indexed by node.
#[derive(Debug)]
struct TreeTables {
    /// At leaves, the table.
    leaves: Vec<Option<Leaf>>,
    /// At internal nodes, the bit of the split feature: its position among the unique
    /// features of the path from the root (the path to a node is unique, so is the bit).
    bits: Vec<u32>,
}

/// Every tree's tables.
#[derive(Debug)]
pub(crate) struct Tables {
    trees: Vec<TreeTables>,
}

/// Upper bound on table entries (f64) across all leaves: 2^22 = 32 MiB.
const MAX_ENTRIES: usize = 1 << 22;

/// Number of unique features on each leaf's path: `(Σ 2^d, Σ d², Σ d, nodes)` for the cost model.
fn shape(tree: &Tree) -> (usize, usize, usize, usize) {
    let (mut entries, mut squares, mut linear) = (0, 0, 0);
    let mut stack = vec![(0usize, Vec::<usize>::new())];
    while let Some((i, mut path)) = stack.pop() {
        let node = &tree.nodes[i];
        match node.children {
            None => {
                let d = path.len();
                entries += 1usize.checked_shl(d as u32).unwrap_or(usize::MAX / 2);
                squares += (d + 1) * (d + 1);
                linear += d + 1;
            }
            Some([l, r]) => {
                if !path.contains(&node.feature) {
                    path.push(node.feature);
                }
                stack.push((l, path.clone()));
                stack.push((r, path));
            }
        }
    }
    (entries, squares, linear, tree.nodes.len())
}

/// Whether precomputing pays off for `rows` rows (and fits in memory).
pub(crate) fn worthwhile(model: &TreeEnsemble, rows: usize) -> bool {
    let (mut entries, mut algorithm2, mut fast) = (0usize, 0usize, 0usize);
    for tree in model.trees() {
        let (e, squares, linear, nodes) = shape(tree);
        entries = entries.saturating_add(e);
        algorithm2 += squares;
        fast += linear + nodes;
    }
    let depth = model.max_depth();
    entries <= MAX_ENTRIES && entries.saturating_mul(depth.max(1)) + rows * fast < rows * algorithm2
}

impl Tables {
    pub(crate) fn new(model: &TreeEnsemble) -> Tables {
        let trees = model
            .trees()
            .iter()
            .map(|tree| {
                let mut leaves: Vec<Option<Leaf>> = (0..tree.nodes.len()).map(|_| None).collect();
                let mut bits = vec![0u32; tree.nodes.len()];
                // (node, unique features, their z) along the path from the root.
                let mut stack = vec![(0usize, Vec::<usize>::new(), Vec::<f64>::new())];
                while let Some((i, features, zs)) = stack.pop() {
                    let node = &tree.nodes[i];
                    let Some(children) = node.children else {
                        leaves[i] = Some(leaf_table(features, &zs, node.value * model.weight()));
                        continue;
                    };
                    let known = features.iter().position(|&g| g == node.feature);
                    bits[i] = known.unwrap_or(features.len()) as u32;
                    for c in children {
                        let fraction = tree.nodes[c].cover / node.cover;
                        let (mut f, mut z) = (features.clone(), zs.clone());
                        match known {
                            Some(b) => z[b] *= fraction,
                            None => {
                                f.push(node.feature);
                                z.push(fraction);
                            }
                        }
                        stack.push((c, f, z));
                    }
                }
                TreeTables { leaves, bits }
            })
            .collect();
        Tables { trees }
    }

    /// Adds one row's SHAP values (without the expected value) to `phi`; `stack` is scratch.
    pub(crate) fn add_row(
        &self,
        model: &TreeEnsemble,
        row: ArrayView1<'_, f64>,
        phi: &mut [f64],
        stack: &mut Vec<(usize, u32)>,
    ) {
        for (tree, tables) in model.trees().iter().zip(&self.trees) {
            // (node, bits of the features whose splits the row failed on the way).
            stack.clear();
            stack.push((0, 0));
            while let Some((i, failed)) = stack.pop() {
                let node = &tree.nodes[i];
                let Some([left, right]) = node.children else {
                    let leaf = tables.leaves[i].as_ref().expect("a table per leaf");
                    let all = (1u32 << leaf.features.len()) - 1;
                    add_leaf(leaf, all & !failed, phi);
                    continue;
                };
                let cold = failed | 1 << tables.bits[i];
                let (left_failed, right_failed) = if node.goes_left(model.rule(), row) {
                    (failed, cold)
                } else {
                    (cold, failed)
                };
                stack.push((right, right_failed));
                stack.push((left, left_failed));
            }
        }
    }
}

fn add_leaf(leaf: &Leaf, satisfied: u32, phi: &mut [f64]) {
    let unsatisfied_value = -leaf.table[satisfied as usize];
    for (b, (&feature, &ratio)) in leaf.features.iter().zip(&leaf.ratios).enumerate() {
        phi[feature] += if satisfied & (1 << b) != 0 {
            ratio * leaf.table[(satisfied & !(1 << b)) as usize]
        } else {
            unsatisfied_value
        };
    }
}

/// B(Q) × value for every Q ⊆ U, from R_Q(t) = Π_{j∈Q} (t + z_j) = Σ_S t^{|S|} Π_{j∈Q∖S} z_j:
/// B(Q) = Π_{j∈U∖Q} z_j · Σ_k c(k) [t^k] R_Q(t), with c(k) = k!(d−k−1)!/d!.
fn leaf_table(features: Vec<usize>, zs: &[f64], value: f64) -> Leaf {
    let d = features.len();
    let ratios = zs.iter().map(|z| (1.0 - z) / z).collect();
    let size = 1usize << d;
    // c(k) for k < d.
    let mut c = vec![0.0; d.max(1)];
    if d > 0 {
        c[0] = 1.0 / d as f64;
        for k in 1..d {
            c[k] = c[k - 1] * k as f64 / (d - k) as f64;
        }
    }
    let mut polys = vec![0.0; size * (d + 1)];
    polys[0] = 1.0;
    // Π_{j ∈ Q} z_j; the product over U∖Q is inside[full ^ Q].
    let mut inside = vec![1.0; size];
    for q in 1..size {
        let low = q.trailing_zeros() as usize;
        let prev = q & (q - 1);
        let z = zs[low];
        let (head, tail) = polys.split_at_mut(q * (d + 1));
        let src = &head[prev * (d + 1)..(prev + 1) * (d + 1)];
        // R_q = (t + z) · R_prev
        tail[0] = z * src[0];
        for k in 1..=d {
            tail[k] = z * src[k] + src[k - 1];
        }
        inside[q] = inside[prev] * z;
    }
    let full = size - 1;
    let table = (0..size)
        .map(|q| {
            let poly = &polys[q * (d + 1)..(q + 1) * (d + 1)];
            let members = (q.count_ones() as usize).min(d.saturating_sub(1));
            let sum: f64 = (0..=members).map(|k| c[k] * poly[k]).sum();
            value * inside[full ^ q] * sum
        })
        .collect();
    Leaf {
        features,
        ratios,
        table,
    }
}
