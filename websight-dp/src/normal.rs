//! Accurate normal-distribution helpers for the Gaussian mechanism and the accountant.

/// Standard normal CDF Φ(x), accurate in both tails (erfc from libm).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// ln erfc(x), accurate where erfc(x) underflows (x ≳ 26) through its asymptotic series.
pub fn ln_erfc(x: f64) -> f64 {
    if x < 25.0 {
        return libm::erfc(x).ln();
    }
    // erfc(x) = e^{-x²}/(x√π) · (1 − 1/(2x²) + 3/(4x⁴) − 15/(8x⁶) + …)
    let inv = 1.0 / (2.0 * x * x);
    let series = 1.0 - inv + 3.0 * inv * inv - 15.0 * inv * inv * inv + 105.0 * inv.powi(4);
    -x * x - (x * std::f64::consts::PI.sqrt()).ln() + series.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_and_continuity() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-16);
        assert!((normal_cdf(1.959_963_984_540_054) - 0.975).abs() < 1e-15);
        assert!((normal_cdf(-10.0) - 7.619_853_024_160_527e-24).abs() / 7.6e-24 < 1e-12);
        // The asymptotic branch joins the direct one smoothly.
        let direct = libm::erfc(24.9).ln();
        let series_at = |x: f64| {
            let inv = 1.0 / (2.0 * x * x);
            -x * x - (x * std::f64::consts::PI.sqrt()).ln()
                + (1.0 - inv + 3.0 * inv * inv - 15.0 * inv.powi(3) + 105.0 * inv.powi(4)).ln()
        };
        assert!((direct - series_at(24.9)).abs() < 1e-12);
        assert!(ln_erfc(40.0).is_finite());
    }
}
