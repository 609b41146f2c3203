//! Architectures register themselves here (`#[derive(Architecture)]` submits an entry), so the
//! `mer` tool finds every architecture linked into it.

use crate::architecture::Architecture;
use crate::config::{ConfigError, Origin, RawConfig};
use crate::plan::{Plan, plan};
use crate::run::RunConfig;
use crate::schema::{ConfigValue, Kind};

/// The backend plans are made on: CPU, with autodiff so trainable and frozen parameters differ.
pub type PlanBackend = burn::backend::Autodiff<burn::backend::NdArray<f32>>;

/// A registered architecture, reachable by name.
pub struct Registration {
    pub name: &'static str,
    pub doc: &'static str,
    /// The schema of a whole run config for this architecture.
    pub schema: fn() -> Kind,
    /// Resolves a raw config and plans the run.
    pub plan: fn(&RawConfig) -> Result<Plan, ConfigError>,
}

impl Registration {
    pub const fn of<A: Architecture<PlanBackend>>() -> Self {
        Registration {
            name: <A::Config as crate::architecture::ArchitectureConfig>::NAME,
            doc: <A::Config as crate::architecture::ArchitectureConfig>::DOC,
            schema: <RunConfig<A::Config> as ConfigValue>::kind,
            plan: plan::<A>,
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
