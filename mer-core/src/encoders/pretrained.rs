//! What the audio and video encoders share about Hugging Face folders: reading `config.json`
//! and `preprocessor_config.json`, refusing what is not ported by name, loading weights by a
//! [`Table`], and the folder's identity for the feature cache.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::backend::Backend;
use serde::de::DeserializeOwned;

use crate::cache::{CacheError, FeatureCache};
use crate::config::schema::{ConfigValue, Problem};
use crate::nn::hf_names::{self, Checkpoint, LoadReport, NamesError, Table};

/// A Hugging Face folder that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PretrainedError {
    #[error("{}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Unsupported { path: PathBuf, message: String },
    #[error(transparent)]
    Weights(#[from] NamesError),
}

impl PretrainedError {
    pub fn unsupported(path: &Path, message: impl Into<String>) -> Self {
        PretrainedError::Unsupported {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}

/// `dir/file` parsed as JSON into `T`; a missing or malformed key is named.
pub fn read_json<T: DeserializeOwned>(dir: &Path, file: &str) -> Result<T, PretrainedError> {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).map_err(|error| PretrainedError::Read {
        path: path.clone(),
        error,
    })?;
    serde_json::from_str(&text).map_err(|e| PretrainedError::unsupported(&path, e.to_string()))
}

/// `config.json`'s `model_type`, which says which encoder a folder holds.
pub fn model_type(dir: &Path) -> Result<String, PretrainedError> {
    #[derive(serde::Deserialize)]
    struct Type {
        model_type: String,
    }
    Ok(read_json::<Type>(dir, "config.json")?.model_type)
}

/// Checks a shape read from `config.json` as one written in a config is checked, naming the
/// problem by `config.json`'s key.
pub fn check_shape<S: ConfigValue>(dir: &Path, shape: &S) -> Result<(), PretrainedError> {
    ConfigValue::check(shape).map_err(|problem: Problem| {
        PretrainedError::unsupported(
            &dir.join("config.json"),
            format!("{}: {}", config_json_key(&problem.key), problem.message),
        )
    })
}

/// `config.json`'s name for a key of mer's text, audio and video shapes.
pub fn config_json_key(key: &str) -> &str {
    match key {
        "hidden" => "hidden_size",
        "layers" => "num_hidden_layers",
        "heads" => "num_attention_heads",
        "intermediate" => "intermediate_size",
        "max_positions" => "max_position_embeddings",
        "pos_conv_groups" => "num_conv_pos_embedding_groups",
        "pos_conv_kernel" => "num_conv_pos_embeddings",
        other => other,
    }
}

/// Refuses `value` of `key` unless it is one of `supported`.
pub fn require(
    dir: &Path,
    key: &str,
    value: &str,
    supported: &[&str],
) -> Result<(), PretrainedError> {
    if supported.contains(&value) {
        return Ok(());
    }
    Err(PretrainedError::unsupported(
        &dir.join("config.json"),
        format!(
            "{key} \"{value}\" is not ported (supported: {})",
            supported.join(", ")
        ),
    ))
}

/// Loads `dir/model.safetensors` into `module` by `table`.
pub fn load_weights<B: Backend, M: Module<B>>(
    module: M,
    dir: &Path,
    table: &Table,
) -> Result<(M, LoadReport), PretrainedError> {
    let checkpoint = Checkpoint::read(&dir.join("model.safetensors"))?;
    Ok(hf_names::load(module, &checkpoint, table)?)
}

/// What decides an encoder's weights, for its feature identity: the pretrained folder's files,
/// or a random encoder's weight digest and shape.
pub fn weights_identity<B: Backend, M: Module<B>>(
    pretrained: Option<&str>,
    module: &M,
    shape: &impl serde::Serialize,
    cache: &FeatureCache,
) -> Result<serde_json::Value, CacheError> {
    Ok(match pretrained {
        Some(dir) => folder_identity(Path::new(dir), cache)?,
        None => serde_json::json!({
            "weights": crate::encoders::random_weights_digest(module)?,
            "shape": serde_json::to_value(shape).expect("shape serialises"),
        }),
    })
}

/// The digests of what decides a pretrained encoder's output: its weights, `config.json` and
/// `preprocessor_config.json` (when there is one).
fn folder_identity(dir: &Path, cache: &FeatureCache) -> Result<serde_json::Value, CacheError> {
    let digest = |file: &str| -> Result<Option<String>, CacheError> {
        let path = dir.join(file);
        if file == "preprocessor_config.json" && !path.exists() {
            return Ok(None);
        }
        Ok(Some(format!("sha256:{}", cache.file_digest(&path)?)))
    };
    Ok(serde_json::json!({
        "weights": digest("model.safetensors")?,
        "config": digest("config.json")?,
        "preprocessor": digest("preprocessor_config.json")?,
    }))
}

/// Writes `module` as a Hugging Face folder at `dest` that `from_pretrained` loads: its weights
/// by `table` (f32, the base model's names, no head), and the source folder's `config.json` and
/// `preprocessor_config.json`, which still describe it. Adapters must be merged first.
pub fn write_folder<B: Backend, M: Module<B>>(
    module: &M,
    source: &Path,
    table: &Table,
    dest: &Path,
) -> Result<(), PretrainedError> {
    let checkpoint = Checkpoint::read(&source.join("model.safetensors"))?;
    // The shapes the source gives each (unprefixed) name: flattened layouts need them back.
    let names = checkpoint.names();
    let mut shapes = std::collections::BTreeMap::new();
    for name in &names {
        let shape = checkpoint.shape(name)?;
        let base = table
            .prefixes
            .iter()
            .find_map(|p| name.strip_prefix(p))
            .unwrap_or(name);
        shapes.insert(base.to_owned(), shape);
    }
    let mut tensors = hf_names::export(module, table, &shapes)
        .map_err(|message| PretrainedError::unsupported(dest, message))?;
    // The base model's tensors mer does not use (wav2vec 2.0's `masked_spec_embed`, for
    // training-time masking) are carried over, so `from_pretrained` initialises nothing afresh;
    // a head outside the base model's prefix (an LM head) is not.
    let prefixed = names
        .iter()
        .any(|n| table.prefixes.iter().any(|p| n.starts_with(p)));
    let written: std::collections::BTreeSet<String> =
        tensors.iter().map(|(name, ..)| name.clone()).collect();
    for name in names {
        let base = table.prefixes.iter().find_map(|p| name.strip_prefix(p));
        let base = match (base, prefixed) {
            (Some(base), _) => base.to_owned(),
            (None, false) => name.clone(),
            (None, true) => continue,
        };
        let weight_norm_part = base.contains(".weight_g")
            || base.contains(".weight_v")
            || base.contains(".parametrizations.");
        if written.contains(&base) || weight_norm_part {
            continue;
        }
        let (values, shape) = checkpoint.get(&name)?.expect("a listed tensor");
        tensors.push((base, shape, values));
    }
    let write_error = |error| PretrainedError::Read {
        path: dest.to_owned(),
        error,
    };
    std::fs::create_dir_all(dest).map_err(write_error)?;
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(name, shape, values)| {
            let bytes = values.iter().flat_map(|x| x.to_le_bytes()).collect();
            (name, shape, bytes)
        })
        .collect();
    let views = bytes.iter().map(|(name, shape, bytes)| {
        let view =
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                .expect("shape and bytes agree");
        (name.as_str(), view)
    });
    // transformers refuses a file without `format = pt` in its metadata.
    let metadata = std::collections::HashMap::from([("format".to_owned(), "pt".to_owned())]);
    let serialized = safetensors::serialize(views, Some(metadata))
        .map_err(|e| PretrainedError::unsupported(dest, e.to_string()))?;
    crate::util::atomic::write(&dest.join("model.safetensors"), &serialized)
        .map_err(write_error)?;
    for file in ["config.json", "preprocessor_config.json"] {
        if source.join(file).exists() {
            std::fs::copy(source.join(file), dest.join(file)).map_err(|error| {
                PretrainedError::Read {
                    path: source.join(file),
                    error,
                }
            })?;
        }
    }
    Ok(())
}
