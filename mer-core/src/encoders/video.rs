//! The video encoder, laid out as VideoMAE: tubelet patches (a 3-D convolution with kernel equal
//! to stride, computed as one matrix product), fixed sinusoidal positions, transformer layers,
//! and mean pooling followed by a layer norm (`fc_norm`).
//!
//! Its input is VideoMAE's: `frames` RGB frames, shortest edge resized to `image_size`, centre
//! cropped, rescaled and normalised with ImageNet's mean and std. It is initialised randomly from
//! a [`VideoShape`]; the demo trains it from scratch. The layers are the text encoder's
//! post-norm ones (VideoMAE's are pre-norm), which matters only for loading its checkpoints.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use crate::cache::{CacheError, FeatureCache, FeatureIdentity, Key};
use crate::config::checks::{at_least_one, divides_hidden, fits_in_memory};
use crate::config::schema::Problem;
use crate::config::wiring::Wiring;
use crate::encoders::{CacheableEncoder, Encode, media_key, random_weights_digest};
use crate::input::{Batch, Sample};
use crate::nn::transformer::{LayerShape, Transformer, layer_parameters};
use crate::nn::{Linear, LinearConfig};

/// The shape of a video encoder (Hugging Face's `VideoMAEConfig` names).
#[crate::config(check = Self::check_shape)]
pub struct VideoShape {
    /// Side of a square patch, in pixels.
    #[config(default = 16, range = "at-least-one")]
    pub patch_size: usize,
    /// Frames per tubelet.
    #[config(default = 2, range = "at-least-one")]
    pub tubelet_size: usize,
    /// Width of token states.
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
    /// Epsilon of every layer norm.
    #[config(default = 1e-12)]
    pub layer_norm_eps: f64,
}

impl VideoShape {
    fn check_shape(&self) -> Result<(), Problem> {
        divides_hidden("heads", self.heads, self.hidden)?;
        at_least_one(&[
            ("patch_size", self.patch_size),
            ("tubelet_size", self.tubelet_size),
            ("layers", self.layers),
            ("intermediate", self.intermediate),
        ])?;
        fits_in_memory(
            "layers",
            layer_parameters(self.hidden, self.intermediate, self.layers),
        )
    }
}

/// A video encoder: its shape and how a clip becomes its input.
#[crate::config(check = Self::check_input)]
pub struct VideoEncoderConfig {
    pub shape: VideoShape,
    /// Frames sampled per clip, at VideoMAE's indices `floor(arange(0, n, n / frames))`.
    #[config(default = 16, range = "at-least-one")]
    pub frames: usize,
    /// Side of the square frames the encoder reads (shortest edge resized, centre crop).
    #[config(default = 224, range = "at-least-one")]
    pub image_size: usize,
    /// Dropout inside the encoder while training.
    #[config(default = 0.1)]
    pub dropout: f64,
}

impl VideoEncoderConfig {
    fn check_input(&self) -> Result<(), Problem> {
        let shape = &self.shape;
        if self.frames == 0 || !self.frames.is_multiple_of(shape.tubelet_size) {
            return Err(Problem::new(
                "frames",
                format!(
                    "must be a positive multiple of shape.tubelet_size ({}), found {}",
                    shape.tubelet_size, self.frames
                ),
            ));
        }
        if self.image_size == 0 || !self.image_size.is_multiple_of(shape.patch_size) {
            return Err(Problem::new(
                "image_size",
                format!(
                    "must be a positive multiple of shape.patch_size ({}), found {}",
                    shape.patch_size, self.image_size
                ),
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Problem::new("dropout", "must be in [0, 1)"));
        }
        Ok(())
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> VideoEncoder<B> {
        let shape = &self.shape;
        let patch = 3 * shape.tubelet_size * shape.patch_size * shape.patch_size;
        let norm = || {
            LayerNormConfig::new(shape.hidden)
                .with_epsilon(shape.layer_norm_eps)
                .init(device)
        };
        VideoEncoder {
            patch_embeddings: LinearConfig::new(patch, shape.hidden).init(device),
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
            fc_norm: norm(),
            dropout: DropoutConfig::new(self.dropout).init(),
            patch_size: shape.patch_size,
            tubelet_size: shape.tubelet_size,
        }
    }
}

/// Pixels → one vector per clip.
#[derive(Module, Debug)]
pub struct VideoEncoder<B: Backend> {
    /// VideoMAE's `Conv3d(3, hidden, (t, p, p), stride (t, p, p))` as a linear map over
    /// flattened (channel, time, row, column) patches.
    pub patch_embeddings: Linear<B>,
    pub encoder: Transformer<B>,
    pub fc_norm: LayerNorm<B>,
    dropout: Dropout,
    #[module(skip)]
    patch_size: usize,
    #[module(skip)]
    tubelet_size: usize,
}

impl<B: Backend> VideoEncoder<B> {
    /// `pixels` [N, F, 3, S, S] → pooled states [N, H].
    pub fn forward(&self, pixels: Tensor<B, 5>) -> Tensor<B, 2> {
        let [n, ..] = pixels.dims();
        let patches = self.patches(pixels);
        let x = self.patch_embeddings.forward(patches);
        let [_, tokens, hidden] = x.dims();
        let positions = Tensor::<B, 2>::from_data(
            TensorData::new(sinusoid_table(tokens, hidden), [tokens, hidden]),
            &x.device(),
        );
        let x = self.dropout.forward(x + positions.unsqueeze_dim::<3>(0));
        let mask = Tensor::<B, 2>::ones([n, tokens], &x.device());
        let states = self.encoder.forward(x, mask);
        self.fc_norm
            .forward(states.mean_dim(1).reshape([n, hidden]))
    }
}

impl<B: Backend> VideoEncoder<B> {
    /// `pixels` [N, F, 3, S, S] → tubelet patches [N, tokens, 3·t·p·p]: tokens in (tubelet,
    /// row, column) order, each patch flattened as (channel, time, row, column), as VideoMAE's
    /// Conv3d weight is.
    pub fn patches(&self, pixels: Tensor<B, 5>) -> Tensor<B, 3> {
        let [n, f, c, s, _] = pixels.dims();
        let (t, p) = (self.tubelet_size, self.patch_size);
        let (ft, sp) = (f / t, s / p);
        // In two steps: the CPU backend allows six dimensions.
        let rows = pixels
            .reshape([n * ft, t, c, sp, p, s])
            .permute([0, 3, 2, 1, 4, 5])
            .reshape([n * ft * sp, c * t * p, sp, p]);
        rows.permute([0, 2, 1, 3])
            .reshape([n, ft * sp * sp, c * t * p * p])
    }
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

impl<B: Backend> Encode<B> for VideoEncoder<B> {
    fn encode(&self, batch: &Batch<B>) -> Tensor<B, 2> {
        let video = batch.video.as_ref().expect(
            "a video encoder needs batches with video: give the training data a media feed",
        );
        self.forward(video.pixels.clone())
    }
}

impl Wiring for VideoEncoderConfig {
    fn output_width(&self) -> Result<usize, Problem> {
        Ok(self.shape.hidden)
    }
}

impl CacheableEncoder for VideoEncoderConfig {
    fn feature_identity<B: Backend, M: Module<B>>(
        &self,
        module: &M,
        _: &FeatureCache,
    ) -> Result<FeatureIdentity, CacheError> {
        Ok(FeatureIdentity::new(serde_json::json!({
            "encoder": "video",
            "weights": random_weights_digest(module)?,
            "shape": serde_json::to_value(&self.shape).expect("shape serialises"),
            "frames": self.frames,
            "image_size": self.image_size,
            "preprocessing": "videomae: shortest edge, centre crop, 1/255, imagenet mean/std",
        })))
    }

    fn input_key(&self, sample: &Sample, cache: &FeatureCache) -> Result<Key, CacheError> {
        media_key("video", sample.video.as_deref(), cache)
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;

    use super::*;

    type B = NdArray<f32>;

    #[test]
    fn tokens_are_tubelet_patches_in_videomae_order() {
        let device = Default::default();
        let mut config = crate::config::schema::defaults::<VideoEncoderConfig>()
            .expect("every key has a default");
        (config.frames, config.image_size) = (4, 8);
        (config.shape.patch_size, config.shape.tubelet_size) = (4, 2);
        let encoder = config.init::<B>(&device);
        let (f, s, p, t) = (4, 8, 4, 2);
        let pixels: Vec<f32> = (0..f * 3 * s * s)
            .map(|i| (i % 251) as f32 / 251.0)
            .collect();
        let input =
            Tensor::<B, 5>::from_data(TensorData::new(pixels.clone(), [1, f, 3, s, s]), &device);
        let (tubelet, row, column) = (1, 0, 1);
        let mut expected = Vec::new();
        for c in 0..3 {
            for dt in 0..t {
                for dy in 0..p {
                    for dx in 0..p {
                        let frame = tubelet * t + dt;
                        let (y, x) = (row * p + dy, column * p + dx);
                        expected.push(pixels[((frame * 3 + c) * s + y) * s + x]);
                    }
                }
            }
        }
        let patches = encoder.patches(input.clone());
        let sp = s / p;
        assert_eq!(patches.dims(), [1, (f / t) * sp * sp, 3 * t * p * p]);
        let token = tubelet * sp * sp + row * sp + column;
        let got: Vec<f32> = patches.narrow(1, token, 1).into_data().into_vec().unwrap();
        assert_eq!(got, expected);
        assert_eq!(encoder.forward(input).dims(), [1, config.shape.hidden]);
    }

    #[test]
    fn positions_are_videomae_sinusoids() {
        let table = sinusoid_table(3, 4);
        // Position 2, dimension 2: sin(2 / 10000^(2/4)) = sin(0.02).
        assert!((table[2 * 4 + 2] - 0.02f32.sin()).abs() < 1e-6);
        assert!((table[2 * 4 + 1] - 2f32.cos()).abs() < 1e-6);
        assert_eq!(table[0], 0.0);
    }
}
