//! The whole config of a run: the architecture's `model` plus what does not change the network
//! (`training`, `data`, `output`), and where its checkpoint goes.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::architecture::{ArchitectureConfig, RunStore};
use crate::config::identity::Identity;
use crate::config::schema::{ConfigValue, EnumSchema, Field, Kind, Problem, TableSchema, Variant};
use crate::encoders::EncoderMode;
use crate::input::{Buckets, DataConfig, Padding};
use crate::nn::loss::Losses;

/// Optimisation settings. None of them is part of the identity hash.
#[crate::config]
pub struct TrainingConfig {
    /// Seed of every random choice: initialisation, shuffling, dropout.
    #[config(default = 42)]
    pub seed: u64,
    /// Utterances per batch.
    #[config(default = 8, range = "at-least-one")]
    pub batch_size: usize,
    /// Peak learning rate of AdamW.
    #[config(default = 1e-4, range = "positive")]
    pub learning_rate: f64,
    /// Passes over the training split.
    #[config(default = 10, range = "at-least-one")]
    pub epochs: usize,
    /// The loss terms, each with its weight and settings: `classification` (`kind = "ce" |
    /// "weighted-ce" | "focal"`, focal `gamma`) and whatever terms the network adds. Left out:
    /// every term the network produces at weight 1.
    pub losses: Losses,
    /// Share of the optimiser steps spent warming the learning rate up linearly, before it
    /// decays linearly to zero.
    #[config(default = 0.1, range = "probability")]
    pub warmup_ratio: f64,
    /// AdamW's decoupled weight decay.
    #[config(default = 0.01, range = "non-negative")]
    pub weight_decay: f64,
    /// Gradients are scaled down to this global L2 norm; 0 turns clipping off.
    #[config(default = 1.0, range = "non-negative")]
    pub grad_clip: f64,
    /// Stop after this many epochs without a better dev weighted F1; 0 never stops early.
    #[config(default = 3)]
    pub patience: usize,
    /// Keep every epoch's weights (under `epochs/`), not only the best epoch's.
    #[config(default = false)]
    pub keep_all_epochs: bool,
    /// Utterances per batch when evaluating.
    #[config(default = 32, range = "at-least-one")]
    pub eval_batch_size: usize,
    /// Precision of the encoders' matrix products while training and evaluating: `fp32`, or
    /// `bf16` (bf16 operands, f32 accumulation, f32 master weights, as PyTorch's autocast). On
    /// the CPU, bf16 is emulated by rounding, which is slower than fp32: it is there for tests.
    #[config(default = Precision::Fp32)]
    pub precision: Precision,
    /// Token lengths batches are padded to: the smallest listed one that holds a batch's
    /// longest text, past the last a multiple of it (`[64]`: multiples of 64), never past the
    /// text encoder's `max_len`; `[]`: each batch's longest. Left out: each batch's
    /// longest on the CPU, multiples of 64 on a GPU, which compiles and tunes its kernels per
    /// shape.
    pub pad_tokens: Option<Vec<usize>>,
    /// Audio lengths batches are padded to, in samples, chosen as `pad_tokens`. Left out: each
    /// batch's longest on the CPU, multiples of 16,000 (1 s at 16 kHz) on a GPU.
    pub pad_samples: Option<Vec<usize>>,
}

/// The precision of matrix products ([`TrainingConfig::precision`]).
#[crate::config]
pub enum Precision {
    /// f32 throughout.
    Fp32,
    /// bf16 products with f32 accumulation; f32 weights and everything else.
    Bf16,
}

impl From<Precision> for mer_kernels::Precision {
    fn from(precision: Precision) -> Self {
        match precision {
            Precision::Fp32 => mer_kernels::Precision::F32,
            Precision::Bf16 => mer_kernels::Precision::Bf16,
        }
    }
}

/// `pad_tokens` and `pad_samples` when left out on a GPU.
const GPU_TOKEN_BUCKETS: &[usize] = &[64];
const GPU_SAMPLE_BUCKETS: &[usize] = &[16_000];

impl TrainingConfig {
    /// How batches are padded: as configured, else to each batch's longest on the CPU
    /// (`per_shape_kernels` false) and to [`GPU_TOKEN_BUCKETS`] / [`GPU_SAMPLE_BUCKETS`] on a
    /// backend that compiles kernels per shape. Texts were truncated to `max_tokens`.
    pub fn padding(&self, per_shape_kernels: bool, max_tokens: usize) -> Padding {
        let buckets = |configured: &Option<Vec<usize>>, gpu: &[usize]| match configured {
            Some(lengths) => Buckets::new(lengths.clone()),
            None if per_shape_kernels => Buckets::new(gpu.to_vec()),
            None => Buckets::longest(),
        };
        Padding::new(
            buckets(&self.pad_tokens, GPU_TOKEN_BUCKETS),
            buckets(&self.pad_samples, GPU_SAMPLE_BUCKETS),
            max_tokens.max(1),
        )
    }

    /// Checks what the schema cannot: bucket lists are positive and ascending.
    fn check_buckets(&self) -> Result<(), Problem> {
        for (key, lengths) in [
            ("pad_tokens", &self.pad_tokens),
            ("pad_samples", &self.pad_samples),
        ] {
            let Some(lengths) = lengths else { continue };
            if lengths.contains(&0) || !lengths.windows(2).all(|w| w[0] < w[1]) {
                return Err(Problem::new(
                    key,
                    format!("{lengths:?}: lengths must be positive and ascending, as [64, 128]"),
                ));
            }
        }
        Ok(())
    }
}

/// `output.checkpoints` when a config leaves it out.
pub const DEFAULT_CHECKPOINTS: &str = "checkpoints";

/// `output.cache` when a config leaves it out.
pub const DEFAULT_CACHE: &str = "cache";

/// Where results are written.
#[crate::config]
pub struct OutputConfig {
    /// The checkpoint store's root folder.
    #[config(default = DEFAULT_CHECKPOINTS.to_owned())]
    pub checkpoints: String,
    /// The feature cache of frozen encoders; shared by every run that points at it.
    #[config(default = DEFAULT_CACHE.to_owned())]
    pub cache: String,
    /// Bytes of cached features kept in memory, in MiB; beyond that shards are read from disk.
    #[config(default = 1024)]
    pub cache_memory_mb: usize,
}

/// A run's config: `architecture = "..."`, then `[model]`, `[training]`, `[data]`, `[output]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig<M> {
    pub architecture: String,
    pub model: M,
    pub training: TrainingConfig,
    pub data: DataConfig,
    pub output: OutputConfig,
}

impl<M: ArchitectureConfig> ConfigValue for RunConfig<M> {
    type Checked = Self;

    fn kind() -> Kind {
        let section = |name, doc, kind| Field {
            name,
            doc,
            kind,
            default: None,
            derived: None,
            hashed: true,
            range: None,
        };
        Kind::Table(TableSchema {
            name: "RunConfig",
            doc: M::DOC,
            fields: vec![
                section(
                    "architecture",
                    "The architecture this config is for.",
                    Kind::Enum(EnumSchema {
                        name: "Architecture",
                        doc: "",
                        variants: vec![Variant {
                            name: M::NAME,
                            doc: M::DOC,
                        }],
                    }),
                ),
                section(
                    "model",
                    "The network. Everything here, and nothing else, is in the identity hash.",
                    M::kind(),
                ),
                section(
                    "training",
                    "How the network is trained.",
                    TrainingConfig::kind(),
                ),
                section(
                    "data",
                    "What the network is trained on.",
                    DataConfig::kind(),
                ),
                section("output", "Where results go.", OutputConfig::kind()),
            ],
        })
    }

    fn complete(&mut self) -> Result<(), Problem> {
        let classes = self.data.class_names().ok_or_else(|| {
            Problem::new(
                "data.label",
                format!(
                    "{} has no {} labels",
                    self.data.dataset.display_name(),
                    self.data.label
                ),
            )
        })?;
        let store = RunStore {
            checkpoints: self.output.checkpoints.clone(),
            cache: self.output.cache.clone(),
        };
        self.model
            .wire(classes.len(), &store)
            .map_err(|p| p.within("model"))?;
        let produced = self.model.loss_terms();
        if self.training.losses.0.is_empty() {
            self.training.losses = Losses::defaults_for(&produced);
        }
        self.training
            .losses
            .match_produced(&produced)
            .map_err(|p| p.within("losses").within("training"))
    }

    fn check(&self) -> Result<(), Problem> {
        self.model.check().map_err(|p| p.within("model"))?;
        self.training.check().map_err(|p| p.within("training"))?;
        self.training
            .check_buckets()
            .map_err(|p| p.within("training"))?;
        self.data.check().map_err(|p| p.within("data"))?;
        self.output.check().map_err(|p| p.within("output"))
    }
}

impl<M: ArchitectureConfig> RunConfig<M> {
    /// The identity hash of the network.
    pub fn identity(&self) -> Identity {
        Identity::of_config(M::NAME, &self.model, &M::kind())
    }

    /// The hash of every training setting that changes the trained weights besides those the
    /// checkpoint's path shows already (seed, batch size): learning rate, schedule, epochs,
    /// patience, clipping, decay and every loss term's settings. Two runs of one network that
    /// differ in any of them are stored apart.
    pub fn training_identity(&self) -> Identity {
        let mut training = toml::Value::try_from(&self.training).expect("configs serialise");
        if let Some(table) = training.as_table_mut() {
            for shown_or_harmless in TRAINING_KEYS_OUTSIDE_THE_HASH {
                table.remove(*shown_or_harmless);
            }
            // fp32 hashes as before the setting existed, so earlier runs keep their folders.
            if self.training.precision == Precision::Fp32 {
                table.remove("precision");
            }
        }
        Identity::of(TRAINING_DOMAIN, &training)
    }

    /// The checkpoint's name in the store.
    pub fn checkpoint_id(&self) -> CheckpointId {
        CheckpointId {
            category: if M::HAS_TEACHER {
                "distillation"
            } else {
                "training"
            },
            dataset: self.data.dataset.display_name().to_owned(),
            label: self.data.label.letter(),
            mode: encoder_modes(&self.model),
            batch: self.training.batch_size,
            losses: self.training.losses.label(),
            summary: self.model.summary().to_string(),
            hash: self.identity(),
            training: self.training_identity(),
            seed: self.training.seed,
        }
    }
}

/// `trainable` when every encoder shares one mode, else each modality's (`A-frozen+T-trainable`).
fn encoder_modes<M: ArchitectureConfig>(model: &M) -> String {
    let mut encoders = model.encoders();
    encoders.sort_by_key(|e| e.modality);
    let first = encoders.first().map_or(EncoderMode::Trainable, |e| e.mode);
    if encoders.iter().all(|e| e.mode == first) {
        first.to_string()
    } else {
        encoders
            .iter()
            .map(|e| format!("{}-{}", e.modality, e.mode))
            .collect::<Vec<_>>()
            .join("+")
    }
}

/// What [`RunConfig::training_identity`] hashes under, apart from the architecture's hashes.
const TRAINING_DOMAIN: &str = "training";

/// Training keys left out of [`RunConfig::training_identity`]: the path shows the seed and the
/// batch size; the rest change no trained weight (padding is masked out).
const TRAINING_KEYS_OUTSIDE_THE_HASH: &[&str] = &[
    "seed",
    "batch_size",
    "eval_batch_size",
    "keep_all_epochs",
    "pad_tokens",
    "pad_samples",
];

/// The parts of a checkpoint's path:
/// `{category}/{dataset}--{label}/{mode}--{batch}[--{losses}]/{summary}/{hash}-{training}--{seed}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointId {
    /// `training` or `distillation`.
    pub category: &'static str,
    pub dataset: String,
    pub label: char,
    pub mode: String,
    pub batch: usize,
    /// The active loss terms ([`Losses::label`]); absent for plain cross-entropy alone.
    pub losses: Option<String>,
    pub summary: String,
    /// The network's identity.
    pub hash: Identity,
    /// The training settings' ([`RunConfig::training_identity`]).
    pub training: Identity,
    pub seed: u64,
}

impl CheckpointId {
    /// The path below the store's root.
    pub fn relative_dir(&self) -> PathBuf {
        let mut training = format!("{}--{}", self.mode, self.batch);
        if let Some(losses) = &self.losses {
            training.push_str("--");
            training.push_str(losses);
        }
        [
            self.category.to_owned(),
            format!("{}--{}", self.dataset, self.label),
            training,
            self.summary.clone(),
            format!("{}-{}--{}", self.hash, self.training, self.seed),
        ]
        .iter()
        .collect()
    }
}
