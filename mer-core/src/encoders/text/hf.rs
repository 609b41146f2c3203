//! Hugging Face model folders as they are: `config.json`, `model.safetensors`, `tokenizer.json`.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use burn::module::Param;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use burn_store::{ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};
use serde::Deserialize;

use super::bert::{Bert, BertShape, Family};
use super::error::TextError;
use crate::config::schema::ConfigValue;

/// The keys of `config.json` a BERT-family encoder needs.
#[derive(Debug, Deserialize)]
struct HfConfig {
    model_type: String,
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    max_position_embeddings: usize,
    #[serde(default = "one")]
    type_vocab_size: usize,
    #[serde(default = "default_eps")]
    layer_norm_eps: f64,
    #[serde(default)]
    pad_token_id: Option<usize>,
    #[serde(default = "gelu")]
    hidden_act: String,
}

fn one() -> usize {
    1
}
fn default_eps() -> f64 {
    1e-12
}
fn gelu() -> String {
    "gelu".into()
}

/// The encoder shape a folder's `config.json` describes.
pub fn read_shape(dir: &Path) -> Result<BertShape, TextError> {
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|error| TextError::Read {
        path: path.clone(),
        error,
    })?;
    let config: HfConfig = serde_json::from_str(&text).map_err(|e| TextError::Unsupported {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let family = match config.model_type.as_str() {
        "bert" => Family::Bert,
        "roberta" | "xlm-roberta" | "camembert" => Family::Roberta,
        other => {
            return Err(TextError::Unsupported {
                path,
                message: format!(
                    "model_type \"{other}\" is not a BERT or RoBERTa encoder (bert, roberta, xlm-roberta, camembert)"
                ),
            });
        }
    };
    if config.hidden_act != "gelu" {
        return Err(TextError::Unsupported {
            path,
            message: format!(
                "hidden_act \"{}\" (only exact \"gelu\" is ported)",
                config.hidden_act
            ),
        });
    }
    let shape = BertShape {
        family,
        vocab_size: config.vocab_size,
        hidden: config.hidden_size,
        layers: config.num_hidden_layers,
        heads: config.num_attention_heads,
        intermediate: config.intermediate_size,
        max_positions: config.max_position_embeddings,
        type_vocab_size: config.type_vocab_size,
        layer_norm_eps: config.layer_norm_eps,
        pad_token_id: config
            .pad_token_id
            .unwrap_or(if family == Family::Roberta { 1 } else { 0 }),
    };
    // The same checks as a shape written in a config, named by config.json's keys, before
    // anything of that shape is allocated.
    ConfigValue::check(&shape).map_err(|problem| TextError::Unsupported {
        path,
        message: format!(
            "{}: {}",
            crate::encoders::pretrained::config_json_key(&problem.key),
            problem.message
        ),
    })?;
    Ok(shape)
}

/// What loading a checkpoint into the network did.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    pub applied: usize,
    /// Checkpoint tensors the encoder has no place for (a pooler, an LM head).
    pub unused: Vec<String>,
}

/// Loads `model.safetensors` into `bert` (built with the checkpoint's own vocabulary), accepting
/// names with or without the `bert.`/`roberta.` prefix and old `gamma`/`beta` names.
pub fn load_weights<B: Backend>(bert: &mut Bert<B>, dir: &Path) -> Result<LoadReport, TextError> {
    let path = dir.join("model.safetensors");
    check_header(&path)?;
    let mut store = SafetensorsStore::from_file(&path)
        .with_from_adapter(PyTorchToBurnAdapter)
        .with_key_remapping(r"^(bert|roberta)\.", "")
        .with_key_remapping(r"LayerNorm\.(gamma|beta)$", "layer_norm.$1")
        .with_key_remapping(r"LayerNorm\.weight$", "layer_norm.gamma")
        .with_key_remapping(r"LayerNorm\.bias$", "layer_norm.beta")
        .with_key_remapping(r"attention\.self\.", "attention.self_attn.")
        .allow_partial(true);
    let result = bert.load_from(&mut store).map_err(|e| TextError::Weights {
        path: path.clone(),
        message: e.to_string(),
    })?;
    // A Hugging Face checkpoint has no LoRA adapters: those stay empty until injected.
    let missing: Vec<&str> = result
        .missing
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !crate::nn::lora::is_adapter_path(name))
        .collect();
    if !missing.is_empty() || !result.errors.is_empty() {
        let errors: Vec<String> = result.errors.iter().map(|e| e.to_string()).collect();
        return Err(TextError::Weights {
            path,
            message: format!(
                "does not fit the encoder its config.json describes; missing tensors: [{}]; errors: [{}]",
                missing.join(", "),
                errors.join("; ")
            ),
        });
    }
    Ok(LoadReport {
        applied: result.applied.len(),
        unused: result.unused,
    })
}

/// A safetensors file starts with a little-endian header length and a JSON header: a truncated
/// or foreign file is refused with its name before anything is mapped.
fn check_header(path: &Path) -> Result<(), TextError> {
    let bad = |message: String| TextError::Weights {
        path: path.to_owned(),
        message,
    };
    let mut file = File::open(path).map_err(|error| TextError::Read {
        path: path.to_owned(),
        error,
    })?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut len = [0u8; 8];
    file.read_exact(&mut len)
        .map_err(|_| bad("too short to be a safetensors file".into()))?;
    let header_len = u64::from_le_bytes(len);
    if header_len == 0 || header_len > size.saturating_sub(8) {
        return Err(bad(format!(
            "not a safetensors file (header of {header_len} bytes in a {size}-byte file)"
        )));
    }
    Ok(())
}

/// Grows the token table to `vocab_size` rows; new rows (speaker tokens) start at the mean of
/// the existing ones, as a neutral point.
pub fn resize_token_embeddings<B: Backend>(bert: &mut Bert<B>, vocab_size: usize) {
    let weight = bert.embeddings.word_embeddings.weight.val();
    let [rows, hidden] = weight.dims();
    if vocab_size <= rows {
        return;
    }
    let mean = weight.clone().mean_dim(0);
    let extra = mean.repeat_dim(0, vocab_size - rows);
    let grown: Tensor<B, 2> = Tensor::cat(vec![weight, extra], 0);
    debug_assert_eq!(grown.dims(), [vocab_size, hidden]);
    // Detached: on an autodiff backend the concatenation is not a leaf, and a parameter must be.
    bert.embeddings.word_embeddings.weight = Param::from_tensor(grown.detach());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `read_shape` on a BERT `config.json` with `overrides` applied.
    fn shape_with(overrides: &[(&str, serde_json::Value)]) -> Result<BertShape, TextError> {
        let mut config = serde_json::json!({
            "model_type": "bert", "vocab_size": 100, "hidden_size": 32,
            "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
            "max_position_embeddings": 64, "type_vocab_size": 2, "hidden_act": "gelu",
        });
        for (key, value) in overrides {
            config[*key] = value.clone();
        }
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("config.json"), config.to_string()).unwrap();
        read_shape(tmp.path())
    }

    #[test]
    fn impossible_shapes_are_refused_before_anything_is_allocated() {
        assert_eq!(shape_with(&[]).unwrap().heads, 4);
        for (key, value, expected) in [
            (
                "num_attention_heads",
                0,
                "num_attention_heads: must be at least 1, found 0",
            ),
            (
                "num_attention_heads",
                3,
                "num_attention_heads: must divide hidden (32), found 3",
            ),
            (
                "num_hidden_layers",
                1_000_000_000,
                "num_hidden_layers: makes a network of",
            ),
            ("hidden_size", 0, "hidden_size: must be at least 1, found 0"),
        ] {
            let error = shape_with(&[(key, value.into())]).unwrap_err().to_string();
            assert!(error.contains(expected), "{key}={value}: {error}");
            assert!(error.contains("config.json"), "{error}");
        }
    }
}
