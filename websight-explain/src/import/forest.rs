use websight_core::learn::RandomForest;

use crate::{Node, Output, Result, SplitRule, Tree, TreeEnsemble};

impl TreeEnsemble {
    /// websight's [`RandomForest`]: go left iff `x < threshold` (f64), NaN goes right (as
    /// `x < t` is false), leaf values are class-1 shares, output = their mean.
    pub fn from_forest(forest: &RandomForest) -> Result<TreeEnsemble> {
        let trees: Vec<Tree> = forest
            .trees
            .iter()
            .map(|t| Tree {
                nodes: t
                    .nodes
                    .iter()
                    .map(|n| Node {
                        feature: n.feature,
                        threshold: n.threshold,
                        children: n.left.zip(n.right).map(|(l, r)| [l, r]),
                        missing_left: false,
                        cover: n.cover,
                        value: n.value,
                    })
                    .collect(),
            })
            .collect();
        let weight = 1.0 / trees.len().max(1) as f64;
        TreeEnsemble::new(
            trees,
            SplitRule::Less,
            forest.n_features(),
            0.0,
            weight,
            Output::Probability,
        )
    }
}
