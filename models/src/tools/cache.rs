//! `mer cache ls | verify | prune`.

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::Subcommand;
use mer_core::cache::FeatureCache;
use mer_core::config::RawConfig;
use mer_core::registry;

/// What `mer cache` does.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Every encoder identity and split: shards, rows, size, hits and computed features.
    Ls,
    /// Check every shard's checksum and layout; exit 1 if any is bad.
    Verify,
    /// Remove the features of encoder identities no config uses. By default the configs are
    /// `experiments/**/*.toml` and every checkpoint's `config.toml` under `--root`.
    Prune {
        /// Configs whose frozen encoders' features are kept.
        configs: Vec<PathBuf>,
        #[arg(long, default_value = "checkpoints")]
        root: PathBuf,
        /// Print what would be removed; remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Runs `command` on `cache`.
pub fn run(command: CacheCommand, cache: &FeatureCache) -> anyhow::Result<()> {
    match command {
        CacheCommand::Ls => {
            let entries = cache.list()?;
            println!(
                "{:<18} {:<16} {:>6} {:>8} {:>10} {:>9} {:>9}  encoder",
                "identity", "split", "shards", "rows", "MB", "hits", "computed"
            );
            for e in &entries {
                let what = match &e.description {
                    serde_json::Value::Null => String::new(),
                    d => format!(
                        "{} {} {}",
                        d["encoder"].as_str().unwrap_or(""),
                        d["prompt"].as_str().unwrap_or(""),
                        d["pooling"].as_str().unwrap_or("")
                    ),
                };
                println!(
                    "{:<18} {:<16} {:>6} {:>8} {:>10.2} {:>9} {:>9}  {what}",
                    e.identity,
                    e.split,
                    e.shards.len(),
                    e.rows(),
                    e.bytes() as f64 / 1e6,
                    e.hits,
                    e.computed
                );
            }
            let total: u64 = entries.iter().map(|e| e.bytes()).sum();
            println!("{} entries, {:.2} MB", entries.len(), total as f64 / 1e6);
            Ok(())
        }
        CacheCommand::Verify => {
            let (checked, bad) = cache.verify()?;
            for b in &bad {
                println!("bad: {}: {}", b.path.display(), b.message);
            }
            println!("{checked} shards checked, {} bad", bad.len());
            if !bad.is_empty() {
                bail!("{} bad shards (a run recomputes them)", bad.len());
            }
            Ok(())
        }
        CacheCommand::Prune {
            configs,
            root,
            dry_run,
        } => {
            let explicit = !configs.is_empty();
            let configs = if explicit {
                configs
            } else {
                default_configs(&root)
            };
            let mut keep = Vec::new();
            for config in &configs {
                let identities = (|| -> anyhow::Result<Vec<String>> {
                    let raw = RawConfig::load(&[config], &[] as &[&str])?;
                    let registration = registry::for_config(&raw, None)?;
                    Ok((registration.frozen_identities)(&raw, cache)?)
                })();
                match identities {
                    Ok(identities) => keep.extend(identities),
                    // Found configs include overlays that are not whole runs by themselves.
                    Err(e) if !explicit => {
                        eprintln!("skipping {}: {e:#}", config.display());
                    }
                    Err(e) => return Err(e.context(format!("{}", config.display()))),
                }
            }
            let unused: Vec<_> = cache
                .list()?
                .into_iter()
                .filter(|e| !keep.contains(&e.identity))
                .collect();
            if dry_run {
                for e in &unused {
                    println!(
                        "would remove {} {} ({} bytes)",
                        e.identity,
                        e.split,
                        e.bytes()
                    );
                }
                return Ok(());
            }
            let (removed, freed) = cache.prune(&keep)?;
            for identity in &removed {
                println!("removed {identity}");
            }
            println!(
                "{} identities removed ({freed} bytes freed), {} kept ({} configs read)",
                removed.len(),
                keep.len(),
                configs.len()
            );
            Ok(())
        }
    }
}

/// `experiments/**/*.toml` and every `config.toml` of a checkpoint under `root`.
pub fn default_configs(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, keep: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                if path.file_name().is_some_and(|n| n != "blobs") {
                    walk(&path, keep, out);
                }
            } else if keep(&path) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        Path::new("experiments"),
        &|p| p.extension().is_some_and(|e| e == "toml"),
        &mut out,
    );
    walk(
        root,
        &|p| {
            p.file_name().is_some_and(|n| n == "config.toml")
                && p.with_file_name("checkpoint.json").exists()
        },
        &mut out,
    );
    out.sort();
    out
}
