//! Hugging Face video folders: `config.json` of a `videomae` or `timesformer` model as a
//! [`VideoShape`] with its frame count and image size, the tables of tensor names, and
//! `preprocessor_config.json` (`VideoMAEImageProcessor`).

use std::path::Path;

use serde::Deserialize;

use super::shape::{VideoKind, VideoShape};
use crate::encoders::pretrained::{self, PretrainedError};
use crate::nn::hf_names::{Layout, Row, Table, row};

/// The `model_type`s a video encoder reads.
pub const MODEL_TYPES: &[&str] = &["videomae", "timesformer"];

/// The keys of `config.json` the video encoder needs (defaults as transformers' configs).
#[derive(Debug, Deserialize)]
struct HfConfig {
    model_type: String,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    image_size: usize,
    patch_size: usize,
    num_frames: usize,
    #[serde(default = "three")]
    num_channels: usize,
    #[serde(default = "two")]
    tubelet_size: usize,
    #[serde(default = "yes")]
    qkv_bias: bool,
    #[serde(default = "yes")]
    use_mean_pooling: bool,
    layer_norm_eps: Option<f64>,
    #[serde(default = "gelu")]
    hidden_act: String,
    #[serde(default = "divided")]
    attention_type: String,
}

fn three() -> usize {
    3
}
fn two() -> usize {
    2
}
fn yes() -> bool {
    true
}
fn gelu() -> String {
    "gelu".into()
}
fn divided() -> String {
    "divided_space_time".into()
}

/// What a video folder's `config.json` fixes: the shape, frames per clip and image side.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoModel {
    pub shape: VideoShape,
    pub frames: usize,
    pub image_size: usize,
}

/// The model a folder's `config.json` describes; what is not ported is refused by key.
pub fn read_model(dir: &Path) -> Result<VideoModel, PretrainedError> {
    let config: HfConfig = pretrained::read_json(dir, "config.json")?;
    pretrained::require(dir, "model_type", &config.model_type, MODEL_TYPES)?;
    pretrained::require(dir, "hidden_act", &config.hidden_act, &["gelu"])?;
    if config.num_channels != 3 {
        return Err(PretrainedError::unsupported(
            &dir.join("config.json"),
            format!("num_channels {} (frames are RGB)", config.num_channels),
        ));
    }
    let kind = if config.model_type == "timesformer" {
        pretrained::require(
            dir,
            "attention_type",
            &config.attention_type,
            &["divided_space_time"],
        )?;
        VideoKind::Timesformer
    } else {
        VideoKind::Videomae
    };
    let shape = VideoShape {
        kind,
        patch_size: config.patch_size,
        tubelet_size: match kind {
            VideoKind::Videomae => config.tubelet_size,
            VideoKind::Timesformer => 1,
        },
        hidden: config.hidden_size,
        layers: config.num_hidden_layers,
        heads: config.num_attention_heads,
        intermediate: config.intermediate_size,
        qkv_bias: config.qkv_bias,
        use_mean_pooling: config.use_mean_pooling || kind == VideoKind::Timesformer,
        layer_norm_eps: config.layer_norm_eps.unwrap_or(match kind {
            VideoKind::Videomae => 1e-12,
            VideoKind::Timesformer => 1e-6,
        }),
    };
    pretrained::check_shape(dir, &shape)?;
    let model = VideoModel {
        frames: config.num_frames,
        image_size: config.image_size,
        shape,
    };
    let file = dir.join("config.json");
    if model.frames == 0 || !model.frames.is_multiple_of(model.shape.frames_per_token()) {
        return Err(PretrainedError::unsupported(
            &file,
            "num_frames: must be a positive multiple of tubelet_size",
        ));
    }
    if model.image_size == 0 || !model.image_size.is_multiple_of(model.shape.patch_size) {
        return Err(PretrainedError::unsupported(
            &file,
            "image_size: must be a positive multiple of patch_size",
        ));
    }
    Ok(model)
}

#[rustfmt::skip]
const VIDEOMAE: &[Row] = &[
    row("videomae.patch_embeddings.weight", "embeddings.patch_embeddings.projection.weight", Layout::Patch),
    row("videomae.patch_embeddings.bias", "embeddings.patch_embeddings.projection.bias", Layout::Same),
    row("videomae.encoder.layer.*.attention.self_attn.query.weight", "encoder.layer.*.attention.attention.query.weight", Layout::Linear),
    row("videomae.encoder.layer.*.attention.self_attn.query.bias", "encoder.layer.*.attention.attention.q_bias", Layout::Same),
    row("videomae.encoder.layer.*.attention.self_attn.key.weight", "encoder.layer.*.attention.attention.key.weight", Layout::Linear),
    row("videomae.encoder.layer.*.attention.self_attn.value.weight", "encoder.layer.*.attention.attention.value.weight", Layout::Linear),
    row("videomae.encoder.layer.*.attention.self_attn.value.bias", "encoder.layer.*.attention.attention.v_bias", Layout::Same),
    row("videomae.encoder.layer.*.attention.output.dense.weight", "encoder.layer.*.attention.output.dense.weight", Layout::Linear),
    row("videomae.encoder.layer.*.attention.output.dense.bias", "encoder.layer.*.attention.output.dense.bias", Layout::Same),
    row("videomae.encoder.layer.*.attention.output.layer_norm.gamma", "encoder.layer.*.layernorm_before.weight", Layout::Same),
    row("videomae.encoder.layer.*.attention.output.layer_norm.beta", "encoder.layer.*.layernorm_before.bias", Layout::Same),
    row("videomae.encoder.layer.*.intermediate.dense.weight", "encoder.layer.*.intermediate.dense.weight", Layout::Linear),
    row("videomae.encoder.layer.*.intermediate.dense.bias", "encoder.layer.*.intermediate.dense.bias", Layout::Same),
    row("videomae.encoder.layer.*.output.dense.weight", "encoder.layer.*.output.dense.weight", Layout::Linear),
    row("videomae.encoder.layer.*.output.dense.bias", "encoder.layer.*.output.dense.bias", Layout::Same),
    row("videomae.encoder.layer.*.output.layer_norm.gamma", "encoder.layer.*.layernorm_after.weight", Layout::Same),
    row("videomae.encoder.layer.*.output.layer_norm.beta", "encoder.layer.*.layernorm_after.bias", Layout::Same),
    row("videomae.layernorm.gamma", "layernorm.weight", Layout::Same),
    row("videomae.layernorm.beta", "layernorm.bias", Layout::Same),
];

/// `fc_norm` sits outside the `videomae.` prefix, in the classification model.
#[rustfmt::skip]
const VIDEOMAE_POOLING: &[Row] = &[
    row("videomae.fc_norm.gamma", "fc_norm.weight", Layout::Same),
    row("videomae.fc_norm.beta", "fc_norm.bias", Layout::Same),
];

#[rustfmt::skip]
const TIMESFORMER: &[Row] = &[
    row("timesformer.patch_embeddings.weight", "embeddings.patch_embeddings.projection.weight", Layout::Patch),
    row("timesformer.patch_embeddings.bias", "embeddings.patch_embeddings.projection.bias", Layout::Same),
    row("timesformer.cls_token", "embeddings.cls_token", Layout::Same),
    row("timesformer.position_embeddings", "embeddings.position_embeddings", Layout::Same),
    row("timesformer.time_embeddings", "embeddings.time_embeddings", Layout::Same),
    row("timesformer.layer.*.temporal_layernorm.gamma", "encoder.layer.*.temporal_layernorm.weight", Layout::Same),
    row("timesformer.layer.*.temporal_layernorm.beta", "encoder.layer.*.temporal_layernorm.bias", Layout::Same),
    row("timesformer.layer.*.temporal_attention.qkv.weight", "encoder.layer.*.temporal_attention.attention.qkv.weight", Layout::Linear),
    row("timesformer.layer.*.temporal_attention.qkv.bias", "encoder.layer.*.temporal_attention.attention.qkv.bias", Layout::Same),
    row("timesformer.layer.*.temporal_attention.output.weight", "encoder.layer.*.temporal_attention.output.dense.weight", Layout::Linear),
    row("timesformer.layer.*.temporal_attention.output.bias", "encoder.layer.*.temporal_attention.output.dense.bias", Layout::Same),
    row("timesformer.layer.*.temporal_dense.weight", "encoder.layer.*.temporal_dense.weight", Layout::Linear),
    row("timesformer.layer.*.temporal_dense.bias", "encoder.layer.*.temporal_dense.bias", Layout::Same),
    row("timesformer.layer.*.layernorm_before.gamma", "encoder.layer.*.layernorm_before.weight", Layout::Same),
    row("timesformer.layer.*.layernorm_before.beta", "encoder.layer.*.layernorm_before.bias", Layout::Same),
    row("timesformer.layer.*.attention.qkv.weight", "encoder.layer.*.attention.attention.qkv.weight", Layout::Linear),
    row("timesformer.layer.*.attention.qkv.bias", "encoder.layer.*.attention.attention.qkv.bias", Layout::Same),
    row("timesformer.layer.*.attention.output.weight", "encoder.layer.*.attention.output.dense.weight", Layout::Linear),
    row("timesformer.layer.*.attention.output.bias", "encoder.layer.*.attention.output.dense.bias", Layout::Same),
    row("timesformer.layer.*.layernorm_after.gamma", "encoder.layer.*.layernorm_after.weight", Layout::Same),
    row("timesformer.layer.*.layernorm_after.beta", "encoder.layer.*.layernorm_after.bias", Layout::Same),
    row("timesformer.layer.*.intermediate.weight", "encoder.layer.*.intermediate.dense.weight", Layout::Linear),
    row("timesformer.layer.*.intermediate.bias", "encoder.layer.*.intermediate.dense.bias", Layout::Same),
    row("timesformer.layer.*.output.weight", "encoder.layer.*.output.dense.weight", Layout::Linear),
    row("timesformer.layer.*.output.bias", "encoder.layer.*.output.dense.bias", Layout::Same),
    row("timesformer.layernorm.gamma", "layernorm.weight", Layout::Same),
    row("timesformer.layernorm.beta", "layernorm.bias", Layout::Same),
];

/// The table of a video encoder of `kind`.
pub fn table(kind: VideoKind) -> Table {
    match kind {
        VideoKind::Videomae => Table {
            rows: [VIDEOMAE, VIDEOMAE_POOLING].concat(),
            prefixes: vec!["videomae."],
            // A base checkpoint has no `fc_norm`: the classification model starts it afresh.
            optional: vec!["videomae.fc_norm.gamma", "videomae.fc_norm.beta"],
        },
        VideoKind::Timesformer => Table {
            rows: TIMESFORMER.to_vec(),
            prefixes: vec!["timesformer."],
            optional: Vec::new(),
        },
    }
}

/// `preprocessor_config.json` of a `VideoMAEImageProcessor`: how frames become pixels.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ImagePreprocessor {
    #[serde(default = "yes")]
    pub do_resize: bool,
    /// `{"shortest_edge": S}` or `{"height": H, "width": W}`.
    #[serde(default)]
    pub size: Option<Size>,
    /// PIL's filter: 2 is bilinear, the one ported.
    #[serde(default = "bilinear")]
    pub resample: u32,
    #[serde(default = "yes")]
    pub do_center_crop: bool,
    #[serde(default)]
    pub crop_size: Option<Size>,
    #[serde(default = "yes")]
    pub do_rescale: bool,
    #[serde(default = "one_255")]
    pub rescale_factor: f32,
    #[serde(default = "yes")]
    pub do_normalize: bool,
    #[serde(default)]
    pub image_mean: Option<[f32; 3]>,
    #[serde(default)]
    pub image_std: Option<[f32; 3]>,
}

fn bilinear() -> u32 {
    2
}
fn one_255() -> f32 {
    1.0 / 255.0
}

/// A size as image processors write it.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Size {
    pub shortest_edge: Option<usize>,
    pub height: Option<usize>,
    pub width: Option<usize>,
}

impl ImagePreprocessor {
    /// The folder's image processor; a folder without one gets VideoMAE's defaults.
    pub fn read(dir: &Path) -> Result<Option<Self>, PretrainedError> {
        if !dir.join("preprocessor_config.json").exists() {
            return Ok(None);
        }
        let pre: Self = pretrained::read_json(dir, "preprocessor_config.json")?;
        if pre.resample != 2 {
            return Err(PretrainedError::unsupported(
                &dir.join("preprocessor_config.json"),
                format!("resample {} (only 2, bilinear, is ported)", pre.resample),
            ));
        }
        Ok(Some(pre))
    }
}
