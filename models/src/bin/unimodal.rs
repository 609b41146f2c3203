//! `unimodal`: the text-only baseline's own binary. With no arguments it trains on the built-in
//! demo default.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use burn::backend::{Autodiff, NdArray};
use burn::tensor::backend::AutodiffBackend;
use clap::{Parser, Subcommand};
use mer_core::architecture::ArchitectureConfig;
use mer_core::config::{RawConfig, Source};
use mer_core::run::RunConfig;
use mer_core::store::Store;
use mer_core::train::{self, TrainData};
use mer_datasets::{Dialogue, LabelSet, Split, Utterance};
use models::cli::{self, ConfigArgs, PlanArgs};
use models::results;
use models::text_data;
use models::unimodal::{DEMO_CONFIG, DEMO_CONFIG_NAME};
use models::{Unimodal, UnimodalConfig};

type Inference = NdArray<f32>;
type Training = Autodiff<Inference>;
#[cfg(feature = "cuda")]
type Gpu = Autodiff<burn::backend::Cuda>;

/// The unimodal architecture: one encoder, a projector, a classifier head.
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
    /// Class probabilities of one utterance, optionally after its dialogue so far.
    Infer {
        /// The checkpoint folder.
        checkpoint: PathBuf,
        /// The utterance.
        #[arg(long)]
        text: String,
        /// Who says it.
        #[arg(long, default_value = "Speaker")]
        speaker: String,
        /// An earlier utterance, `Speaker: utterance`; repeat in dialogue order.
        #[arg(long = "context", value_name = "SPEAKER: UTTERANCE")]
        context: Vec<String>,
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
                let plan = cli::plan(&args.config, Some(builtin()), Some("unimodal"))?;
                cli::print_plan(&plan, args.json)
            }
            Command::Train { config, device } => train_command(&config, &device),
            Command::Eval { checkpoint, split } => eval_command(&checkpoint, split),
            Command::Infer {
                checkpoint,
                text,
                speaker,
                context,
            } => infer_command(&checkpoint, &text, &speaker, &context),
        }
    })
}

fn resolve(raw: &RawConfig) -> anyhow::Result<(RunConfig<UnimodalConfig>, String)> {
    cli::resolve(raw)
}

fn train_command(args: &ConfigArgs, device: &str) -> anyhow::Result<()> {
    results::check_device(device)?;
    let raw = args.load(Some(builtin()))?;
    let (run, config_toml) = resolve(&raw)?;
    cli::tune_cpu_threads(&run.model.encoders());
    let (data, labels) = text_data::load(&run.data, &run.model.text.config)?;
    results::check_classes(&raw, run.model.head.num_classes, &run.data, &labels)?;
    eprintln!(
        "training {} ({}) on {}: {} train, {} dev, {} test utterances",
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
    run: &RunConfig<UnimodalConfig>,
    config_toml: &str,
    data: &TrainData,
    store: &Store,
) -> Result<train::Outcome, train::TrainError> {
    train::train::<B, Unimodal<B>>(run, config_toml, data, store, &Default::default())
}

/// The network and config of a checkpoint folder.
fn open(checkpoint: &Path) -> anyhow::Result<(RunConfig<UnimodalConfig>, Unimodal<Inference>)> {
    cli::open_checkpoint(checkpoint)
}

fn eval_command(checkpoint: &Path, split: Split) -> anyhow::Result<()> {
    let (run, network) = open(checkpoint)?;
    results::evaluate(
        &network,
        &run.data,
        &run.model.text.config,
        split,
        run.training.eval_batch_size,
        (None, Default::default()),
    )
}

fn infer_command(
    checkpoint: &Path,
    text: &str,
    speaker: &str,
    context: &[String],
) -> anyhow::Result<()> {
    let (run, network) = open(checkpoint)?;
    let encoder = &run.model.text.config;
    let tokenizer = encoder.tokenizer()?;
    let labels = LabelSet::of(run.data.dataset, run.data.label)?;
    let utterance = |speaker: &str, text: &str| Utterance {
        speaker: speaker.trim().to_owned(),
        text: text.trim().to_owned(),
        label: 0,
        audio: None,
        video: None,
    };
    let mut utterances = Vec::new();
    for line in context {
        let (who, said) = line
            .split_once(':')
            .with_context(|| format!("--context {line:?}: expected `Speaker: utterance`"))?;
        utterances.push(utterance(who, said));
    }
    utterances.push(utterance(speaker, text));
    let dialogue = Dialogue {
        id: "input".into(),
        utterances,
    };
    let samples = text_data::samples(
        &[dialogue],
        &text_data::prompt(encoder, &tokenizer)?,
        &tokenizer,
    )?;
    let target = samples.last().expect("the utterance itself").clone();
    let probabilities = train::predict(
        &network,
        &[target],
        tokenizer.pad_id(),
        1,
        &Default::default(),
        (None, Default::default()),
    )?
    .remove(0);
    let mut ranked: Vec<(&str, f32)> = labels.names.iter().copied().zip(probabilities).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (name, p) in ranked {
        println!("{name:<10} {p:.4}");
    }
    Ok(())
}
