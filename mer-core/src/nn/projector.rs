//! The seed's projector: a linear layer, then `depth − 1` × [dropout, GELU, linear].

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::activation::gelu;
use burn::tensor::backend::Backend;

use crate::config::checks::{at_least_one, below_one};
use crate::config::schema::Problem;
use crate::config::wiring::{Wiring, derive_width, single_input};

/// Linear, then (depth − 1) × [dropout, GELU, linear]: depth 1 is one linear map.
#[crate::config(check = Self::check_values)]
pub struct ProjectorConfig {
    /// Width of the input.
    #[config(derived = "the output width of the part before the projector")]
    pub input: usize,
    /// Width of the output (and of every hidden layer).
    #[config(default = 128, range = "at-least-one")]
    pub output: usize,
    /// Number of linear layers.
    #[config(default = 1, range = "at-least-one")]
    pub depth: usize,
    /// Dropout before each linear layer after the first.
    #[config(default = 0.1, range = "probability")]
    pub dropout: f64,
}

impl ProjectorConfig {
    /// A projector from `input` to `output` of `depth` layers, dropout 0.1.
    pub fn new(input: usize, output: usize, depth: usize) -> Self {
        ProjectorConfig {
            input,
            output,
            depth,
            dropout: 0.1,
        }
    }

    fn check_values(&self) -> Result<(), Problem> {
        at_least_one(&[("output", self.output), ("depth", self.depth)])?;
        below_one("dropout", self.dropout)
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> Projector<B> {
        let layers = (0..self.depth.max(1))
            .map(|i| {
                let input = if i == 0 { self.input } else { self.output };
                LinearConfig::new(input, self.output).init(device)
            })
            .collect();
        Projector {
            layers,
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
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
    layers: Vec<Linear<B>>,
    dropout: Dropout,
}

impl<B: Backend> Projector<B> {
    /// # Shapes
    /// `x` [..., input] → [..., output].
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        let mut layers = self.layers.iter();
        let first = layers.next().expect("a projector has at least one layer");
        layers.fold(first.forward(x), |x, layer| {
            layer.forward(gelu(self.dropout.forward(x)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use burn::module::Module;

    type B = NdArray<f32>;

    #[test]
    fn depth_sets_the_layers_and_depth_one_is_linear() {
        let device = Default::default();
        let one: Projector<B> = ProjectorConfig::new(4, 3, 1).init(&device);
        let three: Projector<B> = ProjectorConfig::new(4, 3, 3).init(&device);
        assert_eq!(one.num_params(), 4 * 3 + 3);
        assert_eq!(three.num_params(), (4 * 3 + 3) + 2 * (3 * 3 + 3));
        // Affine: f(2x) − 2 f(x) = −b = −f(0), whatever x.
        let x = Tensor::<B, 2>::from_floats([[1.0, -2.0, 0.5, 3.0]], &device);
        let minus_bias = one.forward(x.clone() * 2.0) - one.forward(x) * 2.0;
        let bias = one.forward(Tensor::zeros([1, 4], &device));
        assert!((minus_bias + bias).abs().max().into_scalar() < 1e-5);
        assert_eq!(
            three
                .forward(Tensor::<B, 3>::zeros([2, 5, 4], &device))
                .dims(),
            [2, 5, 3]
        );
    }
}
