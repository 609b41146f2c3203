//! What the `mer` tool and every architecture binary share: config arguments, `plan`, and the
//! mapping of errors to exit codes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use mer_core::architecture::ArchitectureConfig;
use mer_core::cache::CacheError;
use mer_core::config::{ConfigError, RawConfig, Source};
use mer_core::registry;
use mer_core::run::RunConfig;
use mer_core::run::plan::Plan;
use mer_core::store::StoreError;
use mer_core::train::TrainError;

/// Config files and overrides, as every command that reads a config takes them.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// TOML files, merged in order (later files win, tables merge key by key).
    pub configs: Vec<PathBuf>,
    /// Overrides applied after the files: `--set training.seed=7`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

impl ConfigArgs {
    /// The merged raw config; with no files, the built-in default when one is given.
    pub fn load(&self, builtin: Option<Source>) -> Result<RawConfig, ConfigError> {
        match (self.configs.is_empty(), builtin) {
            (true, Some(source)) => RawConfig::from_sources(&[source], &self.overrides),
            _ => RawConfig::load(&self.configs, &self.overrides),
        }
    }
}

/// `plan`'s arguments, in `mer` and every architecture binary.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Resolves a config and plans the run; `architecture` is the binary's own, if it has one.
pub fn plan(
    args: &ConfigArgs,
    builtin: Option<Source>,
    architecture: Option<&str>,
) -> anyhow::Result<Plan> {
    let raw = args.load(builtin)?;
    let registration = registry::for_config(&raw, architecture)?;
    if let Some(expected) = architecture
        && registration.name != expected
    {
        return Err(ConfigError::Invalid {
            origin: raw
                .origin_of("architecture")
                .cloned()
                .unwrap_or_else(|| raw.root_origin()),
            key: "architecture".into(),
            message: format!(
                "this binary runs \"{expected}\", the config is for \"{}\" (use `mer` or the `{}` binary)",
                registration.name, registration.name
            ),
        }
        .into());
    }
    Ok((registration.plan)(&raw)?)
}

/// The run config of architecture `C` (whose name `architecture` defaults to), resolved, and its
/// TOML as saved beside a checkpoint.
pub fn resolve<C>(raw: &RawConfig) -> anyhow::Result<(RunConfig<C>, String)>
where
    C: ArchitectureConfig,
    RunConfig<C>: serde::Serialize,
{
    let mut raw = raw.clone();
    raw.set_default_str("architecture", C::NAME);
    let run: RunConfig<C> = raw.resolve()?;
    let toml = toml::to_string_pretty(&run).context("serialising the config")?;
    Ok((run, toml))
}

/// A checkpoint folder's run config and network, on the CPU.
pub fn open_checkpoint<A>(checkpoint: &Path) -> anyhow::Result<(RunConfig<A::Config>, A)>
where
    A: mer_core::architecture::Architecture<burn::backend::NdArray<f32>>,
    RunConfig<A::Config>: serde::Serialize,
{
    let raw = RawConfig::load(&[&checkpoint.join("config.toml")], &[] as &[&str])?;
    let (run, _) = resolve::<A::Config>(&raw)?;
    let store = mer_core::store::Store::new(&run.output.checkpoints);
    let network = store.load(checkpoint, A::init(&run.model, &Default::default()))?;
    Ok((run, network))
}

/// Prints a plan, as text or as one JSON object.
pub fn print_plan(plan: &Plan, json: bool) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&plan.to_json()).context("serialising the plan")?
        );
    } else {
        print!("{plan}");
    }
    Ok(())
}

/// Chooses how the CPU backend's matrix products use threads, before the first one runs.
///
/// Frozen encoders are run on one thread per core, each over its own batches
/// ([`mer_core::train::frozen::encode_workers`]); matrixmultiply's own threads would then only
/// contend with them (14% slower measured on 2 cores). Training an encoder runs one batch at a
/// time, where those threads help (8%). An explicit `MATMUL_NUM_THREADS` is left alone.
pub fn tune_cpu_threads(encoders: &[mer_core::architecture::EncoderInfo]) {
    use mer_core::encoders::EncoderMode;
    let only_frozen =
        !encoders.is_empty() && encoders.iter().all(|e| e.mode == EncoderMode::Frozen);
    if only_frozen && std::env::var_os("MATMUL_NUM_THREADS").is_none() {
        // SAFETY: called before any thread of this process is started.
        unsafe { std::env::set_var("MATMUL_NUM_THREADS", "1") };
    }
}

/// Runs a binary's body: bad input (config, a path that is not a checkpoint) exits 2, any
/// other failure 1.
pub fn main(body: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            let bad_input = error.chain().any(|cause| {
                cause.is::<ConfigError>()
                    || cause.is::<mer_datasets::DatasetError>()
                    || cause.is::<mer_core::encoders::text::TextError>()
                    || cause.is::<mer_core::architecture::InitError>()
                    || matches!(
                        cause.downcast_ref::<TrainError>(),
                        Some(
                            TrainError::Media(_)
                                | TrainError::Init(_)
                                | TrainError::Cache(CacheError::Media(_))
                        )
                    )
                    || matches!(
                        cause.downcast_ref::<StoreError>(),
                        Some(StoreError::NotACheckpoint(_) | StoreError::Exists(_))
                    )
            });
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}
