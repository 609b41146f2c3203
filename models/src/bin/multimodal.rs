//! `multimodal`: text, audio and video encoders with late fusion. With no arguments it trains
//! on the built-in demo default, which reads all three modalities of the demo dataset.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use burn::backend::{Autodiff, NdArray};
use burn::tensor::backend::AutodiffBackend;
use clap::{Parser, Subcommand};
use mer_core::architecture::ArchitectureConfig;
use mer_core::config::{RawConfig, Source};
use mer_core::input::MediaNeeds;
use mer_core::run::RunConfig;
use mer_core::store::Store;
use mer_core::train::{self, TrainData};
use mer_datasets::Split;
use models::cli::{self, ConfigArgs, PlanArgs};
use models::multimodal::{DEMO_CONFIG, DEMO_CONFIG_NAME};
use models::{Multimodal, MultimodalConfig, results, text_data};

type Inference = NdArray<f32>;
type Training = Autodiff<Inference>;
#[cfg(feature = "cuda")]
type Gpu = Autodiff<burn::backend::Cuda>;

/// The multimodal architecture: text, audio and video encoders, concatenation fusion, a head.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Train, select the best epoch on dev, and report test. With no config: the demo default.
    Train {
        #[command(flatten)]
        config: ConfigArgs,
        /// Where to train: `cpu`, or `cuda` (an NVIDIA GPU; needs a `--features cuda` build).
        #[arg(long, default_value = "cpu", value_parser = ["cpu", "cuda"])]
        device: String,
    },
    /// Score a checkpoint on a split.
    Eval {
        /// The checkpoint folder.
        checkpoint: PathBuf,
        #[arg(long, default_value = "test")]
        split: Split,
    },
    /// Print the resolved config, summary, parameter table, hash and checkpoint folder without
    /// training. With no config: the built-in demo default.
    Plan(PlanArgs),
}

fn builtin() -> Source {
    Source::new(DEMO_CONFIG_NAME, DEMO_CONFIG)
}

fn main() -> ExitCode {
    cli::main(|| {
        let command = Cli::parse().command.unwrap_or(Command::Train {
            config: ConfigArgs {
                configs: Vec::new(),
                overrides: Vec::new(),
            },
            device: "cpu".into(),
        });
        match command {
            Command::Plan(args) => {
                let plan = cli::plan(&args.config, Some(builtin()), Some("multimodal"))?;
                cli::print_plan(&plan, args.json)
            }
            Command::Train { config, device } => train_command(&config, &device),
            Command::Eval { checkpoint, split } => eval_command(&checkpoint, split),
        }
    })
}

fn resolve(raw: &RawConfig) -> anyhow::Result<(RunConfig<MultimodalConfig>, String)> {
    cli::resolve(raw)
}

fn train_command(args: &ConfigArgs, device: &str) -> anyhow::Result<()> {
    results::check_device(device)?;
    let raw = args.load(Some(builtin()))?;
    let (run, config_toml) = resolve(&raw)?;
    cli::tune_cpu_threads(&run.model.encoders());
    let (mut data, labels) = text_data::load(&run.data, &run.model.text.config)?;
    data.media = Some(run.model.media_feed());
    results::check_classes(&raw, run.model.head.num_classes, &run.data, &labels)?;
    eprintln!(
        "training {} ({}) on {}: {} train, {} dev, {} test utterances (text, audio, video)",
        run.model.summary(),
        run.identity(),
        run.data.dataset.display_name(),
        data.train.len(),
        data.dev.len(),
        data.test.len()
    );
    let store = Store::new(&run.output.checkpoints);
    let outcome = match device {
        #[cfg(feature = "cuda")]
        "cuda" => train_on::<Gpu>(&run, &config_toml, &data, &store)?,
        _ => train_on::<Training>(&run, &config_toml, &data, &store)?,
    };
    results::print_outcome(&outcome, &data);
    Ok(())
}

/// Trains on backend `B`'s default device.
fn train_on<B: AutodiffBackend>(
    run: &RunConfig<MultimodalConfig>,
    config_toml: &str,
    data: &TrainData,
    store: &Store,
) -> Result<train::Outcome, train::TrainError> {
    train::train::<B, Multimodal<B>>(run, config_toml, data, store, &Default::default())
}

fn eval_command(checkpoint: &Path, split: Split) -> anyhow::Result<()> {
    let (run, network): (_, Multimodal<Inference>) = cli::open_checkpoint(checkpoint)?;
    let feed = run.model.media_feed();
    let needs = MediaNeeds {
        audio: true,
        video: true,
    };
    results::evaluate(
        &network,
        &run.data,
        &run.model.text.config,
        split,
        run.training.eval_batch_size,
        (Some(&feed), needs),
    )
}
