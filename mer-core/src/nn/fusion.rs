//! Late fusion: pooled vectors of several encoders, concatenated and projected.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::activation::gelu;
use burn::tensor::backend::Backend;

/// Concatenation, then linear and GELU.
#[crate::config]
pub struct ConcatFusionConfig {
    /// Width of each input, in the order the architecture passes them.
    #[config(default = vec![64, 64, 64])]
    pub inputs: Vec<usize>,
    /// Width of the output; the head's `input`.
    #[config(default = 128)]
    pub output: usize,
}

#[derive(Module, Debug)]
pub struct ConcatFusion<B: Backend> {
    linear: Linear<B>,
}

impl ConcatFusionConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> ConcatFusion<B> {
        ConcatFusion {
            linear: LinearConfig::new(self.inputs.iter().sum(), self.output).init(device),
        }
    }
}

impl<B: Backend> ConcatFusion<B> {
    /// `inputs` [N, inputs[i]] each → [N, output].
    pub fn forward(&self, inputs: Vec<Tensor<B, 2>>) -> Tensor<B, 2> {
        gelu(self.linear.forward(Tensor::cat(inputs, 1)))
    }
}
