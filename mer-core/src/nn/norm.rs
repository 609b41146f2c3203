//! Layer norm as Burn's `LayerNorm` (same fields, record and config), computed by mer's kernel:
//! one pass per row forward and backward on the CPU instead of Burn's dozen composed passes.
//!
//! The struct keeps Burn's name, as [`super::Linear`] does: burn-store's PyTorch adapter maps
//! `weight`/`bias` to `gamma`/`beta` for modules of that type name.

use burn::module::{Module, Param};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

/// The width and ε of a [`LayerNorm`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerNormConfig {
    pub d_model: usize,
    /// Added to the variance under the root: 1e-5 unless set (PyTorch's default).
    pub epsilon: f64,
}

impl LayerNormConfig {
    pub fn new(d_model: usize) -> Self {
        LayerNormConfig {
            d_model,
            epsilon: 1e-5,
        }
    }

    pub fn with_epsilon(self, epsilon: f64) -> Self {
        LayerNormConfig { epsilon, ..self }
    }

    /// γ = 1, β = 0.
    pub fn init<B: Backend>(&self, device: &B::Device) -> LayerNorm<B> {
        LayerNorm {
            gamma: Param::from_tensor(Tensor::ones([self.d_model], device)),
            beta: Some(Param::from_tensor(Tensor::zeros([self.d_model], device))),
            epsilon: self.epsilon,
        }
    }
}

/// `(x − mean) / √(var + ε) · γ + β` over the last axis (biased variance).
#[derive(Module, Debug)]
pub struct LayerNorm<B: Backend> {
    /// [d_model]
    pub gamma: Param<Tensor<B, 1>>,
    /// [d_model]
    pub beta: Option<Param<Tensor<B, 1>>>,
    #[module(skip)]
    epsilon: f64,
}

impl<B: Backend> LayerNorm<B> {
    /// # Shapes
    /// [..., d_model] → [..., d_model]
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        mer_kernels::layer_norm(
            x,
            self.gamma.val(),
            self.beta.as_ref().map(Param::val),
            self.epsilon,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use burn::tensor::Distribution;

    type B = NdArray<f32>;

    #[test]
    fn normalises_as_burns_layer_norm() {
        let device = Default::default();
        let ours: LayerNorm<B> = LayerNormConfig::new(6).with_epsilon(1e-3).init(&device);
        let burns: burn::nn::LayerNorm<B> = burn::nn::LayerNormConfig::new(6)
            .with_epsilon(1e-3)
            .init(&device);
        let x = Tensor::<B, 3>::random([2, 5, 6], Distribution::Normal(1.0, 2.0), &device);
        let diff = (ours.forward(x.clone()) - burns.forward(x)).abs().max();
        // Burn's is the less exact of the two (an approximate reciprocal): 1e-3 apart at most.
        assert!(diff.into_scalar() < 1e-3);
    }
}
