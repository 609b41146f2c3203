//! Architectures register themselves here (`#[derive(Architecture)]` submits an entry), so the
//! `mer` tool finds every architecture linked into it, and trains, evaluates and plans any of
//! them from a config alone.

use std::path::Path;

use super::entries::{self, Devices, Registrable, RunError, RunInputs};
use crate::cache::FeatureCache;
use crate::config::schema::{ConfigValue, Kind};
use crate::config::{ConfigError, Origin, RawConfig};
use crate::input::{DataConfig, MediaFeed, MediaNeeds, Sample};
use crate::run::RunConfig;
use crate::run::plan::{Plan, plan};
use crate::train::{Outcome, TrainData};

/// Class probabilities of samples (padded with the given id, media decoded as given) by the
/// checkpoint at a path.
pub type PredictFn =
    fn(&Path, &[Sample], u32, (Option<&MediaFeed>, MediaNeeds)) -> Result<Vec<Vec<f32>>, RunError>;

/// A registered architecture, reachable by name.
pub struct Registration {
    pub name: &'static str,
    pub doc: &'static str,
    /// The schema of a whole run config for this architecture.
    pub schema: fn() -> Kind,
    /// Resolves a raw config and plans the run.
    pub plan: fn(&RawConfig) -> Result<Plan, ConfigError>,
    /// The run's `data` table, resolved (nothing is built).
    pub data: fn(&RawConfig) -> Result<DataConfig, ConfigError>,
    /// What a run reads (data, encoders and their inputs) and where it goes.
    pub inputs: fn(&RawConfig) -> Result<RunInputs, ConfigError>,
    /// The feature-cache identities of the run's frozen encoders (what `mer cache prune` keeps).
    pub frozen_identities: fn(&RawConfig, &FeatureCache) -> Result<Vec<String>, RunError>,
    /// Trains the run on prepared data, into its checkpoint folder.
    pub train: fn(&RawConfig, &TrainData, &Devices) -> Result<Outcome, RunError>,
    /// Class probabilities of samples by a checkpoint of this architecture, on the CPU.
    pub predict: PredictFn,
}

impl Registration {
    /// The entry of the architecture configured by `C`.
    pub const fn of<C: Registrable>() -> Self {
        Registration {
            name: C::NAME,
            doc: C::DOC,
            schema: <RunConfig<C> as ConfigValue>::kind,
            plan: plan::<C::Network<crate::run::PlanBackend>>,
            data: entries::data::<C>,
            inputs: entries::inputs::<C>,
            frozen_identities: entries::frozen_identities::<C>,
            train: entries::train::<C>,
            predict: entries::predict_with_checkpoint::<C>,
        }
    }
}

inventory::collect!(Registration);

/// Every registered architecture, by name.
pub fn architectures() -> Vec<&'static Registration> {
    let mut all: Vec<_> = inventory::iter::<Registration>.into_iter().collect();
    all.sort_by_key(|r| r.name);
    all
}

/// The architecture a raw config names (or `fallback` when it names none).
pub fn for_config(
    raw: &RawConfig,
    fallback: Option<&str>,
) -> Result<&'static Registration, ConfigError> {
    let known = || {
        architectures()
            .iter()
            .map(|r| r.name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (name, origin) = match (raw.top_level_str("architecture")?, fallback) {
        (Some(found), _) => found,
        (None, Some(name)) => (name.to_owned(), Origin::Nowhere),
        (None, None) => {
            return Err(ConfigError::Invalid {
                origin: raw.root_origin(),
                key: "architecture".into(),
                message: format!("missing required key (one of: {})", known()),
            });
        }
    };
    architectures()
        .into_iter()
        .find(|r| r.name == name)
        .ok_or_else(|| ConfigError::Invalid {
            origin,
            key: "architecture".into(),
            message: format!("unknown architecture \"{name}\" (known: {})", known()),
        })
}
