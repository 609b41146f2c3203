//! `mer`: the tools that work across architectures.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Parser, Subcommand};
use mer_core::cache::FeatureCache;
use mer_core::config::RawConfig;
use mer_core::store::Store;
use models::bench::{self, MeldTextBench};
use models::commands::{self, RunCommand};
use models::tools::{self, cache::CacheCommand};
use models::{cli, results};

#[derive(Parser)]
#[command(version, about = "mer: multimodal emotion recognition in conversation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Network(RunCommand),
    /// Run an experiment file's sweep: the missing cells in dependency order, here or on Slurm.
    Run(models::experiment::RunArgs),
    /// Run a Hugging Face encoder over texts, recordings or clips (or given model inputs) and
    /// write its inputs and `last_hidden_state` under transformers' names, as its AutoModel
    /// returns them for a padded batch.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["texts", "audio", "video", "inputs"])))]
    Encode {
        /// The model folder (config.json, model.safetensors, and tokenizer.json or
        /// preprocessor_config.json).
        #[arg(long)]
        model: PathBuf,
        /// A text to encode; repeat for a batch.
        #[arg(long = "text")]
        texts: Vec<String>,
        /// Audio files for a wav2vec2 / data2vec-audio / hubert folder (writes `input_values`,
        /// `attention_mask`, `last_hidden_state`).
        #[arg(long, num_args = 1..)]
        audio: Vec<PathBuf>,
        /// Video files for a videomae / timesformer folder (writes `pixel_values`,
        /// `last_hidden_state`).
        #[arg(long, num_args = 1..)]
        video: Vec<PathBuf>,
        /// Run the model on the `input_values` (+ `attention_mask`) or `pixel_values` of this
        /// safetensors file instead of files: the model-only check.
        #[arg(long)]
        inputs: Option<PathBuf>,
        /// The safetensors file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the config reference (Markdown) and JSON Schema of every architecture.
    Docs {
        /// Where the files go.
        #[arg(long, default_value = "docs/config")]
        dir: PathBuf,
        /// Write nothing; fail if the committed files differ from what would be written.
        #[arg(long)]
        check: bool,
    },
    /// Results per configuration: accuracy, weighted and macro F1 as mean ± std over seeds,
    /// at the epoch each run selected on dev.
    Report {
        /// Checkpoint folders, folders holding checkpoints (a store's root), or experiment
        /// files (`experiments/demo-sweep.toml`: one table each, a row per configuration).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// `markdown` or `csv`.
        #[arg(long, default_value = "markdown", value_parser = ["markdown", "csv"])]
        format: String,
        /// Also write the report into DIR: `report.md`, F1 per class, and SVG pictures (each
        /// configuration's training curves and confusion matrix, the table as bars).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// With `--out`: also `report.html`, one page with the tables and pictures.
        #[arg(long, requires = "out")]
        html: bool,
    },
    /// List the checkpoints in a store.
    Ls {
        /// The store's root.
        #[arg(long, default_value = "checkpoints")]
        root: PathBuf,
    },
    /// Check every weight blob of a store against the digest it is named by.
    Verify {
        #[arg(long, default_value = "checkpoints")]
        root: PathBuf,
    },
    /// Remove weight blobs that no checkpoint links to.
    Gc {
        #[arg(long, default_value = "checkpoints")]
        root: PathBuf,
    },
    /// Copy a checkpoint to DIR with its weights as plain files.
    Export {
        /// The checkpoint folder.
        checkpoint: PathBuf,
        /// The new folder; must not exist.
        dir: PathBuf,
        #[arg(long, default_value = "checkpoints")]
        root: PathBuf,
        /// Also write `text-hf/`: the text encoder with LoRA adapters merged, under Hugging Face
        /// tensor names (loads with `AutoModel.from_pretrained`).
        #[arg(long)]
        merge_lora: bool,
    },
    /// The feature cache of frozen encoders.
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
        /// The cache's folder.
        #[arg(long, global = true, default_value = "cache")]
        cache: PathBuf,
    },
    /// Prepare a dataset's media: `mer prep meld --root DIR` writes 16 kHz mono FLAC audio of
    /// every clip.
    Prep {
        #[command(subcommand)]
        command: PrepCommand,
    },
    /// List the audio and video files a config's dataset refers to that are missing or cannot
    /// be decoded, before a long run.
    CheckDataset {
        /// Config files, merged in order.
        #[arg(required = true)]
        configs: Vec<PathBuf>,
        /// Overrides: `--set data.root=/path/to/MELD`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
    /// Benchmarks (commands that print figures).
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand)]
enum PrepCommand {
    /// `videos/{split}/dia{D}_utt{U}.mp4` (or MELD.Raw's folders) → `audios/{split}/….flac`.
    Meld {
        /// The MELD folder.
        #[arg(long)]
        root: PathBuf,
        /// Clips converted at once (default: every core).
        #[arg(long)]
        workers: Option<usize>,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Milliseconds per forward pass and per training step (AdamW) of the text, audio and
    /// video encoders (random weights and inputs), beside PyTorch on the same shapes.
    Encoders {
        /// The base-size audio (data2vec-audio) and video (VideoMAE) encoders too.
        #[arg(long)]
        all: bool,
        /// Only these cases.
        #[arg(long = "case", value_name = "NAME", value_parser = models::bench_encoders::CASES)]
        only: Vec<String>,
        /// Timed steps per figure (the median is printed), after one warm-up.
        #[arg(long, default_value_t = 5)]
        steps: usize,
        /// Skip PyTorch (`scripts/reference/bench_encoders_torch.py`, which needs torch and
        /// transformers).
        #[arg(long)]
        no_torch: bool,
        /// Print one JSON object last.
        #[arg(long)]
        json: bool,
    },
    /// Milliseconds and utterances/s of one training step of an encoder on a device (BERT-base,
    /// 32 × 128 tokens, by default), beside PyTorch's eager fp32, TF32 and bf16-autocast steps.
    TrainStep {
        /// `cpu`, `cuda` or `cuda:N`.
        #[arg(long, default_value = "cpu", value_parser = models::results::parse_device)]
        device: String,
        /// mer's precision: `fp32` or `bf16`.
        #[arg(long, default_value = "fp32")]
        precision: mer_kernels::Precision,
        /// Cases (default: bert-base).
        #[arg(long = "case", value_name = "NAME", value_parser = models::bench_encoders::CASES)]
        cases: Vec<String>,
        /// Timed steps (the median is printed).
        #[arg(long, default_value_t = 10)]
        steps: usize,
        /// Untimed steps first (kernel compilation and autotuning).
        #[arg(long, default_value_t = 3)]
        warmup: usize,
        /// Skip PyTorch (`scripts/reference/bench_train_step_torch.py`).
        #[arg(long)]
        no_torch: bool,
        /// Also write the figures to this JSON file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Time sampling 16 RGB frames (and loading 16 kHz audio) of every video in a folder.
    Media {
        /// A folder of clips (mp4, mkv, avi, mov, webm).
        #[arg(long)]
        clips: PathBuf,
        /// Timed runs per clip, after one warm-up.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Print one JSON object last: `{"clips": [{file, frames, decoded, ms_per_clip, audio_ms}]}`.
        #[arg(long)]
        json: bool,
    },
    /// Train the text model on MELD in one encoder mode; print dev scores, epoch times,
    /// encoder throughput and peak memory.
    MeldText {
        /// A MELD folder ({train,dev}_sent_emo.csv).
        #[arg(long)]
        meld: PathBuf,
        /// A Hugging Face model folder.
        #[arg(long)]
        model: PathBuf,
        #[arg(long, default_value = "frozen", value_parser = ["frozen", "lora", "trainable"])]
        mode: String,
        /// Epochs (default: 10 frozen, 1 otherwise).
        #[arg(long)]
        epochs: Option<usize>,
        /// Batch size (default: 64 frozen, 16 otherwise).
        #[arg(long)]
        batch_size: Option<usize>,
        /// Learning rate (default: 2e-3 frozen, 1e-3 lora, 5e-5 trainable).
        #[arg(long)]
        learning_rate: Option<f64>,
        /// Where checkpoints (and a fresh cache) go.
        #[arg(long, default_value = "target/bench")]
        work: PathBuf,
        /// Reuse this feature cache instead of a fresh one.
        #[arg(long)]
        cache: Option<PathBuf>,
        /// Only time the encoder over the training utterances (no training).
        #[arg(long)]
        encode_only: bool,
        /// Print one JSON object last.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    cli::main(|| match Cli::parse().command {
        Command::Network(command) => commands::run(command, None, None),
        Command::Run(args) => models::experiment::run(&args),
        Command::Encode {
            model,
            texts,
            audio,
            video,
            inputs,
            out,
        } if texts.is_empty() => {
            use models::encode_media::{self, MediaInputs};
            let what = match (inputs, audio.is_empty()) {
                (Some(path), _) => MediaInputs::Given(path),
                (None, false) => MediaInputs::Audio(audio),
                (None, true) => MediaInputs::Video(video),
            };
            let tensors = encode_media::encode(&model, &what)?;
            encode_media::write(&out, &tensors)?;
            let listed: Vec<String> = tensors
                .iter()
                .map(|t| format!("{} {:?}", t.name, t.shape))
                .collect();
            println!("wrote {} to {}", listed.join(", "), out.display());
            Ok(())
        }
        Command::Encode {
            model, texts, out, ..
        } => {
            let encoded = models::encode::encode(&model, &texts)?;
            encoded.write(&out)?;
            let n = encoded.batch.ids.len();
            let t = encoded.batch.ids.first().map_or(0, Vec::len);
            println!(
                "wrote last_hidden_state [{n}, {t}, {}] and attention_mask [{n}, {t}] to {}",
                encoded.hidden,
                out.display()
            );
            Ok(())
        }
        Command::Docs { dir, check } => tools::docs::write(&dir, check),
        Command::Ls { root } => tools::store::list(&Store::new(root)),
        Command::Verify { root } => tools::store::verify(&Store::new(root)),
        Command::Report {
            paths,
            format,
            out,
            html,
        } => tools::report::run(&paths, &format, out.as_deref(), html),
        Command::Gc { root } => {
            let report = Store::new(&root).gc()?;
            for blob in &report.removed {
                println!("removed {blob}");
            }
            println!(
                "{} blobs removed ({} bytes freed), {} kept",
                report.removed.len(),
                report.freed_bytes,
                report.kept
            );
            Ok(())
        }
        Command::Export {
            checkpoint,
            dir,
            root,
            merge_lora,
        } => {
            let store = Store::new(root);
            if merge_lora {
                models::export::export_merged(&store, &checkpoint, &dir)?;
            } else {
                store.export(&checkpoint, &dir)?;
            }
            println!("exported {} to {}", checkpoint.display(), dir.display());
            Ok(())
        }
        Command::Prep {
            command: PrepCommand::Meld { root, workers },
        } => {
            let workers = workers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let report = models::prep::prep_meld(&root, workers)?;
            for (clip, why) in &report.broken {
                println!("broken: {}: {why}", clip.display());
            }
            println!(
                "{} converted, {} already done, {} broken, {} linked from MELD.Raw in {:.1}s ({:.1} clips/s)",
                report.converted,
                report.skipped,
                report.broken.len(),
                report.linked,
                report.seconds,
                report.converted as f64 / report.seconds.max(1e-9)
            );
            Ok(())
        }
        Command::CheckDataset { configs, overrides } => {
            let raw = RawConfig::load(&configs, &overrides)?;
            let problems = models::prep::check_dataset(&raw)?;
            for p in &problems {
                println!("{p}");
            }
            if problems.is_empty() {
                println!("every audio and video file is there and decodes");
                Ok(())
            } else {
                bail!("{} media problems", problems.len())
            }
        }
        Command::Cache { command, cache } => {
            tools::cache::run(command, &FeatureCache::new(cache, 0))
        }
        Command::Bench {
            command:
                BenchCommand::Encoders {
                    all,
                    only,
                    steps,
                    no_torch,
                    json,
                },
        } => models::bench_encoders::report(all, &only, steps, no_torch, json),
        Command::Bench {
            command:
                BenchCommand::TrainStep {
                    device,
                    precision,
                    cases,
                    steps,
                    warmup,
                    no_torch,
                    out,
                },
        } => {
            results::check_device(&device)?;
            let bench = models::bench_train_step::TrainStepBench {
                device,
                precision,
                cases,
                steps: steps.max(1),
                warmup,
                no_torch,
                out,
            };
            models::bench_train_step::report(&bench).map(|_| ())
        }
        Command::Bench {
            command: BenchCommand::Media { clips, runs, json },
        } => {
            let figures = bench::media(&clips, runs.max(1))?;
            println!(
                "{:<28} {:>7} {:>8} {:>12} {:>10}",
                "clip", "frames", "decoded", "16 frames ms", "audio ms"
            );
            for c in &figures {
                let audio = c.audio_ms.map_or("–".to_owned(), |a| format!("{a:.1}"));
                println!(
                    "{:<28} {:>7} {:>8} {:>12.1} {:>10}",
                    c.file, c.frames, c.decoded, c.ms_per_clip, audio
                );
            }
            if json {
                println!("{}", serde_json::json!({ "clips": figures }));
            }
            Ok(())
        }
        Command::Bench {
            command:
                BenchCommand::MeldText {
                    meld,
                    model,
                    mode,
                    epochs,
                    batch_size,
                    learning_rate,
                    work,
                    cache,
                    encode_only,
                    json,
                },
        } => {
            let bench = MeldTextBench {
                meld,
                model,
                work: bench::work_dir(&work, &mode),
                mode,
                epochs,
                cache,
                batch_size,
                learning_rate,
            };
            if encode_only {
                let rate = bench.encode_only()?;
                println!("encoder: {rate:.1} utterances/s");
                if json {
                    println!("{}", serde_json::json!({ "encode_utterances_per_s": rate }));
                }
                return Ok(());
            }
            let figures = bench.run()?;
            print!("{}", figures.table());
            if json {
                println!("{}", serde_json::to_string(&figures)?);
            }
            Ok(())
        }
    })
}
