//! Evaluation metrics shared by the generator's self-checks and the model crates.

/// Area under the ROC curve of `scores` against binary `labels`, with ties counted half
/// (the Mann–Whitney statistic). `None` when a class is absent or the lengths differ.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.len() != labels.len() || scores.iter().any(|s| s.is_nan()) {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let positives = labels.iter().filter(|&&l| l).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    // Sum of the (tie-averaged, 1-based) ranks of the positives.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += mean_rank * order[i..=j].iter().filter(|&&k| labels[k]).count() as f64;
        i = j + 1;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

/// Area under the precision-recall curve as average precision (scikit-learn's
/// `average_precision_score`: Σ (Rₙ − Rₙ₋₁)·Pₙ over distinct score thresholds, highest
/// first). `None` without positives or with mismatched lengths.
pub fn pr_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.len() != labels.len() || scores.iter().any(|s| s.is_nan()) {
        return None;
    }
    let positives = labels.iter().filter(|&&l| l).count() as f64;
    if positives == 0.0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp, mut previous_recall, mut ap) = (0.0, 0.0, 0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            if labels[order[j]] {
                tp += 1.0
            } else {
                fp += 1.0
            }
            j += 1;
        }
        let recall = tp / positives;
        ap += (recall - previous_recall) * tp / (tp + fp);
        previous_recall = recall;
        i = j;
    }
    Some(ap)
}

/// Threshold metrics of binary predictions.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BinaryMetrics {
    /// Share correct.
    pub accuracy: f64,
    /// TP / (TP + FP) (0 when nothing is predicted positive).
    pub precision: f64,
    /// TP / (TP + FN).
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// ROC-AUC of the scores.
    pub roc_auc: f64,
    /// Average precision of the scores.
    pub pr_auc: f64,
    /// Mean squared error of the probabilities.
    pub brier: f64,
    /// [[TN, FP], [FN, TP]].
    pub confusion: [[u64; 2]; 2],
}

impl BinaryMetrics {
    /// Metrics of probabilities `scores` against `labels` at threshold ½; `None` when a class
    /// is missing or lengths differ.
    pub fn compute(scores: &[f64], labels: &[bool]) -> Option<BinaryMetrics> {
        let roc_auc = roc_auc(scores, labels)?;
        let pr_auc = pr_auc(scores, labels)?;
        let mut c = [[0u64; 2]; 2];
        for (&s, &l) in scores.iter().zip(labels) {
            c[usize::from(l)][usize::from(s >= 0.5)] += 1;
        }
        let [[tn, fp], [fn_, tp]] = c.map(|r| r.map(|v| v as f64));
        let ratio = |a: f64, b: f64| if b == 0.0 { 0.0 } else { a / b };
        let (precision, recall) = (ratio(tp, tp + fp), ratio(tp, tp + fn_));
        Some(BinaryMetrics {
            accuracy: (tp + tn) / scores.len() as f64,
            precision,
            recall,
            f1: ratio(2.0 * precision * recall, precision + recall),
            roc_auc,
            pr_auc,
            brier: scores
                .iter()
                .zip(labels)
                .map(|(s, &l)| (s - f64::from(u8::from(l))).powi(2))
                .sum::<f64>()
                / scores.len() as f64,
            confusion: c,
        })
    }
}

/// Whether a model's ROC-AUC is at or below what labels carry no signal give: the larger of
/// chance (½) and a shuffled-label baseline's. Such a model has learned nothing usable.
///
/// ```
/// assert!(websight_core::metrics::at_or_below_baseline(0.52, 0.55));
/// assert!(websight_core::metrics::at_or_below_baseline(0.48, 0.41));
/// assert!(!websight_core::metrics::at_or_below_baseline(0.81, 0.55));
/// ```
pub fn at_or_below_baseline(roc_auc: f64, baseline_roc_auc: f64) -> bool {
    // NaN (an undefined AUC) counts as learning nothing.
    roc_auc.partial_cmp(&baseline_roc_auc.max(0.5)) != Some(std::cmp::Ordering::Greater)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_known_cases() {
        assert_eq!(
            roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
            Some(0.75)
        );
        assert_eq!(roc_auc(&[1.0, 2.0], &[false, true]), Some(1.0));
        assert_eq!(roc_auc(&[0.5, 0.5], &[false, true]), Some(0.5));
        assert_eq!(roc_auc(&[0.5, 0.5], &[true, true]), None);
        assert_eq!(roc_auc(&[0.5], &[true, false]), None);
    }

    #[test]
    fn average_precision_and_threshold_metrics_of_known_cases() {
        // scikit-learn: average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.8333…
        let ap = pr_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap();
        assert!((ap - 0.833_333_333_333_333_4).abs() < 1e-12);
        let m = BinaryMetrics::compute(&[0.9, 0.2, 0.6, 0.4], &[true, false, false, true]).unwrap();
        assert_eq!(m.confusion, [[1, 1], [1, 1]]);
        assert_eq!(
            (m.accuracy, m.precision, m.recall, m.f1),
            (0.5, 0.5, 0.5, 0.5)
        );
        assert!((m.brier - (0.01 + 0.04 + 0.36 + 0.36) / 4.0).abs() < 1e-12);
    }
}
