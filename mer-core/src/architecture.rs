//! What `#[derive(Architecture)]` implements.

use std::fmt;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor};

use crate::cache::{CacheError, FeatureCache, FeatureIdentity, Key};
use crate::encoder::EncoderMode;
use crate::schema::ConfigValue;
use crate::summary::{Modality, Summary};
use crate::train::{Batch, Sample};

/// An architecture's generated config (`<Name>Config`), independent of the backend.
pub trait ArchitectureConfig: ConfigValue {
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
}

/// An encoder field as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderInfo {
    pub field: &'static str,
    pub modality: Modality,
    pub mode: EncoderMode,
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

    /// Runs encoder `field` on `batch` → [N, H]; `None` when there is no such encoder.
    fn encode_part(&self, field: &str, batch: &Batch<B>) -> Option<Tensor<B, 2>>;

    /// The feature-cache identity of encoder `field` as built here from `config`.
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

/// An encoder that could not be built as configured.
#[derive(Debug, thiserror::Error)]
#[error("model.{field}.lora.targets: {error}")]
pub struct InitError {
    pub field: &'static str,
    pub error: crate::lora::LoraError,
}

/// What a role field is to the architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Encoder(Modality),
    Fusion,
    Head,
    Teacher,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Encoder(m) => write!(f, "encoder ({m})"),
            Role::Fusion => f.write_str("fusion"),
            Role::Head => f.write_str("head"),
            Role::Teacher => f.write_str("teacher"),
        }
    }
}

/// Sees each part of an architecture.
pub trait PartVisitor<B: Backend> {
    fn part<M: Module<B>>(&mut self, name: &'static str, role: Role, module: &M);
}

/// Transforms each part of an architecture, possibly failing.
pub trait PartMapper<B: Backend> {
    type Error;
    fn part<M: Module<B>>(
        &mut self,
        name: &'static str,
        role: Role,
        module: M,
    ) -> Result<M, Self::Error>;
}

/// Initialises every lazily initialised parameter of `module` now.
///
/// Burn draws a parameter's initial value on first use, and a clone of a not-yet-used module
/// draws its own: two "copies" of one encoder would hold different weights. Generated `init`
/// calls this so that a network, once built, has its weights.
pub fn materialize<B: Backend, M: Module<B>>(module: &M) {
    struct Touch;
    impl<B: Backend> ModuleVisitor<B> for Touch {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let _ = param.val();
        }
        fn visit_int<const D: usize>(&mut self, param: &Param<Tensor<B, D, Int>>) {
            let _ = param.val();
        }
        fn visit_bool<const D: usize>(&mut self, param: &Param<Tensor<B, D, Bool>>) {
            let _ = param.val();
        }
    }
    module.visit(&mut Touch);
}
