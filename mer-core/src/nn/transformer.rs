//! The transformer layer stack of BERT and RoBERTa (`BertEncoder` in transformers), which the
//! text, audio and video encoders all build on: post-norm as BERT, wav2vec 2.0 base and
//! data2vec-audio, or pre-norm as VideoMAE and wav2vec 2.0 large (`LayerShape::norm_first`).
//! Field names are BERT's; other models' names map onto them in their encoder's table.

use super::dropout::{Dropout, DropoutConfig};
use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

use super::linear::{Linear, LinearConfig};
use super::norm::{LayerNorm, LayerNormConfig};
use mer_kernels::{gelu, matmul, softmax};

#[derive(Module, Debug)]
pub struct Transformer<B: Backend> {
    pub layer: Vec<TransformerLayer<B>>,
}

#[derive(Module, Debug)]
pub struct TransformerLayer<B: Backend> {
    pub attention: Attention<B>,
    pub intermediate: Intermediate<B>,
    pub output: Output<B>,
    /// Pre-norm: `attention.output.layer_norm` normalises the attention's input and
    /// `output.layer_norm` the feed-forward's (VideoMAE's `layernorm_before` / `_after`).
    #[module(skip)]
    norm_first: bool,
}

#[derive(Module, Debug)]
pub struct Attention<B: Backend> {
    /// `attention.self` in Hugging Face's names (`self` is a Rust keyword).
    pub self_attn: SelfAttention<B>,
    pub output: Output<B>,
}

#[derive(Module, Debug)]
pub struct SelfAttention<B: Backend> {
    pub query: Linear<B>,
    pub key: Linear<B>,
    pub value: Linear<B>,
    dropout: Dropout,
    #[module(skip)]
    heads: usize,
}

#[derive(Module, Debug)]
pub struct Intermediate<B: Backend> {
    pub dense: Linear<B>,
}

/// Dense, dropout, residual, layer norm: `BertSelfOutput` and `BertOutput`.
#[derive(Module, Debug)]
pub struct Output<B: Backend> {
    pub dense: Linear<B>,
    pub layer_norm: LayerNorm<B>,
    dropout: Dropout,
}

/// The shape of one transformer layer.
#[derive(Debug, Clone, Copy)]
pub struct LayerShape {
    pub hidden: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub layer_norm_eps: f64,
    pub dropout: f64,
    /// Layer norms before attention and feed-forward (pre-norm) instead of after the residuals.
    pub norm_first: bool,
}

/// The weights of `layers` transformer layers `hidden` wide with a feed-forward block
/// `intermediate` wide: Q, K, V and output projections, the feed-forward pair, biases and two
/// norms. Saturating, for shapes read from files that may be absurd.
pub fn layer_parameters(hidden: usize, intermediate: usize, layers: usize) -> u128 {
    let (h, i) = (hidden as u128, intermediate as u128);
    let layer = (4 * h * h + 4 * h)
        .saturating_add(2 * h * i + i + h)
        .saturating_add(4 * h);
    layer.saturating_mul(layers as u128)
}

impl<B: Backend> Transformer<B> {
    /// `layers` BERT layers of `shape`, randomly initialised.
    pub fn init(shape: LayerShape, layers: usize, device: &B::Device) -> Self {
        Transformer {
            layer: (0..layers).map(|_| init_layer(shape, device)).collect(),
        }
    }
}

/// A BERT layer of `shape`, randomly initialised.
fn init_layer<B: Backend>(shape: LayerShape, device: &B::Device) -> TransformerLayer<B> {
    let norm = || {
        LayerNormConfig::new(shape.hidden)
            .with_epsilon(shape.layer_norm_eps)
            .init(device)
    };
    let linear = |input, output| LinearConfig::new(input, output).init(device);
    let dropout = || DropoutConfig::new(shape.dropout).init();
    let hidden = shape.hidden;
    TransformerLayer {
        attention: Attention {
            self_attn: SelfAttention {
                query: linear(hidden, hidden),
                key: linear(hidden, hidden),
                value: linear(hidden, hidden),
                dropout: dropout(),
                heads: shape.heads,
            },
            output: Output {
                dense: linear(hidden, hidden),
                layer_norm: norm(),
                dropout: dropout(),
            },
        },
        intermediate: Intermediate {
            dense: linear(hidden, shape.intermediate),
        },
        output: Output {
            dense: linear(shape.intermediate, hidden),
            layer_norm: norm(),
            dropout: dropout(),
        },
        norm_first: shape.norm_first,
    }
}

/// `mask` [N, T] (1 real, 0 padding) → the bias [N, heads, T, T] that keeps attention off
/// padding. Expanded once to the scores' shape: same-shape adds take the CPU backend's SIMD path.
pub fn attention_bias<B: Backend>(mask: Tensor<B, 2>, heads: usize) -> Tensor<B, 4> {
    let [n, t] = mask.dims();
    (mask - 1.0)
        .mul_scalar(1e9)
        .reshape([n, 1, 1, t])
        .repeat_dim(1, heads)
        .repeat_dim(2, t)
}

impl<B: Backend> Transformer<B> {
    /// `x` [N, T, H] and `mask` [N, T] (1 real, 0 padding) → [N, T, H].
    pub fn forward(&self, mut x: Tensor<B, 3>, mask: Tensor<B, 2>) -> Tensor<B, 3> {
        // Padding gets a large negative score, so softmax gives it no weight.
        let heads = self
            .layer
            .first()
            .map_or(1, |l| l.attention.self_attn.heads);
        let bias = attention_bias(mask, heads);
        for layer in &self.layer {
            x = layer.forward(x, bias.clone());
        }
        x
    }
}

impl<B: Backend> TransformerLayer<B> {
    /// [N, T, H] → [N, T, H]; `bias` [N, heads, T, T] is added to the attention scores.
    pub fn forward(&self, x: Tensor<B, 3>, bias: Tensor<B, 4>) -> Tensor<B, 3> {
        if self.norm_first {
            return self.forward_norm_first(x, bias);
        }
        let context = self.attention.self_attn.forward(x.clone(), bias);
        let attended = self.attention.output.forward(context, x);
        let inner = gelu(self.intermediate.dense.forward(attended.clone()));
        self.output.forward(inner, attended)
    }
}

impl<B: Backend> TransformerLayer<B> {
    /// `x + attention(norm(x))`, then `x + feed_forward(norm(x))`.
    fn forward_norm_first(&self, x: Tensor<B, 3>, bias: Tensor<B, 4>) -> Tensor<B, 3> {
        let (attention, output) = (&self.attention.output, &self.output);
        let context = self
            .attention
            .self_attn
            .forward(attention.layer_norm.forward(x.clone()), bias);
        let x = x + attention.dropout.forward(attention.dense.forward(context));
        let inner = gelu(
            self.intermediate
                .dense
                .forward(output.layer_norm.forward(x.clone())),
        );
        x + output.dropout.forward(output.dense.forward(inner))
    }
}

impl<B: Backend> SelfAttention<B> {
    /// [N, T, H] → [N, T, H]; `bias` [N, heads, T, T] is added to the scores.
    fn forward(&self, x: Tensor<B, 3>, bias: Tensor<B, 4>) -> Tensor<B, 3> {
        let [n, t, hidden] = x.dims();
        let d = hidden / self.heads;
        let split = |y: Tensor<B, 3>| y.reshape([n, t, self.heads, d]).swap_dims(1, 2);
        let q = split(self.query.forward(x.clone()));
        let k = split(self.key.forward(x.clone()));
        let v = split(self.value.forward(x));
        // Heads and the keys' transpose are read through strides, not copied (mer_kernels).
        let scores = matmul(q.div_scalar((d as f64).sqrt()), k.swap_dims(2, 3)) + bias;
        let probs = self.dropout.forward(softmax(scores));
        // Heads back beside each other: mer's row-major copy, then a free reshape.
        mer_kernels::contiguous(matmul(probs, v).swap_dims(1, 2)).reshape([n, t, hidden])
    }
}

impl<B: Backend> Output<B> {
    fn forward(&self, x: Tensor<B, 3>, residual: Tensor<B, 3>) -> Tensor<B, 3> {
        self.layer_norm
            .forward(self.dropout.forward(self.dense.forward(x)) + residual)
    }
}
