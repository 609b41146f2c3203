//! What every `#[encoder]` field gets from the DSL: a `mode` key beside its own settings.

use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::cache::{self, CacheError, FeatureCache, FeatureIdentity, Key};
use crate::config::schema::{ConfigValue, Field, Kind, Problem, default_value};
use crate::config::wiring::Wiring;
use crate::input::{Batch, Sample};
use crate::nn::lora::{self, LoraConfig, LoraError};

/// An encoder seen from the training loop: one vector per input of its modality.
///
/// `#[derive(Architecture)]` requires it of every `#[encoder]` field, and generates
/// `encode_<field>(batch)`, which returns the batch's cached features when the encoder is frozen
/// and runs the encoder otherwise.
pub trait Encode<B: Backend> {
    /// The batch's inputs of this encoder's modality → [N, H].
    fn encode(&self, batch: &Batch<B>) -> Tensor<B, 2>;
}

/// An encoder config that can say what decides its output, for the feature cache.
pub trait CacheableEncoder {
    /// The hash of everything besides the input that decides the output: the weights' content
    /// (of `module`, or of the files it was loaded from) and every preprocessing setting.
    fn feature_identity<B: Backend, M: Module<B>>(
        &self,
        module: &M,
        cache: &FeatureCache,
    ) -> Result<FeatureIdentity, CacheError>;

    /// The cache key of a sample's input to this encoder; `cache` remembers file digests.
    fn input_key(&self, sample: &Sample, cache: &FeatureCache) -> Result<Key, CacheError>;
}

/// How an encoder takes part in training.
#[crate::config]
pub enum EncoderMode {
    /// Every weight trains.
    Trainable,
    /// No weight trains; the encoder runs without gradients and its outputs are cached.
    Frozen,
    /// Only low-rank adapters injected into its linear layers train (`lora = { ... }`).
    Lora,
}

/// An encoder's config `C` plus the keys the DSL adds to every encoder.
///
/// In TOML they sit side by side: `[model.text] hidden = 256` and `mode = "frozen"`.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderSlot<C> {
    pub mode: EncoderMode,
    /// Adapter settings; `Some` exactly when `mode` is `lora`.
    pub lora: Option<LoraConfig>,
    /// Where the initial weights come from: `"teacher.text"` (part `text` of the checkpoint of
    /// teacher field `teacher`) or `"CHECKPOINT_DIR:text"`; drawn at random when absent.
    pub init_from: Option<String>,
    pub config: C,
}

/// Why an encoder could not be built as configured.
#[derive(Debug, thiserror::Error)]
pub enum SlotError {
    /// LoRA targets that match no layer (at `lora.targets`).
    #[error(transparent)]
    Lora(#[from] LoraError),
    /// The weights `init_from` names cannot be read or do not fit (at `init_from`).
    #[error("{0}")]
    InitFrom(String),
    /// The encoder as configured would not fit in memory (at the encoder).
    #[error("{0}")]
    Size(String),
}

/// The checkpoint folders `init_from = "FIELD.part"` can name, by teacher field.
pub type InitSources<'a> = &'a [(&'static str, Option<&'a Path>)];

impl<C> EncoderSlot<C> {
    /// The weight file `init_from` names, given where each teacher's checkpoint is.
    fn init_file(&self, sources: InitSources<'_>) -> Result<Option<PathBuf>, SlotError> {
        let Some(spec) = &self.init_from else {
            return Ok(None);
        };
        let part_file = |dir: &Path, part: &str| dir.join(format!("{part}.safetensors"));
        if let Some((dir, part)) = spec.rsplit_once(':') {
            return Ok(Some(part_file(Path::new(dir), part)));
        }
        let Some((field, part)) = spec.split_once('.') else {
            return Err(SlotError::InitFrom(format!(
                "\"{spec}\": expected \"TEACHER.part\" or \"CHECKPOINT_DIR:part\""
            )));
        };
        match sources.iter().find(|(name, _)| *name == field) {
            Some((_, Some(dir))) => Ok(Some(part_file(dir, part))),
            Some((_, None)) => Err(SlotError::InitFrom(format!(
                "\"{spec}\": the teacher `{field}` has no checkpoint yet"
            ))),
            None => Err(SlotError::InitFrom(format!(
                "\"{spec}\": `{field}` is not a teacher of this architecture (teachers: {})",
                sources
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

impl<C> EncoderSlot<C> {
    /// Builds the encoder with `build` and applies the mode.
    ///
    /// # Panics
    /// When LoRA targets match none of the encoder's linear layers: a config error that only
    /// building the encoder reveals (`mer plan` reports it without panicking).
    pub fn init_with<B: Backend, M: Module<B>>(&self, build: impl FnOnce(&C) -> M) -> M {
        self.try_init_with(build, &[])
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`EncoderSlot::init_with`], reporting LoRA targets that match nothing and `init_from`
    /// weights that cannot be read or do not fit; `sources` are the teachers' checkpoints.
    pub fn try_init_with<B: Backend, M: Module<B>>(
        &self,
        build: impl FnOnce(&C) -> M,
        sources: InitSources<'_>,
    ) -> Result<M, SlotError> {
        let module =
            crate::nn::weights::fits_in_memory(build(&self.config)).map_err(SlotError::Size)?;
        // Base weights are drawn before adapters, so a seed gives the same base in every mode.
        crate::nn::weights::materialize(&module);
        let module = match self.init_file(sources)? {
            Some(path) => crate::nn::weights::load_base(module, &path)
                .map_err(|e| SlotError::InitFrom(e.to_string()))?,
            None => module,
        };
        Ok(match (self.mode, &self.lora) {
            (EncoderMode::Trainable, _) => module,
            (EncoderMode::Frozen, _) => module.no_grad(),
            (EncoderMode::Lora, lora) => {
                lora::inject(module, lora.as_ref().unwrap_or(&LoraConfig::default()))?.0
            }
        })
    }
}

const MODE_KEY: &str = "mode";
const LORA_KEY: &str = "lora";
const INIT_FROM_KEY: &str = "init_from";

impl<C: ConfigValue> ConfigValue for EncoderSlot<C> {
    type Checked = Self;

    fn kind() -> Kind {
        let Kind::Table(mut table) = C::kind() else {
            panic!("an encoder config is a #[config] struct");
        };
        table.fields.push(Field {
            name: MODE_KEY,
            doc: "How the encoder trains: \"trainable\" (every weight), \"frozen\" (none; outputs \
                  cached) or \"lora\" (adapters only).",
            kind: EncoderMode::kind(),
            default: Some(default_value(EncoderMode::Trainable)),
            derived: None,
            hashed: true,
            range: None,
        });
        table.fields.push(Field {
            name: LORA_KEY,
            doc: "LoRA adapters, with `mode = \"lora\"` (defaults apply when omitted).",
            kind: Option::<LoraConfig>::kind(),
            default: None,
            derived: None,
            hashed: true,
            range: None,
        });
        table.fields.push(Field {
            name: INIT_FROM_KEY,
            doc: "Start from another checkpoint's weights: \"TEACHER.part\" (a part of a teacher's \
                  checkpoint) or \"CHECKPOINT_DIR:part\"; random when left out.",
            kind: Option::<String>::kind(),
            default: None,
            derived: None,
            hashed: true,
            range: None,
        });
        Kind::Table(table)
    }

    fn check(&self) -> Result<(), crate::config::schema::Problem> {
        if let Some(lora) = &self.lora {
            if self.mode != EncoderMode::Lora {
                return Err(Problem::new(
                    LORA_KEY,
                    format!("is set but mode is \"{}\": set mode = \"lora\"", self.mode),
                ));
            }
            lora.check().map_err(|p| p.within(LORA_KEY))?;
        }
        self.config.check()
    }
}

impl<C: Wiring> Wiring for EncoderSlot<C> {
    fn output_width(&self) -> Result<usize, Problem> {
        self.config.output_width()
    }
}

impl<C: Serialize> Serialize for EncoderSlot<C> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut table = match toml::Value::try_from(&self.config).map_err(S::Error::custom)? {
            toml::Value::Table(table) => table,
            _ => return Err(S::Error::custom("an encoder config is a table")),
        };
        table.insert(MODE_KEY.into(), default_value(self.mode));
        if let Some(lora) = &self.lora {
            table.insert(
                LORA_KEY.into(),
                toml::Value::try_from(lora).map_err(S::Error::custom)?,
            );
        }
        if let Some(init_from) = &self.init_from {
            table.insert(INIT_FROM_KEY.into(), toml::Value::String(init_from.clone()));
        }
        table.serialize(serializer)
    }
}

impl<'de, C: serde::de::DeserializeOwned> Deserialize<'de> for EncoderSlot<C> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut table = toml::Table::deserialize(deserializer)?;
        let mode = match table.remove(MODE_KEY) {
            Some(value) => value.try_into().map_err(D::Error::custom)?,
            None => EncoderMode::Trainable,
        };
        let init_from: Option<String> = match table.remove(INIT_FROM_KEY) {
            Some(value) => Some(value.try_into().map_err(D::Error::custom)?),
            None => None,
        };
        let lora: Option<LoraConfig> = match table.remove(LORA_KEY) {
            Some(value) => Some(value.try_into().map_err(D::Error::custom)?),
            None => None,
        };
        // In lora mode the adapter settings are always spelled out, so identities agree.
        let lora = match (mode, lora) {
            (EncoderMode::Lora, None) => Some(LoraConfig::default()),
            (_, lora) => lora,
        };
        let config = toml::Value::Table(table)
            .try_into()
            .map_err(D::Error::custom)?;
        Ok(EncoderSlot {
            mode,
            lora,
            init_from,
            config,
        })
    }
}

/// A randomly initialised encoder is its drawn weights: their hash.
pub fn random_weights_digest<B: Backend, M: Module<B>>(module: &M) -> Result<String, CacheError> {
    let bytes = crate::nn::weights::module_bytes(module, Path::new("(random encoder)"))
        .map_err(|e| CacheError::Compute(e.to_string()))?;
    Ok(format!(
        "random:{}",
        &crate::config::identity::hex(&Sha256::digest(&bytes))[..32]
    ))
}

/// A media input's key: the digest of the file's content.
pub fn media_key(kind: &str, path: Option<&Path>, cache: &FeatureCache) -> Result<Key, CacheError> {
    let path =
        path.ok_or_else(|| CacheError::Compute(format!("an utterance has no {kind} file")))?;
    Ok(cache::key_of(cache.file_digest(path)?.as_bytes()))
}
