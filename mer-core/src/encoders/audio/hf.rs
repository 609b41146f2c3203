//! Hugging Face audio folders: `config.json` of a `wav2vec2`, `data2vec-audio` or `hubert` model
//! as an [`AudioShape`], the table of tensor names, and `preprocessor_config.json`
//! (`Wav2Vec2FeatureExtractor`).

use std::path::Path;

use serde::Deserialize;

use super::shape::{AudioKind, AudioShape, FeatureNorm};
use crate::encoders::pretrained::{self, PretrainedError};
use crate::nn::hf_names::{Layout, Row, Table, row};

/// The `model_type`s an audio encoder reads.
pub const MODEL_TYPES: &[&str] = &["wav2vec2", "data2vec-audio", "hubert"];

/// The keys of `config.json` the audio encoder needs (defaults as transformers' configs).
#[derive(Debug, Deserialize)]
struct HfConfig {
    model_type: String,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    conv_dim: Vec<usize>,
    conv_kernel: Vec<usize>,
    conv_stride: Vec<usize>,
    #[serde(default)]
    conv_bias: bool,
    #[serde(default = "group")]
    feat_extract_norm: String,
    #[serde(default = "yes")]
    feat_proj_layer_norm: bool,
    num_conv_pos_embeddings: usize,
    num_conv_pos_embedding_groups: usize,
    /// data2vec-audio's positional kernel (its `num_conv_pos_embeddings` counts layers).
    #[serde(default)]
    conv_pos_kernel_size: Option<usize>,
    #[serde(default)]
    do_stable_layer_norm: bool,
    #[serde(default = "default_eps")]
    layer_norm_eps: f64,
    #[serde(default = "gelu")]
    hidden_act: String,
    #[serde(default = "gelu")]
    feat_extract_activation: String,
    #[serde(default)]
    add_adapter: bool,
    #[serde(default)]
    conv_pos_batch_norm: bool,
}

fn group() -> String {
    "group".into()
}
fn yes() -> bool {
    true
}
fn default_eps() -> f64 {
    1e-5
}
fn gelu() -> String {
    "gelu".into()
}

/// The encoder shape a folder's `config.json` describes; what is not ported is refused by key.
pub fn read_shape(dir: &Path) -> Result<AudioShape, PretrainedError> {
    let config: HfConfig = pretrained::read_json(dir, "config.json")?;
    pretrained::require(dir, "model_type", &config.model_type, MODEL_TYPES)?;
    pretrained::require(dir, "hidden_act", &config.hidden_act, &["gelu"])?;
    pretrained::require(
        dir,
        "feat_extract_activation",
        &config.feat_extract_activation,
        &["gelu"],
    )?;
    pretrained::require(
        dir,
        "feat_extract_norm",
        &config.feat_extract_norm,
        &["group", "layer"],
    )?;
    let file = dir.join("config.json");
    for (key, on) in [
        ("add_adapter", config.add_adapter),
        ("conv_pos_batch_norm", config.conv_pos_batch_norm),
    ] {
        if on {
            return Err(PretrainedError::unsupported(
                &file,
                format!("{key} = true is not ported"),
            ));
        }
    }
    let kind = match config.model_type.as_str() {
        "data2vec-audio" => AudioKind::Data2vecAudio,
        "hubert" => AudioKind::Hubert,
        _ => AudioKind::Wav2vec2,
    };
    let (pos_conv_kernel, pos_conv_layers) = match kind {
        AudioKind::Data2vecAudio => (
            config.conv_pos_kernel_size.unwrap_or(19),
            config.num_conv_pos_embeddings,
        ),
        _ => (config.num_conv_pos_embeddings, 1),
    };
    let shape = AudioShape {
        kind,
        conv_dim: config.conv_dim,
        conv_kernel: config.conv_kernel,
        conv_stride: config.conv_stride,
        // data2vec-audio's convolutions always have biases.
        conv_bias: config.conv_bias || kind == AudioKind::Data2vecAudio,
        feature_norm: match config.feat_extract_norm.as_str() {
            "layer" => FeatureNorm::Layer,
            _ if kind == AudioKind::Data2vecAudio => FeatureNorm::Layer,
            _ => FeatureNorm::Group,
        },
        projection_norm: kind != AudioKind::Hubert || config.feat_proj_layer_norm,
        hidden: config.hidden_size,
        layers: config.num_hidden_layers,
        heads: config.num_attention_heads,
        intermediate: config.intermediate_size,
        pos_conv_kernel,
        pos_conv_groups: config.num_conv_pos_embedding_groups,
        pos_conv_layers,
        stable_layer_norm: config.do_stable_layer_norm && kind != AudioKind::Data2vecAudio,
        layer_norm_eps: config.layer_norm_eps,
    };
    pretrained::check_shape(dir, &shape)?;
    Ok(shape)
}

#[rustfmt::skip]
/// The transformer layers: BERT's names in mer, wav2vec 2.0's in the checkpoint.
const LAYERS: &[Row] = &[
    row("encoder.layer.*.attention.self_attn.query.weight", "encoder.layers.*.attention.q_proj.weight", Layout::Linear),
    row("encoder.layer.*.attention.self_attn.query.bias", "encoder.layers.*.attention.q_proj.bias", Layout::Same),
    row("encoder.layer.*.attention.self_attn.key.weight", "encoder.layers.*.attention.k_proj.weight", Layout::Linear),
    row("encoder.layer.*.attention.self_attn.key.bias", "encoder.layers.*.attention.k_proj.bias", Layout::Same),
    row("encoder.layer.*.attention.self_attn.value.weight", "encoder.layers.*.attention.v_proj.weight", Layout::Linear),
    row("encoder.layer.*.attention.self_attn.value.bias", "encoder.layers.*.attention.v_proj.bias", Layout::Same),
    row("encoder.layer.*.attention.output.dense.weight", "encoder.layers.*.attention.out_proj.weight", Layout::Linear),
    row("encoder.layer.*.attention.output.dense.bias", "encoder.layers.*.attention.out_proj.bias", Layout::Same),
    row("encoder.layer.*.attention.output.layer_norm.gamma", "encoder.layers.*.layer_norm.weight", Layout::Same),
    row("encoder.layer.*.attention.output.layer_norm.beta", "encoder.layers.*.layer_norm.bias", Layout::Same),
    row("encoder.layer.*.intermediate.dense.weight", "encoder.layers.*.feed_forward.intermediate_dense.weight", Layout::Linear),
    row("encoder.layer.*.intermediate.dense.bias", "encoder.layers.*.feed_forward.intermediate_dense.bias", Layout::Same),
    row("encoder.layer.*.output.dense.weight", "encoder.layers.*.feed_forward.output_dense.weight", Layout::Linear),
    row("encoder.layer.*.output.dense.bias", "encoder.layers.*.feed_forward.output_dense.bias", Layout::Same),
    row("encoder.layer.*.output.layer_norm.gamma", "encoder.layers.*.final_layer_norm.weight", Layout::Same),
    row("encoder.layer.*.output.layer_norm.beta", "encoder.layers.*.final_layer_norm.bias", Layout::Same),
];

#[rustfmt::skip]
/// Everything before the layers.
const FRONT: &[Row] = &[
    row("feature_encoder.*.conv.weight", "feature_extractor.conv_layers.*.conv.weight", Layout::Conv1d),
    row("feature_encoder.*.conv.bias", "feature_extractor.conv_layers.*.conv.bias", Layout::Same),
    row("feature_encoder.*.layer_norm.gamma", "feature_extractor.conv_layers.*.layer_norm.weight", Layout::Same),
    row("feature_encoder.*.layer_norm.beta", "feature_extractor.conv_layers.*.layer_norm.bias", Layout::Same),
    // transformers names the group norm `layer_norm` too.
    row("feature_encoder.*.group_norm.gamma", "feature_extractor.conv_layers.*.layer_norm.weight", Layout::Same),
    row("feature_encoder.*.group_norm.beta", "feature_extractor.conv_layers.*.layer_norm.bias", Layout::Same),
    row("projection_norm.gamma", "feature_projection.layer_norm.weight", Layout::Same),
    row("projection_norm.beta", "feature_projection.layer_norm.bias", Layout::Same),
    row("projection.weight", "feature_projection.projection.weight", Layout::Linear),
    row("projection.bias", "feature_projection.projection.bias", Layout::Same),
    row("layer_norm.gamma", "encoder.layer_norm.weight", Layout::Same),
    row("layer_norm.beta", "encoder.layer_norm.bias", Layout::Same),
];

#[rustfmt::skip]
const WAV2VEC2_POSITION: &[Row] = &[
    row("pos_conv.0.weight", "encoder.pos_conv_embed.conv.weight", Layout::WeightNormConv1d),
    row("pos_conv.0.bias", "encoder.pos_conv_embed.conv.bias", Layout::Same),
];

#[rustfmt::skip]
const DATA2VEC_POSITION: &[Row] = &[
    row("pos_conv.*.weight", "encoder.pos_conv_embed.layers.*.conv.weight", Layout::Conv1d),
    row("pos_conv.*.bias", "encoder.pos_conv_embed.layers.*.conv.bias", Layout::Same),
];

/// The table of an audio encoder of `kind`.
pub fn table(kind: AudioKind) -> Table {
    let position = match kind {
        AudioKind::Data2vecAudio => DATA2VEC_POSITION,
        AudioKind::Wav2vec2 | AudioKind::Hubert => WAV2VEC2_POSITION,
    };
    Table {
        rows: [FRONT, position, LAYERS].concat(),
        prefixes: match kind {
            AudioKind::Wav2vec2 => vec!["wav2vec2."],
            AudioKind::Data2vecAudio => vec!["data2vec_audio."],
            AudioKind::Hubert => vec!["hubert."],
        },
        optional: Vec::new(),
    }
}

/// `preprocessor_config.json` of a `Wav2Vec2FeatureExtractor`: how a recording becomes input.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AudioPreprocessor {
    #[serde(default = "sixteen_k")]
    pub sampling_rate: u32,
    /// Zero mean, unit variance per recording.
    #[serde(default = "yes")]
    pub do_normalize: bool,
    #[serde(default)]
    pub padding_value: f32,
    #[serde(default = "one")]
    pub feature_size: usize,
}

fn sixteen_k() -> u32 {
    16_000
}
fn one() -> usize {
    1
}

impl AudioPreprocessor {
    /// The folder's feature extractor; a folder without one gets transformers' defaults.
    pub fn read(dir: &Path) -> Result<Self, PretrainedError> {
        if !dir.join("preprocessor_config.json").exists() {
            return Ok(serde_json::from_str("{}").expect("every key has a default"));
        }
        let pre: Self = pretrained::read_json(dir, "preprocessor_config.json")?;
        let path = dir.join("preprocessor_config.json");
        if pre.feature_size != 1 {
            return Err(PretrainedError::unsupported(
                &path,
                format!("feature_size {} (raw waveforms have 1)", pre.feature_size),
            ));
        }
        if pre.padding_value != 0.0 || pre.sampling_rate == 0 {
            return Err(PretrainedError::unsupported(
                &path,
                "padding_value must be 0 and sampling_rate positive",
            ));
        }
        Ok(pre)
    }
}
