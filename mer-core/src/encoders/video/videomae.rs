//! VideoMAE, module for module as transformers' `VideoMAEModel` (4.46, `modeling_videomae.py`):
//! tubelet patches (a 3-D convolution with kernel equal to stride, computed as one matrix
//! product), fixed sinusoidal positions, pre-norm layers with query and value biases only, and
//! either a final layer norm or mean pooling through `fc_norm` (the classification
//! checkpoint's). Tensor names are in [`super::hf::videomae_table`].

use crate::nn::{Dropout, DropoutConfig};
use crate::nn::{LayerNorm, LayerNormConfig};
use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use super::shape::VideoShape;
use crate::nn::transformer::{LayerShape, Transformer};
use crate::nn::{Linear, LinearConfig};

/// Pixels → token states.
#[derive(Module, Debug)]
pub struct VideoMae<B: Backend> {
    /// `Conv3d(3, hidden, (t, p, p), stride (t, p, p))` as a linear map over flattened
    /// (channel, time, row, column) patches.
    pub patch_embeddings: Linear<B>,
    pub encoder: Transformer<B>,
    /// The final layer norm of a model without mean pooling.
    pub layernorm: Option<LayerNorm<B>>,
    /// The pooled mean's layer norm of a model with mean pooling.
    pub fc_norm: Option<LayerNorm<B>>,
    dropout: Dropout,
    #[module(skip)]
    patch_size: usize,
    #[module(skip)]
    tubelet_size: usize,
    /// The fixed position table [tokens × hidden] for the configured clip, computed once
    /// (1.2M `powf` for the base model's 1568 tokens).
    #[module(skip)]
    positions: std::sync::Arc<Vec<f32>>,
}

impl<B: Backend> VideoMae<B> {
    /// A randomly initialised VideoMAE for clips of `tokens` tubelet patches.
    pub fn init(shape: &VideoShape, tokens: usize, dropout: f64, device: &B::Device) -> Self {
        let patch = 3 * shape.tubelet_size * shape.patch_size * shape.patch_size;
        let mut encoder = Transformer::init(
            LayerShape {
                hidden: shape.hidden,
                heads: shape.heads,
                intermediate: shape.intermediate,
                layer_norm_eps: shape.layer_norm_eps,
                dropout,
                norm_first: true,
            },
            shape.layers,
            device,
        );
        for layer in &mut encoder.layer {
            let attention = &mut layer.attention.self_attn;
            // VideoMAE's keys never have a bias; queries and values have one with `qkv_bias`.
            attention.key.bias = None;
            if !shape.qkv_bias {
                attention.query.bias = None;
                attention.value.bias = None;
            }
        }
        let norm = |eps| {
            LayerNormConfig::new(shape.hidden)
                .with_epsilon(eps)
                .init(device)
        };
        VideoMae {
            patch_embeddings: LinearConfig::new(patch, shape.hidden).init(device),
            encoder,
            layernorm: (!shape.use_mean_pooling).then(|| norm(shape.layer_norm_eps)),
            // transformers builds `fc_norm` with the default epsilon.
            fc_norm: shape.use_mean_pooling.then(|| norm(1e-5)),
            dropout: DropoutConfig::new(dropout).init(),
            patch_size: shape.patch_size,
            tubelet_size: shape.tubelet_size,
            positions: std::sync::Arc::new(sinusoid_table(tokens, shape.hidden)),
        }
    }

    /// `pixels` [N, F, 3, S, S] → `last_hidden_state` [N, tokens, H].
    pub fn hidden_states(&self, pixels: Tensor<B, 5>) -> Tensor<B, 3> {
        let [n, ..] = pixels.dims();
        let patches = patches(pixels, self.tubelet_size, self.patch_size);
        let x = self.patch_embeddings.forward(patches);
        let [_, tokens, hidden] = x.dims();
        let table = if self.positions.len() == tokens * hidden {
            self.positions.to_vec()
        } else {
            sinusoid_table(tokens, hidden)
        };
        let positions =
            Tensor::<B, 2>::from_data(TensorData::new(table, [tokens, hidden]), &x.device());
        let x = self.dropout.forward(x + positions.unsqueeze_dim::<3>(0));
        let mask = Tensor::<B, 2>::ones([n, tokens], &x.device());
        let states = self.encoder.forward(x, mask);
        match &self.layernorm {
            Some(norm) => norm.forward(states),
            None => states,
        }
    }

    /// The mean over tokens, through `fc_norm` when the model has it: [N, T, H] → [N, H].
    pub fn mean_pool(&self, states: Tensor<B, 3>) -> Tensor<B, 2> {
        let [n, _, hidden] = states.dims();
        let mean = states.mean_dim(1).reshape([n, hidden]);
        match &self.fc_norm {
            Some(norm) => norm.forward(mean),
            None => mean,
        }
    }
}

/// `pixels` [N, F, 3, S, S] → patches [N, tokens, 3·t·p·p]: tokens in (tubelet, row, column)
/// order, each patch flattened as (channel, time, row, column), as a Conv3d (t > 1) or Conv2d
/// (t = 1) weight is.
pub fn patches<B: Backend>(pixels: Tensor<B, 5>, t: usize, p: usize) -> Tensor<B, 3> {
    let [n, f, c, s, _] = pixels.dims();
    let (ft, sp) = (f / t, s / p);
    // In two steps: the CPU backend allows six dimensions.
    // Each permuted tensor is made row-major by mer's copy before the reshape (Burn's own copy
    // walks it element by element).
    let rows = pixels
        .reshape([n * ft, t, c, sp, p, s])
        .permute([0, 3, 2, 1, 4, 5]);
    let rows = mer_kernels::contiguous(rows).reshape([n * ft * sp, c * t * p, sp, p]);
    mer_kernels::contiguous(rows.permute([0, 2, 1, 3])).reshape([n, ft * sp * sp, c * t * p * p])
}

/// VideoMAE's fixed position table [tokens, hidden]: sin on even, cos on odd dimensions, at
/// angle `position / 10000^(2⌊j/2⌋/hidden)`.
pub fn sinusoid_table(tokens: usize, hidden: usize) -> Vec<f32> {
    let mut table = Vec::with_capacity(tokens * hidden);
    for position in 0..tokens {
        for j in 0..hidden {
            let angle = position as f64 / 10000f64.powf(2.0 * (j / 2) as f64 / hidden as f64);
            table.push(if j % 2 == 0 { angle.sin() } else { angle.cos() } as f32);
        }
    }
    table
}
