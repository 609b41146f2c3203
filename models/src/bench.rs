//! `mer bench meld-text`: the text model on MELD in one encoder mode, with the figures that
//! compare modes and implementations (dev scores, epoch times, encoder throughput, memory).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use burn::backend::{Autodiff, NdArray};
use burn::tensor::backend::Backend;
use mer_core::architecture::ArchitectureConfig;
use mer_core::config::{RawConfig, Source};
use mer_core::encoders::EncoderMode;
use mer_core::encoders::text::hf;
use mer_core::run::RunConfig;
use mer_core::store::Store;
use mer_core::train::{self, TrainData, frozen};
use serde::Serialize;

use crate::text_data;
use crate::unimodal::{Unimodal, UnimodalConfig};

type Inference = NdArray<f32>;
type Training = Autodiff<Inference>;

/// What `mer bench meld-text` was asked.
#[derive(Debug, Clone)]
pub struct MeldTextBench {
    pub meld: PathBuf,
    pub model: PathBuf,
    pub mode: String,
    pub epochs: Option<usize>,
    /// Where checkpoints and (unless `cache` is given) a fresh feature cache go.
    pub work: PathBuf,
    /// A feature cache to use instead of a fresh one (then the first epoch may be warm).
    pub cache: Option<PathBuf>,
    pub batch_size: Option<usize>,
    pub learning_rate: Option<f64>,
}

/// The figures, as `--json` prints them.
#[derive(Debug, Clone, Serialize)]
pub struct MeldTextFigures {
    pub mode: String,
    pub epochs: usize,
    pub best_epoch: usize,
    pub dev_accuracy: f64,
    pub dev_weighted_f1: f64,
    pub dev_macro_f1: f64,
    /// The first epoch, frozen features included (computed, or read when the cache is warm).
    pub cold_epoch_s: f64,
    /// The mean of later epochs; `None` with one epoch.
    pub warm_epoch_s: Option<f64>,
    pub encode_utterances_per_s: f64,
    pub train_utterances_per_s: f64,
    pub peak_rss_mb: f64,
    pub train_utterances: usize,
    pub dev_utterances: usize,
}

impl MeldTextBench {
    /// The run: unimodal over utterance prompts, mean-pooled, as a linear probe would read them.
    fn run_config(&self, hidden: usize) -> anyhow::Result<(RunConfig<UnimodalConfig>, String)> {
        // Defaults measured on MELD with all-MiniLM-L6-v2 (see the closing note of issue 4).
        let (lr, epochs, batch) = match self.mode.as_str() {
            "frozen" => (2e-3, 10, 64),
            "lora" => (1e-3, 1, 16),
            "trainable" => (5e-5, 1, 16),
            other => anyhow::bail!("--mode {other}: expected frozen, lora or trainable"),
        };
        let cache = self
            .cache
            .clone()
            .unwrap_or_else(|| self.work.join("cache"));
        let text = toml::Value::String;
        let toml = format!(
            r#"architecture = "unimodal"
[model.text]
pretrained = {model}
max_len = 128
pooling = "mean"
prompt = "utterance"
mode = "{mode}"
[model.projector]
input = {hidden}
output = {hidden}
[model.head]
input = {hidden}
num_classes = 7
[training]
seed = 42
batch_size = {batch}
eval_batch_size = 64
learning_rate = {lr:e}
epochs = {epochs}
patience = 0
[data]
dataset = "meld"
label = "emotion"
root = {meld}
[output]
checkpoints = {checkpoints}
cache = {cache}
"#,
            model = text(self.model.display().to_string()),
            mode = self.mode,
            batch = self.batch_size.unwrap_or(batch),
            lr = self.learning_rate.unwrap_or(lr),
            epochs = self.epochs.unwrap_or(epochs),
            meld = text(self.meld.display().to_string()),
            checkpoints = text(self.work.join("checkpoints").display().to_string()),
            cache = text(cache.display().to_string()),
        );
        let raw = RawConfig::from_sources(&[Source::new("bench meld-text", toml)], &[] as &[&str])?;
        let run: RunConfig<UnimodalConfig> = raw.resolve()?;
        let resolved = toml::to_string_pretty(&run).context("serialising the config")?;
        Ok((run, resolved))
    }

    /// Encoder inference throughput alone (utterances/s), as the PyTorch script measures it.
    pub fn encode_only(&self) -> anyhow::Result<f64> {
        let hidden = hf::read_shape(&self.model)?.hidden;
        let (run, _) = self.run_config(hidden)?;
        // Inference only: as a frozen encoder runs.
        let mut encoders = run.model.encoders();
        encoders
            .iter_mut()
            .for_each(|e| e.mode = EncoderMode::Frozen);
        crate::cli::tune_cpu_threads(&encoders);
        let (data, _) = text_data::load(&run.data, Some(&run.model.text.config))?;
        Ok(encoder_throughput(&run, &data))
    }

    pub fn run(&self) -> anyhow::Result<MeldTextFigures> {
        let hidden = hf::read_shape(&self.model)?.hidden;
        let (run, config_toml) = self.run_config(hidden)?;
        crate::cli::tune_cpu_threads(&run.model.encoders());
        let (data, _) = text_data::load(&run.data, Some(&run.model.text.config))?;
        eprintln!(
            "bench meld-text: {} mode, {} train and {} dev utterances, {} epochs",
            self.mode,
            data.train.len(),
            data.dev.len(),
            run.training.epochs
        );
        // A frozen run encodes the training set itself; other modes are timed apart.
        let separate_rate = if self.mode == "frozen" {
            None
        } else {
            Some(encoder_throughput(&run, &data))
        };
        let store = Store::new(&run.output.checkpoints);
        let outcome = train::train::<Training, Unimodal<Training>>(
            &run,
            &config_toml,
            &data,
            &store,
            &Default::default(),
        )?;
        let rate = match separate_rate {
            Some(rate) => rate,
            None if outcome.frozen_encoded > 0 => {
                outcome.frozen_encoded as f64 / outcome.frozen_encode_seconds
            }
            None => encoder_throughput(&run, &data),
        };
        let seconds = &outcome.epoch_seconds;
        let warm = (seconds.len() > 1)
            .then(|| seconds[1..].iter().sum::<f64>() / (seconds.len() - 1) as f64);
        let best = &outcome.best;
        Ok(MeldTextFigures {
            mode: self.mode.clone(),
            epochs: outcome.epochs,
            best_epoch: best.epoch,
            dev_accuracy: best.dev.accuracy,
            dev_weighted_f1: best.dev.weighted_f1,
            dev_macro_f1: best.dev.macro_f1,
            cold_epoch_s: outcome.feature_seconds + seconds.first().copied().unwrap_or(0.0),
            warm_epoch_s: warm,
            encode_utterances_per_s: rate,
            train_utterances_per_s: outcome.train_utterances_per_s,
            peak_rss_mb: peak_rss_mb().unwrap_or(0.0),
            train_utterances: data.train.len(),
            dev_utterances: data.dev.len(),
        })
    }
}

/// Encoder inference over the training utterances (batches of 64, by length), utterances/s.
pub fn encoder_throughput(run: &RunConfig<UnimodalConfig>, data: &TrainData) -> f64 {
    let device = Default::default();
    Inference::seed(&device, run.training.seed);
    let network = run.model.init::<Inference>(&device);
    let indices: Vec<usize> = (0..data.train.len()).collect();
    let started = Instant::now();
    frozen::encode_rows(
        &network,
        "text",
        &data.train,
        &indices,
        (data.pad_id, &Default::default()),
        std::env::var("MER_ENCODE_BATCH")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(64),
        &device,
        frozen::encode_workers::<Inference>(&device),
        (None, Default::default()),
    )
    .expect("text needs no media");
    let rate = indices.len() as f64 / started.elapsed().as_secs_f64();
    eprintln!(
        "encoder: {rate:.1} utterances/s over {} utterances",
        indices.len()
    );
    rate
}

/// The process's peak resident memory, from Linux's /proc.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

impl MeldTextFigures {
    /// The final table.
    pub fn table(&self) -> String {
        let warm = self
            .warm_epoch_s
            .map_or("–".to_owned(), |w| format!("{w:.2}"));
        let speedup = self.warm_epoch_s.map_or("–".to_owned(), |w| {
            format!("{:.0}×", self.cold_epoch_s / w)
        });
        let rows = [
            ("mode", self.mode.clone()),
            (
                "epochs (best)",
                format!("{} ({})", self.epochs, self.best_epoch),
            ),
            ("dev accuracy", format!("{:.2}", self.dev_accuracy)),
            ("dev weighted F1", format!("{:.2}", self.dev_weighted_f1)),
            ("dev macro F1", format!("{:.2}", self.dev_macro_f1)),
            ("cold epoch (s)", format!("{:.2}", self.cold_epoch_s)),
            ("warm epoch (s)", warm),
            ("cold / warm", speedup),
            (
                "encoder (utt/s)",
                format!("{:.1}", self.encode_utterances_per_s),
            ),
            (
                "training (utt/s)",
                format!("{:.1}", self.train_utterances_per_s),
            ),
            ("peak memory (MB)", format!("{:.0}", self.peak_rss_mb)),
        ];
        let mut out = String::new();
        for (name, value) in rows {
            out.push_str(&format!("{name:<18} {value:>12}\n"));
        }
        out
    }
}

/// A fresh work folder for a bench run under `base`.
pub fn work_dir(base: &Path, mode: &str) -> PathBuf {
    base.join(format!("meld-text-{mode}-{}", std::process::id()))
}

/// One clip's figures in `mer bench media`.
#[derive(Debug, Clone, Serialize)]
pub struct ClipFigures {
    pub file: String,
    /// Frames in the clip.
    pub frames: usize,
    /// Frames decoded to sample 16 (non-reference frames that are not sampled, and every frame
    /// after the last sampled one, are skipped).
    pub decoded: usize,
    /// Median milliseconds to sample 16 RGB frames.
    pub ms_per_clip: f64,
    /// Median milliseconds to load the audio as 16 kHz mono (`None`: no audio stream).
    pub audio_ms: Option<f64>,
}

/// Median milliseconds of `runs` calls (at least one).
pub fn median_ms<E>(runs: usize, mut call: impl FnMut() -> Result<(), E>) -> Result<f64, E> {
    let mut times = Vec::with_capacity(runs.max(1));
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        call()?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Times 16-frame sampling (and audio loading) of every video in `dir`, `runs` times each after
/// one warm-up.
pub fn media(dir: &Path, runs: usize) -> anyhow::Result<Vec<ClipFigures>> {
    use mer_datasets::media::{AudioOptions, load_audio, sample_frames};
    let mut clips: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| {
                ["mp4", "mkv", "avi", "mov", "webm"].contains(&&*e.to_string_lossy())
            })
        })
        .collect();
    clips.sort();
    let mut out = Vec::new();
    for clip in clips {
        let warm_up = sample_frames(&clip, 16)?;
        let (frames, decoded) = (warm_up.total, warm_up.decoded);
        let ms_per_clip = median_ms(runs, || sample_frames(&clip, 16).map(drop))?;
        let audio_ms = match load_audio(&clip, &AudioOptions::default()) {
            Ok(_) => Some(median_ms(runs, || {
                load_audio(&clip, &AudioOptions::default()).map(drop)
            })?),
            Err(mer_datasets::media::MediaError::NoStream { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        out.push(ClipFigures {
            file: clip
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            frames,
            decoded,
            ms_per_clip,
            audio_ms,
        });
    }
    Ok(out)
}

/// Runs a reference script (`python3 SCRIPT ARGS…`) and parses the JSON object it prints last.
pub fn python_json(script: &Path, args: &[&str]) -> anyhow::Result<serde_json::Value> {
    let output = std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .with_context(|| format!("running python3 {}", script.display()))?;
    if !output.status.success() {
        anyhow::bail!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).with_context(|| format!("{}: not JSON: {last}", script.display()))
}
