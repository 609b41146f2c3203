//! The audio encoder, laid out as wav2vec 2.0 / data2vec-audio: a strided convolutional feature
//! encoder over the raw 16 kHz waveform, a feature projection, a grouped convolutional position
//! embedding, post-norm transformer layers, and mean pooling over real frames.
//!
//! It is initialised randomly from an [`AudioShape`]; the demo trains it from scratch.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig};
use burn::tensor::activation::gelu;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use crate::cache::{CacheError, FeatureCache, FeatureIdentity, Key};
use crate::config::checks::{at_least_one, divides_hidden, fits_in_memory};
use crate::config::schema::Problem;
use crate::config::wiring::Wiring;
use crate::encoders::{CacheableEncoder, Encode, media_key, random_weights_digest};
use crate::input::{Batch, Sample};
use crate::nn::transformer::{LayerShape, Transformer, layer_parameters};
use crate::nn::{Conv1d, Conv1dConfig, Linear, LinearConfig};

/// The rate every waveform is resampled to.
pub const SAMPLE_RATE: u32 = 16_000;

/// Which end of a long recording is kept.
#[crate::config]
pub enum KeepEnd {
    /// The first `max_samples` (the original codebase: 200,000).
    First,
    /// The last `max_samples` (TelME: 400,000).
    Last,
}

/// The shape of an audio encoder (Hugging Face's `Data2VecAudioConfig` names, shortened).
#[crate::config(check = Self::check_shape)]
pub struct AudioShape {
    /// Output channels of each feature-encoder convolution.
    #[config(default = vec![64, 64, 64, 64], range = "at-least-one")]
    pub conv_dim: Vec<usize>,
    /// Kernel width of each convolution.
    #[config(default = vec![10, 4, 4, 2], range = "at-least-one")]
    pub conv_kernel: Vec<usize>,
    /// Stride of each convolution; their product is the samples per frame.
    #[config(default = vec![5, 4, 4, 2], range = "at-least-one")]
    pub conv_stride: Vec<usize>,
    /// Width of frame states.
    #[config(default = 64, range = "at-least-one")]
    pub hidden: usize,
    /// Transformer layers.
    #[config(default = 2, range = "at-least-one")]
    pub layers: usize,
    /// Attention heads per layer; divides `hidden`.
    #[config(default = 4, range = "at-least-one")]
    pub heads: usize,
    /// Width of the feed-forward block.
    #[config(default = 128, range = "at-least-one")]
    pub intermediate: usize,
    /// Kernel width of the convolutional position embedding.
    #[config(default = 16, range = "at-least-one")]
    pub pos_conv_kernel: usize,
    /// Groups of the convolutional position embedding; divides `hidden`.
    #[config(default = 4, range = "at-least-one")]
    pub pos_conv_groups: usize,
    /// Epsilon of every layer norm.
    #[config(default = 1e-5)]
    pub layer_norm_eps: f64,
}

impl AudioShape {
    fn check_shape(&self) -> Result<(), Problem> {
        if self.conv_dim.is_empty() {
            return Err(Problem::new("conv_dim", "needs at least one convolution"));
        }
        for (key, list) in [
            ("conv_kernel", &self.conv_kernel),
            ("conv_stride", &self.conv_stride),
        ] {
            if list.len() != self.conv_dim.len() {
                return Err(Problem::new(
                    key,
                    format!(
                        "has {} entries, conv_dim has {}: one per convolution",
                        list.len(),
                        self.conv_dim.len()
                    ),
                ));
            }
        }
        for (key, list) in [
            ("conv_dim", &self.conv_dim),
            ("conv_kernel", &self.conv_kernel),
            ("conv_stride", &self.conv_stride),
        ] {
            if list.contains(&0) {
                return Err(Problem::new(key, "every entry must be at least 1"));
            }
        }
        divides_hidden("heads", self.heads, self.hidden)?;
        divides_hidden("pos_conv_groups", self.pos_conv_groups, self.hidden)?;
        at_least_one(&[
            ("layers", self.layers),
            ("intermediate", self.intermediate),
            ("pos_conv_kernel", self.pos_conv_kernel),
        ])?;
        fits_in_memory(
            "layers",
            layer_parameters(self.hidden, self.intermediate, self.layers),
        )
    }

    /// The fewest samples that make one frame: shorter inputs are padded to this.
    pub fn receptive_field(&self) -> usize {
        let mut field = 1;
        for (k, s) in self.conv_kernel.iter().zip(&self.conv_stride).rev() {
            field = (field - 1) * s + k;
        }
        field
    }

    /// Frames the feature encoder makes of `samples` samples.
    pub fn frames(&self, samples: usize) -> usize {
        self.conv_kernel
            .iter()
            .zip(&self.conv_stride)
            .fold(
                samples,
                |len, (k, s)| {
                    if len < *k { 0 } else { (len - k) / s + 1 }
                },
            )
    }
}

/// An audio encoder: its shape and how a recording becomes its input.
#[crate::config(check = Self::check_lengths)]
pub struct AudioEncoderConfig {
    pub shape: AudioShape,
    /// Longer recordings are cut to this many samples at 16 kHz (the original: 200,000).
    #[config(default = 200_000, range = "at-least-one")]
    pub max_samples: usize,
    /// Which end of a long recording is kept.
    #[config(default = KeepEnd::First)]
    pub keep: KeepEnd,
    /// Dropout inside the encoder while training.
    #[config(default = 0.1)]
    pub dropout: f64,
}

impl AudioEncoderConfig {
    fn check_lengths(&self) -> Result<(), Problem> {
        let field = self.shape.receptive_field();
        if self.max_samples < field {
            return Err(Problem::new(
                "max_samples",
                format!("must be at least the feature encoder's receptive field ({field} samples)"),
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Problem::new("dropout", "must be in [0, 1)"));
        }
        Ok(())
    }

    /// Shorter recordings are zero-padded to this many samples, so every one makes a frame.
    pub fn min_samples(&self) -> usize {
        self.shape.receptive_field()
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> AudioEncoder<B> {
        let shape = &self.shape;
        let norm = |width| {
            LayerNormConfig::new(width)
                .with_epsilon(shape.layer_norm_eps)
                .init(device)
        };
        let mut channels = 1;
        let mut convs = Vec::new();
        for ((&dim, &kernel), &stride) in shape
            .conv_dim
            .iter()
            .zip(&shape.conv_kernel)
            .zip(&shape.conv_stride)
        {
            convs.push(FeatureConv {
                conv: Conv1dConfig::new(channels, dim, kernel)
                    .with_stride(stride)
                    .init(device),
                layer_norm: norm(dim),
            });
            channels = dim;
        }
        let pad = shape.pos_conv_kernel / 2;
        AudioEncoder {
            feature_encoder: convs,
            projection_norm: norm(channels),
            projection: LinearConfig::new(channels, shape.hidden).init(device),
            pos_conv: Conv1dConfig::new(shape.hidden, shape.hidden, shape.pos_conv_kernel)
                .with_groups(shape.pos_conv_groups)
                .with_padding(pad)
                .init(device),
            layer_norm: norm(shape.hidden),
            encoder: Transformer::init(
                LayerShape {
                    hidden: shape.hidden,
                    heads: shape.heads,
                    intermediate: shape.intermediate,
                    layer_norm_eps: shape.layer_norm_eps,
                    dropout: self.dropout,
                },
                shape.layers,
                device,
            ),
            dropout: DropoutConfig::new(self.dropout).init(),
            kernels: shape.conv_kernel.clone(),
            strides: shape.conv_stride.clone(),
        }
    }
}

/// One convolution of the feature encoder: conv, layer norm over channels, GELU.
#[derive(Module, Debug)]
pub struct FeatureConv<B: Backend> {
    pub conv: Conv1d<B>,
    pub layer_norm: LayerNorm<B>,
}

/// Waveforms → one vector per recording.
#[derive(Module, Debug)]
pub struct AudioEncoder<B: Backend> {
    pub feature_encoder: Vec<FeatureConv<B>>,
    pub projection_norm: LayerNorm<B>,
    pub projection: Linear<B>,
    pub pos_conv: Conv1d<B>,
    pub layer_norm: LayerNorm<B>,
    pub encoder: Transformer<B>,
    dropout: Dropout,
    #[module(skip)]
    kernels: Vec<usize>,
    #[module(skip)]
    strides: Vec<usize>,
}

impl<B: Backend> AudioEncoder<B> {
    /// `samples` [N, L] and `mask` [N, L] (1 sample, 0 padding) → pooled states [N, H].
    pub fn forward(&self, samples: Tensor<B, 2>, mask: Tensor<B, 2, Int>) -> Tensor<B, 2> {
        let [n, l] = samples.dims();
        // Channels last throughout: [N, L, 1] → [N, T, C].
        let mut x = samples.reshape([n, l, 1]);
        for layer in &self.feature_encoder {
            x = gelu(layer.layer_norm.forward(layer.conv.forward(x)));
        }
        let [_, t, _] = x.dims();
        let x = self
            .dropout
            .forward(self.projection.forward(self.projection_norm.forward(x)));
        // An even kernel with symmetric padding makes one frame too many (HF's `SamePad`).
        let position = self.pos_conv.forward(x.clone()).narrow(1, 0, t);
        let x = self.layer_norm.forward(x + gelu(position));
        let frames = self.frame_mask(mask, t);
        let states = self
            .encoder
            .forward(self.dropout.forward(x), frames.clone());
        let [_, _, hidden] = states.dims();
        let counts = frames.clone().sum_dim(1).clamp_min(1.0);
        (states * frames.unsqueeze_dim::<3>(2))
            .sum_dim(1)
            .reshape([n, hidden])
            / counts
    }

    /// `mask` [N, L] over samples → [N, T] over frames: 1 where a frame sees only real samples.
    fn frame_mask(&self, mask: Tensor<B, 2, Int>, frames: usize) -> Tensor<B, 2> {
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

impl<B: Backend> Encode<B> for AudioEncoder<B> {
    fn encode(&self, batch: &Batch<B>) -> Tensor<B, 2> {
        let audio = batch.audio.as_ref().expect(
            "an audio encoder needs batches with audio: give the training data a media feed",
        );
        self.forward(audio.samples.clone(), audio.mask.clone())
    }
}

impl Wiring for AudioEncoderConfig {
    fn output_width(&self) -> Result<usize, Problem> {
        Ok(self.shape.hidden)
    }
}

impl CacheableEncoder for AudioEncoderConfig {
    fn feature_identity<B: Backend, M: Module<B>>(
        &self,
        module: &M,
        _: &FeatureCache,
    ) -> Result<FeatureIdentity, CacheError> {
        Ok(FeatureIdentity::new(serde_json::json!({
            "encoder": "audio",
            "weights": random_weights_digest(module)?,
            "shape": serde_json::to_value(&self.shape).expect("shape serialises"),
            "sample_rate": SAMPLE_RATE,
            "max_samples": self.max_samples,
            "keep": self.keep.as_str(),
            "min_samples": self.min_samples(),
            "normalize": "per-utterance zero mean, unit variance",
        })))
    }

    fn input_key(&self, sample: &Sample, cache: &FeatureCache) -> Result<Key, CacheError> {
        media_key("audio", sample.audio.as_deref(), cache)
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;

    use super::*;

    type B = NdArray<f32>;

    fn config() -> AudioEncoderConfig {
        crate::config::schema::defaults::<AudioEncoderConfig>().expect("every key has a default")
    }

    #[test]
    fn frame_counts_follow_the_convolutions() {
        let shape = config().shape;
        // Default strides 5·4·4·2: 160 samples per frame; the receptive field is one frame.
        assert_eq!(shape.receptive_field(), 10 + 3 * 5 + 3 * 20 + 80);
        assert_eq!(shape.frames(shape.receptive_field()), 1);
        assert_eq!(shape.frames(shape.receptive_field() - 1), 0);
        assert_eq!(shape.frames(16_000), 99);
    }

    #[test]
    fn padding_frames_are_left_out_of_the_pool() {
        let device = Default::default();
        let config = config();
        let encoder = config.init::<B>(&device);
        // Two recordings of 16,000 samples; the second is 4,000 real samples then padding.
        let mask = Tensor::<B, 2, Int>::from_data(
            burn::tensor::TensorData::new(
                [
                    vec![1i64; 16_000],
                    [vec![1i64; 4_000], vec![0; 12_000]].concat(),
                ]
                .concat(),
                [2, 16_000],
            ),
            &device,
        );
        let frames: Vec<f32> = encoder
            .frame_mask(mask, config.shape.frames(16_000))
            .sum_dim(1)
            .into_data()
            .into_vec()
            .unwrap();
        assert_eq!(
            frames,
            [
                config.shape.frames(16_000) as f32,
                config.shape.frames(4_000) as f32
            ]
        );
        let samples =
            Tensor::<B, 2>::random([2, 16_000], burn::tensor::Distribution::Default, &device);
        let pooled = encoder.forward(samples, Tensor::<B, 2, Int>::ones([2, 16_000], &device));
        assert_eq!(pooled.dims(), [2, config.shape.hidden]);
    }
}
