//! The offline half of the pipeline: purchase features of the visits split by person, models
//! with and without differential privacy, SHAP explanations of the forest, and similar
//! visitors. The label is an `Order Completed` in the visit; when the data cannot support
//! the models (too few visits or orders, or one class missing on a side of the split) the
//! stage says so and stops.

use std::time::Instant;

use crate::cli::say;
use ndarray::{Array1, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use websight::core::analytics::{ProductCatalogue, Visit};
use websight::core::features::{PurchaseData, VisitDigest, linked_persons};
use websight::core::learn::{Fit, MlpParams, PredictProba, RandomForestParams};
use websight::core::metrics::{BinaryMetrics, at_or_below_baseline};
use websight::dp::exact::os_rng;
use websight::dp::{Guarantee, Ledger, PurchaseModels, PurchaseModelsParams};
use websight::explain::{Explainer, TreeEnsemble, TreeShap};
use websight::lsh::SimilarUsersBuilder;
use websight::report::{ModelRow, Report, SessionExplanation, SimilarUsersRow};

type Error = Box<dyn std::error::Error>;

/// Fewest visits, and orders on each side of the split, the models are trained on.
const MIN_VISITS: usize = 200;
const MIN_ORDERS: usize = 10;

/// What the offline stage keeps of the stored visits as they stream past: a digest per
/// visit and one similarity signature per person — never the visits themselves.
pub struct Collected<'c> {
    digests: Vec<VisitDigest>,
    similar: Result<SimilarUsersBuilder<'c>, websight::lsh::LshError>,
}

impl<'c> Collected<'c> {
    pub fn new(catalogue: &'c ProductCatalogue) -> Self {
        Collected {
            digests: Vec::new(),
            similar: SimilarUsersBuilder::new(catalogue, 128, 0.5),
        }
    }

    /// Takes one stored visit.
    pub fn add(&mut self, visit: Visit) {
        self.digests.push(VisitDigest::of(&visit));
        if let Ok(builder) = &mut self.similar
            && let Err(e) = builder.add(&visit)
        {
            self.similar = Err(e);
        }
    }
}

pub fn run(
    report: &mut Report,
    collected: Collected<'_>,
    catalogue: &ProductCatalogue,
    seed: u64,
    ledger: Option<&Ledger>,
) -> Result<(), Error> {
    let started = Instant::now();
    // Labels of one person (before and after a login) are one similar visitor, as they are
    // one person to the models.
    let mut similar_users = collected.similar?;
    for (label, person) in linked_persons(&collected.digests) {
        similar_users.join(&label, &person)?;
    }
    let mut p = PurchaseData::from_digests(collected.digests, catalogue, 0.2, seed);
    let (train, test) = (p.data.rows(&p.train), p.data.rows(&p.test));
    // Both sides are copies: the whole matrix is not needed again.
    p.data.x = ndarray::Array2::zeros((0, p.data.x.ncols()));
    let labels: Vec<bool> = test.y.to_vec();
    let orders = |y: &ndarray::Array1<bool>| y.iter().filter(|b| **b).count();
    let (train_orders, test_orders) = (orders(&train.y), orders(&test.y));
    if p.visits.len() < MIN_VISITS
        || train_orders < MIN_ORDERS
        || test_orders < MIN_ORDERS / 2
        || train_orders == train.y.len()
        || test_orders == test.y.len()
    {
        let why = format!(
            "offline stage skipped: the data cannot support purchase models ({} visits, {train_orders} orders among {} training and {test_orders} among {} test visits; at least {MIN_VISITS} visits and {MIN_ORDERS} training orders are needed)",
            p.visits.len(),
            train.y.len(),
            test.y.len()
        );
        say!("\n{why}");
        report.subtitle.push_str(&format!(" — {why}"));
        return Ok(());
    }
    say!(
        "\nPurchase models ({} visits after deduplication; {} training / {} test rows split by person, {} features)",
        p.visits.len(),
        train.y.len(),
        test.y.len(),
        train.x.ncols()
    );
    let mut score = |name: &str, eps: Option<f64>, prob: Array1<f64>| -> Result<(), Error> {
        let m = BinaryMetrics::compute(prob.as_slice().expect("contiguous"), &labels)
            .ok_or("a class is missing from the test users: generate more sessions")?;
        let eps_text = eps.map_or("-".to_owned(), |e| format!("{e:.2}"));
        say!(
            "  {name:<24} ε {eps_text:>5}  ROC-AUC {:.3}  PR-AUC {:.3}  accuracy {:.3}",
            m.roc_auc,
            m.pr_auc,
            m.accuracy
        );
        report.models.push(ModelRow {
            model: name.to_owned(),
            dp_epsilon: eps,
            roc_auc: m.roc_auc,
            pr_auc: m.pr_auc,
            accuracy: m.accuracy,
            below_baseline: false,
        });
        Ok(())
    };

    // Half the features per tree: a tree being fitted holds a bootstrap copy and linfa's
    // sorted index of each of its features (~45 MB at 37,000 rows with all 57), and two
    // fit at once — this sets the stage's peak memory (default run: 183 MB, 199 MB with
    // every feature) and halves the time, at the same ROC-AUC.
    let forest_params = RandomForestParams::new()
        .trees(50)
        .max_depth(Some(8))
        .seed(seed)
        .max_features(Some(train.x.ncols().div_ceil(2)));
    let forest = forest_params.fit(train.x.view(), train.y.view())?;
    let forest_p = forest.predict_proba(test.x.view())?;
    score("random forest", None, forest_p.clone())?;
    // What labels without signal give: the forest on shuffled labels (shuffled from the
    // seed: no noise protects anything here, and a run should repeat). Fitted now, while
    // the stage holds least (its fit sets the peak), and scored last.
    let mut shuffled = train.y.to_vec();
    shuffled.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    let baseline_p = forest_params
        .fit(train.x.view(), Array1::from(shuffled).view())?
        .predict_proba(test.x.view())?;
    #[cfg(feature = "xgboost")]
    {
        let boosted = websight::core::learn::GradientBoostingParams::new()
            .rounds(100)
            .max_depth(6)
            .seed(seed)
            .fit(train.x.view(), train.y.view())?;
        score("XGBoost", None, boosted.predict_proba(test.x.view())?)?;
    }
    let mlp_params = MlpParams::new().seed(seed).max_epochs(40).patience(6);
    let mlp = mlp_params.fit(train.x.view(), train.y.view())?;
    score("neural network", None, mlp.predict_proba(test.x.view())?)?;
    // Private models (ε = 3 each, per person), charged to the ledger first when there is
    // one; noise from the operating system.
    let private = PurchaseModelsParams {
        columns: p.public_columns(),
        ranges: p
            .public_columns()
            .iter()
            .map(|&j| p.features.ranges()[j])
            .collect(),
        epsilon: 3.0,
        delta: 1e-5,
        forest_rows_per_person: 2,
    };
    let charged = match ledger {
        Some(ledger) => ledger
            .spend(
                "purchase models: DP-SGD and private forest, ε = 3 each",
                &[
                    Guarantee::Approximate {
                        epsilon: private.epsilon,
                        delta: private.delta,
                    },
                    Guarantee::Pure {
                        epsilon: private.epsilon,
                    },
                ],
            )
            .map(|_| ())
            .map_err(|e| e.to_string()),
        None => Ok(()),
    };
    match charged {
        Ok(()) => {
            let models = PurchaseModels::fit(
                &private,
                train.x.view(),
                train.y.view(),
                &p.train_persons(),
                &mut os_rng(),
            )?;
            for (name, guarantee, prob) in models.scores(test.x.view())? {
                // Named as the other rows are (the library's names are identifiers).
                let name = match name {
                    "mlp_dp_sgd" => "DP-SGD neural network",
                    "private_forest" => "private forest",
                    other => other,
                };
                score(name, guarantee.epsilon(), prob)?;
            }
        }
        Err(why) => say!("  private models not trained: {why}"),
    }
    score("shuffled-label baseline", None, baseline_p)?;
    let baseline_auc = report.models.last().map_or(0.5, |m| m.roc_auc);
    let rows = report.models.len();
    for m in &mut report.models[..rows - 1] {
        m.below_baseline = at_or_below_baseline(m.roc_auc, baseline_auc);
        if m.below_baseline {
            say!(
                "  ⚠ {} is at or below the shuffled-label baseline ({baseline_auc:.3}): it learned nothing",
                m.model
            );
        }
    }
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "models trained");

    // Why: exact Tree SHAP of the forest over the test rows.
    let started = Instant::now();
    let model = TreeEnsemble::from_forest(&forest)?;
    let shap = TreeShap::new(&model).explain(test.x.view())?;
    let names = &p.data.feature_names;
    report.importance = shap
        .global_importance(names)
        .into_iter()
        .take(12)
        .map(|i| (i.feature, i.mean_abs_shap))
        .collect();
    let mut likely: Vec<usize> = (0..forest_p.len()).collect();
    likely.sort_by(|&a, &b| forest_p[b].total_cmp(&forest_p[a]));
    say!("\nWhat drives purchases (mean |SHAP| of the forest's probability)");
    for (feature, value) in report.importance.iter().take(6) {
        say!("  {feature:<32} {value:.4}");
    }
    // The likeliest buyers among sessions that have not bought yet are the ones to act on;
    // fall back to any session.
    let candidates: Vec<usize> = likely
        .iter()
        .copied()
        .filter(|&i| !labels[i])
        .chain(likely.iter().copied())
        .take(3)
        .collect();
    for i in candidates {
        let why = shap.why(i, test.x.row(i), names, 5);
        say!("  visit {}: {why}", p.visits[p.test[i]].id);
        report.explanations.push(SessionExplanation {
            session: p.visits[p.test[i]].id.clone(),
            probability: why.output,
            average: why.expected_value,
            contributions: why
                .contributions
                .into_iter()
                .map(|c| (c.feature, c.value, c.shap))
                .collect(),
        });
    }
    tracing::info!(
        rows = test.x.len_of(Axis(0)),
        seconds = started.elapsed().as_secs_f64(),
        additivity = shap.additivity_error(),
        "SHAP values computed"
    );

    // Similar visitors by what they browsed.
    let started = Instant::now();
    let similar = similar_users.finish()?;
    let mut seen = std::collections::HashSet::new();
    say!("\nSimilar visitors (MinHash LSH, estimated Jaccard)");
    for visit in &p.visits {
        if report.similar_users.len() == 5 {
            break;
        }
        let user = &visit.person;
        if !seen.insert(user.clone()) {
            continue;
        }
        let found = similar.similar_to(user, 3)?;
        if found.is_empty() {
            continue;
        }
        let row = SimilarUsersRow {
            user: user.to_string(),
            similar: found.iter().map(|(u, j)| (u.to_string(), *j)).collect(),
        };
        let list: Vec<String> = row
            .similar
            .iter()
            .map(|(u, j)| format!("{u} ({j:.2})"))
            .collect();
        say!("  {} ~ {}", row.user, list.join(", "));
        report.similar_users.push(row);
    }
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "similar users indexed"
    );
    Ok(())
}
