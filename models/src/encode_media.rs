//! `mer encode --audio/--video/--inputs`: a Hugging Face audio or video encoder's
//! `last_hidden_state` with the inputs it read, under transformers' tensor names and layouts,
//! to check the port against PyTorch (from files end to end, or model-only from given inputs).

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::backend::NdArray;
use burn::tensor::{Int, Tensor, TensorData};
use mer_core::encoders::audio::{self, AudioEncoderConfig, AudioPooling, KeepEnd};
use mer_core::encoders::pretrained::{self, PretrainedError};
use mer_core::encoders::video::{self, VideoEncoderConfig, VideoPooling};
use mer_core::util::atomic;
use mer_datasets::media::{AudioOptions, load_audio, sample_frames, video_pixels};
use safetensors::{Dtype, SafeTensors, View};

type B = NdArray<f32>;

/// What the encoder reads.
pub enum MediaInputs {
    Audio(Vec<PathBuf>),
    Video(Vec<PathBuf>),
    /// A safetensors file with `input_values` (and optionally `attention_mask`) or
    /// `pixel_values`, as transformers' feature extractor or image processor makes them.
    Given(PathBuf),
}

/// A tensor to write: name, dtype, shape, little-endian bytes.
pub struct Named {
    pub name: &'static str,
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub bytes: Vec<u8>,
}

impl Named {
    fn f32(name: &'static str, shape: Vec<usize>, values: &[f32]) -> Self {
        let bytes = values.iter().flat_map(|x| x.to_le_bytes()).collect();
        Named {
            name,
            dtype: Dtype::F32,
            shape,
            bytes,
        }
    }

    fn i64(name: &'static str, shape: Vec<usize>, values: &[i64]) -> Self {
        let bytes = values.iter().flat_map(|x| x.to_le_bytes()).collect();
        Named {
            name,
            dtype: Dtype::I64,
            shape,
            bytes,
        }
    }
}

impl View for &Named {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        (&self.bytes[..]).into()
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Writes `tensors` as one safetensors file, atomically.
pub fn write(path: &Path, tensors: &[Named]) -> anyhow::Result<()> {
    let bytes = safetensors::serialize(tensors.iter().map(|t| (t.name, t)), None)?;
    atomic::write(path, &bytes).with_context(|| format!("writing {}", path.display()))
}

/// Runs the folder's encoder over `inputs`: the tensors it read and `last_hidden_state`.
pub fn encode(model: &Path, inputs: &MediaInputs) -> anyhow::Result<Vec<Named>> {
    let model_type = pretrained::model_type(model)?;
    let is_audio = audio::hf::MODEL_TYPES.contains(&model_type.as_str());
    let is_video = video::hf::MODEL_TYPES.contains(&model_type.as_str());
    match inputs {
        MediaInputs::Audio(_) if !is_audio => Err(unsupported(
            &model.join("config.json"),
            format!(
                "model_type \"{model_type}\" is not an audio encoder ({})",
                audio::hf::MODEL_TYPES.join(", ")
            ),
        )),
        MediaInputs::Video(_) if !is_video => Err(unsupported(
            &model.join("config.json"),
            format!(
                "model_type \"{model_type}\" is not a video encoder ({})",
                video::hf::MODEL_TYPES.join(", ")
            ),
        )),
        MediaInputs::Audio(files) => encode_audio(model, Some(files), None),
        MediaInputs::Video(files) => encode_video(model, Some(files), None),
        MediaInputs::Given(path) if is_audio => encode_audio(model, None, Some(path)),
        MediaInputs::Given(path) if is_video => encode_video(model, None, Some(path)),
        MediaInputs::Given(_) => Err(unsupported(
            &model.join("config.json"),
            format!("model_type \"{model_type}\" is not an audio or video encoder"),
        )),
    }
}

fn audio_config(model: &Path) -> AudioEncoderConfig {
    AudioEncoderConfig {
        pretrained: Some(model.display().to_string()),
        shape: None,
        max_samples: usize::MAX,
        keep: KeepEnd::First,
        pooling: AudioPooling::Mean,
        dropout: 0.0,
    }
}

fn encode_audio(
    model: &Path,
    files: Option<&[PathBuf]>,
    given: Option<&Path>,
) -> anyhow::Result<Vec<Named>> {
    let config = audio_config(model);
    let (values, mask, [n, l]) = match (files, given) {
        (Some(files), _) => {
            let input = config.input()?;
            let options = AudioOptions {
                sample_rate: input.sample_rate,
                max_samples: None,
                keep: KeepEnd::First,
                min_samples: config.min_samples(),
                normalize: input.normalize,
            };
            let waves = files
                .iter()
                .map(|file| load_audio(file, &options))
                .collect::<Result<Vec<_>, _>>()?;
            pad(&waves)
        }
        (None, Some(path)) => {
            let file = GivenFile::read(path)?;
            let (values, shape) = file.f32("input_values", 2)?;
            let [n, l] = [shape[0], shape[1]];
            let mask = match file.i64("attention_mask")? {
                Some(mask) if mask.len() == n * l => mask,
                Some(_) => {
                    return Err(unsupported(
                        path,
                        format!("attention_mask is not [{n}, {l}]"),
                    ));
                }
                None => vec![1; n * l],
            };
            (values, mask, [n, l])
        }
        (None, None) => unreachable!("files or a given input"),
    };
    let device = Default::default();
    let (encoder, _) = config.try_init::<B>(&device)?;
    let samples = Tensor::<B, 2>::from_data(TensorData::new(values.clone(), [n, l]), &device);
    let mask_tensor =
        Tensor::<B, 2, Int>::from_data(TensorData::new(mask.clone(), [n, l]), &device);
    let (states, _) = encoder.hidden_states(samples, mask_tensor);
    let shape = states.dims().to_vec();
    let states: Vec<f32> = states
        .into_data()
        .into_vec()
        .context("reading the states")?;
    Ok(vec![
        Named::f32("input_values", vec![n, l], &values),
        Named::i64("attention_mask", vec![n, l], &mask),
        Named::f32("last_hidden_state", shape, &states),
    ])
}

/// Waveforms padded with zeros to the longest: values, attention mask, [N, L].
fn pad(waves: &[Vec<f32>]) -> (Vec<f32>, Vec<i64>, [usize; 2]) {
    let l = waves.iter().map(Vec::len).max().unwrap_or(0);
    let mut values = Vec::with_capacity(waves.len() * l);
    let mut mask = Vec::with_capacity(waves.len() * l);
    for wave in waves {
        values.extend_from_slice(wave);
        values.resize(values.len() + l - wave.len(), 0.0);
        mask.extend((0..l).map(|i| i64::from(i < wave.len())));
    }
    (values, mask, [waves.len(), l])
}

fn encode_video(
    model: &Path,
    files: Option<&[PathBuf]>,
    given: Option<&Path>,
) -> anyhow::Result<Vec<Named>> {
    let config = VideoEncoderConfig {
        pretrained: Some(model.display().to_string()),
        shape: None,
        frames: None,
        image_size: None,
        pooling: VideoPooling::Mean,
        dropout: 0.0,
    };
    let input = config.input()?;
    let (f, s) = (input.frames, input.size);
    let (pixels, n) = match (files, given) {
        (Some(files), _) => {
            let mut pixels = Vec::new();
            for file in files {
                pixels.extend(video_pixels(&sample_frames(file, f)?, &input));
            }
            (pixels, files.len())
        }
        (None, Some(path)) => {
            let (values, shape) = GivenFile::read(path)?.f32("pixel_values", 5)?;
            if shape[1..] != [f, 3, s, s] {
                return Err(unsupported(
                    path,
                    format!("pixel_values is {shape:?}; the model reads [N, {f}, 3, {s}, {s}]"),
                ));
            }
            (values, shape[0])
        }
        (None, None) => unreachable!("files or a given input"),
    };
    let device = Default::default();
    let (encoder, _) = config.try_init::<B>(&device)?;
    let tensor =
        Tensor::<B, 5>::from_data(TensorData::new(pixels.clone(), [n, f, 3, s, s]), &device);
    let states = encoder.hidden_states(tensor);
    let shape = states.dims().to_vec();
    let states: Vec<f32> = states
        .into_data()
        .into_vec()
        .context("reading the states")?;
    Ok(vec![
        Named::f32("pixel_values", vec![n, f, 3, s, s], &pixels),
        Named::f32("last_hidden_state", shape, &states),
    ])
}

/// Bad input, named by its file: exit 2.
fn unsupported(path: &Path, message: String) -> anyhow::Error {
    PretrainedError::unsupported(path, message).into()
}

/// A `--inputs` file.
struct GivenFile {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl GivenFile {
    fn read(path: &Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        SafeTensors::deserialize(&bytes)
            .map_err(|e| unsupported(path, format!("not a safetensors file: {e}")))?;
        Ok(GivenFile {
            path: path.to_owned(),
            bytes,
        })
    }

    /// Tensor `name`, which must be f32 with `rank` dimensions.
    fn f32(&self, name: &str, rank: usize) -> anyhow::Result<(Vec<f32>, Vec<usize>)> {
        let tensors = SafeTensors::deserialize(&self.bytes)?;
        let view = tensors
            .tensor(name)
            .map_err(|_| unsupported(&self.path, format!("no tensor `{name}`")))?;
        if view.dtype() != Dtype::F32 || view.shape().len() != rank {
            return Err(unsupported(
                &self.path,
                format!(
                    "`{name}` is {:?} {:?}; expected f32 with {rank} dimensions",
                    view.dtype(),
                    view.shape()
                ),
            ));
        }
        let values = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok((values, view.shape().to_vec()))
    }

    /// Tensor `name` as integers (i64 or i32), if the file has it.
    fn i64(&self, name: &str) -> anyhow::Result<Option<Vec<i64>>> {
        let tensors = SafeTensors::deserialize(&self.bytes)?;
        let Ok(view) = tensors.tensor(name) else {
            return Ok(None);
        };
        Ok(Some(match view.dtype() {
            Dtype::I64 => view
                .data()
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
            Dtype::I32 => view
                .data()
                .chunks_exact(4)
                .map(|c| i64::from(i32::from_le_bytes(c.try_into().expect("4 bytes"))))
                .collect(),
            other => {
                return Err(unsupported(
                    &self.path,
                    format!("`{name}` is {other:?}, not integers"),
                ));
            }
        }))
    }
}
