//! Noise mechanisms calibrated to a privacy level: Laplace, Gaussian (classic and analytic)
//! and the discrete Laplace for counts.
//!
//! Every constructor validates its parameters (ε > 0, Δ > 0, δ ∈ (0, 1), all finite) and
//! returns a typed error otherwise. The noise itself comes from the exact samplers of
//! [`crate::exact`] (no floating-point inverse CDF, whose low bits leak: Mironov 2012), drawn
//! per call from the generator given — [`crate::exact::os_rng`] outside tests.

use rand::RngCore;

use crate::Result;
use crate::error::{check_range, positive};
use crate::exact::{self, Guarantee, Mechanism, Rational, SnappedLaplace};
use crate::normal::normal_cdf;

/// The Laplace mechanism: Laplace noise of scale b = Δ/ε, ε-DP for queries of L1
/// sensitivity Δ. Sampled as a [`SnappedLaplace`]: outputs on a power-of-two grid, with the
/// scale widened by the grid so that the guarantee is still exactly ε.
///
/// ```
/// use websight_dp::Laplace;
/// use websight_dp::exact::os_rng;
/// let mechanism = Laplace::new(1.0, 2.0)?; // ε = 1, Δ = 2
/// assert!((mechanism.scale() - 2.0).abs() < 0.01);
/// let noisy = mechanism.randomise(100.0, &mut os_rng());
/// assert!(noisy.is_finite());
/// # Ok::<(), websight_dp::DpError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Laplace {
    epsilon: f64,
    snapped: SnappedLaplace,
}

impl Laplace {
    /// ε-DP Laplace noise for sensitivity Δ.
    pub fn new(epsilon: f64, sensitivity: f64) -> Result<Self> {
        let epsilon = positive("epsilon", epsilon)?;
        let sensitivity = positive("sensitivity", sensitivity)?;
        Ok(Laplace {
            epsilon,
            snapped: SnappedLaplace::for_epsilon(epsilon, sensitivity)?,
        })
    }

    /// ε.
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }

    /// Noise scale b (Δ/ε, plus the grid's share).
    pub fn scale(&self) -> f64 {
        self.snapped.scale()
    }

    /// One noise draw (a multiple of the grid).
    pub fn sample(&self, rng: &mut dyn RngCore) -> f64 {
        self.snapped.sample(rng)
    }

    /// `value` snapped to the grid, plus one fresh draw.
    pub fn randomise(&self, value: f64, rng: &mut dyn RngCore) -> f64 {
        self.snapped.randomise(value, rng)
    }

    /// Adds an independent draw to every value (per record).
    pub fn randomise_all(&self, values: &mut [f64], rng: &mut dyn RngCore) {
        values
            .iter_mut()
            .for_each(|v| *v = self.snapped.randomise(*v, rng));
    }

    /// Its Rényi DP at order α > 1 (Mironov 2017, Prop. 6), with λ = 1/ε = b/Δ:
    /// `1/(α−1) · ln( α/(2α−1)·e^{(α−1)/λ} + (α−1)/(2α−1)·e^{−α/λ} )`.
    pub fn rdp(&self, alpha: f64) -> f64 {
        laplace_rdp(self.epsilon, alpha)
    }
}

impl Mechanism for Laplace {
    type Value = f64;
    fn guarantee(&self) -> Guarantee {
        Guarantee::Pure {
            epsilon: self.epsilon,
        }
    }
    fn randomise(&self, value: f64, rng: &mut dyn RngCore) -> f64 {
        Laplace::randomise(self, value, rng)
    }
}

pub(crate) fn laplace_rdp(epsilon: f64, alpha: f64) -> f64 {
    // Computed in log space so large α·ε does not overflow.
    let a = (alpha / (2.0 * alpha - 1.0)).ln() + (alpha - 1.0) * epsilon;
    let b = ((alpha - 1.0) / (2.0 * alpha - 1.0)).ln() - alpha * epsilon;
    let hi = a.max(b);
    (hi + ((a - hi).exp() + (b - hi).exp()).ln()) / (alpha - 1.0)
}

/// The Gaussian mechanism: adds N(0, σ²) noise; (ε, δ)-DP for queries of L2 sensitivity Δ.
///
/// Outputs lie on a power-of-two grid g ≤ Δ/2²⁰ (an exact discrete Gaussian in grid steps,
/// [`Gaussian::randomise`]); σ is calibrated for Δ + g, the most rounding to the grid can
/// move two neighbours apart — a relative change below 10⁻⁶.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gaussian {
    sigma: f64,
    /// Δ + g.
    sensitivity: f64,
    /// g.
    grid: f64,
    epsilon: f64,
    delta: f64,
}

impl Gaussian {
    /// The analytic Gaussian mechanism (Balle & Wang 2018, Algorithm 1): the smallest σ with
    /// Φ(Δ/2σ − εσ/Δ) − e^ε·Φ(−Δ/2σ − εσ/Δ) ≤ δ. Valid for every ε > 0, unlike the classic
    /// calibration, and never noisier.
    ///
    /// ```
    /// use websight_dp::Gaussian;
    /// let g = Gaussian::analytic(1.0, 1e-5, 1.0)?;
    /// assert!((g.sigma() - 3.7306).abs() < 1e-3);            // diffprivlib: 3.73063…
    /// assert!(g.sigma() < Gaussian::classic(1.0, 1e-5, 1.0)?.sigma());
    /// # Ok::<(), websight_dp::DpError>(())
    /// ```
    pub fn analytic(epsilon: f64, delta: f64, sensitivity: f64) -> Result<Self> {
        let epsilon = positive("epsilon", epsilon)?;
        let delta = check_range("delta", delta, 0.0, 1.0, false)?;
        let (sensitivity, grid) = snapped(positive("sensitivity", sensitivity)?);
        let alpha = analytic_alpha(epsilon, delta);
        Ok(Gaussian {
            grid,
            sigma: alpha * sensitivity / (2.0 * epsilon).sqrt(),
            sensitivity,
            epsilon,
            delta,
        })
    }

    /// The classic calibration σ = Δ·√(2 ln(1.25/δ))/ε (Dwork & Roth, Thm 3.22), valid for
    /// ε < 1 only; kept for comparison.
    pub fn classic(epsilon: f64, delta: f64, sensitivity: f64) -> Result<Self> {
        let epsilon = check_range("epsilon", epsilon, 0.0, 1.0 + f64::EPSILON, false)?;
        let delta = check_range("delta", delta, 0.0, 1.0, false)?;
        let (sensitivity, grid) = snapped(positive("sensitivity", sensitivity)?);
        Ok(Gaussian {
            grid,
            sigma: sensitivity * (2.0 * (1.25 / delta).ln()).sqrt() / epsilon,
            sensitivity,
            epsilon,
            delta,
        })
    }

    /// Noise standard deviation.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// The (ε, δ) it was calibrated for.
    pub fn guarantee(&self) -> Guarantee {
        Guarantee::Approximate {
            epsilon: self.epsilon,
            delta: self.delta,
        }
    }

    /// σ/(Δ + g), the noise multiplier.
    pub fn noise_multiplier(&self) -> f64 {
        self.sigma / self.sensitivity
    }

    /// `value` rounded to the grid plus one fresh draw: an exact discrete Gaussian of σ/g
    /// grid steps.
    pub fn randomise(&self, value: f64, rng: &mut dyn RngCore) -> f64 {
        let g = self.grid();
        let steps = exact::grid_steps(value, g);
        // (σ/g)² exactly: σ/g is σ with its exponent shifted.
        let noise = exact::DiscreteGaussian::new(
            Rational::from_f64((self.sigma / g).powi(2)).expect("finite σ"),
            1,
        )
        .expect("σ > 0")
        .sample(rng);
        steps.saturating_add(noise) as f64 * g
    }

    /// The grid width g.
    pub fn grid(&self) -> f64 {
        self.grid
    }

    /// Its Rényi DP at order α: α·Δ²/(2σ²).
    pub fn rdp(&self, alpha: f64) -> f64 {
        alpha / (2.0 * self.noise_multiplier().powi(2))
    }
}

/// (Δ + g, g) with g the largest power of two ≤ Δ/2²⁰: values rounded to the grid are
/// at most Δ + g apart.
fn snapped(delta: f64) -> (f64, f64) {
    let g = exact::grid_below(delta / 1_048_576.0);
    (delta + g, g)
}

impl Mechanism for Gaussian {
    type Value = f64;
    fn guarantee(&self) -> Guarantee {
        Gaussian::guarantee(self)
    }
    fn randomise(&self, value: f64, rng: &mut dyn RngCore) -> f64 {
        Gaussian::randomise(self, value, rng)
    }
}

/// α of Balle & Wang's Algorithm 1, so that σ = α·Δ/√(2ε).
fn analytic_alpha(epsilon: f64, delta: f64) -> f64 {
    let e = epsilon;
    let b_plus =
        |v: f64| normal_cdf((e * v).sqrt()) - e.exp() * normal_cdf(-(e * (v + 2.0)).sqrt());
    let b_minus =
        |u: f64| normal_cdf(-(e * u).sqrt()) - e.exp() * normal_cdf(-(e * (u + 2.0)).sqrt());
    let delta_zero = normal_cdf(0.0) - e.exp() * normal_cdf(-(2.0 * e).sqrt());
    if delta >= delta_zero {
        // B⁺ increases in v: find sup{v ≥ 0 : B⁺(v) ≤ δ}.
        let v = bisect_threshold(|v| b_plus(v) <= delta);
        (1.0 + v / 2.0).sqrt() - (v / 2.0).sqrt()
    } else {
        // B⁻ decreases in u: find inf{u ≥ 0 : B⁻(u) ≤ δ}.
        let u = bisect_threshold(|u| b_minus(u) > delta);
        (1.0 + u / 2.0).sqrt() + (u / 2.0).sqrt()
    }
}

/// The boundary of a predicate that holds on [0, t) and fails above: doubling, then
/// bisection to full precision.
fn bisect_threshold(holds: impl Fn(f64) -> bool) -> f64 {
    let (mut lo, mut hi) = (0.0, 1.0);
    while holds(hi) {
        lo = hi;
        hi *= 2.0;
        if hi > 1e12 {
            return hi;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if holds(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The discrete Laplace mechanism for integer queries: P(noise = k) ∝ e^{−ε|k|/Δ}, drawn
/// exactly ([`exact::DiscreteLaplace`]). ε-DP for integer queries of sensitivity Δ.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscreteLaplace {
    epsilon: f64,
    exact: exact::DiscreteLaplace,
}

impl DiscreteLaplace {
    /// ε-DP integer noise for integer sensitivity Δ ≥ 1. The scale Δ/ε is rounded up to
    /// the next double, so the guarantee is at most ε.
    pub fn new(epsilon: f64, sensitivity: u64) -> Result<Self> {
        let epsilon = positive("epsilon", epsilon)?;
        let scale = sensitivity as f64 / epsilon;
        let exact = exact::DiscreteLaplace::new(
            Rational::from_f64(scale.next_up()).map_err(|_| crate::DpError::InvalidParameter {
                param: "epsilon",
                value: epsilon,
                reason: "Δ/ε must be finite".into(),
            })?,
            sensitivity,
        )?;
        Ok(DiscreteLaplace { epsilon, exact })
    }

    /// ε.
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }

    /// The decay t = ε/Δ: P(k) ∝ e^{−t|k|}.
    pub fn decay(&self) -> f64 {
        1.0 / self.exact.scale().to_f64()
    }

    /// One noise draw.
    pub fn sample(&self, rng: &mut dyn RngCore) -> i64 {
        self.exact.sample(rng)
    }

    /// `value` plus one fresh draw.
    pub fn randomise(&self, value: i64, rng: &mut dyn RngCore) -> i64 {
        value.saturating_add(self.sample(rng))
    }
}

impl Mechanism for DiscreteLaplace {
    type Value = i64;
    fn guarantee(&self) -> Guarantee {
        Guarantee::Pure {
            epsilon: self.epsilon,
        }
    }
    fn randomise(&self, value: i64, rng: &mut dyn RngCore) -> i64 {
        DiscreteLaplace::randomise(self, value, rng)
    }
}
