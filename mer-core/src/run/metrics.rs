//! Classification metrics as scikit-learn computes them (zero division counts as 0), in percent.

use serde::{Deserialize, Serialize};

/// One class's scores, in percent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Gold utterances of this class.
    pub support: usize,
}

/// Scores of a set of predictions, in percent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub accuracy: f64,
    /// F1 averaged over classes, weighted by support: the figure MERC papers report.
    pub weighted_f1: f64,
    /// F1 averaged over the classes present in gold or predicted labels.
    pub macro_f1: f64,
    pub weighted_precision: f64,
    pub weighted_recall: f64,
    pub per_class: Vec<ClassScores>,
    /// `confusion[gold][predicted]`.
    pub confusion: Vec<Vec<usize>>,
}

impl Metrics {
    /// Scores `predicted` against `gold`; labels are class indices below `num_classes`.
    ///
    /// # Panics
    /// If the two slices differ in length or a label is out of range: both are programming
    /// errors, not data errors.
    pub fn compute(gold: &[usize], predicted: &[usize], num_classes: usize) -> Self {
        assert_eq!(gold.len(), predicted.len(), "one prediction per gold label");
        let mut confusion = vec![vec![0usize; num_classes]; num_classes];
        for (&g, &p) in gold.iter().zip(predicted) {
            assert!(g < num_classes && p < num_classes, "label out of range");
            confusion[g][p] += 1;
        }
        let total = gold.len();
        let ratio = |num: usize, den: usize| {
            if den == 0 {
                0.0
            } else {
                num as f64 / den as f64
            }
        };

        let per_class: Vec<ClassScores> = (0..num_classes)
            .map(|c| {
                let tp = confusion[c][c];
                let support: usize = confusion[c].iter().sum();
                let predicted_c: usize = confusion.iter().map(|row| row[c]).sum();
                let precision = ratio(tp, predicted_c);
                let recall = ratio(tp, support);
                let f1 = ratio(2 * tp, support + predicted_c);
                ClassScores {
                    precision: 100.0 * precision,
                    recall: 100.0 * recall,
                    f1: 100.0 * f1,
                    support,
                }
            })
            .collect();

        let weighted = |score: fn(&ClassScores) -> f64| {
            if total == 0 {
                return 0.0;
            }
            per_class
                .iter()
                .map(|c| score(c) * c.support as f64)
                .sum::<f64>()
                / total as f64
        };
        let present: Vec<&ClassScores> = per_class
            .iter()
            .enumerate()
            .filter(|(c, scores)| scores.support > 0 || confusion.iter().any(|row| row[*c] > 0))
            .map(|(_, scores)| scores)
            .collect();
        let macro_f1 = if present.is_empty() {
            0.0
        } else {
            present.iter().map(|c| c.f1).sum::<f64>() / present.len() as f64
        };
        let correct: usize = (0..num_classes).map(|c| confusion[c][c]).sum();
        Metrics {
            accuracy: 100.0 * ratio(correct, total),
            weighted_f1: weighted(|c| c.f1),
            macro_f1,
            weighted_precision: weighted(|c| c.precision),
            weighted_recall: weighted(|c| c.recall),
            per_class,
            confusion,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-3
    }

    /// The figures scikit-learn gives for these labels (`zero_division=0`).
    #[test]
    fn matches_scikit_learn() {
        let gold = [0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 4, 5, 6, 6, 0, 1];
        let predicted = [0, 1, 0, 1, 2, 2, 2, 0, 2, 3, 0, 5, 6, 1, 0, 1];
        let m = Metrics::compute(&gold, &predicted, 7);
        assert!(close(m.accuracy, 68.75), "{}", m.accuracy);
        assert!(close(m.weighted_f1, 66.9643), "{}", m.weighted_f1);
        assert!(close(m.macro_f1, 66.4966), "{}", m.macro_f1);
        assert!(
            close(m.weighted_precision, 68.125),
            "{}",
            m.weighted_precision
        );
        // Class 4 is never predicted correctly: precision 0 by the zero-division rule.
        assert_eq!(m.per_class[4].precision, 0.0);
        assert_eq!(m.per_class[4].support, 1);
        // Gold labels are rows.
        assert_eq!(m.confusion[0], vec![3, 1, 0, 0, 0, 0, 0]);
        assert_eq!(m.confusion[4], vec![1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(m.confusion.iter().flatten().sum::<usize>(), gold.len());
    }

    #[test]
    fn classes_absent_everywhere_stay_out_of_the_macro_average() {
        let m = Metrics::compute(&[0, 1, 1], &[0, 1, 0], 7);
        // Classes 0 and 1 only: f1 of 0 is 2/3, of 1 is 2/3.
        assert!(close(m.macro_f1, 66.6667), "{}", m.macro_f1);
    }

    #[test]
    fn empty_input_scores_zero() {
        let m = Metrics::compute(&[], &[], 3);
        assert_eq!(m.accuracy, 0.0);
        assert_eq!(m.weighted_f1, 0.0);
    }
}
