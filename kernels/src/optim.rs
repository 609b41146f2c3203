//! Optimiser updates on plain `f32` slices: one pass over a parameter, its gradient and its
//! moments, in place.
//!
//! Burn's AdamW composes a step from about a dozen element-wise tensor operations, each a pass
//! over memory and most a new allocation; on a 22M-parameter text encoder that was 400 ms of a
//! 1.5 s training step on 2 cores. Here it is one pass, split over rayon's threads.

use rayon::prelude::*;

use crate::slices::{CHUNK, vectorised};

/// One AdamW update's settings: bias-corrected moments and decoupled weight decay, as Burn's
/// `AdamW` and PyTorch's `torch.optim.AdamW` define them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamWStep {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first moment (mean of gradients).
    pub beta_1: f32,
    /// Decay of the second moment (mean of squared gradients).
    pub beta_2: f32,
    /// Added to the second moment's square root.
    pub epsilon: f32,
    /// Decoupled weight decay: the parameter is scaled by `1 - lr · weight_decay` each step.
    pub weight_decay: f32,
    /// The step's number, from 1: the moments' bias correction.
    pub time: i32,
}

/// `param`, `m` and `v` updated in place by `grad`, element by element:
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
/// `param ← param·(1 − lr·λ) − lr · (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)`.
/// Moments that start at zero make the first step Burn's (it starts them from the gradient).
pub fn adamw(param: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32], step: &AdamWStep) {
    param
        .par_chunks_mut(CHUNK)
        .zip(grad.par_chunks(CHUNK))
        .zip(m.par_chunks_mut(CHUNK).zip(v.par_chunks_mut(CHUNK)))
        .for_each(|((p, g), (m, v))| adamw_chunk(p, g, m, v, step));
}

vectorised! {
    fn adamw_chunk(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], step: &AdamWStep) {
        let AdamWStep {
            lr,
            beta_1,
            beta_2,
            epsilon,
            weight_decay,
            time,
        } = *step;
        let (c1, c2) = (1.0 - beta_1.powi(time), 1.0 - beta_2.powi(time));
        let decay = (1.0 - lr * weight_decay as f64) as f32;
        let lr = lr as f32;
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m).zip(v) {
            *m = beta_1 * *m + (1.0 - beta_1) * g;
            *v = beta_2 * *v + (1.0 - beta_2) * (g * g);
            let delta = (*m / c1) / ((*v / c2).sqrt() + epsilon);
            *p = *p * decay - delta * lr;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The update written out in f64, one element at a time.
    fn reference(p: f64, g: f64, m: f64, v: f64, s: &AdamWStep) -> (f64, f64, f64) {
        let (b1, b2) = (s.beta_1 as f64, s.beta_2 as f64);
        let m = b1 * m + (1.0 - b1) * g;
        let v = b2 * v + (1.0 - b2) * g * g;
        let m_hat = m / (1.0 - b1.powi(s.time));
        let v_hat = v / (1.0 - b2.powi(s.time));
        let p = p * (1.0 - s.lr * s.weight_decay as f64)
            - s.lr * m_hat / (v_hat.sqrt() + s.epsilon as f64);
        (p, m, v)
    }

    #[test]
    fn three_steps_match_the_definition_across_chunk_boundaries() {
        let n = 2 * CHUNK + 37;
        let value = |i: usize, seed: usize| ((i * 7919 + seed * 31) % 97) as f32 / 48.0 - 1.0;
        let mut p: Vec<f32> = (0..n).map(|i| value(i, 1)).collect();
        let (mut m, mut v) = (vec![0.0f32; n], vec![0.0f32; n]);
        let mut expected: Vec<(f64, f64, f64)> = p.iter().map(|&p| (p as f64, 0.0, 0.0)).collect();
        for time in 1..=3 {
            let step = AdamWStep {
                lr: 1e-2,
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-8,
                weight_decay: 0.01,
                time,
            };
            let g: Vec<f32> = (0..n).map(|i| value(i, time as usize + 5)).collect();
            adamw(&mut p, &g, &mut m, &mut v, &step);
            for (e, &g) in expected.iter_mut().zip(&g) {
                *e = reference(e.0, g as f64, e.1, e.2, &step);
            }
        }
        for (i, (&p, e)) in p.iter().zip(&expected).enumerate() {
            assert!(
                (p as f64 - e.0).abs() < 1e-6,
                "parameter {i}: {p} vs {}",
                e.0
            );
            assert!((m[i] as f64 - e.1).abs() < 1e-6, "first moment {i}");
            assert!((v[i] as f64 - e.2).abs() < 1e-6, "second moment {i}");
        }
    }
}
