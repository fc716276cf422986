//! Laplace input perturbation: local DP noise added to every record's features before
//! training (the original system's approach for the tree models, done per record).

use ndarray::{ArrayViewMut2, Axis};
use rand::RngCore;

use crate::mechanisms::Laplace;
use crate::{DpError, Result};

/// Adds Laplace noise to every feature of every record, after clamping each feature to its
/// bounds.
///
/// Each record is protected by local ε-DP: feature j gets scale d·(Uⱼ − Lⱼ)/ε, i.e. ε/d per
/// feature, and the d features compose to ε. Labels are not touched.
///
/// ```
/// use ndarray::array;
/// use websight_dp::InputPerturbation;
/// use websight_dp::exact::os_rng;
///
/// let perturb = InputPerturbation::new(vec![(0.0, 1.0), (0.0, 600.0)], 4.0)?;
/// let mut x = array![[1.0, 30.0], [0.0, 900.0]];
/// perturb.transform(&mut x.view_mut(), &mut os_rng())?;
/// assert_eq!(perturb.scales(), vec![0.5, 300.0]);
/// # Ok::<(), websight_dp::DpError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct InputPerturbation {
    bounds: Vec<(f64, f64)>,
    epsilon: f64,
}

impl InputPerturbation {
    /// Perturbation with per-feature bounds (Lⱼ < Uⱼ, finite) and a per-record ε.
    pub fn new(bounds: Vec<(f64, f64)>, epsilon: f64) -> Result<Self> {
        crate::error::positive("epsilon", epsilon)?;
        if bounds.is_empty() {
            return Err(DpError::Shape("no features".into()));
        }
        if let Some(&(lo, hi)) = bounds
            .iter()
            .find(|(lo, hi)| !(lo.is_finite() && hi.is_finite() && lo < hi))
        {
            return Err(DpError::InvalidParameter {
                param: "bounds",
                value: hi - lo,
                reason: "need finite lower < upper for every feature".into(),
            });
        }
        Ok(InputPerturbation { bounds, epsilon })
    }

    /// The per-record ε.
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }

    /// Laplace scale per feature: d·(Uⱼ − Lⱼ)/ε.
    pub fn scales(&self) -> Vec<f64> {
        let d = self.bounds.len() as f64;
        self.bounds
            .iter()
            .map(|(lo, hi)| d * (hi - lo) / self.epsilon)
            .collect()
    }

    /// Clamps and perturbs `x` (records × features) in place, one draw per cell.
    pub fn transform(&self, x: &mut ArrayViewMut2<'_, f64>, rng: &mut dyn RngCore) -> Result<()> {
        if x.ncols() != self.bounds.len() {
            return Err(DpError::Shape(format!(
                "{} columns given, bounds for {}",
                x.ncols(),
                self.bounds.len()
            )));
        }
        let d = self.bounds.len() as f64;
        let mechanisms = self
            .bounds
            .iter()
            .map(|(lo, hi)| Laplace::new(self.epsilon / d, hi - lo))
            .collect::<Result<Vec<_>>>()?;
        for mut row in x.axis_iter_mut(Axis(0)) {
            for ((v, m), &(lo, hi)) in row.iter_mut().zip(&mechanisms).zip(&self.bounds) {
                let clamped = if v.is_nan() { lo } else { v.clamp(lo, hi) };
                *v = m.randomise(clamped, rng);
            }
        }
        Ok(())
    }
}
