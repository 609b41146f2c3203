//! `mer`: the tools that work across architectures.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use mer_core::config::ConfigError;
use mer_core::store::{Store, StoreError};
use mer_core::{atomic, reference, registry, schema};
use models::cli::{self, PlanArgs};

#[derive(Parser)]
#[command(version, about = "mer: multimodal emotion recognition in conversation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the resolved config, summary, parameter table, hash and checkpoint folder of a
    /// config without training.
    Plan(PlanArgs),
    /// Run a Hugging Face text encoder over texts and write `last_hidden_state` and
    /// `attention_mask`, as transformers' AutoModel returns them for a padded batch.
    Encode {
        /// The model folder (config.json, model.safetensors, tokenizer.json).
        #[arg(long)]
        model: PathBuf,
        /// A text to encode; repeat for a batch.
        #[arg(long = "text", required = true)]
        texts: Vec<String>,
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
    /// Results per configuration: accuracy and weighted F1 as mean ± std over seeds.
    Report {
        /// Checkpoint folders, or folders holding checkpoints (a store's root).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// `markdown` or `csv`.
        #[arg(long, default_value = "markdown", value_parser = ["markdown", "csv"])]
        format: String,
    },
    /// List the checkpoints in a store.
    Ls {
        /// The store's root.
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
    },
}

fn main() -> ExitCode {
    cli::main(|| match Cli::parse().command {
        Command::Plan(args) => {
            if args.config.configs.is_empty() {
                bail!(ConfigError::Missing(
                    "`mer plan` needs at least one config file".into()
                ));
            }
            let plan = cli::plan(&args.config, None, None)?;
            cli::print_plan(&plan, args.json)
        }
        Command::Encode { model, texts, out } => {
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
        Command::Docs { dir, check } => docs(&dir, check),
        Command::Ls { root } => ls(&Store::new(root)),
        Command::Report { paths, format } => {
            for path in &paths {
                if !path.exists() {
                    bail!(StoreError::NotACheckpoint(path.clone()));
                }
            }
            let rows = models::report::rows(&models::report::collect(&paths)?);
            if rows.is_empty() {
                bail!("no trained checkpoints under {paths:?}");
            }
            match format.as_str() {
                "csv" => print!("{}", models::report::csv(&rows)),
                _ => print!("{}", models::report::markdown(&rows)),
            }
            Ok(())
        }
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
        } => {
            Store::new(root).export(&checkpoint, &dir)?;
            println!("exported {} to {}", checkpoint.display(), dir.display());
            Ok(())
        }
    })
}

/// The files `mer docs` owns: `<arch>.md` and `<arch>.schema.json` per architecture.
fn docs(dir: &Path, check: bool) -> anyhow::Result<()> {
    let mut stale = Vec::new();
    for registration in registry::architectures() {
        let kind = (registration.schema)();
        let markdown = reference::markdown(registration.name, registration.doc, &kind);
        let schema = schema::json_schema(&format!("mer {} config", registration.name), &kind);
        let schema = serde_json::to_string_pretty(&schema)? + "\n";
        for (file, content) in [
            (format!("{}.md", registration.name), markdown),
            (format!("{}.schema.json", registration.name), schema),
        ] {
            let path = dir.join(file);
            if check {
                let current = std::fs::read_to_string(&path).unwrap_or_default();
                if current != content {
                    stale.push(path);
                }
            } else {
                atomic::write(&path, content.as_bytes())
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("wrote {}", path.display());
            }
        }
    }
    if !stale.is_empty() {
        let list: Vec<String> = stale.iter().map(|p| p.display().to_string()).collect();
        bail!(
            "stale config docs (run `mer docs` and commit): {}",
            list.join(", ")
        );
    }
    if check {
        println!("config docs are up to date");
    }
    Ok(())
}

fn ls(store: &Store) -> anyhow::Result<()> {
    let checkpoints = store.list()?;
    if checkpoints.is_empty() {
        println!("no checkpoints under {}", store.root().display());
        return Ok(());
    }
    println!(
        "{:<12} {:<10} {:<9} {:>6}  {:<40} path",
        "architecture", "summary", "hash", "seed", "best (accuracy/weighted F1)"
    );
    for entry in checkpoints {
        let m = &entry.manifest;
        let metrics = m
            .metrics
            .clone()
            .and_then(|v| serde_json::from_value::<mer_core::train::BestEpoch>(v).ok())
            .map_or_else(
                || "-".to_owned(),
                |best| {
                    let test = best.test.map_or(String::new(), |t| {
                        format!(", test {:.2}/{:.2}", t.accuracy, t.weighted_f1)
                    });
                    format!(
                        "epoch {}: dev {:.2}/{:.2}{test}",
                        best.epoch, best.dev.accuracy, best.dev.weighted_f1
                    )
                },
            );
        println!(
            "{:<12} {:<10} {:<9} {:>6}  {:<40} {}",
            m.architecture,
            m.summary,
            m.hash,
            m.seed,
            metrics,
            store.root().join(&entry.dir).display()
        );
    }
    Ok(())
}
