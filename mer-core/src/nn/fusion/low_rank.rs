//! Low-rank multimodal fusion (LMF, Liu et al., 2018): tensor fusion's weight factorised into
//! `rank` modality-specific factors, so the outer product is never formed.

use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::Tensor;
use burn::tensor::activation::gelu;
use burn::tensor::backend::Backend;

use super::concat::DEFAULT_OUTPUT;
use crate::config::checks::at_least_one;
use crate::config::schema::Problem;
use crate::config::wiring::{Wiring, derive_widths};

/// The number of rank-one terms when a config leaves it out.
pub const DEFAULT_RANK: usize = 4;

/// Per input m a factor W_m [rank, w_m + 1, output]; the output is
/// GELU(Σ_r λ_r Π_m ([x_m, 1] W_m[r]) + b).
#[crate::config(check = Self::check_values)]
pub struct LowRankFusionConfig {
    /// Width of each input, in the order the architecture passes them.
    #[config(derived = "the output widths of the encoders it fuses")]
    pub inputs: Vec<usize>,
    /// Number of rank-one terms.
    #[config(default = DEFAULT_RANK)]
    pub rank: usize,
    /// Width of the output.
    #[config(default = DEFAULT_OUTPUT)]
    pub output: usize,
}

impl LowRankFusionConfig {
    fn check_values(&self) -> Result<(), Problem> {
        at_least_one(&[("rank", self.rank), ("output", self.output)])
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> LowRankFusion<B> {
        let init = Initializer::XavierNormal { gain: 1.0 };
        LowRankFusion {
            factors: self
                .inputs
                .iter()
                .map(|&w| {
                    init.init_with(
                        [self.rank, w + 1, self.output],
                        Some(w + 1),
                        Some(self.output),
                        device,
                    )
                })
                .collect(),
            rank_weights: init.init_with([1, self.rank], Some(self.rank), Some(1), device),
            bias: Initializer::Zeros.init([self.output], device),
        }
    }
}

impl Wiring for LowRankFusionConfig {
    fn output_width(&self) -> Result<usize, Problem> {
        Ok(self.output)
    }

    fn connect_inputs(&mut self, widths: &[usize], from: &str) -> Result<(), Problem> {
        derive_widths(&mut self.inputs, widths, "inputs", from)
    }
}

#[derive(Module, Debug)]
pub struct LowRankFusion<B: Backend> {
    /// [rank, w_m + 1, output] per input.
    factors: Vec<Param<Tensor<B, 3>>>,
    /// [1, rank]: λ.
    rank_weights: Param<Tensor<B, 2>>,
    /// [output]
    bias: Param<Tensor<B, 1>>,
}

impl<B: Backend> LowRankFusion<B> {
    /// Σ_r λ_r Π_m ([x_m, 1] W_m[r]) + b, before the activation.
    ///
    /// # Shapes
    /// `inputs[m]` [N, inputs[m]] → [N, output].
    pub fn combine(&self, inputs: Vec<Tensor<B, 2>>) -> Tensor<B, 2> {
        let product = self
            .factors
            .iter()
            .zip(inputs)
            .map(|(factor, x)| {
                let [n, _] = x.dims();
                let x = Tensor::cat(vec![x.clone(), Tensor::ones([n, 1], &x.device())], 1);
                let [rank, w, _] = factor.dims();
                // [rank, N, w] × [rank, w, output] → [rank, N, output]
                x.unsqueeze_dim::<3>(0)
                    .expand([rank, n, w])
                    .matmul(factor.val())
            })
            .reduce(|a, b| a * b)
            .expect("low-rank fusion has at least one input");
        let [rank, n, output] = product.dims();
        let weighted = self
            .rank_weights
            .val()
            .matmul(product.reshape([rank, n * output]))
            .reshape([n, output]);
        weighted + self.bias.val().unsqueeze()
    }

    /// # Shapes
    /// `inputs[m]` [N, inputs[m]] → [N, output].
    pub fn forward(&self, inputs: Vec<Tensor<B, 2>>) -> Tensor<B, 2> {
        gelu(self.combine(inputs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::fusion::tensor::outer_product;
    use burn::backend::NdArray;
    use burn::tensor::Distribution;

    type B = NdArray<f32>;

    /// LMF is tensor fusion with a weight of rank `rank`: rebuild that weight from the factors
    /// and apply it to the outer product.
    #[test]
    fn equals_tensor_fusion_with_the_rebuilt_low_rank_weight() {
        let device = Default::default();
        let fusion: LowRankFusion<B> = LowRankFusionConfig {
            inputs: vec![2, 3],
            rank: 3,
            output: 4,
        }
        .init(&device);
        let a = Tensor::<B, 2>::random([5, 2], Distribution::Normal(0.0, 1.0), &device);
        let b = Tensor::<B, 2>::random([5, 3], Distribution::Normal(0.0, 1.0), &device);
        let got = fusion.combine(vec![a.clone(), b.clone()]);

        // W[i·4 + j, o] = Σ_r λ_r W_a[r, i, o] W_b[r, j, o]
        let (wa, wb) = (fusion.factors[0].val(), fusion.factors[1].val());
        let lambda = fusion.rank_weights.val().reshape([3, 1, 1, 1]);
        let full = (wa.reshape([3, 3, 1, 4]) * wb.reshape([3, 1, 4, 4]) * lambda)
            .sum_dim(0)
            .reshape([12, 4]);
        let expected = outer_product(vec![a, b]).matmul(full) + fusion.bias.val().unsqueeze();
        assert!((got - expected).abs().max().into_scalar() < 1e-4);
    }
}
