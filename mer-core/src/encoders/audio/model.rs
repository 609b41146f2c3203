//! The audio encoder, module for module as transformers' `Wav2Vec2Model`,
//! `Data2VecAudioModel` and `HubertModel` (transformers 4.46, `modeling_wav2vec2.py` and
//! siblings): a strided convolutional feature encoder over the raw waveform, a feature
//! projection, a convolutional position embedding, and post-norm (base) or pre-norm (stable
//! layer norm, large) transformer layers. Tensor names are in [`super::hf::table`].

use crate::nn::{Dropout, DropoutConfig};
use crate::nn::{LayerNorm, LayerNormConfig};
use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};
use mer_kernels::gelu;

use super::shape::{AudioKind, AudioShape, FeatureNorm};
use crate::nn::transformer::{LayerShape, Transformer};
use crate::nn::{Conv1d, Conv1dConfig, Linear, LinearConfig};

/// How frame states become one vector per recording.
#[crate::config]
pub enum AudioPooling {
    /// The mean over frames that see only real samples.
    Mean,
    /// The first frame's state (the original codebase's `last_hidden_state[:, 0]`).
    First,
}

/// `torch.nn.GroupNorm` with a group per channel: each channel normalised over time.
#[derive(Module, Debug)]
pub struct ChannelNorm<B: Backend> {
    pub gamma: Param<Tensor<B, 1>>,
    pub beta: Param<Tensor<B, 1>>,
}

impl<B: Backend> ChannelNorm<B> {
    fn new(channels: usize, device: &B::Device) -> Self {
        ChannelNorm {
            gamma: Param::from_tensor(Tensor::ones([channels], device)),
            beta: Param::from_tensor(Tensor::zeros([channels], device)),
        }
    }

    /// [N, T, C] → [N, T, C].
    fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let [_, _, c] = x.dims();
        let (var, mean) = x.clone().var_mean_bias(1);
        let normed = (x - mean) / (var + 1e-5).sqrt();
        normed * self.gamma.val().reshape([1, 1, c]) + self.beta.val().reshape([1, 1, c])
    }
}

/// One convolution of the feature encoder: conv, its norm if any, GELU.
#[derive(Module, Debug)]
pub struct FeatureConv<B: Backend> {
    pub conv: Conv1d<B>,
    pub layer_norm: Option<LayerNorm<B>>,
    pub group_norm: Option<ChannelNorm<B>>,
}

/// Waveforms → frame states, and one vector per recording.
#[derive(Module, Debug)]
pub struct AudioEncoder<B: Backend> {
    pub feature_encoder: Vec<FeatureConv<B>>,
    pub projection_norm: Option<LayerNorm<B>>,
    pub projection: Linear<B>,
    /// One weight-normed convolution (wav2vec 2.0, HuBERT) or several (data2vec-audio).
    pub pos_conv: Vec<Conv1d<B>>,
    /// Before the layers (post-norm) or after them (stable layer norm).
    pub layer_norm: LayerNorm<B>,
    pub encoder: Transformer<B>,
    dropout: Dropout,
    #[module(skip)]
    kernels: Vec<usize>,
    #[module(skip)]
    strides: Vec<usize>,
    #[module(skip)]
    pos_conv_norm: bool,
    #[module(skip)]
    stable_layer_norm: bool,
    #[module(skip)]
    pooling: AudioPooling,
}

impl<B: Backend> AudioEncoder<B> {
    /// A randomly initialised encoder of `shape`.
    pub fn init(
        shape: &AudioShape,
        pooling: AudioPooling,
        dropout: f64,
        device: &B::Device,
    ) -> Self {
        let norm = |width| {
            LayerNormConfig::new(width)
                .with_epsilon(shape.layer_norm_eps)
                .init(device)
        };
        let mut channels = 1;
        let mut convs = Vec::new();
        for (i, ((&dim, &kernel), &stride)) in shape
            .conv_dim
            .iter()
            .zip(&shape.conv_kernel)
            .zip(&shape.conv_stride)
            .enumerate()
        {
            let layer = shape.feature_norm == FeatureNorm::Layer;
            convs.push(FeatureConv {
                conv: Conv1dConfig::new(channels, dim, kernel)
                    .with_stride(stride)
                    .with_bias(shape.conv_bias)
                    .init(device),
                // transformers' feature encoders use the default epsilon here.
                layer_norm: layer.then(|| LayerNormConfig::new(dim).init(device)),
                group_norm: (!layer && i == 0).then(|| ChannelNorm::new(dim, device)),
            });
            channels = dim;
        }
        let pos_conv = (0..shape.pos_conv_layers)
            .map(|_| {
                Conv1dConfig::new(shape.hidden, shape.hidden, shape.pos_conv_kernel)
                    .with_groups(shape.pos_conv_groups)
                    .with_padding(shape.pos_conv_kernel / 2)
                    .init(device)
            })
            .collect();
        AudioEncoder {
            feature_encoder: convs,
            projection_norm: shape.projection_norm.then(|| norm(channels)),
            projection: LinearConfig::new(channels, shape.hidden).init(device),
            pos_conv,
            layer_norm: norm(shape.hidden),
            encoder: Transformer::init(
                LayerShape {
                    hidden: shape.hidden,
                    heads: shape.heads,
                    intermediate: shape.intermediate,
                    layer_norm_eps: shape.layer_norm_eps,
                    dropout,
                    norm_first: shape.stable_layer_norm,
                },
                shape.layers,
                device,
            ),
            dropout: DropoutConfig::new(dropout).init(),
            kernels: shape.conv_kernel.clone(),
            strides: shape.conv_stride.clone(),
            pos_conv_norm: shape.kind == AudioKind::Data2vecAudio,
            stable_layer_norm: shape.stable_layer_norm,
            pooling,
        }
    }

    /// `samples` [N, L] and `mask` [N, L] (1 sample, 0 padding) → pooled states [N, H].
    pub fn forward(&self, samples: Tensor<B, 2>, mask: Tensor<B, 2, Int>) -> Tensor<B, 2> {
        let (states, frames) = self.hidden_states(samples, mask);
        let [n, _, hidden] = states.dims();
        match self.pooling {
            AudioPooling::First => states.narrow(1, 0, 1).reshape([n, hidden]),
            AudioPooling::Mean => {
                let counts = frames.clone().sum_dim(1).clamp_min(1.0);
                (states * frames.unsqueeze_dim::<3>(2))
                    .sum_dim(1)
                    .reshape([n, hidden])
                    / counts
            }
        }
    }

    /// `samples` [N, L] and `mask` [N, L] → `last_hidden_state` [N, T, H] and the frame mask
    /// [N, T] (1 where a frame sees only real samples).
    pub fn hidden_states(
        &self,
        samples: Tensor<B, 2>,
        mask: Tensor<B, 2, Int>,
    ) -> (Tensor<B, 3>, Tensor<B, 2>) {
        let [n, l] = samples.dims();
        // Channels last throughout: [N, L, 1] → [N, T, C].
        let mut x = samples.reshape([n, l, 1]);
        for layer in &self.feature_encoder {
            x = layer.conv.forward(x);
            if let Some(norm) = &layer.layer_norm {
                x = norm.forward(x);
            }
            if let Some(norm) = &layer.group_norm {
                x = norm.forward(x);
            }
            x = gelu(x);
        }
        let [_, t, _] = x.dims();
        if let Some(norm) = &self.projection_norm {
            x = norm.forward(x);
        }
        let frames = self.frame_mask(mask, t);
        // Padding frames are zeroed before the position embedding reads them, as transformers does.
        let x = self.dropout.forward(self.projection.forward(x)) * frames.clone().unsqueeze_dim(2);
        let x = x.clone() + self.position(x, t);
        let x = if self.stable_layer_norm {
            x
        } else {
            self.layer_norm.forward(x)
        };
        let states = self
            .encoder
            .forward(self.dropout.forward(x), frames.clone());
        let states = if self.stable_layer_norm {
            self.layer_norm.forward(states)
        } else {
            states
        };
        (states, frames)
    }

    /// The convolutional position embedding of `x` [N, T, H].
    fn position(&self, mut x: Tensor<B, 3>, t: usize) -> Tensor<B, 3> {
        for conv in &self.pos_conv {
            // An even kernel with symmetric padding makes one frame too many (`SamePad`).
            x = conv.forward(x).narrow(1, 0, t);
            if self.pos_conv_norm {
                // data2vec-audio: a layer norm without weights, default epsilon.
                let (var, mean) = x.clone().var_mean_bias(2);
                x = (x - mean) / (var + 1e-5).sqrt();
            }
            x = gelu(x);
        }
        x
    }

    /// `mask` [N, L] over samples → [N, T] over frames: 1 where a frame sees only real samples.
    pub(super) fn frame_mask(&self, mask: Tensor<B, 2, Int>, frames: usize) -> Tensor<B, 2> {
        let [n, _] = mask.dims();
        let mut lengths = mask.sum_dim(1);
        // Inputs are padded to the receptive field, so every length here is at least one frame.
        for (&k, &s) in self.kernels.iter().zip(&self.strides) {
            lengths = (lengths.clamp_min(k as i64) - k as i64).div_scalar(s as i64) + 1;
        }
        let positions = Tensor::<B, 1, Int>::arange(0..frames as i64, &lengths.device())
            .reshape([1, frames])
            .repeat_dim(0, n);
        positions.lower(lengths.repeat_dim(1, frames)).float()
    }
}
