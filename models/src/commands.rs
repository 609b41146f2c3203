//! `train`, `eval`, `infer` and `plan` for any registered architecture: what the `mer` tool and
//! every architecture binary run. The registration says what the architecture reads; this module
//! prepares it (tokenized prompts, media decoders) and prints what came out.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use mer_core::config::{ConfigError, RawConfig, Source};
use mer_core::input::MediaFeed;
use mer_core::registry::{Registration, RunInputs};
use mer_core::run::Metrics;
use mer_core::train;
use mer_datasets::media::ClipLoader;
use mer_datasets::{Dialogue, LabelSet, Split, Utterance};

use crate::cli::{self, ConfigArgs, PlanArgs};
use crate::pipeline;
use crate::results;
use crate::text_data::{self, Tokenizing};

/// The commands every architecture binary has; `mer` has them too.
#[derive(Debug, Subcommand)]
pub enum RunCommand {
    /// Train, select the best epoch on dev, and report test.
    Train(TrainArgs),
    /// Score a checkpoint on a split.
    Eval {
        /// The checkpoint folder.
        checkpoint: PathBuf,
        #[arg(long, default_value = "test")]
        split: Split,
    },
    /// Class probabilities of one utterance, optionally after its dialogue so far.
    Infer(InferArgs),
    /// Print the resolved config, summary, parameter table, hash and checkpoint folder without
    /// training.
    Plan(PlanArgs),
}

/// `train`'s arguments.
#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Where to train: `cpu`, or `cuda` / `cuda:N` (the first or the N-th NVIDIA GPU; needs a
    /// `--features cuda` build). Several GPUs, comma-separated (`--devices cuda:0,cuda:1`),
    /// train data-parallel: each batch is split over them.
    #[arg(long, visible_alias = "devices", default_value = "cpu", value_parser = results::parse_devices)]
    pub device: String,
}

/// `infer`'s arguments.
#[derive(Debug, Args)]
pub struct InferArgs {
    /// The checkpoint folder.
    pub checkpoint: PathBuf,
    /// The utterance.
    #[arg(long)]
    pub text: String,
    /// Who says it.
    #[arg(long, default_value = "Speaker")]
    pub speaker: String,
    /// An earlier utterance, `Speaker: utterance`; repeat in dialogue order.
    #[arg(long = "context", value_name = "SPEAKER: UTTERANCE")]
    pub context: Vec<String>,
    /// The utterance's speech (any file FFmpeg reads), for networks with an audio encoder.
    #[arg(long)]
    pub audio: Option<PathBuf>,
    /// The utterance's video, for networks with a video encoder.
    #[arg(long)]
    pub video: Option<PathBuf>,
}

/// Runs `command`; `builtin` is the config used when none is given, `architecture` the binary's
/// own architecture (a config for another one is refused).
pub fn run(
    command: RunCommand,
    builtin: Option<Source>,
    architecture: Option<&str>,
) -> anyhow::Result<()> {
    match command {
        RunCommand::Train(args) => {
            let raw = args.config.load(builtin)?;
            train(&raw, architecture, &args.device)
        }
        RunCommand::Eval { checkpoint, split } => eval(&checkpoint, split, architecture),
        RunCommand::Infer(args) => infer(&args, architecture),
        RunCommand::Plan(args) => {
            let plan = cli::plan(&args.config, builtin, architecture)?;
            cli::print_plan(&plan, args.json)
        }
    }
}

/// Trains the run `raw` configures and prints its outcome; the teachers it learns from are
/// trained first when their checkpoints are missing, and then shown beside it.
pub fn train(raw: &RawConfig, architecture: Option<&str>, device: &str) -> anyhow::Result<()> {
    results::check_device(device)?;
    cli::registration(raw, architecture)?;
    let mut stages = pipeline::train_teachers(raw, device, "")?;
    let started = std::time::Instant::now();
    let outcome = train_run(raw, architecture, device)?;
    if !stages.is_empty() {
        stages.push(pipeline::Stage {
            name: format!("{} (this run)", cli::registration(raw, architecture)?.name),
            checkpoint: outcome.dir,
            trained_seconds: Some(started.elapsed().as_secs_f64()),
        });
        pipeline::print_side_by_side(&stages)?;
    }
    Ok(())
}

/// Trains the run `raw` configures, its teachers already trained, and prints its outcome.
pub fn train_run(
    raw: &RawConfig,
    architecture: Option<&str>,
    device: &str,
) -> anyhow::Result<mer_core::train::Outcome> {
    let registration = cli::registration(raw, architecture)?;
    let inputs = (registration.inputs)(raw)?;
    cli::tune_cpu_threads(&inputs.encoders);
    let (mut data, _) = text_data::load(&inputs.data, inputs.text.as_ref())?;
    data.media = media_feed(&inputs)?;
    let modalities: Vec<String> = inputs
        .encoders
        .iter()
        .map(|e| e.modality.to_string())
        .collect();
    eprintln!(
        "training {} ({}) on {}: {} train, {} dev, {} test utterances ({})",
        inputs.summary,
        inputs.identity,
        inputs.data.dataset.display_name(),
        data.train.len(),
        data.dev.len(),
        data.test.len(),
        modalities.join("+")
    );
    let outcome = (registration.train)(raw, &data, &results::devices(device))?;
    results::print_outcome(&outcome, &data);
    Ok(outcome)
}

/// What decodes the run's audio and video, if an encoder reads them.
fn media_feed(inputs: &RunInputs) -> anyhow::Result<Option<MediaFeed>> {
    if inputs.audio.is_none() && inputs.video.is_none() {
        return Ok(None);
    }
    let loader = ClipLoader::for_encoders(inputs.audio.as_ref(), inputs.video.as_ref())?;
    Ok(Some(MediaFeed::new(Arc::new(loader))))
}

/// A checkpoint's raw config, registration and inputs.
fn open(
    checkpoint: &Path,
    architecture: Option<&str>,
) -> anyhow::Result<(&'static Registration, RunInputs)> {
    let config = checkpoint.join("config.toml");
    if !config.exists() {
        return Err(mer_core::store::StoreError::NotACheckpoint(checkpoint.to_owned()).into());
    }
    let raw = RawConfig::load(&[&config], &[] as &[&str])?;
    let registration = cli::registration(&raw, architecture)?;
    let inputs = (registration.inputs)(&raw)?;
    Ok((registration, inputs))
}

/// Scores a checkpoint on `split` and prints accuracy, F1 per class and the confusion matrix.
pub fn eval(checkpoint: &Path, split: Split, architecture: Option<&str>) -> anyhow::Result<()> {
    let (registration, inputs) = open(checkpoint, architecture)?;
    let split_data = mer_datasets::load(&inputs.data, split)?;
    let tokenizing = Tokenizing::new(inputs.text.as_ref())?;
    let samples = tokenizing.samples(&split_data.dialogues)?;
    let pad_id = tokenizing.pad_id();
    let feed = media_feed(&inputs)?;
    let probabilities = (registration.predict)(
        checkpoint,
        &samples,
        pad_id,
        (feed.as_ref(), inputs.media_all()),
    )?;
    let predicted: Vec<usize> = probabilities.iter().map(|p| train::argmax(p)).collect();
    let gold: Vec<usize> = samples.iter().map(|s| s.label).collect();
    let metrics = Metrics::compute(&gold, &predicted, split_data.labels.len());
    results::print_metrics(split, &metrics, &split_data.labels);
    Ok(())
}

/// Prints the class probabilities of one utterance, most likely first.
pub fn infer(args: &InferArgs, architecture: Option<&str>) -> anyhow::Result<()> {
    let (registration, inputs) = open(&args.checkpoint, architecture)?;
    let labels = LabelSet::of(inputs.data.dataset, inputs.data.label)?;
    let needs = inputs.media_all();
    for (needed, given, flag) in [
        (needs.audio, &args.audio, "--audio"),
        (needs.video, &args.video, "--video"),
    ] {
        if needed && given.is_none() {
            return Err(ConfigError::Missing(format!(
                "{flag}: this network ({}) reads it; give the utterance's file",
                inputs.summary
            ))
            .into());
        }
    }
    let utterance = |speaker: &str, text: &str| Utterance {
        speaker: speaker.trim().to_owned(),
        text: text.trim().to_owned(),
        label: 0,
        audio: None,
        video: None,
    };
    let mut utterances = Vec::new();
    for line in &args.context {
        let (who, said) = line
            .split_once(':')
            .with_context(|| format!("--context {line:?}: expected `Speaker: utterance`"))?;
        utterances.push(utterance(who, said));
    }
    let mut target = utterance(&args.speaker, &args.text);
    target.audio = args.audio.clone();
    target.video = args.video.clone();
    utterances.push(target);
    let dialogue = Dialogue {
        id: "input".into(),
        utterances,
    };
    let tokenizing = Tokenizing::new(inputs.text.as_ref())?;
    let samples = tokenizing.samples(&[dialogue])?;
    let pad_id = tokenizing.pad_id();
    let Some(target) = samples.last().cloned() else {
        bail!("no utterance to score");
    };
    let feed = media_feed(&inputs)?;
    let probabilities =
        (registration.predict)(&args.checkpoint, &[target], pad_id, (feed.as_ref(), needs))?
            .remove(0);
    let mut ranked: Vec<(&str, f32)> = labels.names.iter().copied().zip(probabilities).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (name, p) in ranked {
        println!("{name:<10} {p:.4}");
    }
    Ok(())
}
