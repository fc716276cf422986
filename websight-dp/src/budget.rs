//! A privacy filter: tracks the (ε, δ) spent by releases and refuses any release that would
//! exceed the budget — before anything is released.

use crate::accountant::{default_orders, rdp_to_epsilon, subsampled_gaussian_rdp};
use crate::error::{check_range, positive};
use crate::exact::Guarantee;
use crate::mechanisms::{Gaussian, Laplace, laplace_rdp};
use crate::{DpError, Result};

/// A mechanism's Rényi DP curve, where one is known.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Curve {
    /// Laplace noise calibrated to ε (exact curve).
    Laplace { epsilon: f64 },
    /// Any other pure ε-DP mechanism: min(ε, α·ε²/2) (Bun & Steinke 2016).
    Pure { epsilon: f64 },
    /// Gaussian noise with multiplier σ/Δ: α/(2z²).
    Gaussian { multiplier: f64 },
    /// `steps` Poisson-subsampled Gaussian steps.
    SubsampledGaussian { q: f64, multiplier: f64, steps: u64 },
}

impl Curve {
    fn at(&self, alpha: f64) -> f64 {
        match *self {
            Curve::Laplace { epsilon } => laplace_rdp(epsilon, alpha),
            Curve::Pure { epsilon } => epsilon.min(alpha * epsilon * epsilon / 2.0),
            Curve::Gaussian { multiplier } => alpha / (2.0 * multiplier * multiplier),
            Curve::SubsampledGaussian {
                q,
                multiplier,
                steps,
            } => subsampled_gaussian_rdp(q, multiplier, alpha) * steps as f64,
        }
    }
}

/// Pure when δ = 0.
fn guarantee(epsilon: f64, delta: f64) -> Guarantee {
    if delta == 0.0 {
        Guarantee::Pure { epsilon }
    } else {
        Guarantee::Approximate { epsilon, delta }
    }
}

/// What one release costs: its (ε, δ) guarantee and, where known, its RDP curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cost {
    epsilon: f64,
    delta: f64,
    curve: Option<Curve>,
}

impl Cost {
    /// A Laplace release.
    pub fn laplace(mechanism: &Laplace) -> Self {
        let epsilon = mechanism.epsilon();
        Cost {
            epsilon,
            delta: 0.0,
            curve: Some(Curve::Laplace { epsilon }),
        }
    }

    /// Any pure ε-DP release (e.g. discrete Laplace).
    pub fn pure(epsilon: f64) -> Result<Self> {
        let epsilon = positive("epsilon", epsilon)?;
        Ok(Cost {
            epsilon,
            delta: 0.0,
            curve: Some(Curve::Pure { epsilon }),
        })
    }

    /// An (ε, δ)-DP release with no finer description (composed basically in both modes).
    pub fn approximate(epsilon: f64, delta: f64) -> Result<Self> {
        Ok(Cost {
            epsilon: positive("epsilon", epsilon)?,
            delta: check_range("delta", delta, 0.0, 1.0, true)?,
            curve: None,
        })
    }

    /// A Gaussian release: its calibrated (ε, δ), and the curve α/(2z²).
    pub fn gaussian(mechanism: &Gaussian) -> Self {
        let g = mechanism.guarantee();
        let (epsilon, delta) = (g.epsilon().unwrap_or(f64::INFINITY), g.delta());
        Cost {
            epsilon,
            delta,
            curve: Some(Curve::Gaussian {
                multiplier: mechanism.noise_multiplier(),
            }),
        }
    }

    /// `steps` DP-SGD steps (sampling rate `q`, noise multiplier `sigma`); under basic
    /// composition they count as their ε at `delta`.
    pub fn dp_sgd(q: f64, sigma: f64, steps: u64, delta: f64) -> Result<Self> {
        let (epsilon, _) = crate::accountant::epsilon(q, sigma, steps, delta)?;
        Ok(Cost {
            epsilon,
            delta,
            curve: Some(Curve::SubsampledGaussian {
                q,
                multiplier: sigma,
                steps,
            }),
        })
    }

    /// The guarantee of this release alone.
    pub fn guarantee(&self) -> Guarantee {
        guarantee(self.epsilon, self.delta)
    }
}

/// How a [`PrivacyFilter`] composes releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Composition {
    /// ε and δ add up (valid under adaptive choice of releases).
    Basic,
    /// RDP curves add up and convert to (ε, δ) at the budget's δ (a Rényi filter, Feldman
    /// & Zrnic 2021); releases without a curve are added basically on top. Much tighter for
    /// many Gaussian or DP-SGD releases; looser for a handful of pure-DP ones (one Laplace
    /// release of ε = 0.5 converts to ε ≈ 0.63 at δ = 10⁻⁶), where `Basic` is better.
    Renyi,
}

/// A privacy budget that refuses releases beyond it.
///
/// ```
/// use websight_dp::{Composition, PrivacyFilter};
/// use websight_dp::exact::os_rng;
///
/// let mut rng = os_rng();
/// let mut filter = PrivacyFilter::new(1.0, 1e-6, Composition::Basic)?;
/// let visitors = filter.release_count(1_234, 0.5, &mut rng)?;
/// let purchases = filter.release_count(87, 0.5, &mut rng)?;
/// assert!(filter.release_count(5, 0.1, &mut rng).is_err()); // budget used up
/// assert_eq!(filter.spent().epsilon(), Some(1.0));
/// # let _ = (visitors, purchases);
/// # Ok::<(), websight_dp::DpError>(())
/// ```
#[derive(Debug, Clone)]
pub struct PrivacyFilter {
    budget: (f64, f64),
    composition: Composition,
    orders: Vec<f64>,
    /// Sum of RDP curves (Rényi) at `orders`.
    rdp: Vec<f64>,
    /// Basic-composition part: everything under `Basic`, curve-less costs under `Renyi`.
    basic: (f64, f64),
    releases: usize,
}

impl PrivacyFilter {
    /// A filter with budget (ε, δ); δ may be 0 for pure-DP budgets under basic composition.
    pub fn new(epsilon: f64, delta: f64, composition: Composition) -> Result<Self> {
        let epsilon = positive("epsilon", epsilon)?;
        let delta = check_range("delta", delta, 0.0, 1.0, true)?;
        if composition == Composition::Renyi && delta == 0.0 {
            return Err(DpError::InvalidParameter {
                param: "delta",
                value: delta,
                reason: "Rényi composition converts to (ε, δ) with δ > 0".into(),
            });
        }
        let orders = default_orders();
        Ok(PrivacyFilter {
            budget: (epsilon, delta),
            rdp: vec![0.0; orders.len()],
            orders,
            composition,
            basic: (0.0, 0.0),
            releases: 0,
        })
    }

    /// What has been spent so far, as this filter's composition rule bounds it.
    pub fn spent(&self) -> Guarantee {
        let (epsilon, delta) = self
            .total(&self.rdp, self.basic)
            .unwrap_or((f64::INFINITY, self.budget.1));
        guarantee(epsilon, delta)
    }

    /// The budget.
    pub fn budget(&self) -> Guarantee {
        guarantee(self.budget.0, self.budget.1)
    }

    /// Releases charged so far.
    pub fn releases(&self) -> usize {
        self.releases
    }

    /// Total (ε, δ) for an RDP sum and a basic part; `None` when no δ is left to convert.
    fn total(&self, rdp: &[f64], basic: (f64, f64)) -> Option<(f64, f64)> {
        match self.composition {
            Composition::Basic => Some(basic),
            Composition::Renyi => {
                if rdp.iter().all(|&r| r == 0.0) {
                    return Some(basic);
                }
                let delta_left = self.budget.1 - basic.1;
                if delta_left <= 0.0 {
                    return None;
                }
                let (eps, _) = rdp_to_epsilon(&self.orders, rdp, delta_left);
                Some((eps + basic.0, self.budget.1))
            }
        }
    }

    /// Charges `cost` if it fits the budget; otherwise changes nothing and fails.
    pub fn charge(&mut self, cost: &Cost) -> Result<()> {
        let mut rdp = self.rdp.clone();
        let mut basic = self.basic;
        match (self.composition, cost.curve) {
            (Composition::Renyi, Some(curve)) => {
                rdp.iter_mut()
                    .zip(&self.orders)
                    .for_each(|(r, &a)| *r += curve.at(a));
            }
            _ => {
                basic.0 += cost.epsilon;
                basic.1 += cost.delta;
            }
        }
        let fits = self.total(&rdp, basic).is_some_and(|(e, d)| {
            e <= self.budget.0 * (1.0 + 1e-12) && d <= self.budget.1 * (1.0 + 1e-12)
        });
        if !fits {
            return Err(DpError::BudgetExceeded {
                requested_epsilon: cost.epsilon,
                requested_delta: cost.delta,
                budget_epsilon: self.budget.0,
                budget_delta: self.budget.1,
                spent_epsilon: self.spent().epsilon().unwrap_or(f64::INFINITY),
            });
        }
        self.rdp = rdp;
        self.basic = basic;
        self.releases += 1;
        Ok(())
    }
}
