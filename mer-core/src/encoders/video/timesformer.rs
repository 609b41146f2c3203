//! TimeSformer with divided space–time attention, module for module as transformers'
//! `TimesformerModel` (4.46, `modeling_timesformer.py`): per-frame patches, a CLS token,
//! learned space and time positions, and layers that attend first over time (each patch
//! position across frames), then over space (each frame's patches with the CLS token), then
//! feed forward, all pre-norm. Tensor names are in [`super::hf::timesformer_table`].

use crate::nn::{Dropout, DropoutConfig};
use crate::nn::{LayerNorm, LayerNormConfig};
use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};
use mer_kernels::{gelu, matmul, softmax};

use super::shape::VideoShape;
use super::videomae::patches;
use crate::nn::{Linear, LinearConfig};

/// Self-attention with one fused query/key/value projection and its output projection.
#[derive(Module, Debug)]
pub struct FusedAttention<B: Backend> {
    pub qkv: Linear<B>,
    pub output: Linear<B>,
    dropout: Dropout,
    #[module(skip)]
    heads: usize,
}

impl<B: Backend> FusedAttention<B> {
    fn init(shape: &VideoShape, dropout: f64, device: &B::Device) -> Self {
        let mut qkv = LinearConfig::new(shape.hidden, 3 * shape.hidden).init(device);
        if !shape.qkv_bias {
            qkv.bias = None;
        }
        FusedAttention {
            qkv,
            output: LinearConfig::new(shape.hidden, shape.hidden).init(device),
            dropout: DropoutConfig::new(dropout).init(),
            heads: shape.heads,
        }
    }

    /// [N, L, H] → [N, L, H], every token attending to every token.
    fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let [n, l, hidden] = x.dims();
        let d = hidden / self.heads;
        let qkv = self
            .qkv
            .forward(x)
            .reshape([n, l, 3, self.heads, d])
            .permute([2, 0, 3, 1, 4]);
        let part = |i: usize| qkv.clone().narrow(0, i, 1).reshape([n, self.heads, l, d]);
        let (q, k, v) = (part(0), part(1), part(2));
        let scores = matmul(q.div_scalar((d as f64).sqrt()), k.swap_dims(2, 3));
        let probs = self.dropout.forward(softmax(scores));
        let context =
            mer_kernels::contiguous(matmul(probs, v).swap_dims(1, 2)).reshape([n, l, hidden]);
        self.output.forward(context)
    }
}

/// One divided space–time layer.
#[derive(Module, Debug)]
pub struct TimesformerLayer<B: Backend> {
    pub temporal_layernorm: LayerNorm<B>,
    pub temporal_attention: FusedAttention<B>,
    pub temporal_dense: Linear<B>,
    pub layernorm_before: LayerNorm<B>,
    pub attention: FusedAttention<B>,
    pub layernorm_after: LayerNorm<B>,
    pub intermediate: Linear<B>,
    pub output: Linear<B>,
    dropout: Dropout,
}

/// Pixels → token states: the CLS token, then patches in (position, frame) order.
#[derive(Module, Debug)]
pub struct Timesformer<B: Backend> {
    /// `Conv2d(3, hidden, p, stride p)` as a linear map over flattened (channel, row, column)
    /// patches.
    pub patch_embeddings: Linear<B>,
    /// [H]
    pub cls_token: Param<Tensor<B, 1>>,
    /// [patches + 1, H]: the CLS token's first.
    pub position_embeddings: Param<Tensor<B, 2>>,
    /// [frames, H]
    pub time_embeddings: Param<Tensor<B, 2>>,
    pub layer: Vec<TimesformerLayer<B>>,
    pub layernorm: LayerNorm<B>,
    dropout: Dropout,
    #[module(skip)]
    patch_size: usize,
}

impl<B: Backend> Timesformer<B> {
    /// A randomly initialised TimeSformer for `frames` frames of `image_size` pixels square.
    pub fn init(
        shape: &VideoShape,
        frames: usize,
        image_size: usize,
        dropout: f64,
        device: &B::Device,
    ) -> Self {
        let h = shape.hidden;
        let norm = || {
            LayerNormConfig::new(h)
                .with_epsilon(shape.layer_norm_eps)
                .init(device)
        };
        let linear = |i, o| LinearConfig::new(i, o).init(device);
        let table = |rows| {
            Param::from_tensor(Tensor::random(
                [rows, h],
                Distribution::Normal(0.0, 0.02),
                device,
            ))
        };
        let patches = (image_size / shape.patch_size).pow(2);
        Timesformer {
            patch_embeddings: linear(3 * shape.patch_size * shape.patch_size, h),
            cls_token: Param::from_tensor(Tensor::random(
                [h],
                Distribution::Normal(0.0, 0.02),
                device,
            )),
            position_embeddings: table(patches + 1),
            time_embeddings: table(frames),
            layer: (0..shape.layers)
                .map(|_| TimesformerLayer {
                    temporal_layernorm: norm(),
                    temporal_attention: FusedAttention::init(shape, dropout, device),
                    temporal_dense: linear(h, h),
                    layernorm_before: norm(),
                    attention: FusedAttention::init(shape, dropout, device),
                    layernorm_after: norm(),
                    intermediate: linear(h, shape.intermediate),
                    output: linear(shape.intermediate, h),
                    dropout: DropoutConfig::new(dropout).init(),
                })
                .collect(),
            layernorm: norm(),
            dropout: DropoutConfig::new(dropout).init(),
            patch_size: shape.patch_size,
        }
    }

    /// `pixels` [N, F, 3, S, S] → `last_hidden_state` [N, 1 + P·F, H].
    pub fn hidden_states(&self, pixels: Tensor<B, 5>) -> Tensor<B, 3> {
        let [n, f, ..] = pixels.dims();
        let x = self
            .patch_embeddings
            .forward(patches(pixels, 1, self.patch_size));
        let [_, tokens, h] = x.dims();
        let p = tokens / f;
        let positions = self.position_embeddings.val();
        let x = x.reshape([n, f, p, h]) + positions.clone().narrow(0, 1, p).reshape([1, 1, p, h]);
        let cls = (self.cls_token.val() + positions.narrow(0, 0, 1).reshape([h]))
            .reshape([1, 1, h])
            .repeat_dim(0, n);
        let x = x.swap_dims(1, 2) + self.time_embeddings.val().reshape([1, 1, f, h]);
        let x = Tensor::cat(vec![cls, x.reshape([n, p * f, h])], 1);
        let mut x = self.dropout.forward(x);
        for layer in &self.layer {
            x = layer.forward(x, f);
        }
        self.layernorm.forward(x)
    }
}

impl<B: Backend> TimesformerLayer<B> {
    /// `x` [N, 1 + P·F, H] (CLS, then patches in (position, frame) order) → the same shape.
    fn forward(&self, x: Tensor<B, 3>, f: usize) -> Tensor<B, 3> {
        let [n, length, h] = x.dims();
        let p = (length - 1) / f;
        let cls = x.clone().narrow(1, 0, 1);
        let tokens = x.narrow(1, 1, p * f);
        // Time: each patch position attends over its frames.
        let temporal = self.temporal_attention.forward(
            self.temporal_layernorm
                .forward(tokens.clone().reshape([n * p, f, h])),
        );
        let tokens = tokens
            + self
                .temporal_dense
                .forward(self.dropout.forward(temporal.reshape([n, p * f, h])));
        // Space: each frame's patches attend with the CLS token.
        let frames = tokens
            .clone()
            .reshape([n, p, f, h])
            .swap_dims(1, 2)
            .reshape([n * f, p, h]);
        let with_cls = Tensor::cat(
            vec![cls.clone().repeat_dim(1, f).reshape([n * f, 1, h]), frames],
            1,
        );
        let spatial = self.dropout.forward(
            self.attention
                .forward(self.layernorm_before.forward(with_cls)),
        );
        let cls_update = spatial
            .clone()
            .narrow(1, 0, 1)
            .reshape([n, f, h])
            .mean_dim(1);
        let patch_update = spatial
            .narrow(1, 1, p)
            .reshape([n, f, p, h])
            .swap_dims(1, 2)
            .reshape([n, p * f, h]);
        let x = Tensor::cat(vec![cls + cls_update, tokens + patch_update], 1);
        let inner = gelu(
            self.intermediate
                .forward(self.layernorm_after.forward(x.clone())),
        );
        x + self.dropout.forward(self.output.forward(inner))
    }
}
