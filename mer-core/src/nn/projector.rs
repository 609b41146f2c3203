//! A projection from an encoder's width to the width the head reads.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::activation::gelu;
use burn::tensor::backend::Backend;

/// Linear, then GELU.
#[crate::config]
pub struct ProjectorConfig {
    /// Width of the input; the encoder's `hidden`.
    #[config(default = 128)]
    pub input: usize,
    /// Width of the output; the head's `input`.
    #[config(default = 128)]
    pub output: usize,
}

#[derive(Module, Debug)]
pub struct Projector<B: Backend> {
    linear: Linear<B>,
}

impl ProjectorConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> Projector<B> {
        Projector {
            linear: LinearConfig::new(self.input, self.output).init(device),
        }
    }
}

impl<B: Backend> Projector<B> {
    /// [N, input] → [N, output].
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        gelu(self.linear.forward(x))
    }
}
