//! Similarity of feature rows, as the distillation, reconstruction and contrastive losses
//! measure it.

use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

/// Each row divided by its length, the length clamped to `eps` (PyTorch's `normalize` and
/// `cosine_similarity` clamp the same way).
///
/// # Shapes
/// `x` [N, D] → [N, D].
pub fn unit_rows<B: Backend>(x: Tensor<B, 2>, eps: f64) -> Tensor<B, 2> {
    let norm = x.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(eps);
    x / norm
}

/// The mean cosine similarity of matching rows (norms clamped to 1e-8).
///
/// # Shapes
/// `a`, `b` [N, D] → [1].
pub fn mean_cosine<B: Backend>(a: Tensor<B, 2>, b: Tensor<B, 2>) -> Tensor<B, 1> {
    (unit_rows(a, 1e-8) * unit_rows(b, 1e-8)).sum_dim(1).mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::loss::gradcheck::{self, AB, rows};

    const X: [f64; 8] = [0.2, -1.7, 0.9, 0.1, 1.4, -0.3, -0.6, 2.2];

    #[test]
    fn mean_cosine_matches_its_definition_with_gradients() {
        let other = [1.0, 0.0, 2.0, -1.0, 0.5, 0.5, -0.5, 1.0];
        let reference = |x: &[f64]| {
            rows(x, 4)
                .iter()
                .zip(rows(&other, 4))
                .map(|(a, b)| {
                    let dot: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
                    let n = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
                    dot / (n(a) * n(&b))
                })
                .sum::<f64>()
                / 2.0
        };
        let o = || {
            Tensor::<AB, 1>::from_floats(other.map(|v| v as f32), &Default::default())
                .reshape([2, 4])
        };
        gradcheck::check(|x| mean_cosine(x, o()), reference, &X, [2, 4]);
    }
}
