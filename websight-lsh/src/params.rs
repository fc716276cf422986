//! Choosing the number of bands and rows like datasketch's `MinHashLSH`.

use serde::{Deserialize, Serialize};

use crate::{LshError, Result};

/// Banding of a signature: `bands` bands of `rows` values each (`bands·rows ≤ num_perm`).
///
/// Two sets with Jaccard similarity `s` share at least one band with probability
/// `1 − (1 − sʳ)ᵇ`, an S-curve whose midpoint sits near the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LshParams {
    /// Number of bands (hash tables).
    pub bands: usize,
    /// Values per band.
    pub rows: usize,
}

impl LshParams {
    /// The banding that minimises `fp_weight·FP + fn_weight·FN` where FP is the integral of
    /// the collision probability over similarities below `threshold` and FN the integral of
    /// the miss probability above it — datasketch's `_optimal_param`, with the same search
    /// order so ties resolve the same way.
    ///
    /// ```
    /// use websight_lsh::LshParams;
    /// let p = LshParams::optimal(0.5, 128, 0.5, 0.5)?;
    /// assert_eq!((p.bands, p.rows), (25, 5)); // what datasketch picks
    /// # Ok::<(), websight_lsh::LshError>(())
    /// ```
    pub fn optimal(
        threshold: f64,
        num_perm: usize,
        fp_weight: f64,
        fn_weight: f64,
    ) -> Result<Self> {
        if !(0.0..=1.0).contains(&threshold) {
            return Err(LshError::parameter(
                "threshold",
                format!("{threshold} is not in [0, 1]"),
            ));
        }
        if num_perm < 2 {
            return Err(LshError::parameter(
                "num_perm",
                "need at least 2 permutations",
            ));
        }
        let weights_ok = (0.0..=1.0).contains(&fp_weight) && (0.0..=1.0).contains(&fn_weight);
        if !weights_ok || ((fp_weight + fn_weight) - 1.0).abs() > 1e-9 {
            return Err(LshError::parameter(
                "weights",
                "need two weights in [0, 1] summing to 1",
            ));
        }
        let mut best = (f64::INFINITY, LshParams { bands: 0, rows: 0 });
        for bands in 1..=num_perm {
            for rows in 1..=num_perm / bands {
                let (b, r) = (bands as f64, rows as f64);
                let fp = integrate(|s| 1.0 - (1.0 - s.powf(r)).powf(b), 0.0, threshold);
                let fn_ = integrate(|s| (1.0 - s.powf(r)).powf(b), threshold, 1.0);
                let error = fp * fp_weight + fn_ * fn_weight;
                if error < best.0 {
                    best = (error, LshParams { bands, rows });
                }
            }
        }
        Ok(best.1)
    }

    /// Checks the banding fits a signature of `num_perm` values.
    pub fn validate(&self, num_perm: usize) -> Result<()> {
        if self.bands == 0 || self.rows == 0 || self.bands * self.rows > num_perm {
            return Err(LshError::parameter(
                "bands",
                format!(
                    "{} bands × {} rows do not fit {num_perm} permutations",
                    self.bands, self.rows
                ),
            ));
        }
        Ok(())
    }
}

/// ∫ f over [lo, hi] by composite 8-point Gauss–Legendre on 64 panels: the integrands are
/// smooth polynomials in s, so this is accurate far below the gaps between candidates.
fn integrate(f: impl Fn(f64) -> f64, lo: f64, hi: f64) -> f64 {
    const NODES: [f64; 4] = [
        0.183_434_642_495_649_8,
        0.525_532_409_916_329,
        0.796_666_477_413_626_7,
        0.960_289_856_497_536_3,
    ];
    const WEIGHTS: [f64; 4] = [
        0.362_683_783_378_362,
        0.313_706_645_877_887_3,
        0.222_381_034_453_374_5,
        0.101_228_536_290_376_3,
    ];
    const PANELS: usize = 64;
    if hi <= lo {
        return 0.0;
    }
    let width = (hi - lo) / PANELS as f64;
    let mut total = 0.0;
    for p in 0..PANELS {
        let mid = lo + (p as f64 + 0.5) * width;
        let half = width / 2.0;
        for (x, w) in NODES.iter().zip(WEIGHTS) {
            total += w * half * (f(mid - half * x) + f(mid + half * x));
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integration_is_exact_on_polynomials() {
        assert!((integrate(|s| s.powi(7), 0.0, 1.0) - 0.125).abs() < 1e-15);
        assert!((integrate(|s| 3.0 * s * s, 0.2, 0.7) - (0.343 - 0.008)).abs() < 1e-14);
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(LshParams::optimal(1.5, 128, 0.5, 0.5).is_err());
        assert!(LshParams::optimal(0.5, 1, 0.5, 0.5).is_err());
        assert!(LshParams::optimal(0.5, 128, 0.7, 0.7).is_err());
        assert!(LshParams { bands: 30, rows: 5 }.validate(128).is_err());
    }
}
