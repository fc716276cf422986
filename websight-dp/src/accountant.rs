//! Rényi DP accounting of the Poisson-subsampled Gaussian mechanism (DP-SGD), computed as
//! opacus 1.6 does: RDP by Mironov, Talwar & Zhang (2019, §3.3) and the RDP → (ε, δ)
//! conversion of Balle et al. (2020, Thm 21).

use std::collections::HashMap;

use rayon::prelude::*;

use crate::error::{check_range, positive};
use crate::normal::ln_erfc;
use crate::{DpError, Result};

/// opacus's default RDP orders: 1.1, 1.2, …, 10.9, then 12, 13, …, 63.
pub fn default_orders() -> Vec<f64> {
    (1..100)
        .map(|x| 1.0 + f64::from(x) / 10.0)
        .chain((12..64).map(f64::from))
        .collect()
}

/// ln(eˣ + eʸ).
fn log_add(x: f64, y: f64) -> f64 {
    let (lo, hi) = if x < y { (x, y) } else { (y, x) };
    if lo == f64::NEG_INFINITY {
        return hi;
    }
    (lo - hi).exp().ln_1p() + hi
}

/// ln(eˣ − eʸ) for x ≥ y (saturating to ln 0 when rounding makes it negative).
fn log_sub(x: f64, y: f64) -> f64 {
    if y == f64::NEG_INFINITY {
        return x;
    }
    if x <= y {
        return f64::NEG_INFINITY;
    }
    let d = (x - y).exp_m1();
    if d.is_infinite() { x } else { d.ln() + y }
}

/// ln A_α for integer α: ln Σᵢ C(α,i) qⁱ (1−q)^{α−i} e^{(i²−i)/(2σ²)}.
fn log_a_integer(q: f64, sigma: f64, alpha: u64) -> f64 {
    let (ln_q, ln_1q) = (q.ln(), (-q).ln_1p());
    let two_var = 2.0 * sigma * sigma;
    let mut ln_binom = 0.0;
    let mut acc = f64::NEG_INFINITY;
    for i in 0..=alpha {
        let fi = i as f64;
        let term = ln_binom + fi * ln_q + (alpha - i) as f64 * ln_1q + (fi * fi - fi) / two_var;
        acc = log_add(acc, term);
        ln_binom += ((alpha - i) as f64).ln() - (fi + 1.0).ln();
    }
    acc
}

/// ln A_α for fractional α: the two-sided series with erfc tails, summed until its terms
/// fall below e⁻³⁰.
fn log_a_fractional(q: f64, sigma: f64, alpha: f64) -> f64 {
    let (ln_q, ln_1q) = (q.ln(), (-q).ln_1p());
    let two_var = 2.0 * sigma * sigma;
    let z0 = sigma * sigma * (1.0 / q - 1.0).ln() + 0.5;
    let scale = std::f64::consts::SQRT_2 * sigma;
    let ln_half = 0.5f64.ln();
    let (mut a0, mut a1) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    let mut coef = 1.0f64; // C(α, i), computed as a running product
    let mut i = 0u64;
    loop {
        let fi = i as f64;
        let j = alpha - fi;
        let ln_coef = coef.abs().ln();
        let s0 = ln_coef
            + fi * ln_q
            + j * ln_1q
            + (fi * fi - fi) / two_var
            + ln_half
            + ln_erfc((fi - z0) / scale);
        let s1 = ln_coef
            + j * ln_q
            + fi * ln_1q
            + (j * j - j) / two_var
            + ln_half
            + ln_erfc((z0 - j) / scale);
        if coef > 0.0 {
            a0 = log_add(a0, s0);
            a1 = log_add(a1, s1);
        } else {
            a0 = log_sub(a0, s0);
            a1 = log_sub(a1, s1);
        }
        if s0.max(s1) < -30.0 || i > 100_000 {
            break;
        }
        coef *= (alpha - fi) / (fi + 1.0);
        i += 1;
    }
    log_add(a0, a1)
}

/// RDP at order α of one step of the Poisson-subsampled Gaussian mechanism with sampling
/// rate `q` and noise multiplier `sigma` (add/remove-one neighbouring).
pub fn subsampled_gaussian_rdp(q: f64, sigma: f64, alpha: f64) -> f64 {
    if q == 0.0 {
        0.0
    } else if sigma == 0.0 || alpha.is_infinite() {
        f64::INFINITY
    } else if q == 1.0 {
        alpha / (2.0 * sigma * sigma)
    } else if alpha.fract() == 0.0 {
        log_a_integer(q, sigma, alpha as u64) / (alpha - 1.0)
    } else {
        log_a_fractional(q, sigma, alpha) / (alpha - 1.0)
    }
}

/// The smallest ε over `orders` for a total RDP curve, and the order that attains it:
/// ε_α = rdp_α − (ln δ + ln α)/(α − 1) + ln((α − 1)/α). NaN entries are skipped; with no
/// finite entry ε is ∞.
pub fn rdp_to_epsilon(orders: &[f64], rdp: &[f64], delta: f64) -> (f64, f64) {
    let ln_delta = delta.ln();
    orders
        .iter()
        .zip(rdp)
        .map(|(&a, &r)| {
            (
                r - (ln_delta + a.ln()) / (a - 1.0) + ((a - 1.0) / a).ln(),
                a,
            )
        })
        .filter(|(e, _)| !e.is_nan())
        .fold((f64::INFINITY, f64::NAN), |best, cur| {
            if cur.0 < best.0 { cur } else { best }
        })
}

/// Tracks DP-SGD steps and reports the (ε, δ) they spent, like opacus's `RDPAccountant`.
///
/// ```
/// use websight_dp::RdpAccountant;
///
/// let mut accountant = RdpAccountant::new();
/// accountant.record(0.02, 1.0, 500)?; // q = 0.02, σ = 1, 500 steps
/// let (epsilon, order) = accountant.epsilon(1e-5)?;
/// assert!((epsilon - 3.14426).abs() < 1e-4 && order == 5.9); // opacus: 3.1442565
/// # Ok::<(), websight_dp::DpError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct RdpAccountant {
    /// (q, σ, steps), merged when consecutive entries share q and σ.
    history: Vec<(f64, f64, u64)>,
}

impl RdpAccountant {
    /// An accountant with nothing spent.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `steps` steps at sampling rate `q` with noise multiplier `sigma`.
    pub fn record(&mut self, q: f64, sigma: f64, steps: u64) -> Result<()> {
        check_range("sigma", sigma, 0.0, f64::INFINITY, true)?;
        check_range("q", q, 0.0, 1.0 + f64::EPSILON, true).map_err(|_| {
            DpError::InvalidParameter {
                param: "q",
                value: q,
                reason: "must lie in [0, 1]".into(),
            }
        })?;
        match self.history.last_mut() {
            Some((r, s, n)) if *r == q && *s == sigma => *n += steps,
            _ => self.history.push((q, sigma, steps)),
        }
        Ok(())
    }

    /// The recorded (q, σ, steps) entries.
    pub fn history(&self) -> &[(f64, f64, u64)] {
        &self.history
    }

    /// The total RDP curve at `orders`.
    pub fn rdp(&self, orders: &[f64]) -> Vec<f64> {
        let mut total = vec![0.0; orders.len()];
        for &(q, sigma, steps) in &self.history {
            for (t, r) in total.iter_mut().zip(step_curve(q, sigma, orders)) {
                *t += r * steps as f64;
            }
        }
        total
    }

    /// (ε, optimal order) at `delta` over [`default_orders`].
    pub fn epsilon(&self, delta: f64) -> Result<(f64, f64)> {
        self.epsilon_at(delta, &default_orders())
    }

    /// (ε, optimal order) at `delta` over the given orders (each > 1).
    pub fn epsilon_at(&self, delta: f64, orders: &[f64]) -> Result<(f64, f64)> {
        check_range("delta", delta, 0.0, 1.0, false)?;
        if let Some(&bad) = orders.iter().find(|&&a| a.is_nan() || a <= 1.0) {
            return Err(DpError::InvalidParameter {
                param: "orders",
                value: bad,
                reason: "RDP orders must be > 1".into(),
            });
        }
        Ok(rdp_to_epsilon(orders, &self.rdp(orders), delta))
    }
}

/// ε of `steps` steps with noise multiplier `sigma` and sampling rate `q` at `delta`, over
/// [`default_orders`]: (ε, optimal order).
pub fn epsilon(q: f64, sigma: f64, steps: u64, delta: f64) -> Result<(f64, f64)> {
    let mut accountant = RdpAccountant::new();
    accountant.record(q, sigma, steps)?;
    accountant.epsilon(delta)
}

/// One step's RDP curve at `orders`, computed in parallel over orders.
pub fn step_curve(q: f64, sigma: f64, orders: &[f64]) -> Vec<f64> {
    orders
        .par_iter()
        .map(|&a| subsampled_gaussian_rdp(q, sigma, a))
        .collect()
}

/// (ε, optimal order) for many `(q, sigma, steps, delta)` configurations over
/// [`default_orders`]. Configurations sharing (q, σ) share one curve (RDP scales linearly
/// with steps), and curves are computed in parallel.
pub fn epsilon_grid(configs: &[(f64, f64, u64, f64)]) -> Result<Vec<(f64, f64)>> {
    for &(q, sigma, _, delta) in configs {
        check_range("q", q, 0.0, 1.0 + f64::EPSILON, true)?;
        check_range("sigma", sigma, 0.0, f64::INFINITY, true)?;
        check_range("delta", delta, 0.0, 1.0, false)?;
    }
    let orders = default_orders();
    let mut keys: Vec<(u64, u64)> = configs
        .iter()
        .map(|&(q, s, _, _)| (q.to_bits(), s.to_bits()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let curves: HashMap<(u64, u64), Vec<f64>> = keys
        .par_iter()
        .map(|&(q, s)| {
            (
                (q, s),
                step_curve(f64::from_bits(q), f64::from_bits(s), &orders),
            )
        })
        .collect();
    Ok(configs
        .iter()
        .map(|&(q, s, steps, delta)| {
            let curve: Vec<f64> = curves[&(q.to_bits(), s.to_bits())]
                .iter()
                .map(|r| r * steps as f64)
                .collect();
            rdp_to_epsilon(&orders, &curve, delta)
        })
        .collect())
}

/// The smallest noise multiplier σ whose `steps` steps at sampling rate `q` spend at most
/// `target_epsilon` at `delta` (ε falls as σ grows; found by bisection to relative
/// precision 10⁻¹⁰, so ε(σ) ≤ target always holds).
pub fn noise_multiplier(target_epsilon: f64, q: f64, steps: u64, delta: f64) -> Result<f64> {
    positive("target_epsilon", target_epsilon)?;
    check_range("q", q, 0.0, 1.0 + f64::EPSILON, false).map_err(|_| DpError::InvalidParameter {
        param: "q",
        value: q,
        reason: "must lie in (0, 1]".into(),
    })?;
    let orders = default_orders();
    let eps_of = |sigma: f64| {
        let curve: Vec<f64> = step_curve(q, sigma, &orders)
            .into_iter()
            .map(|r| r * steps as f64)
            .collect();
        rdp_to_epsilon(&orders, &curve, delta).0
    };
    check_range("delta", delta, 0.0, 1.0, false)?;
    const MAX_SIGMA: f64 = 1e4;
    let (mut lo, mut hi) = (0.0, 1.0);
    while eps_of(hi) > target_epsilon {
        lo = hi;
        hi *= 2.0;
        if hi > MAX_SIGMA {
            return Err(DpError::Unreachable {
                target_epsilon,
                max_sigma: MAX_SIGMA,
            });
        }
    }
    while hi - lo > 1e-10 * hi {
        let mid = 0.5 * (lo + hi);
        if eps_of(mid) <= target_epsilon {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(hi)
}
