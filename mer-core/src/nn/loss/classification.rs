//! Classification losses over class logits: cross-entropy, class-weighted cross-entropy, focal.

use burn::tensor::activation::log_softmax;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use super::terms::ClassificationLoss;

/// Per-class weights for weighted cross-entropy: `total / (classes × count)` (scikit-learn's
/// "balanced"); a class with no examples gets weight 0.
pub fn balanced_weights(counts: &[usize]) -> Vec<f32> {
    let total: usize = counts.iter().sum();
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                total as f32 / (counts.len() * c) as f32
            }
        })
        .collect()
}

/// The mean loss of `logits` [N, C] against `targets` [N]; `weights` [C] are used by weighted
/// cross-entropy (the weighted mean, as PyTorch's `CrossEntropyLoss(weight=...)`), `gamma` by
/// focal loss.
pub fn classification_loss<B: Backend>(
    (kind, gamma): (ClassificationLoss, f64),
    logits: Tensor<B, 2>,
    targets: Tensor<B, 1, Int>,
    weights: &Tensor<B, 1>,
) -> Tensor<B, 1> {
    let [n, _] = logits.dims();
    let log_probs = log_softmax(logits, 1);
    let target_log_prob = log_probs
        .gather(1, targets.clone().reshape([n, 1]))
        .reshape([n]);
    match kind {
        ClassificationLoss::Ce => target_log_prob.neg().mean(),
        ClassificationLoss::WeightedCe => {
            let w = weights.clone().select(0, targets);
            (target_log_prob.neg() * w.clone()).sum() / w.sum()
        }
        ClassificationLoss::Focal => {
            let p = target_log_prob.clone().exp();
            let modulator = (p.neg() + 1.0).powf_scalar(gamma);
            (modulator * target_log_prob).neg().mean()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::loss::DEFAULT_FOCAL_GAMMA;
    use burn::backend::NdArray;

    type B = NdArray<f32>;

    fn value(kind: ClassificationLoss, weights: [f32; 3]) -> f32 {
        let device = Default::default();
        let logits = Tensor::<B, 2>::from_floats([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]], &device);
        let targets = Tensor::<B, 1, Int>::from_ints([0, 1], &device);
        let weights = Tensor::<B, 1>::from_floats(weights, &device);
        classification_loss((kind, DEFAULT_FOCAL_GAMMA), logits, targets, &weights).into_scalar()
    }

    /// -log softmax by hand.
    fn nll(row: [f32; 3], target: usize) -> f32 {
        let z: f32 = row.iter().map(|x| x.exp()).sum();
        -(row[target].exp() / z).ln()
    }

    #[test]
    fn cross_entropy_is_the_mean_negative_log_likelihood() {
        let expected = (nll([2.0, 0.5, -1.0], 0) + nll([0.1, 0.2, 3.0], 1)) / 2.0;
        assert!((value(ClassificationLoss::Ce, [1.0; 3]) - expected).abs() < 1e-5);
    }

    #[test]
    fn weighted_cross_entropy_is_the_weighted_mean() {
        let (a, b) = (nll([2.0, 0.5, -1.0], 0), nll([0.1, 0.2, 3.0], 1));
        let expected = (1.0 * a + 3.0 * b) / 4.0;
        assert!((value(ClassificationLoss::WeightedCe, [1.0, 3.0, 7.0]) - expected).abs() < 1e-5);
        assert!(
            (value(ClassificationLoss::WeightedCe, [2.0; 3])
                - value(ClassificationLoss::Ce, [1.0; 3]))
            .abs()
                < 1e-5
        );
    }

    #[test]
    fn focal_loss_down_weights_easy_examples() {
        let focal = |row: [f32; 3], t: usize| {
            let p = (-nll(row, t)).exp();
            (1.0 - p).powi(2) * nll(row, t)
        };
        let expected = (focal([2.0, 0.5, -1.0], 0) + focal([0.1, 0.2, 3.0], 1)) / 2.0;
        assert!((value(ClassificationLoss::Focal, [1.0; 3]) - expected).abs() < 1e-5);
        assert!(
            value(ClassificationLoss::Focal, [1.0; 3]) < value(ClassificationLoss::Ce, [1.0; 3])
        );
    }

    #[test]
    fn balanced_weights_follow_inverse_frequency() {
        assert_eq!(balanced_weights(&[6, 3, 0]), vec![0.5, 1.0, 0.0]);
    }

    #[test]
    fn gradients_match_finite_differences_for_every_kind() {
        use crate::nn::loss::gradcheck::{self, AB, rows};
        let logits = [2.0, 0.5, -1.0, 0.1, 0.2, 3.0, -0.4, 1.1, 0.3];
        let targets = [0usize, 1, 2];
        let weights = [1.0, 3.0, 0.5];
        for kind in [
            ClassificationLoss::Ce,
            ClassificationLoss::WeightedCe,
            ClassificationLoss::Focal,
        ] {
            let reference = |x: &[f64]| {
                let (mut total, mut norm) = (0.0, 0.0);
                for (row, &t) in rows(x, 3).iter().zip(&targets) {
                    let p = gradcheck::softmax(row, 1.0)[t];
                    let (loss, w) = match kind {
                        ClassificationLoss::Ce => (-p.ln(), 1.0),
                        ClassificationLoss::WeightedCe => (-weights[t] * p.ln(), weights[t]),
                        ClassificationLoss::Focal => (-(1.0 - p).powi(2) * p.ln(), 1.0),
                    };
                    total += loss;
                    norm += w;
                }
                total / norm
            };
            gradcheck::check(
                |x| {
                    let device = Default::default();
                    let t = Tensor::<AB, 1, Int>::from_ints([0, 1, 2], &device);
                    let w = Tensor::<AB, 1>::from_floats([1.0, 3.0, 0.5], &device);
                    classification_loss((kind, 2.0), x, t, &w)
                },
                reference,
                &logits,
                [3, 3],
            );
        }
    }
}
