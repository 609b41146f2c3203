//! Concatenation: the pooled vectors side by side, projected.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::activation::gelu;
use burn::tensor::backend::Backend;

use crate::config::schema::Problem;
use crate::config::wiring::{Wiring, derive_widths};

/// The output width of a fusion block whose config leaves it out.
pub const DEFAULT_OUTPUT: usize = 128;

/// Concatenation, then linear and GELU.
#[crate::config]
pub struct ConcatFusionConfig {
    /// Width of each input, in the order the architecture passes them.
    #[config(derived = "the output widths of the encoders it fuses")]
    pub inputs: Vec<usize>,
    /// Width of the output; the head's `input`.
    #[config(default = DEFAULT_OUTPUT)]
    pub output: usize,
}

impl Wiring for ConcatFusionConfig {
    fn output_width(&self) -> Result<usize, Problem> {
        Ok(self.output)
    }

    fn connect_inputs(&mut self, widths: &[usize], from: &str) -> Result<(), Problem> {
        derive_widths(&mut self.inputs, widths, "inputs", from)
    }
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
    /// # Shapes
    /// `inputs[m]` [N, inputs[m]] → [N, output].
    pub fn forward(&self, inputs: Vec<Tensor<B, 2>>) -> Tensor<B, 2> {
        gelu(self.linear.forward(Tensor::cat(inputs, 1)))
    }
}
