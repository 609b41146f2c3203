//! Samples a model reads and the batches they are padded into.

use std::collections::BTreeMap;

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

use super::media::Media;
use super::padding::{BatchShape, Padding};
use super::sample::Sample;

/// Text input of a batch: ids padded to the longest (or to its [`Padding`] bucket).
#[derive(Debug, Clone)]
pub struct TextInput<B: Backend> {
    /// [N, T]
    pub ids: Tensor<B, 2, Int>,
    /// [N, T]: 1 token, 0 padding.
    pub attention_mask: Tensor<B, 2, Int>,
}

/// Audio input of a batch: waveforms zero-padded to the longest (or to its [`Padding`] bucket).
#[derive(Debug, Clone)]
pub struct AudioInput<B: Backend> {
    /// [N, L]
    pub samples: Tensor<B, 2>,
    /// [N, L]: 1 sample, 0 padding.
    pub mask: Tensor<B, 2, Int>,
}

/// Video input of a batch: [N, frames, 3, size, size].
#[derive(Debug, Clone)]
pub struct VideoInput<B: Backend> {
    pub pixels: Tensor<B, 5>,
}

/// A batch: each modality's input and the gold labels.
#[derive(Debug, Clone)]
pub struct Batch<B: Backend> {
    pub text: TextInput<B>,
    /// Present when the batch was built with decoded audio.
    pub audio: Option<AudioInput<B>>,
    /// Present when the batch was built with decoded video.
    pub video: Option<VideoInput<B>>,
    /// [N]
    pub labels: Tensor<B, 1, Int>,
    /// Cached outputs [N, H] of frozen encoders, by field name: the generated `encode_<field>`
    /// returns these instead of running the encoder.
    pub features: BTreeMap<&'static str, Tensor<B, 2>>,
}

impl<B: Backend> Batch<B> {
    /// Pads `samples` to their longest text with `pad_id`; no media.
    pub fn new(samples: &[&Sample], pad_id: u32, device: &B::Device) -> Self {
        Self::text(samples, pad_id, &Padding::default(), device)
    }

    /// [`Batch::new`] plus the samples' decoded media (`media[i]` is `samples[i]`'s). A modality
    /// is added when every sample has it.
    pub fn with_media(
        samples: &[&Sample],
        media: &[Media],
        pad_id: u32,
        device: &B::Device,
    ) -> Self {
        Self::padded(samples, media, pad_id, &Padding::default(), device)
    }

    /// [`Batch::with_media`], text and audio padded to `padding`'s buckets; the batch's shape is
    /// recorded there.
    pub fn padded(
        samples: &[&Sample],
        media: &[Media],
        pad_id: u32,
        padding: &Padding,
        device: &B::Device,
    ) -> Self {
        let mut batch = Self::text(samples, pad_id, padding, device);
        let n = media.len();
        let audio: Option<Vec<&Vec<f32>>> = media.iter().map(|m| m.audio.as_ref()).collect();
        if let Some(audio) = audio.filter(|a| !a.is_empty()) {
            let longest = audio.iter().map(|a| a.len()).max().unwrap_or(0).max(1);
            let length = padding.audio.pad(longest);
            let mut values = vec![0.0f32; n * length];
            let mut mask = vec![0i64; n * length];
            for (row, wave) in audio.iter().enumerate() {
                values[row * length..row * length + wave.len()].copy_from_slice(wave);
                mask[row * length..row * length + wave.len()].fill(1);
            }
            batch.audio = Some(AudioInput {
                samples: Tensor::from_data(TensorData::new(values, [n, length]), device),
                mask: Tensor::from_data(TensorData::new(mask, [n, length]), device),
            });
        }
        let video: Option<Vec<_>> = media.iter().map(|m| m.video.as_ref()).collect();
        if let Some(video) = video.filter(|v| !v.is_empty()) {
            let (frames, size) = (video[0].frames, video[0].size);
            let values: Vec<f32> = video
                .iter()
                .flat_map(|clip| {
                    assert_eq!(
                        (clip.frames, clip.size),
                        (frames, size),
                        "one video shape per batch"
                    );
                    clip.pixels.iter().copied()
                })
                .collect();
            batch.video = Some(VideoInput {
                pixels: Tensor::from_data(
                    TensorData::new(values, [n, frames, 3, size, size]),
                    device,
                ),
            });
        }
        padding.record(batch.shape());
        batch
    }

    /// The text part of a batch: ids padded with `pad_id` to `padding`'s bucket of the longest.
    fn text(samples: &[&Sample], pad_id: u32, padding: &Padding, device: &B::Device) -> Self {
        let n = samples.len();
        let longest = samples.iter().map(|s| s.text_ids.len()).max().unwrap_or(0);
        let t = padding.text_length(longest);
        let mut ids = Vec::with_capacity(n * t);
        let mut mask = Vec::with_capacity(n * t);
        for sample in samples {
            for i in 0..t {
                let token = sample.text_ids.get(i);
                ids.push(i64::from(*token.unwrap_or(&pad_id)));
                mask.push(i64::from(token.is_some()));
            }
        }
        let labels: Vec<i64> = samples.iter().map(|s| s.label as i64).collect();
        Batch {
            text: TextInput {
                ids: Tensor::from_data(TensorData::new(ids, [n, t]), device),
                attention_mask: Tensor::from_data(TensorData::new(mask, [n, t]), device),
            },
            audio: None,
            video: None,
            labels: Tensor::from_data(TensorData::new(labels, [n]), device),
            features: BTreeMap::new(),
        }
    }

    /// The batch's padded shape.
    pub fn shape(&self) -> BatchShape {
        let [rows, tokens] = self.text.ids.dims();
        BatchShape {
            rows,
            tokens,
            samples: self.audio.as_ref().map_or(0, |a| a.samples.dims()[1]),
            frames: self.video.as_ref().map_or(0, |v| v.pixels.dims()[1]),
        }
    }
}
