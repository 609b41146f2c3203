//! A 1-D convolution over channels-last sequences, computed as its windows (`mer_kernels::unfold`)
//! and one matrix product (grouped: one per group).
//!
//! Burn 0.21's CPU convolution made the demo's audio encoder train at 1 utterance/s; windows and
//! a product, whose gradients are a scatter-add and two products, make it train at 60.

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};

/// Kernel, stride, zero padding and groups of a [`Conv1d`].
#[derive(Debug, Clone, PartialEq)]
pub struct Conv1dConfig {
    pub input: usize,
    pub output: usize,
    pub kernel: usize,
    pub stride: usize,
    /// Zeros added on each side.
    pub padding: usize,
    /// `input` and `output` are split into this many groups, each convolved on its own.
    pub groups: usize,
    /// Whether outputs get a bias (wav2vec 2.0 base's feature encoder has none).
    pub bias: bool,
}

impl Conv1dConfig {
    pub fn new(input: usize, output: usize, kernel: usize) -> Self {
        Conv1dConfig {
            input,
            output,
            kernel,
            stride: 1,
            padding: 0,
            groups: 1,
            bias: true,
        }
    }

    pub fn with_stride(self, stride: usize) -> Self {
        Conv1dConfig { stride, ..self }
    }

    pub fn with_padding(self, padding: usize) -> Self {
        Conv1dConfig { padding, ..self }
    }

    pub fn with_groups(self, groups: usize) -> Self {
        Conv1dConfig { groups, ..self }
    }

    pub fn with_bias(self, bias: bool) -> Self {
        Conv1dConfig { bias, ..self }
    }

    /// Weights drawn as PyTorch's `Conv1d` draws them: U(±1/√fan_in), fan_in = in/groups × kernel.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Conv1d<B> {
        assert!(
            self.input.is_multiple_of(self.groups) && self.output.is_multiple_of(self.groups),
            "groups divide the channels"
        );
        let fan_in = self.input / self.groups * self.kernel;
        let bound = 1.0 / (fan_in as f64).sqrt();
        let uniform = Distribution::Uniform(-bound, bound);
        Conv1d {
            weight: Param::from_tensor(Tensor::random(
                [self.groups, fan_in, self.output / self.groups],
                uniform,
                device,
            )),
            bias: self
                .bias
                .then(|| Param::from_tensor(Tensor::random([self.output], uniform, device))),
            kernel: self.kernel,
            stride: self.stride,
            padding: self.padding,
        }
    }
}

/// A 1-D convolution; the weight is [groups, kernel × in/groups, out/groups], rows in (tap,
/// channel) order: PyTorch's [out, in/groups, kernel] weight permuted to (group, tap, channel,
/// out).
#[derive(Module, Debug)]
pub struct Conv1d<B: Backend> {
    pub weight: Param<Tensor<B, 3>>,
    pub bias: Option<Param<Tensor<B, 1>>>,
    #[module(skip)]
    kernel: usize,
    #[module(skip)]
    stride: usize,
    #[module(skip)]
    padding: usize,
}

impl<B: Backend> Conv1d<B> {
    /// Output length for an input of `length`.
    pub fn output_length(&self, length: usize) -> usize {
        (length + 2 * self.padding).saturating_sub(self.kernel) / self.stride + 1
    }

    /// `x` [N, L, C] → [N, T, out], T = (L + 2·padding − kernel) / stride + 1.
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let [n, l, c] = x.dims();
        let (t, k) = (self.output_length(l), self.kernel);
        // Every window as one row [N, T, kernel × C], in (tap, channel) order.
        let windows = mer_kernels::unfold(x, k, self.stride, self.padding);
        let [groups, fan_in, out_per_group] = self.weight.dims();
        if groups == 1 {
            let weight = self.weight.val().reshape([fan_in, out_per_group]);
            let bias = self.bias.as_ref().map(|b| b.val());
            let rows = windows.reshape([n * t, fan_in]);
            return mer_kernels::linear(rows, weight, bias).reshape([n, t, out_per_group]);
        }
        let rows = windows
            .reshape([n * t, k, groups, c / groups])
            .permute([2, 0, 1, 3])
            .reshape([groups, n * t, fan_in]);
        let grouped = mer_kernels::matmul(rows, self.weight.val())
            .swap_dims(0, 1)
            .reshape([n, t, groups * out_per_group]);
        match &self.bias {
            Some(bias) => grouped + bias.val().reshape([1, 1, groups * out_per_group]),
            None => grouped,
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;
    use burn::tensor::TensorData;

    use super::*;

    type B = NdArray<f32>;

    /// out[n, t, o] = bias[o] + Σ_{j, c in o's group} x[n, t·stride + j − padding, c] · w[o, c, j]
    fn naive(
        x: &[f32],
        [n, l, c]: [usize; 3],
        conv: &Conv1d<B>,
        config: &Conv1dConfig,
    ) -> Vec<f32> {
        let weight: Vec<f32> = conv.weight.val().into_data().into_vec().unwrap();
        let bias: Vec<f32> = match &conv.bias {
            Some(bias) => bias.val().into_data().into_vec().unwrap(),
            None => vec![0.0; config.output],
        };
        let (k, g) = (config.kernel, config.groups);
        let (cg, og) = (c / g, config.output / g);
        let t_len = conv.output_length(l);
        let mut out = Vec::new();
        for b in 0..n {
            for t in 0..t_len {
                for o in 0..config.output {
                    let group = o / og;
                    let mut sum = bias[o];
                    for j in 0..k {
                        let pos = (t * config.stride + j) as isize - config.padding as isize;
                        if pos < 0 || pos >= l as isize {
                            continue;
                        }
                        for ci in 0..cg {
                            let channel = group * cg + ci;
                            let row = j * cg + ci;
                            let w = weight[(group * k * cg + row) * og + o % og];
                            sum += x[(b * l + pos as usize) * c + channel] * w;
                        }
                    }
                    out.push(sum);
                }
            }
        }
        out
    }

    #[test]
    fn matches_the_definition_in_every_case() {
        let device = Default::default();
        let cases = [
            // kernel a multiple of stride (the fast path), the first feature-encoder layer
            Conv1dConfig::new(1, 4, 10).with_stride(5),
            // kernel not a multiple of stride (strided taps), data2vec-audio's later layers
            Conv1dConfig::new(3, 4, 3).with_stride(2),
            // the grouped, padded position embedding
            Conv1dConfig::new(4, 4, 4).with_padding(2).with_groups(2),
            // no bias, as wav2vec 2.0 base's feature encoder
            Conv1dConfig::new(3, 4, 3).with_stride(2).with_bias(false),
        ];
        for config in cases {
            let conv = config.init::<B>(&device);
            let shape = [2, 23, config.input];
            let x: Vec<f32> = (0..shape.iter().product::<usize>())
                .map(|i| ((i * 37 % 17) as f32 - 8.0) / 8.0)
                .collect();
            let input = Tensor::<B, 3>::from_data(TensorData::new(x.clone(), shape), &device);
            let got: Vec<f32> = conv.forward(input).into_data().into_vec().unwrap();
            let want = naive(&x, shape, &conv, &config);
            assert_eq!(got.len(), want.len(), "{config:?}");
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() < 1e-5, "{config:?}: {a} vs {b}");
            }
        }
    }
}
