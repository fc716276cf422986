//! What every imported tree model must survive: prediction and Tree SHAP on a few rows.

use ndarray::Array2;
use websight_explain::{Explainer, TreeEnsemble, TreeShap};

pub fn exercise(model: &TreeEnsemble) {
    let d = model.n_features();
    if d > 64 {
        return;
    }
    let mut x = Array2::zeros((3, d));
    x.row_mut(1).fill(f64::NAN);
    x.row_mut(2).fill(1e300);
    let _ = model.predict(x.view());
    if model.max_depth() <= 32 {
        let _ = TreeShap::new(model).explain(x.view());
    }
}
