//! A run resolved but not started: config, summary, parameters, identity, checkpoint path.

use std::fmt;
use std::path::PathBuf;

use serde_json::{Value as Json, json};

use super::config::RunConfig;
use crate::architecture::ParamTable;
use crate::architecture::{Architecture, ArchitectureConfig};
use crate::config::identity::Identity;
use crate::config::{ConfigError, RawConfig};

/// The backend plans are made on: CPU, with autodiff so trainable and frozen parameters differ.
pub type PlanBackend = burn::backend::Autodiff<burn::backend::NdArray<f32>>;

/// What a run would be.
#[derive(Debug, Clone)]
pub struct Plan {
    pub architecture: &'static str,
    pub summary: String,
    pub hash: Identity,
    /// The training settings' hash, in the checkpoint folder's name beside `hash`.
    pub training_hash: Identity,
    /// Below `output.checkpoints`.
    pub checkpoint_dir: PathBuf,
    pub params: ParamTable,
    /// The resolved config (every default filled in), as JSON.
    pub config: Json,
    /// The resolved config as TOML, the form saved beside a checkpoint.
    pub config_toml: String,
    /// Where parts come from besides this run: (part, source).
    pub sources: Vec<(&'static str, String)>,
}

/// Resolves `raw` for architecture `A`, builds the network and describes it.
pub fn plan<A: Architecture<PlanBackend>>(raw: &RawConfig) -> Result<Plan, ConfigError> {
    let mut raw = raw.clone();
    raw.set_default_str("architecture", A::Config::NAME);
    let run: RunConfig<A::Config> = raw.resolve()?;
    let network = A::try_init(&run.model, &Default::default()).map_err(|e| {
        let key = e.key();
        ConfigError::Invalid {
            origin: raw
                .origin_of(&key)
                .or_else(|| raw.origin_of(&format!("model.{}.mode", e.field)))
                .or_else(|| raw.origin_of(&format!("model.{}", e.field)))
                .cloned()
                .unwrap_or_else(|| raw.root_origin()),
            key,
            message: e.message,
        }
    })?;
    let id = run.checkpoint_id();
    Ok(Plan {
        architecture: A::Config::NAME,
        summary: id.summary.clone(),
        hash: id.hash.clone(),
        training_hash: id.training.clone(),
        checkpoint_dir: PathBuf::from(&run.output.checkpoints).join(id.relative_dir()),
        params: ParamTable::of(&network),
        config: serde_json::to_value(&run).expect("configs serialise to JSON"),
        config_toml: toml::to_string_pretty(&run).expect("configs serialise to TOML"),
        sources: run.model.sources(),
    })
}

impl Plan {
    /// The `--json` form: `summary`, `hash`, `training_hash`, `checkpoint_dir`, `params`,
    /// `config`.
    pub fn to_json(&self) -> Json {
        json!({
            "architecture": self.architecture,
            "summary": self.summary,
            "hash": self.hash,
            "training_hash": self.training_hash,
            "checkpoint_dir": self.checkpoint_dir,
            "params": self.params,
            "config": self.config,
            "sources": self
                .sources
                .iter()
                .map(|(part, source)| json!({ "part": part, "source": source }))
                .collect::<Vec<_>>(),
        })
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# resolved config")?;
        writeln!(f, "{}", self.config_toml.trim_end())?;
        writeln!(f)?;
        writeln!(f, "architecture    {}", self.architecture)?;
        writeln!(f, "summary         {}", self.summary)?;
        writeln!(f, "hash            {}", self.hash)?;
        writeln!(f, "training hash   {}", self.training_hash)?;
        writeln!(f, "checkpoint dir  {}", self.checkpoint_dir.display())?;
        for (part, source) in &self.sources {
            writeln!(f, "{:<16}{source}", format!("{part} from"))?;
        }
        writeln!(f)?;
        write!(f, "{}", self.params)
    }
}
