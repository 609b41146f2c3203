//! The video encoder: VideoMAE or TimeSformer, initialised randomly from a [`VideoShape`] (the
//! demo trains it from scratch) or loaded from a Hugging Face folder (`pretrained`), whose
//! `preprocessor_config.json` says how frames become pixels.
//!
//! Its input is a clip's `frames` RGB frames sampled at `floor(arange(0, n, n / frames))`,
//! resized, centre cropped, rescaled and normalised as the image processor says.

pub mod hf;
pub mod shape;
pub mod timesformer;
pub mod videomae;

use std::path::Path;

use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

pub use shape::{VideoKind, VideoShape};
pub use timesformer::Timesformer;
pub use videomae::{VideoMae, sinusoid_table};

use crate::cache::{CacheError, FeatureCache, FeatureIdentity, Key};
use crate::config::schema::Problem;
use crate::config::wiring::Wiring;
use crate::encoders::pretrained::{self, PretrainedError};
use crate::encoders::{CacheableEncoder, Encode, media_key};
use crate::input::{Batch, Sample};
use crate::nn::hf_names::LoadReport;

/// ImageNet's channel means and standard deviations (the preprocessing without a folder).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// How token states become one vector per clip.
#[crate::config]
pub enum VideoPooling {
    /// The mean over tokens (through VideoMAE's `fc_norm` when the model has one).
    Mean,
    /// The first token's state (TimeSformer's CLS token).
    First,
}

/// A video encoder: its weights (random of a shape, or a Hugging Face folder) and how a clip
/// becomes its input.
#[crate::config(check = Self::check_input)]
pub struct VideoEncoderConfig {
    /// A Hugging Face folder (`config.json`, `model.safetensors`, `preprocessor_config.json`) of
    /// a `videomae` or `timesformer` model.
    pub pretrained: Option<String>,
    /// The shape of a randomly initialised encoder; with `pretrained`, its `config.json` says.
    pub shape: Option<VideoShape>,
    /// Frames sampled per clip; by default the pretrained model's `num_frames`, or 16.
    pub frames: Option<usize>,
    /// Side of the square frames the encoder reads; by default the pretrained model's
    /// `image_size`, or 224.
    pub image_size: Option<usize>,
    /// How token states become one vector.
    #[config(default = VideoPooling::Mean)]
    pub pooling: VideoPooling,
    /// Dropout inside the encoder while training.
    #[config(default = 0.1)]
    pub dropout: f64,
}

/// How a frame is resized before cropping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resize {
    /// The shorter side to this many pixels, the aspect ratio kept.
    ShortestEdge(usize),
    /// To exactly (height, width).
    Exact(usize, usize),
    None,
}

/// How a clip becomes pixels [F, 3, S, S].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoInput {
    pub frames: usize,
    pub resize: Resize,
    /// The centre crop (height, width), if any.
    pub crop: Option<(usize, usize)>,
    /// Side of the square pixels the encoder reads.
    pub size: usize,
    /// Pixel bytes are multiplied by this (1/255, or 1 without rescaling)…
    pub rescale: f32,
    /// …then normalised per channel.
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

/// Everything about the model a config fixes.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoModel {
    pub shape: VideoShape,
    pub frames: usize,
    pub image_size: usize,
}

impl VideoEncoderConfig {
    fn check_input(&self) -> Result<(), Problem> {
        let model = self.model()?;
        let shape = &model.shape;
        let per_token = shape.frames_per_token();
        if !model.frames.is_multiple_of(per_token) || model.frames == 0 {
            return Err(Problem::new(
                "frames",
                format!(
                    "must be a positive multiple of shape.tubelet_size ({per_token}), found {}",
                    model.frames
                ),
            ));
        }
        if model.image_size == 0 || !model.image_size.is_multiple_of(shape.patch_size) {
            return Err(Problem::new(
                "image_size",
                format!(
                    "must be a positive multiple of shape.patch_size ({}), found {}",
                    shape.patch_size, model.image_size
                ),
            ));
        }
        self.input()
            .map_err(|e| Problem::new("pretrained", e.to_string()))?;
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Problem::new("dropout", "must be in [0, 1)"));
        }
        Ok(())
    }

    /// The shape, frames and image size: from the pretrained folder (where `frames` and
    /// `image_size`, if given, must agree) or from the config.
    pub fn model(&self) -> Result<VideoModel, Problem> {
        match (&self.pretrained, &self.shape) {
            (Some(_), Some(_)) => Err(Problem::new(
                "shape",
                "give `pretrained` or `shape`, not both (a pretrained folder's config.json sets \
                 the shape)",
            )),
            (None, None) => Err(Problem::new(
                "pretrained",
                "give `pretrained` (a Hugging Face folder) or a `shape` to initialise randomly",
            )),
            (Some(dir), None) => {
                let folder = hf::read_model(Path::new(dir))
                    .map_err(|e| Problem::new("pretrained", e.to_string()))?;
                for (key, given, fixed) in [
                    ("frames", self.frames, folder.frames),
                    ("image_size", self.image_size, folder.image_size),
                ] {
                    if given.is_some_and(|g| g != fixed) {
                        return Err(Problem::new(
                            key,
                            format!(
                                "the pretrained model reads {fixed}; leave it out or set {fixed}"
                            ),
                        ));
                    }
                }
                Ok(VideoModel {
                    shape: folder.shape,
                    frames: folder.frames,
                    image_size: folder.image_size,
                })
            }
            (None, Some(shape)) => Ok(VideoModel {
                shape: shape.clone(),
                frames: self.frames.unwrap_or(16),
                image_size: self.image_size.unwrap_or(224),
            }),
        }
    }

    /// How clips are read: the folder's image processor, or VideoMAE's with ImageNet's mean/std.
    pub fn input(&self) -> Result<VideoInput, PretrainedError> {
        let model = self.model().map_err(|p| {
            PretrainedError::unsupported(
                Path::new("(video encoder)"),
                format!("{}: {}", p.key, p.message),
            )
        })?;
        let size = model.image_size;
        let default = VideoInput {
            frames: model.frames,
            resize: Resize::ShortestEdge(size),
            crop: Some((size, size)),
            size,
            rescale: 1.0 / 255.0,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
        };
        let Some(dir) = &self.pretrained else {
            return Ok(default);
        };
        let Some(pre) = hf::ImagePreprocessor::read(Path::new(dir))? else {
            return Ok(default);
        };
        let resize = match (pre.do_resize, pre.size) {
            (false, _) => Resize::None,
            (
                true,
                Some(hf::Size {
                    shortest_edge: Some(s),
                    ..
                }),
            ) => Resize::ShortestEdge(s),
            (
                true,
                Some(hf::Size {
                    height: Some(h),
                    width: Some(w),
                    ..
                }),
            ) => Resize::Exact(h, w),
            (true, _) => Resize::ShortestEdge(224),
        };
        let crop = match (pre.do_center_crop, pre.crop_size) {
            (false, _) => None,
            (
                true,
                Some(hf::Size {
                    height: Some(h),
                    width: Some(w),
                    ..
                }),
            ) => Some((h, w)),
            (true, _) => Some((224, 224)),
        };
        let file = Path::new(dir).join("preprocessor_config.json");
        let square = match (crop, resize) {
            (Some((h, w)), _) | (None, Resize::Exact(h, w)) if h == w => h,
            _ => {
                return Err(PretrainedError::unsupported(
                    &file,
                    "the processed frames are not square (set crop_size height = width)",
                ));
            }
        };
        if square != size {
            return Err(PretrainedError::unsupported(
                &file,
                format!("frames are processed to {square} pixels, the model reads {size}"),
            ));
        }
        let (mean, std) = if pre.do_normalize {
            (
                pre.image_mean.unwrap_or([0.5; 3]),
                pre.image_std.unwrap_or([0.5; 3]),
            )
        } else {
            ([0.0; 3], [1.0; 3])
        };
        Ok(VideoInput {
            rescale: if pre.do_rescale {
                pre.rescale_factor
            } else {
                1.0
            },
            resize,
            crop,
            mean,
            std,
            ..default
        })
    }

    /// Builds the encoder, loading pretrained weights when a folder is given.
    ///
    /// # Panics
    /// If the folder's files cannot be used (checking the config reads only its JSON files).
    pub fn init<B: Backend>(&self, device: &B::Device) -> VideoEncoder<B> {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}")).0
    }

    /// [`VideoEncoderConfig::init`], reporting unusable files and saying what loading did.
    pub fn try_init<B: Backend>(
        &self,
        device: &B::Device,
    ) -> Result<(VideoEncoder<B>, Option<LoadReport>), PretrainedError> {
        let model = self.model().map_err(|p| {
            PretrainedError::unsupported(
                Path::new("(video encoder)"),
                format!("{}: {}", p.key, p.message),
            )
        })?;
        let shape = &model.shape;
        let encoder = VideoEncoder {
            videomae: (shape.kind == VideoKind::Videomae).then(|| {
                let tokens = model.frames / shape.tubelet_size
                    * (model.image_size / shape.patch_size).pow(2);
                VideoMae::init(shape, tokens, self.dropout, device)
            }),
            timesformer: (shape.kind == VideoKind::Timesformer).then(|| {
                Timesformer::init(shape, model.frames, model.image_size, self.dropout, device)
            }),
            pooling: self.pooling,
        };
        match &self.pretrained {
            Some(dir) => {
                let (encoder, report) =
                    pretrained::load_weights(encoder, Path::new(dir), &hf::table(shape.kind))?;
                Ok((encoder, Some(report)))
            }
            None => Ok((encoder, None)),
        }
    }
}

/// Pixels → one vector per clip, by the model the config chose.
#[derive(Module, Debug)]
pub struct VideoEncoder<B: Backend> {
    pub videomae: Option<VideoMae<B>>,
    pub timesformer: Option<Timesformer<B>>,
    #[module(skip)]
    pooling: VideoPooling,
}

impl<B: Backend> VideoEncoder<B> {
    /// `pixels` [N, F, 3, S, S] → `last_hidden_state` [N, tokens, H].
    pub fn hidden_states(&self, pixels: Tensor<B, 5>) -> Tensor<B, 3> {
        match (&self.videomae, &self.timesformer) {
            (Some(model), _) => model.hidden_states(pixels),
            (None, Some(model)) => model.hidden_states(pixels),
            (None, None) => unreachable!("a video encoder holds one model"),
        }
    }

    /// `pixels` [N, F, 3, S, S] → pooled states [N, H].
    pub fn forward(&self, pixels: Tensor<B, 5>) -> Tensor<B, 2> {
        let states = self.hidden_states(pixels);
        let [n, _, hidden] = states.dims();
        match (self.pooling, &self.videomae) {
            (VideoPooling::First, _) => states.narrow(1, 0, 1).reshape([n, hidden]),
            (VideoPooling::Mean, Some(videomae)) => videomae.mean_pool(states),
            (VideoPooling::Mean, None) => states.mean_dim(1).reshape([n, hidden]),
        }
    }
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
        self.model().map(|model| model.shape.hidden)
    }
}

impl CacheableEncoder for VideoEncoderConfig {
    fn feature_identity<B: Backend, M: Module<B>>(
        &self,
        module: &M,
        cache: &FeatureCache,
    ) -> Result<FeatureIdentity, CacheError> {
        let weights =
            pretrained::weights_identity(self.pretrained.as_deref(), module, &self.shape, cache)?;
        let input = self
            .input()
            .map_err(|e| CacheError::Compute(e.to_string()))?;
        Ok(FeatureIdentity::new(serde_json::json!({
            "encoder": "video",
            "weights": weights,
            "frames": input.frames,
            "input": format!("{input:?}"),
            "pooling": self.pooling.as_str(),
            "sampling": "floor(arange(0, n, n / frames)); bilinear as PIL",
        })))
    }

    fn input_key(&self, sample: &Sample, cache: &FeatureCache) -> Result<Key, CacheError> {
        media_key("video", sample.video.as_deref(), cache)
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;
    use burn::tensor::TensorData;

    use super::*;

    type B = NdArray<f32>;

    #[test]
    fn tokens_are_tubelet_patches_in_videomae_order() {
        let device = Default::default();
        let mut config = crate::config::schema::defaults::<VideoEncoderConfig>()
            .expect("every key but the weights has a default");
        let mut shape: VideoShape = crate::config::schema::defaults().unwrap();
        (shape.patch_size, shape.tubelet_size) = (4, 2);
        let hidden = shape.hidden;
        (config.frames, config.image_size, config.shape) = (Some(4), Some(8), Some(shape));
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
        let patches = videomae::patches(input.clone(), t, p);
        let sp = s / p;
        assert_eq!(patches.dims(), [1, (f / t) * sp * sp, 3 * t * p * p]);
        let token = tubelet * sp * sp + row * sp + column;
        let got: Vec<f32> = patches.narrow(1, token, 1).into_data().into_vec().unwrap();
        assert_eq!(got, expected);
        assert_eq!(encoder.forward(input).dims(), [1, hidden]);
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
