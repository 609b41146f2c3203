//! The audio encoder, laid out as wav2vec 2.0 / data2vec-audio / HuBERT: a strided
//! convolutional feature encoder over the raw waveform, a feature projection, a convolutional
//! position embedding, transformer layers, and pooling over frames.
//!
//! It is initialised randomly from an [`AudioShape`] (the demo trains it from scratch) or loaded
//! from a Hugging Face folder (`pretrained`), whose `preprocessor_config.json` says how
//! recordings are read.

pub mod hf;
pub mod model;
pub mod shape;

use std::path::Path;

use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

pub use model::{AudioEncoder, AudioPooling};
pub use shape::{AudioKind, AudioShape, FeatureNorm};

use crate::cache::{CacheError, FeatureCache, FeatureIdentity, Key};
use crate::config::schema::Problem;
use crate::config::wiring::Wiring;
use crate::encoders::pretrained::{self, PretrainedError};
use crate::encoders::{CacheableEncoder, Encode, media_key};
use crate::input::{Batch, Sample};
use crate::nn::hf_names::LoadReport;

/// The rate waveforms are resampled to unless a pretrained folder says otherwise.
pub const SAMPLE_RATE: u32 = 16_000;

/// Which end of a long recording is kept.
#[crate::config]
pub enum KeepEnd {
    /// The first `max_samples` (the original codebase: 200,000).
    First,
    /// The last `max_samples` (TelME: 400,000).
    Last,
}

/// An audio encoder: its weights (random of a shape, or a Hugging Face folder) and how a
/// recording becomes its input.
#[crate::config(check = Self::check_config)]
pub struct AudioEncoderConfig {
    /// A Hugging Face folder (`config.json`, `model.safetensors`, `preprocessor_config.json`) of
    /// a `wav2vec2`, `data2vec-audio` or `hubert` model.
    pub pretrained: Option<String>,
    /// The shape of a randomly initialised encoder; with `pretrained`, its `config.json` says.
    pub shape: Option<AudioShape>,
    /// Longer recordings are cut to this many samples (the original: 200,000 at 16 kHz).
    #[config(default = 200_000, range = "at-least-one")]
    pub max_samples: usize,
    /// Which end of a long recording is kept.
    #[config(default = KeepEnd::First)]
    pub keep: KeepEnd,
    /// How frame states become one vector.
    #[config(default = AudioPooling::Mean)]
    pub pooling: AudioPooling,
    /// Dropout inside the encoder while training.
    #[config(default = 0.1)]
    pub dropout: f64,
}

/// How recordings are read for an encoder: rate and normalisation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AudioInput {
    pub sample_rate: u32,
    /// Zero mean, unit variance per recording.
    pub normalize: bool,
}

impl AudioEncoderConfig {
    fn check_config(&self) -> Result<(), Problem> {
        let shape = self.encoder_shape().map_err(|e| match e {
            ShapeError::Missing(message) => Problem::new("pretrained", message),
            ShapeError::Both => Problem::new(
                "shape",
                "give `pretrained` or `shape`, not both (a pretrained folder's config.json sets \
                 the shape)",
            ),
            ShapeError::Folder(e) => Problem::new("pretrained", e.to_string()),
        })?;
        self.input()
            .map_err(|e| Problem::new("pretrained", e.to_string()))?;
        let field = shape.receptive_field();
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

    /// The shape of the encoder, from `shape` or the pretrained folder's `config.json`.
    pub fn encoder_shape(&self) -> Result<AudioShape, ShapeError> {
        match (&self.pretrained, &self.shape) {
            (Some(_), Some(_)) => Err(ShapeError::Both),
            (Some(dir), None) => hf::read_shape(Path::new(dir)).map_err(ShapeError::Folder),
            (None, Some(shape)) => Ok(shape.clone()),
            (None, None) => Err(ShapeError::Missing(
                "give `pretrained` (a Hugging Face folder) or a `shape` to initialise randomly",
            )),
        }
    }

    /// How recordings are read: the folder's feature extractor, or 16 kHz normalised.
    pub fn input(&self) -> Result<AudioInput, PretrainedError> {
        Ok(match &self.pretrained {
            Some(dir) => {
                let pre = hf::AudioPreprocessor::read(Path::new(dir))?;
                AudioInput {
                    sample_rate: pre.sampling_rate,
                    normalize: pre.do_normalize,
                }
            }
            None => AudioInput {
                sample_rate: SAMPLE_RATE,
                normalize: true,
            },
        })
    }

    /// Shorter recordings are zero-padded to this many samples, so every one makes a frame.
    ///
    /// # Panics
    /// If the shape cannot be read (a checked config can).
    pub fn min_samples(&self) -> usize {
        self.checked_shape().receptive_field()
    }

    fn checked_shape(&self) -> AudioShape {
        self.encoder_shape().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the encoder, loading pretrained weights when a folder is given.
    ///
    /// # Panics
    /// If the folder's files cannot be used (checking the config reads only its JSON files).
    pub fn init<B: Backend>(&self, device: &B::Device) -> AudioEncoder<B> {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}")).0
    }

    /// [`AudioEncoderConfig::init`], reporting unusable files and saying what loading did.
    pub fn try_init<B: Backend>(
        &self,
        device: &B::Device,
    ) -> Result<(AudioEncoder<B>, Option<LoadReport>), PretrainedError> {
        let shape = self.encoder_shape().map_err(|e| match e {
            ShapeError::Folder(e) => e,
            other => PretrainedError::unsupported(Path::new("(audio encoder)"), other.to_string()),
        })?;
        let encoder = AudioEncoder::init(&shape, self.pooling, self.dropout, device);
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

/// Why an audio encoder has no shape.
#[derive(Debug, thiserror::Error)]
pub enum ShapeError {
    #[error("{0}")]
    Missing(&'static str),
    #[error("`pretrained` and `shape` are both set")]
    Both,
    #[error(transparent)]
    Folder(PretrainedError),
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
        self.encoder_shape()
            .map(|shape| shape.hidden)
            .map_err(|e| Problem::new("shape", e.to_string()))
    }
}

impl CacheableEncoder for AudioEncoderConfig {
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
            "encoder": "audio",
            "weights": weights,
            "sample_rate": input.sample_rate,
            "normalize": input.normalize,
            "pooling": self.pooling.as_str(),
            "max_samples": self.max_samples,
            "keep": self.keep.as_str(),
            "min_samples": self.min_samples(),
        })))
    }

    fn input_key(&self, sample: &Sample, cache: &FeatureCache) -> Result<Key, CacheError> {
        media_key("audio", sample.audio.as_deref(), cache)
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;
    use burn::tensor::Int;

    use super::*;

    type B = NdArray<f32>;

    fn config() -> AudioEncoderConfig {
        let mut config = crate::config::schema::defaults::<AudioEncoderConfig>()
            .expect("every key but the weights has a default");
        config.shape = Some(crate::config::schema::defaults().expect("every key has a default"));
        config
    }

    #[test]
    fn frame_counts_follow_the_convolutions() {
        let shape = config().shape.unwrap();
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
        let shape = config.shape.clone().unwrap();
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
            .frame_mask(mask, shape.frames(16_000))
            .sum_dim(1)
            .into_data()
            .into_vec()
            .unwrap();
        assert_eq!(
            frames,
            [shape.frames(16_000) as f32, shape.frames(4_000) as f32]
        );
        let samples =
            Tensor::<B, 2>::random([2, 16_000], burn::tensor::Distribution::Default, &device);
        let pooled = encoder.forward(samples, Tensor::<B, 2, Int>::ones([2, 16_000], &device));
        assert_eq!(pooled.dims(), [2, shape.hidden]);
    }
}
