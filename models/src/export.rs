//! `mer export --merge-lora`: a checkpoint with its text encoder's LoRA adapters folded in,
//! written as a Hugging Face model folder that `AutoModel.from_pretrained` loads.

use std::fs;
use std::path::Path;

use anyhow::Context;
use burn::backend::NdArray;
use burn_store::{BurnToPyTorchAdapter, ModuleSnapshot, SafetensorsStore};
use mer_core::config::RawConfig;
use mer_core::nn::lora;
use mer_core::run::RunConfig;
use mer_core::store::Store;

use crate::unimodal::UnimodalConfig;

type B = NdArray<f32>;

/// The folder inside an export that holds the merged encoder.
pub const HF_DIR: &str = "text-hf";

/// Exports `checkpoint` to `dest` (as `mer export` does) plus `text-hf/`: config.json,
/// model.safetensors (Hugging Face tensor names, adapters merged) and tokenizer.json.
pub fn export_merged(store: &Store, checkpoint: &Path, dest: &Path) -> anyhow::Result<()> {
    let config_path = checkpoint.join("config.toml");
    let raw = RawConfig::load(&[&config_path], &[] as &[&str])?;
    let run: RunConfig<UnimodalConfig> = raw.resolve()?;
    let encoder = &run.model.text.config;
    let pretrained = encoder.pretrained.as_ref().with_context(|| {
        format!(
            "{}: --merge-lora writes a Hugging Face folder, which needs the encoder's `pretrained` \
             config.json",
            config_path.display()
        )
    })?;
    let network = store.load(checkpoint, run.model.init::<B>(&Default::default()))?;
    let adapted = lora::adapters(&network.text).len();
    let bert = lora::merge(network.text.bert);

    let staging = dest.with_file_name(format!(
        ".{}.tmp-{}",
        dest.file_name()
            .map_or("export".into(), |n| n.to_string_lossy()),
        std::process::id()
    ));
    let result = (|| -> anyhow::Result<()> {
        store.export(checkpoint, &staging)?;
        let hf = staging.join(HF_DIR);
        fs::create_dir_all(&hf).with_context(|| format!("creating {}", hf.display()))?;
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
        fs::rename(&staging, dest).with_context(|| format!("renaming to {}", dest.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result?;
    eprintln!(
        "merged {adapted} LoRA adapters into {}",
        dest.join(HF_DIR).display()
    );
    Ok(())
}
