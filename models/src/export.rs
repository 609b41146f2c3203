//! `mer export --merge-lora`: a checkpoint with its pretrained encoders' LoRA adapters folded
//! in, each written as a Hugging Face model folder that `AutoModel.from_pretrained` loads:
//! `text-hf/` (`unimodal`, `multimodal`), `audio-hf/` and `video-hf/` (`multimodal`).

use std::fs;
use std::path::Path;

use anyhow::Context;
use burn::backend::NdArray;
use burn_store::{BurnToPyTorchAdapter, ModuleSnapshot, SafetensorsStore};
use mer_core::config::RawConfig;
use mer_core::encoders::audio::AudioEncoder;
use mer_core::encoders::pretrained;
use mer_core::encoders::text::{TextEncoder, TextEncoderConfig};
use mer_core::encoders::video::VideoEncoder;
use mer_core::encoders::{audio, video};
use mer_core::nn::lora;
use mer_core::run::RunConfig;
use mer_core::store::Store;

use crate::multimodal::MultimodalConfig;
use crate::unimodal::UnimodalConfig;

type B = NdArray<f32>;

/// The folder inside an export that holds the merged text encoder.
pub const HF_DIR: &str = "text-hf";
/// The folders of the merged audio and video encoders.
pub const AUDIO_HF_DIR: &str = "audio-hf";
pub const VIDEO_HF_DIR: &str = "video-hf";

/// What a checkpoint's pretrained encoders become: their merged modules and source folders.
#[derive(Default)]
struct Parts {
    text: Option<(TextEncoder<B>, TextEncoderConfig)>,
    audio: Option<(AudioEncoder<B>, String, audio::AudioKind)>,
    video: Option<(VideoEncoder<B>, String, video::VideoKind)>,
    adapted: usize,
}

/// The pretrained encoders of the checkpoint's network, adapters merged.
fn parts(store: &Store, checkpoint: &Path) -> anyhow::Result<Parts> {
    let config_path = checkpoint.join("config.toml");
    let raw = RawConfig::load(&[&config_path], &[] as &[&str])?;
    let architecture = toml::from_str::<toml::Table>(&fs::read_to_string(&config_path)?)?
        .get("architecture")
        .and_then(|a| a.as_str().map(str::to_owned))
        .unwrap_or_default();
    let device = Default::default();
    let mut parts = Parts::default();
    let text = |encoder: TextEncoder<B>, config: &TextEncoderConfig, parts: &mut Parts| {
        if config.pretrained.is_some() {
            parts.adapted += lora::adapters(&encoder).len();
            parts.text = Some((lora::merge(encoder), config.clone()));
        }
    };
    match architecture.as_str() {
        "unimodal" => {
            let run: RunConfig<UnimodalConfig> = raw.resolve()?;
            let network = store.load(checkpoint, run.model.init::<B>(&device))?;
            text(network.text, &run.model.text.config, &mut parts);
        }
        "multimodal" => {
            let run: RunConfig<MultimodalConfig> = raw.resolve()?;
            let network = store.load(checkpoint, run.model.init::<B>(&device))?;
            text(network.text, &run.model.text.config, &mut parts);
            let audio = &run.model.audio.config;
            if let Some(dir) = &audio.pretrained {
                parts.adapted += lora::adapters(&network.audio).len();
                let kind = audio::hf::read_shape(Path::new(dir))?.kind;
                parts.audio = Some((lora::merge(network.audio), dir.clone(), kind));
            }
            let video = &run.model.video.config;
            if let Some(dir) = &video.pretrained {
                parts.adapted += lora::adapters(&network.video).len();
                let kind = video::hf::read_model(Path::new(dir))?.shape.kind;
                parts.video = Some((lora::merge(network.video), dir.clone(), kind));
            }
        }
        other => anyhow::bail!(
            "{}: --merge-lora exports `unimodal` and `multimodal` checkpoints, not \"{other}\"",
            config_path.display()
        ),
    }
    if parts.text.is_none() && parts.audio.is_none() && parts.video.is_none() {
        anyhow::bail!(
            "{}: --merge-lora writes Hugging Face folders, which needs an encoder with \
             `pretrained` (its config.json)",
            config_path.display()
        );
    }
    Ok(parts)
}

/// Exports `checkpoint` to `dest` (as `mer export` does) plus a Hugging Face folder per
/// pretrained encoder (adapters merged, transformers' tensor names): `text-hf/` (config.json,
/// model.safetensors, tokenizer.json), `audio-hf/` and `video-hf/` (config.json,
/// model.safetensors, preprocessor_config.json).
pub fn export_merged(store: &Store, checkpoint: &Path, dest: &Path) -> anyhow::Result<()> {
    let parts = parts(store, checkpoint)?;
    let staging = dest.with_file_name(format!(
        ".{}.tmp-{}",
        dest.file_name()
            .map_or("export".into(), |n| n.to_string_lossy()),
        std::process::id()
    ));
    let result = (|| -> anyhow::Result<()> {
        store.export(checkpoint, &staging)?;
        if let Some((encoder, dir, kind)) = &parts.audio {
            let table = audio::hf::table(*kind);
            pretrained::write_folder(encoder, Path::new(dir), &table, &staging.join(AUDIO_HF_DIR))?;
        }
        if let Some((encoder, dir, kind)) = &parts.video {
            let table = video::hf::table(*kind);
            pretrained::write_folder(encoder, Path::new(dir), &table, &staging.join(VIDEO_HF_DIR))?;
        }
        if let Some((text, encoder)) = &parts.text {
            write_text(text, encoder, &staging.join(HF_DIR))?;
        }
        fs::rename(&staging, dest).with_context(|| format!("renaming to {}", dest.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result?;
    eprintln!(
        "merged {} LoRA adapters into {}",
        parts.adapted,
        dest.display()
    );
    Ok(())
}

/// A text encoder as a Hugging Face folder: config.json, model.safetensors, tokenizer.json.
fn write_text(text: &TextEncoder<B>, encoder: &TextEncoderConfig, hf: &Path) -> anyhow::Result<()> {
    let bert = &text.bert;
    let pretrained = encoder
        .pretrained
        .as_ref()
        .expect("only pretrained encoders are exported");
    fs::create_dir_all(hf).with_context(|| format!("creating {}", hf.display()))?;
    let mut weights = SafetensorsStore::from_file(hf.join("model.safetensors"))
        .with_to_adapter(BurnToPyTorchAdapter)
        .with_predicate(|path, _| !lora::is_adapter_path(path))
        .with_key_remapping(r"layer_norm\.", "LayerNorm.")
        .with_key_remapping(r"attention\.self_attn\.", "attention.self.");
    bert.save_into(&mut weights)
        .map_err(|e| anyhow::anyhow!("writing merged weights: {e}"))?;
    let source = Path::new(pretrained).join("config.json");
    let mut config: serde_json::Value = serde_json::from_slice(
        &fs::read(&source).with_context(|| format!("reading {}", source.display()))?,
    )
    .with_context(|| format!("parsing {}", source.display()))?;
    config["vocab_size"] = bert.embeddings.word_embeddings.weight.dims()[0].into();
    fs::write(
        hf.join("config.json"),
        serde_json::to_string_pretty(&config)? + "\n",
    )?;
    fs::write(hf.join("tokenizer.json"), encoder.tokenizer()?.to_json()?)?;
    Ok(())
}
