//! DP releases of dashboard aggregates, charged to a [`PrivacyFilter`] before any noise is
//! drawn: a refused release returns an error and reveals nothing.
//!
//! Neighbouring data sets differ by adding or removing one record (one session), except
//! [`PrivacyFilter::release_mean`], which follows diffprivlib: the record count n is
//! public and one record may change (sensitivity (U − L)/n).

use rand::RngCore;

use crate::error::positive;
use crate::mechanisms::{DiscreteLaplace, Laplace};
use crate::{Cost, DpError, PrivacyFilter, Result};

fn check_bounds(lo: f64, hi: f64) -> Result<()> {
    if lo.is_finite() && hi.is_finite() && lo < hi {
        Ok(())
    } else {
        Err(DpError::InvalidParameter {
            param: "bounds",
            value: hi - lo,
            reason: "need finite lower < upper".into(),
        })
    }
}

impl PrivacyFilter {
    /// A count with discrete Laplace noise (sensitivity 1): ε-DP, integer output.
    pub fn release_count(
        &mut self,
        count: u64,
        epsilon: f64,
        rng: &mut dyn RngCore,
    ) -> Result<i64> {
        let mechanism = DiscreteLaplace::new(epsilon, 1)?;
        self.charge(&Cost::pure(epsilon)?)?;
        Ok(mechanism.randomise(i64::try_from(count).unwrap_or(i64::MAX), rng))
    }

    /// A histogram (each record in exactly one bin): every bin gets its own discrete Laplace
    /// noise with sensitivity 1; by parallel composition the whole histogram is ε-DP.
    pub fn release_histogram(
        &mut self,
        counts: &[u64],
        epsilon: f64,
        rng: &mut dyn RngCore,
    ) -> Result<Vec<i64>> {
        let mechanism = DiscreteLaplace::new(epsilon, 1)?;
        self.charge(&Cost::pure(epsilon)?)?;
        Ok(counts
            .iter()
            .map(|&c| mechanism.randomise(i64::try_from(c).unwrap_or(i64::MAX), rng))
            .collect())
    }

    /// A sum of values clamped to [lo, hi] with Laplace noise of sensitivity max(|lo|, |hi|).
    pub fn release_sum(
        &mut self,
        values: &[f64],
        (lo, hi): (f64, f64),
        epsilon: f64,
        rng: &mut dyn RngCore,
    ) -> Result<f64> {
        check_bounds(lo, hi)?;
        positive("epsilon", epsilon)?;
        let mechanism = Laplace::new(epsilon, lo.abs().max(hi.abs()))?;
        self.charge(&Cost::laplace(&mechanism))?;
        let sum: f64 = values.iter().map(|v| clamp(*v, lo, hi)).sum();
        Ok(mechanism.randomise(sum, rng))
    }

    /// A mean of values clamped to [lo, hi] (n public, one record may change): Laplace noise
    /// with sensitivity (hi − lo)/n, the result clamped to [lo, hi] — diffprivlib's
    /// `tools.mean`.
    pub fn release_mean(
        &mut self,
        values: &[f64],
        (lo, hi): (f64, f64),
        epsilon: f64,
        rng: &mut dyn RngCore,
    ) -> Result<f64> {
        check_bounds(lo, hi)?;
        if values.is_empty() {
            return Err(DpError::Shape("the mean of no values".into()));
        }
        let n = values.len() as f64;
        let mechanism = Laplace::new(epsilon, (hi - lo) / n)?;
        self.charge(&Cost::laplace(&mechanism))?;
        let mean = values.iter().map(|v| clamp(*v, lo, hi)).sum::<f64>() / n;
        Ok(clamp(mechanism.randomise(mean, rng), lo, hi))
    }
}

/// Clamps, sending NaN to the lower bound (a NaN must not poison a release).
fn clamp(v: f64, lo: f64, hi: f64) -> f64 {
    if v.is_nan() { lo } else { v.clamp(lo, hi) }
}
