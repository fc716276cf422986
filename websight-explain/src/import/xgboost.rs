use serde::Deserialize;

use super::{child, invalid};
use crate::{Node, Output, Result, SplitRule, Tree, TreeEnsemble};

/// The parts of XGBoost's `save_model` JSON that define predictions.
#[derive(Deserialize)]
struct ModelFile {
    learner: Learner,
}

#[derive(Deserialize)]
struct Learner {
    learner_model_param: ModelParam,
    objective: Objective,
    gradient_booster: GradientBooster,
}

#[derive(Deserialize)]
struct ModelParam {
    /// A number in a string; XGBoost ≥ 2 wraps it in brackets (`"[3.98E-1]"`).
    base_score: String,
    #[serde(default)]
    num_class: Option<String>,
    #[serde(default)]
    num_feature: Option<String>,
}

#[derive(Deserialize)]
struct Objective {
    name: String,
}

#[derive(Deserialize)]
struct GradientBooster {
    name: String,
    model: Option<GbTree>,
}

#[derive(Deserialize)]
struct GbTree {
    trees: Vec<TreeArrays>,
}

#[derive(Deserialize)]
struct TreeArrays {
    left_children: Vec<i64>,
    right_children: Vec<i64>,
    split_indices: Vec<i64>,
    /// Thresholds at internal nodes, leaf values at leaves.
    split_conditions: Vec<f64>,
    default_left: Vec<Flag>,
    sum_hessian: Vec<f64>,
    #[serde(default)]
    split_type: Vec<u8>,
}

/// XGBoost writes booleans as 0/1 in some versions and as `true`/`false` in others.
#[derive(Deserialize)]
#[serde(untagged)]
enum Flag {
    Int(u8),
    Bool(bool),
}

impl Flag {
    fn get(&self) -> bool {
        match *self {
            Flag::Int(i) => i != 0,
            Flag::Bool(b) => b,
        }
    }
}

impl TreeEnsemble {
    /// An XGBoost model in its JSON format (`save_model("….json")`, or
    /// `GradientBoosting::model_json`
    /// with feature `xgboost`), gbtree booster, one output (binary:logistic and friends, or
    /// regression). Go left iff `(f32)x < split_condition`, NaN follows `default_left`,
    /// leaves hold their value in `split_conditions`, cover = `sum_hessian`, output = margin
    /// = base margin (logit of `base_score` for logistic objectives) + Σ leaves.
    pub fn from_xgboost_json(json: &str) -> Result<TreeEnsemble> {
        let file: ModelFile =
            serde_json::from_str(json).map_err(|e| invalid(format!("xgboost model: {e}")))?;
        let learner = file.learner;
        let param = &learner.learner_model_param;
        let classes = param.num_class.as_deref().unwrap_or("0");
        if classes != "0" && classes != "1" {
            return Err(invalid(format!(
                "multi-class models ({classes}) are not supported"
            )));
        }
        let base_score: f64 = param
            .base_score
            .trim_matches(|c| c == '[' || c == ']')
            .parse()
            .map_err(|_| invalid(format!("base_score {:?}", param.base_score)))?;
        let objective = learner.objective.name.as_str();
        let (base, output) = match objective {
            "binary:logistic" | "binary:logitraw" | "reg:logistic" => {
                ((base_score / (1.0 - base_score)).ln(), Output::Margin)
            }
            "reg:squarederror" | "reg:absoluteerror" | "reg:pseudohubererror" => {
                (base_score, Output::Margin)
            }
            other => return Err(invalid(format!("objective {other} is not supported"))),
        };
        let model = match (
            learner.gradient_booster.name.as_str(),
            learner.gradient_booster.model,
        ) {
            ("gbtree", Some(model)) => model,
            (name, _) => {
                return Err(invalid(format!(
                    "booster {name} is not supported (gbtree only)"
                )));
            }
        };
        let trees = model
            .trees
            .iter()
            .enumerate()
            .map(|(i, t)| convert(t).map_err(|e| invalid(format!("tree {i}: {e}"))))
            .collect::<Result<Vec<_>>>()?;
        let declared: Option<usize> = param.num_feature.as_deref().and_then(|n| n.parse().ok());
        let used = trees
            .iter()
            .flat_map(|t| t.nodes.iter().filter(|n| n.children.is_some()))
            .map(|n| n.feature + 1)
            .max()
            .unwrap_or(1);
        TreeEnsemble::new(
            trees,
            SplitRule::F32Less,
            declared.unwrap_or(used).max(used),
            base,
            1.0,
            output,
        )
    }
}

fn convert(t: &TreeArrays) -> std::result::Result<Tree, String> {
    let n = t.left_children.len();
    let lengths = [
        t.right_children.len(),
        t.split_indices.len(),
        t.split_conditions.len(),
        t.default_left.len(),
        t.sum_hessian.len(),
    ];
    if lengths.iter().any(|&l| l != n) {
        return Err(format!("arrays of different lengths ({n} vs {lengths:?})"));
    }
    if t.split_type.iter().any(|&s| s != 0) {
        return Err("categorical splits are not supported".into());
    }
    (0..n)
        .map(|i| {
            let children = match (child(t.left_children[i]), child(t.right_children[i])) {
                (Some(l), Some(r)) => Some([l, r]),
                (None, None) => None,
                _ => return Err(format!("node {i} has one child")),
            };
            let (feature, threshold, value) = match children {
                Some(_) => (
                    usize::try_from(t.split_indices[i])
                        .map_err(|_| format!("node {i}: feature {}", t.split_indices[i]))?,
                    t.split_conditions[i],
                    0.0,
                ),
                None => (0, 0.0, t.split_conditions[i]),
            };
            Ok(Node {
                feature,
                threshold,
                children,
                missing_left: t.default_left[i].get(),
                cover: t.sum_hessian[i],
                value,
            })
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map(|nodes| Tree { nodes })
}

#[cfg(feature = "xgboost")]
#[cfg_attr(docsrs, doc(cfg(feature = "xgboost")))]
impl TreeEnsemble {
    /// A fitted [`GradientBoosting`](websight_core::learn::GradientBoosting) (an
    /// `xgboost-rs` booster), read through its JSON model.
    pub fn from_booster(model: &websight_core::learn::GradientBoosting) -> Result<TreeEnsemble> {
        TreeEnsemble::from_xgboost_json(&model.model_json()?)
    }
}
