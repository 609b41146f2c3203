//! What `#[derive(Architecture)]` implements: a network, its backend-independent config, and its
//! forward pass.

use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

use super::label::Summary;
use super::part::{PartMapper, PartVisitor};
use crate::cache::{CacheError, FeatureCache, FeatureIdentity, Key};
use crate::config::schema::{ConfigValue, Problem};
use crate::encoders::{EncoderMode, InputConfig, SlotError};
use crate::input::{Batch, MediaNeeds, Modality, Sample};

/// An architecture's generated config (`<Name>Config`), independent of the backend.
pub trait ArchitectureConfig: ConfigValue {
    /// The network this config builds, on any backend.
    type Network<B: Backend>: Architecture<B, Config = Self>;

    /// The registered name (`architecture = "unimodal"`).
    const NAME: &'static str;
    /// The architecture's doc comment.
    const DOC: &'static str;
    /// Whether a teacher is part of it: its runs are distillation runs.
    const HAS_TEACHER: bool;

    /// The network label (`1xE--T`).
    fn summary(&self) -> Summary;

    /// Every encoder, its modality and mode.
    fn encoders(&self) -> Vec<EncoderInfo>;

    /// Every encoder's config as what prepares its inputs sees it, by field.
    fn inputs(&self) -> Vec<(&'static str, InputConfig<'_>)>;

    /// Every teacher field and what its network reads.
    fn teachers(&self) -> Vec<TeacherInfo>;

    /// Where parts come from besides this run (a teacher's checkpoint, `init_from`), as
    /// (part, source) for people.
    fn sources(&self) -> Vec<(&'static str, String)>;

    /// Every loss term the network produces: `classification`, then those its parts add.
    fn loss_terms(&self) -> Vec<&'static str>;

    /// Fills in what the declaration derives (the fusion's input widths from the encoders, the
    /// head's input from the fusion, its classes from `classes`) and finds each teacher's run
    /// (in `store` unless its config says where); a written value that disagrees is a problem
    /// that names both keys.
    fn wire(&mut self, classes: usize, store: &RunStore) -> Result<(), Problem>;
}

/// Where a run keeps its checkpoints and cached features: where its teachers are trained and
/// looked for too, unless their own configs say otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct RunStore {
    /// The checkpoint store's root (`output.checkpoints`).
    pub checkpoints: String,
    /// The feature cache (`output.cache`).
    pub cache: String,
}

/// An encoder field as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderInfo {
    pub field: &'static str,
    pub modality: Modality,
    pub mode: EncoderMode,
}

/// What every epoch decodes: the media of encoders that run (frozen ones read the cache).
pub fn media_per_epoch(encoders: &[EncoderInfo]) -> MediaNeeds {
    MediaNeeds::of_all(
        encoders
            .iter()
            .filter(|e| e.mode != EncoderMode::Frozen)
            .map(|e| e.modality),
    )
}

/// A network declared with the DSL: parts that can be visited and mapped one by one.
pub trait Architecture<B: Backend>: Module<B> {
    type Config: ArchitectureConfig;

    /// Builds the network.
    ///
    /// # Panics
    /// When [`Architecture::try_init`] fails.
    fn init(config: &Self::Config, device: &B::Device) -> Self {
        Self::try_init(config, device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the network, reporting what only building reveals (LoRA targets that match no
    /// layer).
    fn try_init(config: &Self::Config, device: &B::Device) -> Result<Self, InitError>;

    /// Calls `visitor` once per role field, in declaration order.
    fn visit_parts<V: PartVisitor<B>>(&self, visitor: &mut V);

    /// Rebuilds the network with every role field passed through `mapper` (loading weights).
    fn map_parts<M: PartMapper<B>>(self, mapper: &mut M) -> Result<Self, M::Error>;

    /// Runs encoder `field` on `batch` → [N, H], or teacher `field` → its logits [N, C];
    /// `None` when there is no such encoder or teacher.
    fn encode_part(&self, field: &str, batch: &Batch<B>) -> Option<Tensor<B, 2>>;

    /// The feature-cache identity of encoder or teacher `field` as built here from `config`.
    fn feature_identity(
        &self,
        config: &Self::Config,
        field: &str,
        cache: &FeatureCache,
    ) -> Option<Result<FeatureIdentity, CacheError>>;

    /// The cache key of `sample`'s input to encoder `field` (media files are keyed by their
    /// content, whose digests `cache` remembers).
    fn input_key(
        config: &Self::Config,
        field: &str,
        sample: &Sample,
        cache: &FeatureCache,
    ) -> Option<Result<Key, CacheError>>;
}

/// A part that could not be built as configured: what only building reveals.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", self.key())]
pub struct InitError {
    /// The part's field.
    pub field: &'static str,
    /// The key below `model.{field}` at fault (`lora.targets`, `init_from`), empty for the part.
    pub at: &'static str,
    pub message: String,
}

impl InitError {
    /// An encoder slot's error, at the key it comes from.
    pub fn encoder(field: &'static str, error: SlotError) -> Self {
        let at = match &error {
            SlotError::Lora(crate::nn::lora::LoraError::Rank { .. }) => "lora.r",
            SlotError::Lora(_) => "lora.targets",
            SlotError::InitFrom(_) => "init_from",
            SlotError::Size(_) => "",
        };
        InitError {
            field,
            at,
            message: error.to_string(),
        }
    }

    /// The dotted config key at fault.
    pub fn key(&self) -> String {
        if self.at.is_empty() {
            format!("model.{}", self.field)
        } else {
            format!("model.{}.{}", self.field, self.at)
        }
    }
}

/// A teacher field: what its network reads, where its checkpoint is, and how it is trained.
#[derive(Debug, Clone, PartialEq)]
pub struct TeacherInfo {
    pub field: &'static str,
    pub modalities: Vec<Modality>,
    /// The teacher's checkpoint folder (it may not exist yet).
    pub checkpoint: std::path::PathBuf,
    /// The teacher run's config files and overrides, when it is named by them (not by a
    /// checkpoint folder): what trains it.
    pub run: Option<(Vec<String>, Vec<String>)>,
    /// Its first text, audio and video encoder, as configured: how to prepare what it reads
    /// when the student has no encoder of that modality.
    pub text: Option<crate::encoders::text::TextEncoderConfig>,
    pub audio: Option<crate::encoders::audio::AudioEncoderConfig>,
    pub video: Option<crate::encoders::video::VideoEncoderConfig>,
}
