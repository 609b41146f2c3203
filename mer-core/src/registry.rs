//! Architectures register themselves here (`#[derive(Architecture)]` submits an entry), so the
//! `mer` tool finds every architecture linked into it.

use crate::architecture::{Architecture, ArchitectureConfig};
use crate::cache::{CacheError, FeatureCache};
use crate::config::schema::{ConfigValue, Kind};
use crate::config::{ConfigError, Origin, RawConfig};
use crate::encoders::EncoderMode;
use crate::input::DataConfig;
use crate::run::RunConfig;
use crate::run::plan::{Plan, PlanBackend, plan};

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
    /// The feature-cache identities of the run's frozen encoders (what `mer cache prune` keeps).
    pub frozen_identities: fn(&RawConfig, &FeatureCache) -> Result<Vec<String>, IdentityError>,
}

/// Why a config's frozen-encoder identities could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Cache(#[from] CacheError),
}

fn data<A: Architecture<PlanBackend>>(raw: &RawConfig) -> Result<DataConfig, ConfigError> {
    let mut raw = raw.clone();
    raw.set_default_str("architecture", A::Config::NAME);
    Ok(raw.resolve::<RunConfig<A::Config>>()?.data)
}

fn frozen_identities<A: Architecture<PlanBackend>>(
    raw: &RawConfig,
    cache: &FeatureCache,
) -> Result<Vec<String>, IdentityError> {
    use burn::tensor::backend::Backend;
    let run: RunConfig<A::Config> = raw.resolve()?;
    let frozen: Vec<_> = run
        .model
        .encoders()
        .into_iter()
        .filter(|e| e.mode == EncoderMode::Frozen)
        .collect();
    if frozen.is_empty() {
        return Ok(Vec::new());
    }
    // Seeded as training seeds it: a random frozen encoder's identity is its drawn weights.
    let device = Default::default();
    PlanBackend::seed(&device, run.training.seed);
    let network = A::init(&run.model, &device);
    frozen
        .iter()
        .map(|e| {
            let identity = network
                .feature_identity(&run.model, e.field, cache)
                .expect("an encoder field")?;
            Ok(identity.digest)
        })
        .collect()
}

impl Registration {
    pub const fn of<A: Architecture<PlanBackend>>() -> Self {
        Registration {
            name: <A::Config as ArchitectureConfig>::NAME,
            doc: <A::Config as ArchitectureConfig>::DOC,
            schema: <RunConfig<A::Config> as ConfigValue>::kind,
            plan: plan::<A>,
            data: data::<A>,
            frozen_identities: frozen_identities::<A>,
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
