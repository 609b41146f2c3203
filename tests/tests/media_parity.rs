//! mer's pretrained audio and video encoders against PyTorch transformers, on the tiny random
//! folders and clips scripts/reference/make_media_fixtures.py makes: model-only (the same
//! inputs) within 1e-4, and end to end from the files within the tolerances below.

use std::path::{Path, PathBuf};

use burn::backend::NdArray;
use burn::tensor::{Int, Tensor, TensorData};
use mer_core::encoders::audio::{AudioEncoderConfig, AudioPooling, KeepEnd};
use mer_core::encoders::video::{VideoEncoderConfig, VideoPooling};
use mer_datasets::media::{AudioOptions, load_audio, sample_frames, video_pixels};
use safetensors::SafeTensors;

type B = NdArray<f32>;

/// Model-only: the same input tensors on both sides.
const MODEL_TOLERANCE: f32 = 1e-4;
/// Audio end to end: the WAV decodes to the same samples (PCM, 16 kHz: no resampling), so the
/// inputs agree to float rounding of the normalisation.
const AUDIO_INPUT_TOLERANCE: f32 = 1e-5;
/// Video end to end: the frames decode to the same bytes here (FFmpeg) and there (PyAV), and
/// PIL's bilinear resize is ported, so the pixels agree to float rounding.
const VIDEO_INPUT_TOLERANCE: f32 = 1e-5;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

struct Reference(Vec<u8>);

impl Reference {
    fn read(dir: &Path) -> Self {
        Reference(std::fs::read(dir.join("reference.safetensors")).unwrap())
    }

    /// A tensor's values (f32, or i64 read as f32) and shape.
    fn get(&self, name: &str) -> (Vec<f32>, Vec<usize>) {
        let tensors = SafeTensors::deserialize(&self.0).unwrap();
        let view = tensors.tensor(name).unwrap();
        let values = match view.dtype() {
            safetensors::Dtype::I64 => view
                .data()
                .chunks(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f32)
                .collect(),
            _ => view
                .data()
                .chunks(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect(),
        };
        (values, view.shape().to_vec())
    }
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn values<const D: usize>(tensor: Tensor<B, D>) -> Vec<f32> {
    tensor.into_data().into_vec().unwrap()
}

fn audio_config(dir: &Path) -> AudioEncoderConfig {
    AudioEncoderConfig {
        pretrained: Some(dir.display().to_string()),
        shape: None,
        max_samples: 1_000_000,
        keep: KeepEnd::First,
        pooling: AudioPooling::Mean,
        dropout: 0.0,
    }
}

fn audio_parity(name: &str) {
    let dir = fixtures().join(name);
    let reference = Reference::read(&dir);
    let config = audio_config(&dir);
    let device = Default::default();
    let (encoder, report) = config.try_init::<B>(&device).unwrap();
    let report = report.unwrap();
    assert!(
        report
            .unused
            .iter()
            .all(|n| n.contains("masked_spec_embed") || n.starts_with("lm_head")),
        "{name}: unexpected unused tensors {:?}",
        report.unused
    );

    let (input, shape) = reference.get("input_values");
    let (mask, _) = reference.get("attention_mask");
    let samples = Tensor::<B, 2>::from_data(TensorData::new(input, [shape[0], shape[1]]), &device);
    let mask: Vec<i64> = mask.into_iter().map(|x| x as i64).collect();
    let mask = Tensor::<B, 2, Int>::from_data(TensorData::new(mask, [shape[0], shape[1]]), &device);
    let (states, _) = encoder.hidden_states(samples, mask);
    let (expected, expected_shape) = reference.get("last_hidden_state");
    assert_eq!(states.dims().to_vec(), expected_shape);
    let model_only = max_difference(&values(states), &expected);

    let input = config.input().unwrap();
    let options = AudioOptions {
        sample_rate: input.sample_rate,
        max_samples: None,
        keep: KeepEnd::First,
        min_samples: 0,
        normalize: input.normalize,
    };
    let wave = load_audio(&fixtures().join("media/speech.wav"), &options).unwrap();
    let (file_input, _) = reference.get("file_input_values");
    let input_difference = max_difference(&wave, &file_input);
    let n = wave.len();
    let samples = Tensor::<B, 2>::from_data(TensorData::new(wave, [1, n]), &device);
    let (states, _) = encoder.hidden_states(samples, Tensor::ones([1, n], &device));
    let end_to_end = max_difference(&values(states), &reference.get("file_last_hidden_state").0);
    println!(
        "{name}: model-only {model_only:.2e}, end to end: input {input_difference:.2e}, states {end_to_end:.2e}"
    );
    assert!(model_only <= MODEL_TOLERANCE, "{name}: {model_only}");
    assert!(
        input_difference <= AUDIO_INPUT_TOLERANCE,
        "{name}: {input_difference}"
    );
    assert!(end_to_end <= MODEL_TOLERANCE, "{name}: {end_to_end}");
}

fn video_parity(name: &str) {
    let dir = fixtures().join(name);
    let reference = Reference::read(&dir);
    let config = VideoEncoderConfig {
        pretrained: Some(dir.display().to_string()),
        shape: None,
        frames: None,
        image_size: None,
        pooling: VideoPooling::Mean,
        dropout: 0.0,
    };
    let device = Default::default();
    let (encoder, report) = config.try_init::<B>(&device).unwrap();
    let report = report.unwrap();
    assert!(
        report.unused.iter().all(|n| n.starts_with("classifier")),
        "{name}: unexpected unused tensors {:?}",
        report.unused
    );
    assert!(report.initialised.is_empty(), "{:?}", report.initialised);

    let pixels = |values: Vec<f32>, shape: &[usize]| {
        Tensor::<B, 5>::from_data(
            TensorData::new(values, [shape[0], shape[1], shape[2], shape[3], shape[4]]),
            &device,
        )
    };
    let (input, shape) = reference.get("pixel_values");
    let states = encoder.hidden_states(pixels(input, &shape));
    let (expected, expected_shape) = reference.get("last_hidden_state");
    assert_eq!(states.dims().to_vec(), expected_shape);
    let model_only = max_difference(&values(states), &expected);

    let input = config.input().unwrap();
    let frames = sample_frames(&fixtures().join("media/clip.mp4"), input.frames).unwrap();
    let processed = video_pixels(&frames, &input);
    let (file_input, file_shape) = reference.get("file_pixel_values");
    let input_difference = max_difference(&processed, &file_input);
    let states = encoder.hidden_states(pixels(processed, &file_shape));
    let end_to_end = max_difference(&values(states), &reference.get("file_last_hidden_state").0);
    println!(
        "{name}: model-only {model_only:.2e}, end to end: input {input_difference:.2e}, states {end_to_end:.2e}"
    );
    assert!(model_only <= MODEL_TOLERANCE, "{name}: {model_only}");
    assert!(
        input_difference <= VIDEO_INPUT_TOLERANCE,
        "{name}: {input_difference}"
    );
    assert!(end_to_end <= MODEL_TOLERANCE, "{name}: {end_to_end}");
}

#[test]
fn data2vec_audio_matches_transformers() {
    audio_parity("tiny-data2vec-audio");
}

#[test]
fn wav2vec2_with_group_norm_matches_transformers() {
    audio_parity("tiny-wav2vec2");
}

#[test]
fn wav2vec2_with_stable_layer_norm_matches_transformers() {
    audio_parity("tiny-wav2vec2-stable");
}

#[test]
fn hubert_matches_transformers() {
    audio_parity("tiny-hubert");
}

#[test]
fn videomae_matches_transformers() {
    video_parity("tiny-videomae");
}

#[test]
fn timesformer_matches_transformers() {
    video_parity("tiny-timesformer");
}
