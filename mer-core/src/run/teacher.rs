//! A `#[teacher]` field: a trained network found by what identifies its run, loaded from the
//! checkpoint store and frozen.
//!
//! ```toml
//! [model.teacher]
//! config = ["experiments/unimodal/demo.toml"]   # the teacher run's config files, merged
//! set = ["training.epochs=2"]                    # and overrides, as `mer train` takes them
//! seed = 7                                       # its training.seed, if not the config's
//! # or: checkpoint = "checkpoints/training/…/2dd1beb3--42"
//! ```
//!
//! Resolving it reads the teacher's config and names its checkpoint (`id`, derived): that name,
//! not the files it was found through, is what enters the student's identity hash.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::config::{DEFAULT_CACHE, DEFAULT_CHECKPOINTS, RunConfig};
use super::plan::PlanBackend;
use crate::architecture::{Architecture, ArchitectureConfig, InitError, RunStore, TeacherInfo};
use crate::cache::{CacheError, FeatureCache, FeatureIdentity, Key};
use crate::config::RawConfig;
use crate::config::schema::{ConfigValue, Field, Kind, Problem, TableSchema, default_value};
use crate::encoders::InputConfig;
use crate::input::Sample;
use crate::store::Store;

/// A teacher's settings: where its run is described, and (derived) its checkpoint's name.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "", deny_unknown_fields)]
pub struct TeacherSlot<C: ArchitectureConfig> {
    /// The teacher run's config files, merged in order.
    #[serde(default)]
    pub config: Vec<String>,
    /// Overrides applied after them (`dotted.key=value`).
    #[serde(default)]
    pub set: Vec<String>,
    /// The teacher run's `training.seed`, when not its config's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The teacher's checkpoint folder, instead of `config`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// The teacher run's checkpoint, relative to its store (derived).
    #[serde(default)]
    pub id: String,
    #[serde(skip)]
    resolved: Option<Box<Resolved<C>>>,
}

/// Settings compare equal whether or not they have been resolved yet.
impl<C: ArchitectureConfig> PartialEq for TeacherSlot<C> {
    fn eq(&self, other: &Self) -> bool {
        (
            &self.config,
            &self.set,
            self.seed,
            &self.checkpoint,
            &self.id,
        ) == (
            &other.config,
            &other.set,
            other.seed,
            &other.checkpoint,
            &other.id,
        )
    }
}

/// A teacher's run config and checkpoint folder, once resolved.
#[derive(Debug, Clone)]
struct Resolved<C: ArchitectureConfig> {
    run: RunConfig<C>,
    dir: PathBuf,
    /// The overrides its run was read with: the inherited store, `set`, the seed.
    overrides: Vec<String>,
}

impl<C: ArchitectureConfig> ConfigValue for TeacherSlot<C> {
    type Checked = Self;

    fn kind() -> Kind {
        let field = |name, doc, kind, default, hashed| Field {
            name,
            doc,
            kind,
            default,
            derived: None,
            hashed,
            range: None,
        };
        Kind::Table(TableSchema {
            name: "TeacherSlot",
            doc: "A trained network this one learns from: found by its run's config (or its \
                  checkpoint folder), loaded from the checkpoint store and frozen.",
            fields: vec![
                field(
                    "config",
                    "The teacher run's config files, merged in order.",
                    Vec::<String>::kind(),
                    Some(default_value(Vec::<String>::new())),
                    false,
                ),
                field(
                    "set",
                    "Overrides of the teacher's config (`dotted.key=value`), after the files.",
                    Vec::<String>::kind(),
                    Some(default_value(Vec::<String>::new())),
                    false,
                ),
                field(
                    "seed",
                    "The teacher run's `training.seed`, when not its config's.",
                    Option::<u64>::kind(),
                    None,
                    false,
                ),
                field(
                    "checkpoint",
                    "The teacher's checkpoint folder, instead of `config`.",
                    Option::<String>::kind(),
                    None,
                    false,
                ),
                Field {
                    name: "id",
                    doc: "The teacher run's checkpoint, relative to its store.",
                    kind: String::kind(),
                    default: Some(default_value(String::new())),
                    derived: Some("the teacher's run"),
                    hashed: true,
                    range: None,
                },
            ],
        })
    }

    fn check(&self) -> Result<(), Problem> {
        match (self.config.is_empty(), &self.checkpoint) {
            (true, None) => Err(Problem::new(
                "config",
                "missing: name the teacher run's config files, or its `checkpoint` folder",
            )),
            (false, Some(_)) => Err(Problem::new(
                "checkpoint",
                "is set beside `config`: name the teacher one way",
            )),
            _ => Ok(()),
        }
    }
}

impl<C: ArchitectureConfig> TeacherSlot<C> {
    /// Reads the teacher's run config and names its checkpoint (`id`); a written `id` must
    /// agree. The teacher's run keeps its checkpoints and features in the student's `store`
    /// unless its own config says where. Problems are keyed within this slot.
    pub fn resolve(&mut self, store: &RunStore) -> Result<(), Problem> {
        self.check()?;
        let mut overrides = self.overrides();
        let (mut raw, dir_given) = match &self.checkpoint {
            Some(dir) => {
                let raw = RawConfig::load(&[Path::new(dir).join("config.toml")], &[] as &[&str])
                    .map_err(|e| Problem::new("checkpoint", e.to_string()))?;
                (raw, Some(PathBuf::from(dir)))
            }
            None => {
                let load = |overrides: &[String]| {
                    RawConfig::load(&self.config, overrides)
                        .map_err(|e| Problem::new("config", e.to_string()))
                };
                let raw = load(&overrides)?;
                let inherited = self.inherited(&raw, store);
                let raw = if inherited.is_empty() {
                    raw
                } else {
                    overrides = [inherited, overrides].concat();
                    load(&overrides)?
                };
                (raw, None)
            }
        };
        raw.set_default_str("architecture", C::NAME);
        let run: RunConfig<C> = raw.resolve().map_err(|e| {
            Problem::new(
                if self.checkpoint.is_some() {
                    "checkpoint"
                } else {
                    "config"
                },
                format!("the teacher's config: {e}"),
            )
        })?;
        let relative = run.checkpoint_id().relative_dir();
        let id = relative.display().to_string();
        if self.id.is_empty() {
            self.id = id;
        } else if self.id != id {
            return Err(Problem::new(
                "id",
                format!(
                    "is \"{}\", which disagrees with the teacher's run (\"{id}\"): leave it out, it \
                     is derived",
                    self.id
                ),
            ));
        }
        let dir =
            dir_given.unwrap_or_else(|| PathBuf::from(&run.output.checkpoints).join(&relative));
        self.resolved = Some(Box::new(Resolved {
            run,
            dir,
            overrides,
        }));
        Ok(())
    }

    /// Overrides that put the teacher's run in the student's store, for the keys its own config
    /// leaves out (and only where the student's store is not the default anyway).
    fn inherited(&self, raw: &RawConfig, store: &RunStore) -> Vec<String> {
        [
            (
                "output.checkpoints",
                &store.checkpoints,
                DEFAULT_CHECKPOINTS,
            ),
            ("output.cache", &store.cache, DEFAULT_CACHE),
        ]
        .into_iter()
        .filter(|(key, value, default)| raw.origin_of(key).is_none() && value != default)
        .map(|(key, value, _)| (key, value))
        .map(|(key, value)| format!("{key}={}", toml::Value::String(value.clone())))
        .collect()
    }

    /// `set`, then the seed, as the teacher's run takes them.
    fn overrides(&self) -> Vec<String> {
        let mut overrides = self.set.clone();
        overrides.extend(self.seed.map(|seed| format!("training.seed={seed}")));
        overrides
    }

    /// What to do about a missing checkpoint: the command that trains the teacher.
    fn how_to_train(&self) -> String {
        match &self.checkpoint {
            Some(dir) => format!("{dir} is not a checkpoint"),
            None => {
                let sets: String = self
                    .resolved()
                    .overrides
                    .iter()
                    .map(|o| format!(" --set {o}"))
                    .collect();
                format!(
                    "train it first: `mer train {}{sets}`",
                    self.config.join(" ")
                )
            }
        }
    }

    fn resolved(&self) -> &Resolved<C> {
        self.resolved
            .as_deref()
            .expect("a teacher is resolved with its config (RunConfig::complete)")
    }

    /// The teacher's checkpoint folder, once resolved.
    pub fn checkpoint_dir(&self) -> Option<&Path> {
        self.resolved.as_deref().map(|r| r.dir.as_path())
    }

    /// What the teacher's network reads, where its checkpoint is and what trains it.
    pub fn info(&self, field: &'static str) -> TeacherInfo {
        let resolved = self.resolved();
        let (mut text, mut audio, mut video) = (None, None, None);
        for (_, input) in resolved.run.model.inputs() {
            match input {
                InputConfig::Text(c) => text = text.or_else(|| Some(c.clone())),
                InputConfig::Audio(c) => audio = audio.or_else(|| Some(c.clone())),
                InputConfig::Video(c) => video = video.or_else(|| Some(c.clone())),
            }
        }
        TeacherInfo {
            text,
            audio,
            video,
            field,
            modalities: resolved
                .run
                .model
                .encoders()
                .iter()
                .map(|e| e.modality)
                .collect(),
            checkpoint: resolved.dir.clone(),
            run: self
                .checkpoint
                .is_none()
                .then(|| (self.config.clone(), resolved.overrides.clone())),
        }
    }

    /// The teacher's model settings, once resolved.
    pub fn model(&self) -> Option<&C> {
        self.resolved.as_deref().map(|r| &r.run.model)
    }

    /// The teacher's network, loaded from its checkpoint and frozen (no parameter requires a
    /// gradient, so no optimiser step changes it).
    pub fn init<B: Backend>(
        &self,
        field: &'static str,
        device: &B::Device,
    ) -> Result<C::Network<B>, InitError> {
        let resolved = self.resolved();
        let error = |message: String| InitError {
            field,
            at: "",
            message,
        };
        if !crate::store::is_checkpoint(&resolved.dir) {
            return Err(error(format!(
                "the teacher's checkpoint {} does not exist: {}",
                resolved.dir.display(),
                self.how_to_train()
            )));
        }
        let network = C::Network::<B>::try_init(&resolved.run.model, device)?;
        let store = Store::new(&resolved.run.output.checkpoints);
        let network = store
            .load(&resolved.dir, network)
            .map_err(|e| error(format!("loading the teacher: {e}")))?;
        Ok(network.no_grad())
    }

    /// The feature-cache identity of the teacher's outputs: its checkpoint's name and the
    /// content of its weights.
    pub fn feature_identity(&self) -> Result<FeatureIdentity, CacheError> {
        let resolved = self.resolved();
        let store = Store::new(&resolved.run.output.checkpoints);
        let manifest = store
            .manifest(&resolved.dir)
            .map_err(|e| CacheError::Compute(e.to_string()))?;
        Ok(FeatureIdentity::new(serde_json::json!({
            "teacher": self.id,
            "architecture": C::NAME,
            "weights": manifest.parts,
            "row": "classes, logits, features",
        })))
    }

    /// The cache key of `sample`'s input to the teacher: the keys of what each of its encoders
    /// reads, together.
    pub fn input_key(&self, sample: &Sample, cache: &FeatureCache) -> Result<Key, CacheError> {
        let model = &self.resolved().run.model;
        let mut hasher = Sha256::new();
        for encoder in model.encoders() {
            let key = <C::Network<PlanBackend> as Architecture<PlanBackend>>::input_key(
                model,
                encoder.field,
                sample,
                cache,
            )
            .expect("an encoder field of the teacher")?;
            hasher.update(encoder.field.as_bytes());
            hasher.update(key);
        }
        let mut key = [0u8; 16];
        key.copy_from_slice(&hasher.finalize()[..16]);
        Ok(key)
    }
}
