//! Small differentiable models stored as JSON — the Kernel SHAP fixtures' logistic
//! regression and one-hidden-layer network — to explain from files.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use serde::Deserialize;

use crate::kernel::BatchModel;
use crate::{ExplainError, Result};

/// A model read from JSON: either `{"w": [..], "b": ..}` (logistic regression, output =
/// margin `x·w + b`) or `{"scaler_mean", "scaler_scale", "W1", "b1", "W2", "b2"}` (output =
/// `sigmoid(relu(((x − mean) / scale) W1 + b1) W2 + b2)`, a probability).
// One model at a time is held: the variants' size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum KernelModel {
    /// Logistic regression explained on the margin.
    Logistic {
        /// Coefficients, one per feature.
        w: Array1<f64>,
        /// Intercept.
        b: f64,
    },
    /// A standardising one-hidden-layer ReLU network with a sigmoid output.
    Mlp {
        /// Per-feature mean subtracted first.
        mean: Array1<f64>,
        /// Per-feature scale divided by next.
        scale: Array1<f64>,
        /// Features × hidden weights.
        w1: Array2<f64>,
        /// Hidden biases.
        b1: Array1<f64>,
        /// Hidden → output weights.
        w2: Array1<f64>,
        /// Output bias.
        b2: f64,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ModelFile {
    Logistic {
        w: Vec<f64>,
        b: f64,
    },
    Mlp {
        scaler_mean: Vec<f64>,
        scaler_scale: Vec<f64>,
        #[serde(rename = "W1")]
        w1: Vec<Vec<f64>>,
        b1: Vec<f64>,
        #[serde(rename = "W2")]
        w2: Vec<Vec<f64>>,
        b2: Vec<f64>,
    },
}

fn invalid(reason: impl Into<String>) -> ExplainError {
    ExplainError::InvalidModel {
        reason: reason.into(),
    }
}

impl KernelModel {
    /// Parses and checks a model file (shapes agree, every number finite).
    pub fn from_json(json: &str) -> Result<KernelModel> {
        let file: ModelFile = serde_json::from_str(json)
            .map_err(|e| invalid(format!("expected a logistic ({{w, b}}) or MLP model: {e}")))?;
        let model = match file {
            ModelFile::Logistic { w, b } => KernelModel::Logistic { w: w.into(), b },
            ModelFile::Mlp {
                scaler_mean,
                scaler_scale,
                w1,
                b1,
                w2,
                b2,
            } => {
                let (d, h) = (w1.len(), b1.len());
                if scaler_mean.len() != d
                    || scaler_scale.len() != d
                    || w1.iter().any(|r| r.len() != h)
                    || w2.len() != h
                    || w2.iter().any(|r| r.len() != 1)
                    || b2.len() != 1
                    || scaler_scale.contains(&0.0)
                {
                    return Err(invalid(format!(
                        "MLP shapes: {d} features, {h} hidden, one output, non-zero scales"
                    )));
                }
                KernelModel::Mlp {
                    mean: scaler_mean.into(),
                    scale: scaler_scale.into(),
                    w1: Array2::from_shape_vec((d, h), w1.into_iter().flatten().collect())
                        .map_err(|e| invalid(e.to_string()))?,
                    b1: b1.into(),
                    w2: w2.into_iter().flatten().collect(),
                    b2: b2[0],
                }
            }
        };
        if model.parameters().any(|v| !v.is_finite()) {
            return Err(invalid("parameters must be finite"));
        }
        Ok(model)
    }

    fn parameters(&self) -> Box<dyn Iterator<Item = f64> + '_> {
        match self {
            KernelModel::Logistic { w, b } => Box::new(w.iter().copied().chain([*b])),
            KernelModel::Mlp {
                mean,
                scale,
                w1,
                b1,
                w2,
                b2,
            } => Box::new(
                mean.iter()
                    .chain(scale)
                    .chain(w1)
                    .chain(b1)
                    .chain(w2)
                    .copied()
                    .chain([*b2]),
            ),
        }
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        match self {
            KernelModel::Logistic { w, .. } => w.len(),
            KernelModel::Mlp { mean, .. } => mean.len(),
        }
    }
}

impl BatchModel for KernelModel {
    fn predict_batch(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        if x.ncols() != self.n_features() {
            return Err(ExplainError::Shape {
                reason: format!(
                    "rows have {} features, the model {}",
                    x.ncols(),
                    self.n_features()
                ),
            });
        }
        Ok(match self {
            KernelModel::Logistic { w, b } => x.dot(w) + *b,
            KernelModel::Mlp {
                mean,
                scale,
                w1,
                b1,
                w2,
                b2,
            } => {
                // Standardisation folded into the first layer (a few weights per batch
                // instead of two passes over the rows): W1' = W1 / scale,
                // b1' = b1 − (mean / scale) · W1.
                let folded = w1 / &scale.view().insert_axis(Axis(1));
                let shift = (mean / scale).dot(w1);
                let mut hidden = x.dot(&folded);
                hidden += &(b1 - &shift);
                hidden.mapv_inplace(|v| v.max(0.0));
                (hidden.dot(w2) + *b2).mapv(|m| 1.0 / (1.0 + (-m).exp()))
            }
        })
    }
}
