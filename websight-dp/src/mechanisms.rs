//! Noise mechanisms: Laplace, Gaussian (classic and analytic), and the discrete Laplace
//! (two-sided geometric) for counts.
//!
//! Every constructor validates its parameters (ε > 0, Δ > 0, δ ∈ (0, 1), all finite) and
//! returns a typed error otherwise. Noise is drawn per call: randomising a column adds an
//! independent draw to every record (the original system added one draw to a whole column,
//! which protects nobody).

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::Result;
use crate::error::{check_range, positive};
use crate::normal::normal_cdf;

/// A uniform draw in the open interval (0, 1).
fn open_unit(rng: &mut impl Rng) -> f64 {
    loop {
        let u: f64 = rng.r#gen();
        if u > 0.0 {
            return u;
        }
    }
}

/// The Laplace mechanism: adds Laplace(0, b) noise with scale b = Δ/ε; ε-DP for queries of
/// L1 sensitivity Δ.
///
/// ```
/// use websight_dp::Laplace;
/// let mechanism = Laplace::new(1.0, 2.0)?; // ε = 1, Δ = 2
/// assert_eq!(mechanism.scale(), 2.0);
/// let noisy = mechanism.randomise(100.0, &mut rand::thread_rng());
/// assert!(noisy.is_finite());
/// # Ok::<(), websight_dp::DpError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Laplace {
    epsilon: f64,
    sensitivity: f64,
}

impl Laplace {
    /// ε-DP Laplace noise for sensitivity Δ.
    pub fn new(epsilon: f64, sensitivity: f64) -> Result<Self> {
        Ok(Laplace {
            epsilon: positive("epsilon", epsilon)?,
            sensitivity: positive("sensitivity", sensitivity)?,
        })
    }

    /// ε.
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }

    /// Noise scale b = Δ/ε.
    pub fn scale(&self) -> f64 {
        self.sensitivity / self.epsilon
    }

    /// One noise draw, by the inverse CDF: −b·sgn(u)·ln(1 − 2|u|), u uniform on (−½, ½).
    pub fn sample(&self, rng: &mut impl Rng) -> f64 {
        let u = open_unit(rng) - 0.5;
        -self.scale() * u.signum() * (-2.0 * u.abs()).ln_1p()
    }

    /// `value` plus one fresh draw.
    pub fn randomise(&self, value: f64, rng: &mut impl Rng) -> f64 {
        value + self.sample(rng)
    }

    /// Adds an independent draw to every value (per record).
    pub fn randomise_all(&self, values: &mut [f64], rng: &mut impl Rng) {
        values.iter_mut().for_each(|v| *v += self.sample(rng));
    }

    /// Its Rényi DP at order α > 1 (Mironov 2017, Prop. 6), with λ = 1/ε = b/Δ:
    /// `1/(α−1) · ln( α/(2α−1)·e^{(α−1)/λ} + (α−1)/(2α−1)·e^{−α/λ} )`.
    pub fn rdp(&self, alpha: f64) -> f64 {
        laplace_rdp(self.epsilon, alpha)
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
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gaussian {
    sigma: f64,
    sensitivity: f64,
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
        let sensitivity = positive("sensitivity", sensitivity)?;
        let alpha = analytic_alpha(epsilon, delta);
        Ok(Gaussian {
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
        let sensitivity = positive("sensitivity", sensitivity)?;
        Ok(Gaussian {
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
    pub fn guarantee(&self) -> (f64, f64) {
        (self.epsilon, self.delta)
    }

    /// σ/Δ, the noise multiplier.
    pub fn noise_multiplier(&self) -> f64 {
        self.sigma / self.sensitivity
    }

    /// One noise draw.
    pub fn sample(&self, rng: &mut impl Rng) -> f64 {
        let z: f64 = StandardNormal.sample(rng);
        self.sigma * z
    }

    /// `value` plus one fresh draw.
    pub fn randomise(&self, value: f64, rng: &mut impl Rng) -> f64 {
        value + self.sample(rng)
    }

    /// Its Rényi DP at order α: α·Δ²/(2σ²).
    pub fn rdp(&self, alpha: f64) -> f64 {
        alpha / (2.0 * self.noise_multiplier().powi(2))
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

/// The discrete Laplace (two-sided geometric) mechanism for integer queries: adds
/// G₁ − G₂ with Gᵢ ~ Geometric(1 − e^{−ε/Δ}); P(noise = k) ∝ e^{−ε|k|/Δ}. ε-DP for integer
/// queries of sensitivity Δ, with no floating-point leakage in the released value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiscreteLaplace {
    epsilon: f64,
    sensitivity: u64,
}

impl DiscreteLaplace {
    /// ε-DP integer noise for integer sensitivity Δ ≥ 1.
    pub fn new(epsilon: f64, sensitivity: u64) -> Result<Self> {
        if sensitivity == 0 {
            return Err(crate::DpError::InvalidParameter {
                param: "sensitivity",
                value: 0.0,
                reason: "must be finite and > 0".into(),
            });
        }
        Ok(DiscreteLaplace {
            epsilon: positive("epsilon", epsilon)?,
            sensitivity,
        })
    }

    /// ε.
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }

    /// The decay t = ε/Δ: P(k) ∝ e^{−t|k|}.
    pub fn decay(&self) -> f64 {
        self.epsilon / self.sensitivity as f64
    }

    fn geometric(&self, rng: &mut impl Rng) -> i64 {
        // Failures before the first success with success probability 1 − e^{−t}.
        let draw = (-open_unit(rng).ln() / self.decay()).floor();
        if draw >= i64::MAX as f64 {
            i64::MAX
        } else {
            draw as i64
        }
    }

    /// One noise draw.
    pub fn sample(&self, rng: &mut impl Rng) -> i64 {
        self.geometric(rng).saturating_sub(self.geometric(rng))
    }

    /// `value` plus one fresh draw.
    pub fn randomise(&self, value: i64, rng: &mut impl Rng) -> i64 {
        value.saturating_add(self.sample(rng))
    }
}
