//! The noise router of mixtures of experts: weights over experts, noisy while training.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{softmax, softplus};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};

use crate::config::checks::at_least_one;
use crate::config::schema::Problem;

/// softmax(W·x + ε·softplus(W_n·x)), ε ~ N(0, 1) in training and 0 otherwise (Shazeer et
/// al., 2017): the noise spreads the load over experts while they are learned.
#[crate::config(check = Self::check_values)]
pub struct NoiseRouterConfig {
    /// Width of the input.
    pub input: usize,
    /// Number of experts weighted.
    pub experts: usize,
}

impl NoiseRouterConfig {
    fn check_values(&self) -> Result<(), Problem> {
        at_least_one(&[("input", self.input), ("experts", self.experts)])
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> NoiseRouter<B> {
        let linear = || {
            LinearConfig::new(self.input, self.experts)
                .with_bias(false)
                .init(device)
        };
        NoiseRouter {
            gate: linear(),
            noise: linear(),
        }
    }
}

#[derive(Module, Debug)]
pub struct NoiseRouter<B: Backend> {
    gate: Linear<B>,
    noise: Linear<B>,
}

impl<B: Backend> NoiseRouter<B> {
    /// The routing logits, noisy when gradients are tracked (training).
    ///
    /// # Shapes
    /// `x` [N, input] → [N, experts].
    pub fn logits(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let logits = self.gate.forward(x.clone());
        if !B::ad_enabled(&x.device()) {
            return logits;
        }
        let scale = softplus(self.noise.forward(x), 1.0);
        let epsilon = Tensor::random(
            scale.shape(),
            Distribution::Normal(0.0, 1.0),
            &scale.device(),
        );
        logits + epsilon * scale
    }

    /// # Shapes
    /// `x` [N, input] → weights [N, experts], each row summing to 1.
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        softmax(self.logits(x), 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};

    type B = NdArray<f32>;

    #[test]
    fn weights_sum_to_one_and_are_noisy_only_in_training() {
        let device = Default::default();
        let config = NoiseRouterConfig {
            input: 4,
            experts: 3,
        };
        let x = [[1.0f32, -1.0, 0.5, 2.0], [0.0, 0.3, -0.7, 1.0]];
        let router: NoiseRouter<B> = config.init(&device);
        let w = router.forward(Tensor::from_floats(x, &device));
        let sums = w.clone().sum_dim(1).reshape([2]);
        assert!((sums - 1.0).abs().max().into_scalar() < 1e-5);
        let again = router.forward(Tensor::from_floats(x, &device));
        assert!((w - again).abs().max().into_scalar() == 0.0);

        let training: NoiseRouter<Autodiff<B>> = config.init(&device);
        let a = training.forward(Tensor::from_floats(x, &device));
        let b = training.forward(Tensor::from_floats(x, &device));
        assert!((a - b).abs().max().into_scalar() > 1e-6);
    }
}
