//! A projection from an encoder's width to the width the head reads.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::activation::gelu;
use burn::tensor::backend::Backend;

use crate::config::schema::Problem;
use crate::config::wiring::{Wiring, derive_width, single_input};

/// Linear, then GELU.
#[crate::config]
pub struct ProjectorConfig {
    /// Width of the input.
    #[config(derived = "the output width of the part before the projector")]
    pub input: usize,
    /// Width of the output; the head's `input`.
    #[config(default = 128)]
    pub output: usize,
}

impl Wiring for ProjectorConfig {
    fn output_width(&self) -> Result<usize, Problem> {
        Ok(self.output)
    }

    fn connect_inputs(&mut self, widths: &[usize], from: &str) -> Result<(), Problem> {
        derive_width(&mut self.input, single_input(widths, from)?, "input", from)
    }
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
