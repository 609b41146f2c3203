//! Tensor fusion (TFN, Zadeh et al., 2017): the outer product of every modality's vector, each
//! with a 1 appended, so the product holds every unimodal, bimodal and trimodal interaction.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::activation::gelu;
use burn::tensor::backend::Backend;

use super::concat::DEFAULT_OUTPUT;
use crate::config::checks::{at_least_one, below_one};
use crate::config::schema::Problem;
use crate::config::wiring::{Wiring, derive_widths};

/// The width inputs are projected to when a config leaves it out.
pub const DEFAULT_FACTOR: usize = 16;

/// Each input projected to `factor` values and extended by a 1; their outer product, then
/// dropout, linear and GELU. The product has (factor + 1)^M values for M inputs.
#[crate::config(check = Self::check_values)]
pub struct TensorFusionConfig {
    /// Width of each input, in the order the architecture passes them.
    #[config(derived = "the output widths of the encoders it fuses")]
    pub inputs: Vec<usize>,
    /// Width each input is projected to before the product.
    #[config(default = DEFAULT_FACTOR)]
    pub factor: usize,
    /// Width of the output.
    #[config(default = DEFAULT_OUTPUT, range = "at-least-one")]
    pub output: usize,
    /// Dropout on the product.
    #[config(default = 0.1, range = "probability")]
    pub dropout: f64,
}

impl TensorFusionConfig {
    fn check_values(&self) -> Result<(), Problem> {
        at_least_one(&[("factor", self.factor), ("output", self.output)])?;
        below_one("dropout", self.dropout)
    }

    /// The width of the outer product.
    pub fn product_width(&self) -> usize {
        (self.factor + 1).pow(self.inputs.len() as u32)
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> TensorFusion<B> {
        TensorFusion {
            factors: self
                .inputs
                .iter()
                .map(|&width| LinearConfig::new(width, self.factor).init(device))
                .collect(),
            dropout: DropoutConfig::new(self.dropout).init(),
            output: LinearConfig::new(self.product_width(), self.output).init(device),
        }
    }
}

impl Wiring for TensorFusionConfig {
    fn output_width(&self) -> Result<usize, Problem> {
        Ok(self.output)
    }

    fn connect_inputs(&mut self, widths: &[usize], from: &str) -> Result<(), Problem> {
        derive_widths(&mut self.inputs, widths, "inputs", from)
    }
}

#[derive(Module, Debug)]
pub struct TensorFusion<B: Backend> {
    factors: Vec<Linear<B>>,
    dropout: Dropout,
    output: Linear<B>,
}

/// The outer product of `[x, 1]` over every `x` in `inputs`, flattened.
///
/// # Shapes
/// `inputs[m]` [N, w_m] → [N, Π (w_m + 1)].
pub fn outer_product<B: Backend>(inputs: Vec<Tensor<B, 2>>) -> Tensor<B, 2> {
    let mut inputs = inputs.into_iter().map(|x| {
        let [n, _] = x.dims();
        let one = Tensor::ones([n, 1], &x.device());
        Tensor::cat(vec![x, one], 1)
    });
    let first = inputs.next().expect("tensor fusion has at least one input");
    inputs.fold(first, |product, x| {
        let ([n, a], [_, b]) = (product.dims(), x.dims());
        (product.reshape([n, a, 1]) * x.reshape([n, 1, b])).reshape([n, a * b])
    })
}

impl<B: Backend> TensorFusion<B> {
    /// # Shapes
    /// `inputs[m]` [N, inputs[m]] → [N, output].
    pub fn forward(&self, inputs: Vec<Tensor<B, 2>>) -> Tensor<B, 2> {
        let projected = self
            .factors
            .iter()
            .zip(inputs)
            .map(|(factor, x)| factor.forward(x))
            .collect();
        gelu(
            self.output
                .forward(self.dropout.forward(outer_product(projected))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    type B = NdArray<f32>;

    #[test]
    fn the_product_holds_every_interaction() {
        let device = Default::default();
        let a = Tensor::<B, 2>::from_floats([[2.0, 3.0]], &device);
        let b = Tensor::<B, 2>::from_floats([[5.0]], &device);
        let c = Tensor::<B, 2>::from_floats([[7.0]], &device);
        let product = outer_product(vec![a, b, c]);
        // [2, 3, 1] ⊗ [5, 1] ⊗ [7, 1], row-major.
        let expected = [
            70.0, 10.0, 14.0, 2.0, 105.0, 15.0, 21.0, 3.0, 35.0, 5.0, 7.0, 1.0,
        ];
        assert_eq!(product.to_data().to_vec::<f32>().unwrap(), expected);

        let config = TensorFusionConfig {
            inputs: vec![4, 3],
            factor: 2,
            output: 5,
            dropout: 0.0,
        };
        assert_eq!(config.product_width(), 9);
        let fusion: TensorFusion<B> = config.init(&device);
        let out = fusion.forward(vec![
            Tensor::ones([6, 4], &device),
            Tensor::ones([6, 3], &device),
        ]);
        assert_eq!(out.dims(), [6, 5]);
    }
}
