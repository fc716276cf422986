//! # websight-dp
//!
//! Differential privacy done right: noise per record with scale Δ/ε, budgets that refuse
//! what they cannot afford, and every ε computed from the parameters actually used.
//!
//! - Mechanisms: [`Laplace`] (scale Δ/ε), [`Gaussian`] (analytic calibration of Balle &
//!   Wang 2018, and the classic one), [`DiscreteLaplace`] for counts. Parameters are
//!   validated (ε > 0, Δ > 0, δ ∈ (0, 1), finite) with typed [`DpError`]s.
//! - [`PrivacyFilter`]: a budget with basic or Rényi composition; DP releases of dashboard
//!   aggregates (counts, sums, means, histograms) are charged before any noise is drawn, so
//!   nothing is released after a refusal.
//! - [`RdpAccountant`] and [`accountant`]: RDP of the Poisson-subsampled Gaussian with the
//!   (ε, δ) conversion opacus 1.6 uses — equal to opacus to 10⁻⁶ — and the inverse,
//!   [`noise_multiplier`](accountant::noise_multiplier).
//! - [`InputPerturbation`]: per-record Laplace noise on features before training.
//! - [`exact`]: samplers without floating-point leaks — Bernoulli(exp(−γ)), the discrete
//!   Laplace and discrete Gaussian of Canonne, Kamath & Steinke (2020) over exact rationals,
//!   and a grid-snapped Laplace for real values — behind one [`exact::Mechanism`] trait with
//!   a stated [`exact::Guarantee`] (ε, (ε, δ) or ρ-zCDP), noise from the OS generator.
//! - [`train_dp_sgd`]: DP-SGD for `websight-core`'s MLP (per-example clipping, Poisson
//!   sampling, Gaussian noise), reporting the ε of the σ, q and steps it used.
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
//! let sigma = accountant::noise_multiplier(1.0, 0.01, 2_000, 1e-5)?;
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
//! # Floating-point caveat
//!
//! Continuous noise sampled in floating point can leak through its low-order bits (Mironov
//! 2012). Counts and histograms therefore use the integer-valued [`DiscreteLaplace`]; the
//! samplers of [`exact`] avoid floating point altogether and are the ones to deploy.
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
