use serde::Deserialize;

use super::{child, invalid};
use crate::{Node, Output, Result, SplitRule, Tree, TreeEnsemble};

/// `sklearn-forest-v1`: a `RandomForestClassifier` exported tree by tree with its arrays.
#[derive(Deserialize)]
struct ForestFile {
    format: String,
    n_features: usize,
    classes: Vec<serde_json::Value>,
    trees: Vec<TreeArrays>,
}

#[derive(Deserialize)]
struct TreeArrays {
    children_left: Vec<i64>,
    children_right: Vec<i64>,
    feature: Vec<i64>,
    threshold: Vec<f64>,
    /// Per node, the class fractions.
    value: Vec<Vec<f64>>,
    weighted_n_node_samples: Vec<f64>,
    #[serde(default)]
    missing_go_to_left: Vec<u8>,
}

impl TreeEnsemble {
    /// A scikit-learn binary `RandomForestClassifier` in the `sklearn-forest-v1` JSON export
    /// (arrays `children_left`, `children_right`, `feature`, `threshold`, `value` as class
    /// fractions, `weighted_n_node_samples`, `missing_go_to_left` per tree): go left iff
    /// `(f64)(f32)x <= threshold`, output = mean class-1 fraction, cover = weighted samples.
    pub fn from_sklearn_json(json: &str) -> Result<TreeEnsemble> {
        let file: ForestFile =
            serde_json::from_str(json).map_err(|e| invalid(format!("sklearn forest: {e}")))?;
        if file.format != "sklearn-forest-v1" || file.classes.len() != 2 {
            return Err(invalid(format!(
                "expected format sklearn-forest-v1 with 2 classes, got {:?} with {}",
                file.format,
                file.classes.len()
            )));
        }
        let trees = file
            .trees
            .iter()
            .enumerate()
            .map(|(i, t)| convert(t).map_err(|e| invalid(format!("tree {i}: {e}"))))
            .collect::<Result<Vec<_>>>()?;
        let weight = 1.0 / trees.len().max(1) as f64;
        TreeEnsemble::new(
            trees,
            SplitRule::F32InputLessEqual,
            file.n_features,
            0.0,
            weight,
            Output::Probability,
        )
    }
}

fn convert(t: &TreeArrays) -> std::result::Result<Tree, String> {
    let n = t.children_left.len();
    let lengths = [
        t.children_right.len(),
        t.feature.len(),
        t.threshold.len(),
        t.value.len(),
        t.weighted_n_node_samples.len(),
    ];
    if lengths.iter().any(|&l| l != n)
        || (!t.missing_go_to_left.is_empty() && t.missing_go_to_left.len() != n)
    {
        return Err(format!("arrays of different lengths ({n} vs {lengths:?})"));
    }
    (0..n)
        .map(|i| {
            let children = match (child(t.children_left[i]), child(t.children_right[i])) {
                (Some(l), Some(r)) => Some([l, r]),
                (None, _) => None,
                (Some(_), None) => return Err(format!("node {i} has only a left child")),
            };
            let feature = match children {
                Some(_) => usize::try_from(t.feature[i])
                    .map_err(|_| format!("node {i}: feature {}", t.feature[i]))?,
                None => 0,
            };
            let value = match t.value[i].as_slice() {
                // Fractions (scikit-learn >= 1.4) are kept bit for bit; counts are normalised.
                [p0, p1] if (p0 + p1 - 1.0).abs() < 1e-9 => *p1,
                [p0, p1] => p1 / (p0 + p1),
                other => return Err(format!("node {i}: {} class values", other.len())),
            };
            Ok(Node {
                feature,
                threshold: t.threshold[i],
                children,
                missing_left: t.missing_go_to_left.get(i).is_some_and(|&m| m != 0),
                cover: t.weighted_n_node_samples[i],
                value,
            })
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map(|nodes| Tree { nodes })
}
