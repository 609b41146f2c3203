//! Dropout as Burn's `Dropout` (same config and behaviour: active only on an autodiff backend),
//! drawn by mer's kernel on the CPU: a hashed mask recomputed in the backward pass instead of
//! Burn's per-element Bernoulli samples, which were a tenth of a demo training step.

use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

/// A [`Dropout`]'s probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DropoutConfig {
    pub prob: f64,
}

impl DropoutConfig {
    pub fn new(prob: f64) -> Self {
        DropoutConfig { prob }
    }

    pub fn init(&self) -> Dropout {
        Dropout { prob: self.prob }
    }
}

/// Zeroes each element with probability `prob` while training and scales the rest by
/// `1 / (1 − prob)`; the identity otherwise.
#[derive(Module, Clone, Debug)]
pub struct Dropout {
    pub prob: f64,
}

impl Dropout {
    /// # Shapes
    /// any → the same
    pub fn forward<B: Backend, const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        mer_kernels::dropout(x, self.prob)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};

    #[test]
    fn drops_while_training_only_and_repeats_under_a_seed() {
        type Ad = Autodiff<NdArray<f32>>;
        let device = Default::default();
        let dropout = DropoutConfig::new(0.25).init();
        let x = Tensor::<Ad, 2>::ones([64, 64], &device);
        Ad::seed(&device, 3);
        let first = dropout.forward(x.clone()).inner();
        let zeros: f32 = first.clone().equal_elem(0.0).float().mean().into_scalar();
        assert!((zeros - 0.25).abs() < 0.03, "dropped {zeros}");
        // Kept values are scaled so the mean is unchanged in expectation.
        let kept: f32 = first.clone().max().into_scalar();
        assert!((kept - 1.0 / 0.75).abs() < 1e-6);
        Ad::seed(&device, 3);
        let again = dropout.forward(x.clone()).inner();
        assert_eq!(first.into_data(), again.into_data());
        let plain = dropout.forward(x.inner());
        assert_eq!(plain.min().into_scalar(), 1.0);
    }
}
