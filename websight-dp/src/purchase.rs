//! The two private purchase models websight trains — one recipe shared by the `train` and
//! `pipeline` examples: a linear unit by DP-SGD ([`DpSgdParams::recipe`]) and a
//! [`PrivateForest`], each ε-DP per person (features and labels), on the columns whose
//! meaning does not come from the training rows, scaled by public ranges.

use std::hash::Hash;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::RngCore;
use websight_core::datasets::{FeatureRange, scale_to_unit};
use websight_core::learn::{MlpParams, PredictProba};

use crate::{
    DpError, DpSgdParams, Guarantee, PrivateForest, PrivateForestParams, PrivateModel, Result,
    train_dp_sgd,
};

/// What to train the private models on.
#[derive(Debug, Clone, PartialEq)]
pub struct PurchaseModelsParams {
    /// Columns the models may use.
    pub columns: Vec<usize>,
    /// Public ranges of those columns.
    pub ranges: Vec<FeatureRange>,
    /// ε of each model.
    pub epsilon: f64,
    /// δ of DP-SGD.
    pub delta: f64,
    /// Rows per person the forest keeps (DP-SGD's recipe keeps 4).
    pub forest_rows_per_person: usize,
}

/// The fitted private models.
#[derive(Debug, Clone)]
pub struct PurchaseModels {
    columns: Vec<usize>,
    ranges: Vec<FeatureRange>,
    /// DP-SGD's model and its privacy report.
    pub dp_sgd: PrivateModel,
    /// The private forest.
    pub forest: PrivateForest,
}

impl PurchaseModels {
    /// Fits both on rows `x` (all columns), labels `y`, and the person of every row.
    pub fn fit<P: Hash + Eq>(
        params: &PurchaseModelsParams,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, bool>,
        persons: &[P],
        rng: &mut dyn RngCore,
    ) -> Result<PurchaseModels> {
        if params.columns.len() != params.ranges.len()
            || params.columns.iter().any(|&j| j >= x.ncols())
        {
            return Err(DpError::Shape(format!(
                "{} columns, {} ranges, {} features",
                params.columns.len(),
                params.ranges.len(),
                x.ncols()
            )));
        }
        let selected = x.select(Axis(1), &params.columns);
        // The number of persons sets the batch size (a shop knows it roughly; the recipe
        // needs no more precision than that).
        let persons_count = persons
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len();
        let dp_sgd = train_dp_sgd(
            &MlpParams::new().hidden(vec![]),
            scale_to_unit(&selected, &params.ranges)?.view(),
            y,
            persons,
            &DpSgdParams::recipe(persons_count, params.epsilon, params.delta),
            rng,
        )?;
        let forest = PrivateForestParams::new(params.ranges.clone(), params.epsilon)
            .max_rows_per_person(params.forest_rows_per_person)
            .fit(selected.view(), y, persons, rng)?;
        Ok(PurchaseModels {
            columns: params.columns.clone(),
            ranges: params.ranges.clone(),
            dp_sgd,
            forest,
        })
    }

    /// Each model's name, guarantee and P(purchase) for rows `x` (all columns).
    pub fn scores(
        &self,
        x: ArrayView2<'_, f64>,
    ) -> Result<Vec<(&'static str, Guarantee, Array1<f64>)>> {
        let selected: Array2<f64> = x.select(Axis(1), &self.columns);
        Ok(vec![
            (
                "mlp_dp_sgd",
                self.dp_sgd.report.guarantee(),
                self.dp_sgd
                    .model
                    .predict_proba(scale_to_unit(&selected, &self.ranges)?.view())?,
            ),
            (
                "private_forest",
                self.forest.guarantee(),
                self.forest.predict_proba(selected.view())?,
            ),
        ])
    }
}
