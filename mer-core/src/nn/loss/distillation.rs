//! Distillation losses: a student's logits or features against a frozen teacher's.

use burn::tensor::Tensor;
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::backend::Backend;

use super::similarity::{mean_cosine, unit_rows};

/// Logit distillation (Hinton et al.): τ² · KL(softmax(teacher/τ) ‖ softmax(student/τ)),
/// averaged over the batch. `teacher` [N, C] carries no gradient.
pub fn distillation_kl<B: Backend>(
    student: Tensor<B, 2>,
    teacher: Tensor<B, 2>,
    temperature: f64,
) -> Tensor<B, 1> {
    let [n, _] = student.dims();
    let target = softmax(teacher.detach().div_scalar(temperature), 1);
    let log_student = log_softmax(student.div_scalar(temperature), 1);
    let log_target = target.clone().clamp_min(1e-12).log();
    (target * (log_target - log_student))
        .sum()
        .div_scalar(n as f64)
        .mul_scalar(temperature * temperature)
}

/// The mean Pearson correlation of `a`'s and `b`'s rows [N, C] (cosine similarity of the
/// centred rows; each norm clamped to 1e-8, as PyTorch's `cosine_similarity`).
fn mean_row_pearson<B: Backend>(a: Tensor<B, 2>, b: Tensor<B, 2>) -> Tensor<B, 1> {
    let centred = |x: Tensor<B, 2>| x.clone() - x.mean_dim(1);
    mean_cosine(centred(a), centred(b))
}

/// DIST (Huang et al., 2022), the seed's logit loss: τ² · [(1 − mean row Pearson) +
/// (1 − mean column Pearson)] between softmax(student/τ) and softmax(teacher/τ): the student
/// keeps the teacher's ranking of classes per sample (inter-class) and of samples per class
/// (intra-class), not its exact probabilities. `teacher` [N, C] carries no gradient.
pub fn dist<B: Backend>(
    student: Tensor<B, 2>,
    teacher: Tensor<B, 2>,
    temperature: f64,
) -> Tensor<B, 1> {
    let s = softmax(student.div_scalar(temperature), 1);
    let t = softmax(teacher.detach().div_scalar(temperature), 1);
    let inter = mean_row_pearson(s.clone(), t.clone()).neg() + 1.0;
    let intra = mean_row_pearson(s.transpose(), t.transpose()).neg() + 1.0;
    (inter + intra).mul_scalar(temperature * temperature)
}

/// TelME's feature distillation: with unit-length rows, KL(softmax(T Tᵀ/τ) ‖ softmax(T Sᵀ/τ))
/// averaged over the batch: the student's features relate to the teacher's as the teacher's
/// relate to each other. `student` and `teacher` [N, D]; the teacher carries no gradient.
pub fn feature_distillation<B: Backend>(
    student: Tensor<B, 2>,
    teacher: Tensor<B, 2>,
    temperature: f64,
) -> Tensor<B, 1> {
    let (s, t) = (
        unit_rows(student, 1e-12),
        unit_rows(teacher.detach(), 1e-12),
    );
    let [n, _] = s.dims();
    let log_q = log_softmax(t.clone().matmul(s.transpose()).div_scalar(temperature), 1);
    let log_p = log_softmax(t.clone().matmul(t.transpose()).div_scalar(temperature), 1);
    (log_p.clone().exp() * (log_p - log_q))
        .sum()
        .div_scalar(n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::loss::gradcheck::{self, AB, rows};
    use burn::backend::NdArray;

    type B = NdArray<f32>;

    #[test]
    fn distillation_is_zero_for_equal_logits_and_matches_kl_by_hand() {
        let device = Default::default();
        let s = [[1.0f32, 0.0, -1.0]];
        let t = [[0.5f32, 0.5, 2.0]];
        let student = Tensor::<B, 2>::from_floats(s, &device);
        let teacher = Tensor::<B, 2>::from_floats(t, &device);
        let same = distillation_kl(student.clone(), student.clone(), 2.0).into_scalar();
        assert!(same.abs() < 1e-6, "{same}");
        let tau = 2.0f32;
        let soft = |row: [f32; 3]| {
            let z: f32 = row.iter().map(|x| (x / tau).exp()).sum();
            row.map(|x| (x / tau).exp() / z)
        };
        let (p, q) = (soft(t[0]), soft(s[0]));
        let kl: f32 = (0..3).map(|i| p[i] * (p[i] / q[i]).ln()).sum();
        let got = distillation_kl(student, teacher, 2.0).into_scalar();
        assert!(
            (got - tau * tau * kl).abs() < 1e-5,
            "{got} vs {}",
            tau * tau * kl
        );
    }

    const TEACHER: [[f32; 3]; 4] = [
        [2.0, 0.5, -1.0],
        [0.1, 1.5, 0.3],
        [-0.5, 0.0, 2.5],
        [1.0, 1.0, 0.2],
    ];
    const STUDENT: [f64; 12] = [
        0.3, -0.2, 0.9, 1.2, 0.4, -0.7, 0.0, 0.8, 0.1, -1.1, 0.6, 0.5,
    ];

    fn teacher() -> Tensor<AB, 2> {
        Tensor::from_floats(TEACHER, &Default::default())
    }

    fn teacher_rows() -> Vec<Vec<f64>> {
        TEACHER
            .iter()
            .map(|r| r.iter().map(|&v| f64::from(v)).collect())
            .collect()
    }

    fn pearson(a: &[f64], b: &[f64]) -> f64 {
        let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
        let (ma, mb) = (mean(a), mean(b));
        let dot: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let norm = |x: &[f64], m: f64| x.iter().map(|v| (v - m).powi(2)).sum::<f64>().sqrt();
        dot / (norm(a, ma).max(1e-8) * norm(b, mb).max(1e-8))
    }

    /// DIST written from its definition, on rows and on columns.
    fn dist_reference(student: &[f64], tau: f64) -> f64 {
        let s: Vec<Vec<f64>> = rows(student, 3)
            .iter()
            .map(|r| gradcheck::softmax(r, tau))
            .collect();
        let t: Vec<Vec<f64>> = teacher_rows()
            .iter()
            .map(|r| gradcheck::softmax(r, tau))
            .collect();
        let column = |m: &[Vec<f64>], j: usize| m.iter().map(|r| r[j]).collect::<Vec<f64>>();
        let inter = (0..4).map(|i| pearson(&s[i], &t[i])).sum::<f64>() / 4.0;
        let intra = (0..3)
            .map(|j| pearson(&column(&s, j), &column(&t, j)))
            .sum::<f64>()
            / 3.0;
        tau * tau * ((1.0 - inter) + (1.0 - intra))
    }

    #[test]
    fn dist_matches_its_definition_with_gradients() {
        gradcheck::check(
            |s| dist(s, teacher(), 4.0),
            |s| dist_reference(s, 4.0),
            &STUDENT,
            [4, 3],
        );
        gradcheck::check(
            |s| dist(s, teacher(), 1.0),
            |s| dist_reference(s, 1.0),
            &STUDENT,
            [4, 3],
        );
        // The teacher against itself: both correlations are 1.
        let same = dist(teacher(), teacher(), 4.0).into_scalar();
        assert!(same.abs() < 1e-5, "{same}");
    }

    fn feature_reference(student: &[f64], tau: f64) -> f64 {
        let unit = |r: &[f64]| {
            let n = r.iter().map(|v| v * v).sum::<f64>().sqrt();
            r.iter().map(|v| v / n).collect::<Vec<f64>>()
        };
        let s: Vec<Vec<f64>> = rows(student, 3).iter().map(|r| unit(r)).collect();
        let t: Vec<Vec<f64>> = teacher_rows().iter().map(|r| unit(r)).collect();
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let mut kl = 0.0;
        for ti in &t {
            let p = gradcheck::softmax(&t.iter().map(|tj| dot(ti, tj)).collect::<Vec<_>>(), tau);
            let q = gradcheck::softmax(&s.iter().map(|sj| dot(ti, sj)).collect::<Vec<_>>(), tau);
            kl += p.iter().zip(&q).map(|(p, q)| p * (p / q).ln()).sum::<f64>();
        }
        kl / 4.0
    }

    #[test]
    fn feature_distillation_matches_its_definition_with_gradients() {
        gradcheck::check(
            |s| feature_distillation(s, teacher(), 1.0),
            |s| feature_reference(s, 1.0),
            &STUDENT,
            [4, 3],
        );
        let same = feature_distillation(teacher(), teacher(), 1.0).into_scalar();
        assert!(same.abs() < 1e-5, "{same}");
    }
}
