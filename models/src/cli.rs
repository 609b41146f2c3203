//! What the `mer` tool and every architecture binary share: config arguments, `plan`, and the
//! mapping of errors to exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use mer_core::cache::CacheError;
use mer_core::config::{ConfigError, RawConfig, Source};
use mer_core::registry::{self, Registration, RunError};
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

/// The registration `raw` is for; `architecture` is the binary's own, if it has one (a config
/// for another architecture is refused).
pub fn registration(
    raw: &RawConfig,
    architecture: Option<&str>,
) -> Result<&'static Registration, ConfigError> {
    let registration = registry::for_config(raw, architecture)?;
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
        });
    }
    Ok(registration)
}

/// Resolves a config and plans the run; `architecture` is the binary's own, if it has one.
pub fn plan(
    args: &ConfigArgs,
    builtin: Option<Source>,
    architecture: Option<&str>,
) -> anyhow::Result<Plan> {
    let raw = args.load(builtin)?;
    Ok((registration(&raw, architecture)?.plan)(&raw)?)
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

/// Lets freed tensor buffers be reused instead of handed back to the kernel.
///
/// glibc serves allocations above its mmap threshold (128 KiB, rising only as such buffers are
/// freed) with fresh mappings and trims the heap top past twice that, so each training step's
/// multi-megabyte activations were page-faulted and zeroed anew (the MiniLM text encoder's
/// step: 1.17–1.21 s → 1.02–1.06 s on 2 cores). Buffers up to 64 MiB now come from the heap and
/// up to 512 MiB of free heap is kept. Other C libraries keep their own policy.
fn keep_freed_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes glibc's allocation thresholds; called before any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
    }
}

/// Runs a binary's body: bad input (config, a path that is not a checkpoint) exits 2, any
/// other failure 1.
pub fn main(body: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    // Output piped into `head` ends when the reader goes: like other Unix tools, end quietly
    // on SIGPIPE instead of panicking in `println!`.
    // SAFETY: called first thing in `main`, before any thread of this process is started.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    keep_freed_buffers();
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            let bad_input = error.chain().any(|cause| {
                cause.is::<ConfigError>()
                    || cause.is::<crate::experiment::ExperimentError>()
                    || cause.is::<mer_datasets::DatasetError>()
                    || cause.is::<mer_core::encoders::text::TextError>()
                    || cause.is::<mer_core::encoders::pretrained::PretrainedError>()
                    || cause.is::<mer_datasets::media::MediaError>()
                    || cause.is::<mer_core::architecture::InitError>()
                    || cause.is::<mer_core::input::MediaLoadError>()
                    || cause.downcast_ref::<TrainError>().is_some_and(train_input_error)
                    || cause.downcast_ref::<StoreError>().is_some_and(store_input_error)
                    || matches!(
                        cause.downcast_ref::<RunError>(),
                        Some(
                            RunError::Config(_)
                                | RunError::Init(_)
                                | RunError::Media(_)
                        )
                    )
                    || matches!(cause.downcast_ref::<RunError>(), Some(RunError::Train(e)) if train_input_error(e))
                    || matches!(cause.downcast_ref::<RunError>(), Some(RunError::Store(e)) if store_input_error(e))
            });
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}

/// Training failed on its input: a media file, an encoder that cannot be built, a loss term, a
/// loss that is no longer a number (the settings diverge).
fn train_input_error(error: &TrainError) -> bool {
    matches!(
        error,
        TrainError::Media(_)
            | TrainError::Init(_)
            | TrainError::Cache(CacheError::Media(_))
            | TrainError::UnconfiguredTerm(_)
            | TrainError::NonFinite { .. }
            | TrainError::NoData
    )
}

/// A path given is not a checkpoint, a new one would overwrite something, or a stored file is
/// corrupt.
fn store_input_error(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::NotACheckpoint(_) | StoreError::Exists(_) | StoreError::Corrupt { .. }
    )
}

/// An architecture binary: `train` (the default, on the built-in demo config), `eval`, `infer`
/// and `plan`, for architecture `name` only.
#[derive(Debug, clap::Parser)]
#[command(version)]
struct ArchitectureCli {
    #[command(subcommand)]
    command: Option<crate::commands::RunCommand>,
}

/// The whole `main` of an architecture binary: `builtin` is its demo config, used when no
/// config is given (and when no command is: then it trains).
pub fn architecture_main(name: &str, builtin: Source) -> ExitCode {
    use clap::Parser;
    main(|| {
        let command =
            ArchitectureCli::parse()
                .command
                .unwrap_or(crate::commands::RunCommand::Train(
                    crate::commands::TrainArgs {
                        config: ConfigArgs {
                            configs: Vec::new(),
                            overrides: Vec::new(),
                        },
                        device: "cpu".into(),
                    },
                ));
        crate::commands::run(command, Some(builtin), Some(name))
    })
}
