//! Noise without floating-point leaks: exact samplers over integers and rationals.
//!
//! Floating-point inverse-CDF sampling leaks the secret through the low bits of the noisy
//! value (Mironov 2012). These samplers draw only uniform integers and compare them — the
//! algorithms of Canonne, Kamath & Steinke, *The Discrete Gaussian for Differential Privacy*
//! (NeurIPS 2020): Bernoulli(exp(−γ)) for rational γ (their Algorithm 1), the discrete
//! Laplace (Algorithm 2) and the discrete Gaussian (Algorithm 3). Continuous values get
//! [`SnappedLaplace`]: the value rounded to a power-of-two grid and discrete Laplace noise on
//! that grid, so every output is exactly representable and reveals nothing but the grid.
//!
//! Each mechanism states the guarantee the code computes ([`Mechanism::guarantee`]).
//! Randomness comes from the operating system ([`os_rng`]); a seeded generator exists only
//! as [`seeded_for_tests`].
//!
//! ```
//! use websight_dp::exact::{DiscreteGaussian, DiscreteLaplace, Guarantee, Mechanism, Rational, os_rng};
//!
//! let mut rng = os_rng();
//! // Counts with sensitivity 1 at ε = 0.5: scale 2.
//! let laplace = DiscreteLaplace::new(Rational::new(2, 1)?, 1)?;
//! assert_eq!(laplace.guarantee(), Guarantee::Pure { epsilon: 0.5 });
//! let noisy: i64 = laplace.randomise(1_204, &mut rng);
//! # let _ = noisy;
//! // σ = 3 (σ² = 9): ρ = 1/(2·9)-zCDP for sensitivity 1.
//! let gauss = DiscreteGaussian::new(Rational::new(9, 1)?, 1)?;
//! assert_eq!(gauss.guarantee(), Guarantee::Zcdp { rho: 1.0 / 18.0 });
//! # Ok::<(), websight_dp::DpError>(())
//! ```

use num_bigint::{BigInt, BigUint, Sign};
use num_traits::{One, ToPrimitive, Zero};
use rand::RngCore;

use crate::{DpError, Result};

/// A non-negative rational number n/d held exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rational {
    n: BigUint,
    d: BigUint,
}

fn invalid(param: &'static str, value: f64, reason: &str) -> DpError {
    DpError::InvalidParameter {
        param,
        value,
        reason: reason.into(),
    }
}

impl Rational {
    /// n/d with d > 0.
    pub fn new(n: u64, d: u64) -> Result<Rational> {
        if d == 0 {
            return Err(invalid("denominator", 0.0, "must be > 0"));
        }
        Ok(Rational {
            n: n.into(),
            d: d.into(),
        })
    }

    /// The exact value of a finite, non-negative `f64` (a double is a dyadic rational).
    pub fn from_f64(x: f64) -> Result<Rational> {
        if !x.is_finite() || x < 0.0 {
            return Err(invalid("value", x, "must be finite and ≥ 0"));
        }
        if x == 0.0 {
            return Rational::new(0, 1);
        }
        let bits = x.to_bits();
        let exponent = ((bits >> 52) & 0x7ff) as i64;
        let fraction = bits & ((1u64 << 52) - 1);
        let (mantissa, exp) = if exponent == 0 {
            (fraction, -1074)
        } else {
            (fraction | (1u64 << 52), exponent - 1075)
        };
        let (n, d) = if exp >= 0 {
            (BigUint::from(mantissa) << exp as usize, BigUint::one())
        } else {
            (BigUint::from(mantissa), BigUint::one() << (-exp) as usize)
        };
        Ok(Rational { n, d })
    }

    /// A decimal number written out (`"2.5"`, `"1e-3"` is not accepted: digits and one
    /// point), exactly: 2.5 is 25/10, not the double nearest to it.
    pub fn parse_decimal(text: &str) -> Result<Rational> {
        let bad = || {
            invalid(
                "scale",
                f64::NAN,
                &format!("{text:?} is not a decimal number"),
            )
        };
        let (whole, frac) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
        if whole.is_empty() && frac.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let digits = format!("{whole}{frac}");
        let n = BigUint::parse_bytes(digits.as_bytes(), 10).ok_or_else(bad)?;
        let d = BigUint::from(10u32).pow(frac.len() as u32);
        Ok(Rational { n, d })
    }

    /// The value as the nearest `f64`.
    pub fn to_f64(&self) -> f64 {
        let (n, d) = (self.n.to_f64(), self.d.to_f64());
        match (n, d) {
            (Some(n), Some(d)) if n.is_finite() && d.is_finite() => n / d,
            _ => {
                // Scale both down to fit; the ratio is what matters.
                let shift = self.n.bits().max(self.d.bits()).saturating_sub(1000);
                let n = (&self.n >> shift).to_f64().unwrap_or(f64::MAX);
                let d = (&self.d >> shift).to_f64().unwrap_or(f64::MAX);
                n / d
            }
        }
    }

    fn is_zero(&self) -> bool {
        self.n.is_zero()
    }
}

/// A uniform integer in `[0, bound)` (bound > 0): rejection over the smallest power of two
/// above it, so no value is favoured.
fn uniform_below(bound: &BigUint, rng: &mut dyn RngCore) -> BigUint {
    let bits = bound.bits();
    let bytes = bits.div_ceil(8) as usize;
    let mut buf = vec![0u8; bytes.max(1)];
    loop {
        rng.fill_bytes(&mut buf);
        let excess = (bytes as u64 * 8).saturating_sub(bits);
        if let Some(top) = buf.last_mut() {
            *top &= 0xffu8 >> excess;
        }
        let x = BigUint::from_bytes_le(&buf);
        if &x < bound {
            return x;
        }
    }
}

/// Bernoulli(n/d), n ≤ d.
fn bernoulli(n: &BigUint, d: &BigUint, rng: &mut dyn RngCore) -> bool {
    &uniform_below(d, rng) < n
}

/// Bernoulli(exp(−γ)) for rational γ ≥ 0 (CKS20, Algorithm 1).
pub fn bernoulli_exp(gamma: &Rational, rng: &mut dyn RngCore) -> bool {
    if gamma.n <= gamma.d {
        // γ ≤ 1: the first K with A_K = 0, A_k ~ Bernoulli(γ/k); true when K is odd.
        let mut k = BigUint::one();
        loop {
            if !bernoulli(&gamma.n, &(&gamma.d * &k), rng) {
                return (&k % 2u32) == BigUint::one();
            }
            k += 1u32;
        }
    }
    // γ > 1: exp(−γ) = exp(−1)^⌊γ⌋ · exp(−(γ − ⌊γ⌋)).
    let whole = &gamma.n / &gamma.d;
    let one = Rational {
        n: BigUint::one(),
        d: BigUint::one(),
    };
    let mut i = BigUint::zero();
    while i < whole {
        if !bernoulli_exp(&one, rng) {
            return false;
        }
        i += 1u32;
    }
    let rest = Rational {
        n: &gamma.n - &whole * &gamma.d,
        d: gamma.d.clone(),
    };
    bernoulli_exp(&rest, rng)
}

/// One draw of the discrete Laplace with scale t/s, P(z) ∝ exp(−|z|·s/t) (CKS20, Algorithm 2).
fn discrete_laplace(scale: &Rational, rng: &mut dyn RngCore) -> BigInt {
    let (t, s) = (&scale.n, &scale.d);
    let one = Rational {
        n: BigUint::one(),
        d: BigUint::one(),
    };
    loop {
        let u = uniform_below(t, rng);
        let d = bernoulli_exp(
            &Rational {
                n: u.clone(),
                d: t.clone(),
            },
            rng,
        );
        if !d {
            continue;
        }
        let mut v = BigUint::zero();
        while bernoulli_exp(&one, rng) {
            v += 1u32;
        }
        let x = u + t * v;
        let y = x / s;
        let negative = bernoulli(&BigUint::one(), &BigUint::from(2u32), rng);
        if negative && y.is_zero() {
            continue;
        }
        let sign = if negative { Sign::Minus } else { Sign::Plus };
        return BigInt::from_biguint(sign, y);
    }
}

/// The integer, saturated to `i64` (noise that large has probability below 2⁻¹⁰⁰⁰ at any
/// sensible scale).
fn to_i64(x: &BigInt) -> i64 {
    x.to_i64().unwrap_or(if x.sign() == Sign::Minus {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// What a mechanism promises for neighbouring inputs, as the code computes it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Guarantee {
    /// ε-differential privacy.
    Pure {
        /// ε.
        epsilon: f64,
    },
    /// (ε, δ)-differential privacy.
    Approximate {
        /// ε.
        epsilon: f64,
        /// δ.
        delta: f64,
    },
    /// ρ-zero-concentrated differential privacy (Bun & Steinke 2016).
    Zcdp {
        /// ρ.
        rho: f64,
    },
}

impl Guarantee {
    /// ε of a pure or approximate guarantee; `None` for zCDP (see [`Guarantee::epsilon_at`]).
    pub fn epsilon(&self) -> Option<f64> {
        match *self {
            Guarantee::Pure { epsilon } | Guarantee::Approximate { epsilon, .. } => Some(epsilon),
            Guarantee::Zcdp { .. } => None,
        }
    }

    /// δ: 0 for pure DP and zCDP (whose δ is chosen at conversion).
    pub fn delta(&self) -> f64 {
        match *self {
            Guarantee::Approximate { delta, .. } => delta,
            _ => 0.0,
        }
    }

    /// The (ε, δ) it implies for a given δ: ε-DP is (ε, δ) for any δ; ρ-zCDP gives
    /// ε = ρ + 2√(ρ ln(1/δ)) (Bun & Steinke 2016, Proposition 1.3).
    pub fn epsilon_at(&self, delta: f64) -> Result<f64> {
        if !(delta > 0.0 && delta < 1.0) {
            return Err(invalid("delta", delta, "must be in (0, 1)"));
        }
        Ok(match *self {
            Guarantee::Pure { epsilon } => epsilon,
            Guarantee::Approximate { epsilon, delta: d } => {
                if delta < d {
                    return Err(invalid("delta", delta, "is below the mechanism's own δ"));
                }
                epsilon
            }
            Guarantee::Zcdp { rho } => rho + 2.0 * (rho * (1.0 / delta).ln()).sqrt(),
        })
    }
}

/// A randomised release of one value. Shared by the exact mechanisms.
pub trait Mechanism {
    /// What it releases (an integer count, a real number).
    type Value;
    /// Its privacy guarantee for the sensitivity it was built with.
    fn guarantee(&self) -> Guarantee;
    /// `value` with fresh noise.
    fn randomise(&self, value: Self::Value, rng: &mut dyn RngCore) -> Self::Value;
}

fn sensitivity(delta: u64) -> Result<u64> {
    if delta == 0 {
        return Err(invalid("sensitivity", 0.0, "must be ≥ 1"));
    }
    Ok(delta)
}

fn positive(param: &'static str, r: Rational) -> Result<Rational> {
    if r.is_zero() {
        return Err(invalid(param, 0.0, "must be > 0"));
    }
    Ok(r)
}

/// The discrete Laplace mechanism: integer noise with P(k) ∝ exp(−|k|/b), exactly. For an
/// integer query of sensitivity Δ it is (Δ/b)-DP.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscreteLaplace {
    scale: Rational,
    sensitivity: u64,
}

impl DiscreteLaplace {
    /// Scale b > 0 (exact), integer sensitivity Δ ≥ 1.
    pub fn new(scale: Rational, sensitivity: u64) -> Result<Self> {
        Ok(DiscreteLaplace {
            scale: positive("scale", scale)?,
            sensitivity: self::sensitivity(sensitivity)?,
        })
    }

    /// The scale b.
    pub fn scale(&self) -> &Rational {
        &self.scale
    }

    /// One noise draw.
    pub fn sample(&self, rng: &mut dyn RngCore) -> i64 {
        to_i64(&discrete_laplace(&self.scale, rng))
    }
}

impl Mechanism for DiscreteLaplace {
    type Value = i64;
    fn guarantee(&self) -> Guarantee {
        Guarantee::Pure {
            epsilon: self.sensitivity as f64 / self.scale.to_f64(),
        }
    }
    fn randomise(&self, value: i64, rng: &mut dyn RngCore) -> i64 {
        value.saturating_add(self.sample(rng))
    }
}

/// The discrete Gaussian mechanism: integer noise with P(k) ∝ exp(−k²/(2σ²)), exactly. For
/// an integer query of sensitivity Δ it is Δ²/(2σ²)-zCDP (CKS20, Theorem 4).
#[derive(Debug, Clone, PartialEq)]
pub struct DiscreteGaussian {
    sigma2: Rational,
    /// ⌊σ⌋ + 1, the scale of the discrete Laplace proposals.
    t: BigUint,
    sensitivity: u64,
}

impl DiscreteGaussian {
    /// Variance σ² > 0 (exact), integer sensitivity Δ ≥ 1.
    pub fn new(sigma2: Rational, sensitivity: u64) -> Result<Self> {
        let sigma2 = positive("sigma2", sigma2)?;
        // ⌊√(n/d)⌋: the largest k with k²·d ≤ n.
        let (n, d) = (&sigma2.n, &sigma2.d);
        let mut k = (n / d).sqrt();
        while (&k + 1u32).pow(2) * d <= *n {
            k += 1u32;
        }
        while &k * &k * d > *n {
            k -= 1u32;
        }
        Ok(DiscreteGaussian {
            t: k + 1u32,
            sigma2,
            sensitivity: self::sensitivity(sensitivity)?,
        })
    }

    /// σ given as itself (exactly its square is used): `from_sigma(Rational::parse_decimal("2.5")?)`.
    pub fn from_sigma(sigma: Rational, sensitivity: u64) -> Result<Self> {
        let sigma2 = Rational {
            n: &sigma.n * &sigma.n,
            d: &sigma.d * &sigma.d,
        };
        DiscreteGaussian::new(sigma2, sensitivity)
    }

    /// One noise draw (CKS20, Algorithm 3).
    pub fn sample(&self, rng: &mut dyn RngCore) -> i64 {
        let (n, d, t) = (&self.sigma2.n, &self.sigma2.d, &self.t);
        let proposal = Rational {
            n: t.clone(),
            d: BigUint::one(),
        };
        let denominator = d * t * t * 2u32 * n;
        loop {
            let y = discrete_laplace(&proposal, rng);
            // γ = (|y| − σ²/t)² / (2σ²) = (|y|·d·t − n)² / (2·n·d·t²).
            let diff = BigInt::from(y.magnitude() * d * t) - BigInt::from(n.clone());
            let gamma = Rational {
                n: diff.magnitude().pow(2),
                d: denominator.clone(),
            };
            if bernoulli_exp(&gamma, rng) {
                return to_i64(&y);
            }
        }
    }
}

impl Mechanism for DiscreteGaussian {
    type Value = i64;
    fn guarantee(&self) -> Guarantee {
        let s = self.sensitivity as f64;
        Guarantee::Zcdp {
            rho: s * s / (2.0 * self.sigma2.to_f64()),
        }
    }
    fn randomise(&self, value: i64, rng: &mut dyn RngCore) -> i64 {
        value.saturating_add(self.sample(rng))
    }
}

/// Laplace noise for real values without floating-point leaks: the value is rounded to a
/// grid of width g (a power of two) and discrete Laplace noise of scale b/g grid steps is
/// added, so the output is an exact multiple of g. Rounding can move neighbouring values
/// apart by up to g more, so the guarantee is ε = (Δ + g)/b.
#[derive(Debug, Clone, PartialEq)]
pub struct SnappedLaplace {
    scale: f64,
    sensitivity: f64,
    /// log₂ g.
    grid_exponent: i32,
    steps: DiscreteLaplace,
}

/// The largest power of two at most `x` (x > 0, finite), the smallest normal double for
/// anything below it.
pub(crate) fn grid_below(x: f64) -> f64 {
    2f64.powi((x.log2().floor() as i32).max(f64::MIN_EXP - 1))
}

/// `value / g` rounded to an integer (g a power of two, so the division is exact); NaN is 0
/// and values beyond ±2⁵² grid steps saturate there.
pub(crate) fn grid_steps(value: f64, g: f64) -> i64 {
    let steps = (value / g).round();
    if steps.is_nan() {
        0
    } else {
        steps.clamp(-(2f64.powi(52)), 2f64.powi(52)) as i64
    }
}

impl SnappedLaplace {
    /// The snapped Laplace that is exactly ε-DP for sensitivity Δ: grid g the largest power
    /// of two at most min(Δ, Δ/ε)/1024, scale b = (Δ + g)/ε — at most 1/1024 wider than
    /// Δ/ε.
    pub fn for_epsilon(epsilon: f64, sensitivity: f64) -> Result<Self> {
        if !(epsilon.is_finite() && epsilon > 0.0) {
            return Err(invalid("epsilon", epsilon, "must be finite and > 0"));
        }
        if !(sensitivity.is_finite() && sensitivity > 0.0) {
            return Err(invalid(
                "sensitivity",
                sensitivity,
                "must be finite and > 0",
            ));
        }
        let g = grid_below(sensitivity.min(sensitivity / epsilon) / 1024.0);
        // One ulp up so that rounding cannot push (Δ + g)/b above ε.
        let scale = ((sensitivity + g) / epsilon).next_up();
        SnappedLaplace::with_grid(scale, sensitivity, g.log2() as i32)
    }

    /// Scale b and sensitivity Δ (finite, > 0); the grid is the largest power of two at
    /// most b/1024 (noise resolution a thousandth of its scale).
    pub fn new(scale: f64, sensitivity: f64) -> Result<Self> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(invalid("scale", scale, "must be finite and > 0"));
        }
        if !(sensitivity.is_finite() && sensitivity > 0.0) {
            return Err(invalid(
                "sensitivity",
                sensitivity,
                "must be finite and > 0",
            ));
        }
        let grid_exponent = grid_below(scale / 1024.0).log2() as i32;
        SnappedLaplace::with_grid(scale, sensitivity, grid_exponent)
    }

    fn with_grid(scale: f64, sensitivity: f64, grid_exponent: i32) -> Result<Self> {
        let g = 2f64.powi(grid_exponent);
        // b/g exactly: b is a dyadic rational and g a power of two.
        let steps = Rational::from_f64(scale / g)?;
        Ok(SnappedLaplace {
            scale,
            sensitivity,
            grid_exponent,
            steps: DiscreteLaplace::new(steps, 1)?,
        })
    }

    /// The scale b.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The grid width g.
    pub fn granularity(&self) -> f64 {
        2f64.powi(self.grid_exponent)
    }

    /// One noise draw (a multiple of g).
    pub fn sample(&self, rng: &mut dyn RngCore) -> f64 {
        self.steps.sample(rng) as f64 * self.granularity()
    }
}

impl Mechanism for SnappedLaplace {
    type Value = f64;
    fn guarantee(&self) -> Guarantee {
        Guarantee::Pure {
            epsilon: (self.sensitivity + self.granularity()) / self.scale,
        }
    }
    fn randomise(&self, value: f64, rng: &mut dyn RngCore) -> f64 {
        let g = self.granularity();
        let steps = grid_steps(value, g);
        let noisy = steps.saturating_add(self.steps.sample(rng));
        noisy as f64 * g
    }
}

/// The default source of noise: a ChaCha20 stream keyed afresh from the operating system's
/// cryptographically secure generator (what `rand::thread_rng` does; the OS is asked once
/// per call, not once per draw). Nobody, the caller included, can regenerate its draws.
pub fn os_rng() -> rand_chacha::ChaCha20Rng {
    rand::SeedableRng::from_rng(rand::rngs::OsRng).expect("the operating system's generator")
}

/// A generator from a seed, **for tests only**: anyone with the seed can regenerate the
/// noise and subtract it.
pub fn seeded_for_tests(seed: u64) -> rand_chacha::ChaCha20Rng {
    rand::SeedableRng::seed_from_u64(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(n: u64, d: u64) -> Rational {
        Rational::new(n, d).unwrap()
    }

    #[test]
    fn rationals_are_exact() {
        assert_eq!(Rational::parse_decimal("2.5").unwrap(), r(25, 10));
        assert_eq!(Rational::parse_decimal("3").unwrap(), r(3, 1));
        assert!(Rational::parse_decimal("1e3").is_err());
        assert!(Rational::parse_decimal("-1").is_err());
        assert!(Rational::parse_decimal(".").is_err());
        let third = Rational::from_f64(1.0 / 3.0).unwrap();
        assert_eq!(third.to_f64(), 1.0 / 3.0);
        assert_eq!(Rational::from_f64(0.75).unwrap().to_f64(), 0.75);
        assert!(Rational::from_f64(f64::NAN).is_err());
    }

    #[test]
    fn bernoulli_exp_has_the_right_frequency() {
        let mut rng = seeded_for_tests(1);
        for (n, d) in [(1, 2), (1, 1), (5, 2), (0, 1)] {
            let gamma = r(n, d);
            let trials = 40_000;
            let hits = (0..trials)
                .filter(|_| bernoulli_exp(&gamma, &mut rng))
                .count() as f64;
            let p = (-(n as f64) / d as f64).exp();
            let sd = (p * (1.0 - p) / trials as f64).sqrt().max(1e-9);
            assert!(
                ((hits / trials as f64) - p).abs() < 5.0 * sd + 1e-9,
                "γ = {n}/{d}"
            );
        }
    }

    /// Empirical frequencies within 5 standard errors of the exact pmf.
    fn matches_pmf(samples: &[i64], pmf: impl Fn(i64) -> f64) {
        let n = samples.len() as f64;
        for k in -6..=6 {
            let p = pmf(k);
            let seen = samples.iter().filter(|&&x| x == k).count() as f64 / n;
            let sd = (p * (1.0 - p) / n).sqrt();
            assert!((seen - p).abs() < 5.0 * sd + 1e-4, "k = {k}: {seen} vs {p}");
        }
    }

    #[test]
    fn discrete_laplace_matches_its_pmf() {
        let mut rng = seeded_for_tests(2);
        let b = 1.5;
        let m = DiscreteLaplace::new(r(3, 2), 1).unwrap();
        let samples: Vec<i64> = (0..60_000).map(|_| m.sample(&mut rng)).collect();
        let q = (-1.0f64 / b).exp();
        matches_pmf(&samples, |k| {
            (1.0 - q) / (1.0 + q) * q.powi(k.unsigned_abs() as i32)
        });
        assert_eq!(m.guarantee(), Guarantee::Pure { epsilon: 1.0 / b });
    }

    #[test]
    fn discrete_gaussian_matches_its_pmf() {
        let mut rng = seeded_for_tests(3);
        let sigma2 = 2.25; // σ = 1.5
        let m = DiscreteGaussian::from_sigma(Rational::parse_decimal("1.5").unwrap(), 1).unwrap();
        assert_eq!(m.t, BigUint::from(2u32));
        let samples: Vec<i64> = (0..60_000).map(|_| m.sample(&mut rng)).collect();
        let weight = |k: i64| (-((k * k) as f64) / (2.0 * sigma2)).exp();
        let z: f64 = (-60..=60).map(weight).sum();
        matches_pmf(&samples, |k| weight(k) / z);
        let Guarantee::Zcdp { rho } = m.guarantee() else {
            panic!("zCDP")
        };
        assert!((rho - 1.0 / 4.5).abs() < 1e-12);
        let eps = m.guarantee().epsilon_at(1e-6).unwrap();
        assert!((eps - (rho + 2.0 * (rho * 1e6f64.ln()).sqrt())).abs() < 1e-12);
    }

    #[test]
    fn snapped_laplace_stays_on_its_grid() {
        let mut rng = seeded_for_tests(4);
        let m = SnappedLaplace::new(2.0, 1.0).unwrap();
        let g = m.granularity();
        assert_eq!(g, 2f64.powi(-9), "the largest power of two at most 2/1024");
        let outputs: Vec<f64> = (0..20_000)
            .map(|_| m.randomise(10.123456789, &mut rng))
            .collect();
        assert!(outputs.iter().all(|x| (x / g).fract() == 0.0));
        let mean = outputs.iter().sum::<f64>() / outputs.len() as f64;
        let var = outputs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / outputs.len() as f64;
        assert!((mean - 10.123456789).abs() < 0.1, "{mean}");
        assert!((var / 8.0 - 1.0).abs() < 0.1, "variance {var}, 2b² = 8");
        let Guarantee::Pure { epsilon } = m.guarantee() else {
            panic!("pure")
        };
        assert_eq!(epsilon, (1.0 + g) / 2.0);
    }

    #[test]
    fn parameters_are_checked() {
        assert!(DiscreteLaplace::new(r(0, 1), 1).is_err());
        assert!(DiscreteLaplace::new(r(1, 1), 0).is_err());
        assert!(DiscreteGaussian::new(r(0, 1), 1).is_err());
        assert!(SnappedLaplace::new(f64::INFINITY, 1.0).is_err());
        assert!(Guarantee::Pure { epsilon: 1.0 }.epsilon_at(0.0).is_err());
    }
}
