//! # websight-dp
//!
//! Differential privacy a shop can deploy: private per **person**, noise drawn exactly and
//! from the operating system, and one persisted budget for dashboards and models.
//!
//! - [`exact`]: samplers without floating-point leaks — Bernoulli(exp(−γ)), the discrete
//!   Laplace and discrete Gaussian of Canonne, Kamath & Steinke (2020) over exact rationals,
//!   and a grid-snapped Laplace for real values — behind one [`Mechanism`] trait with a
//!   stated [`Guarantee`] (ε, (ε, δ) or ρ-zCDP); noise from [`exact::os_rng`], a seed only
//!   through [`exact::seeded_for_tests`].
//! - Calibrated mechanisms drawing from them: [`Laplace`] (scale Δ/ε), [`Gaussian`]
//!   (analytic calibration of Balle & Wang 2018, and the classic one), [`DiscreteLaplace`]
//!   for counts. Parameters are validated with typed [`DpError`]s.
//! - [`contribution`]: at most k rows per person, the basis of every person-level release.
//! - [`train_dp_sgd`]: DP-SGD sampling persons, clipping each person's rows together, with a
//!   DP base rate for the output bias and [`DpSgdParams::recipe`] for a data size; ε from
//!   the σ, the person-level q and the steps actually used.
//! - [`PrivateForest`]: random trees on public feature ranges with noisy leaf counts; with
//!   DP-SGD in [`PurchaseModels`].
//! - [`Ledger`]: every release and training run in one JSON file with its guarantee,
//!   refusing what would exceed the budget, safe across restarts and processes.
//! - [`dashboard`]: visitors, visits, orders and revenue per day and per channel, bounded
//!   per person while the stream runs, released with 95 % error bars.
//! - [`PrivacyFilter`]: an in-memory budget with basic or Rényi composition for one
//!   process's releases; [`RdpAccountant`] and [`accountant`]: opacus 1.6's RDP accounting
//!   of the Poisson-subsampled Gaussian and its inverse
//!   ([`noise_multiplier`](accountant::noise_multiplier)), arguments always in the order
//!   `(q, sigma, steps, delta)`.
//!
//! ```
//! use websight_dp::{accountant, Composition, PrivacyFilter};
//! use websight_dp::exact::os_rng;
//!
//! // How private is DP-SGD with σ = 1.1, batches of 1% of the data, 2,000 steps?
//! let (epsilon, _order) = accountant::epsilon(0.01, 1.1, 2_000, 1e-5)?;
//! assert!(epsilon > 1.0 && epsilon < 3.0);
//!
//! // Which σ keeps 2,000 steps within ε = 1?
//! let sigma = accountant::noise_multiplier(1.0, 0.01, 2_000, 1e-5)?; // ε, q, steps, δ
//! assert!(accountant::epsilon(0.01, sigma, 2_000, 1e-5)?.0 <= 1.0);
//!
//! // A dashboard with a budget of ε = 1 (a few pure-DP releases: basic composition is
//! // tightest; many Gaussian or DP-SGD releases gain from Composition::Renyi).
//! let mut rng = os_rng();
//! let mut filter = PrivacyFilter::new(1.0, 1e-6, Composition::Basic)?;
//! let revenue = filter.release_sum(&[5000.0, 899.0, 650.0], (0.0, 10_000.0), 0.5, &mut rng)?;
//! let orders = filter.release_count(3, 0.4, &mut rng)?;
//! assert!(filter.spent().epsilon().unwrap() <= 1.0);
//! # let _ = (revenue, orders);
//! # Ok::<(), websight_dp::DpError>(())
//! ```
//!
//! # Feature flags
//!
//! None.
//!
//! # Floating point
//!
//! Continuous noise sampled in floating point leaks through its low-order bits (Mironov
//! 2012): every release here draws from [`exact`] instead. DP-SGD's Gaussian noise is the
//! exception — drawn in floating point from the OS-keyed generator, its output is a model
//! after many noisy steps, not a noisy value.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod accountant;
mod budget;
pub mod contribution;
pub mod dashboard;
pub mod dpsgd;
mod error;
pub mod exact;
mod forest;
mod ledger;
mod mechanisms;
mod normal;
mod perturb;
mod purchase;
mod releases;

pub use accountant::RdpAccountant;
pub use budget::{Composition, Cost, PrivacyFilter};
pub use dpsgd::{DpSgdParams, Noise, PrivacyReport, PrivateModel, train_dp_sgd};
pub use error::{DpError, Result};
pub use exact::{Guarantee, Mechanism};
pub use forest::{PrivateForest, PrivateForestParams};
pub use ledger::{Entry, Ledger};
pub use mechanisms::{DiscreteLaplace, Gaussian, Laplace};
pub use normal::{ln_erfc, normal_cdf};
pub use perturb::InputPerturbation;
pub use purchase::{PurchaseModels, PurchaseModelsParams};
