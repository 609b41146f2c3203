//! `mer report`: results per configuration, as mean ± standard deviation over seeds.
//!
//! A configuration is a checkpoint folder without its seed: runs in
//! `…/1xE--T/d4f806d1--1`, `…--2`, `…--3` are three seeds of one configuration.

pub mod page;
pub mod plots;

use std::fmt::Write;
use std::path::{Path, PathBuf};

use mer_core::run::metrics::Metrics;
use mer_core::store::{CheckpointEntry, Store};
use mer_core::train::BestEpoch;

/// A trained run: its checkpoint folder, seed and selected epoch.
pub type Run = (PathBuf, u64, BestEpoch);

/// One configuration's figures over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The checkpoint folder without `--{seed}`, or the experiment cell's name.
    pub configuration: String,
    pub seeds: Vec<u64>,
    /// Its runs' checkpoint folders, in seed order.
    pub dirs: Vec<PathBuf>,
    /// The epoch each run selected on dev, in seed order.
    pub selected_epochs: Vec<usize>,
    pub dev: SplitStats,
    /// Present when every seed has test figures.
    pub test: Option<SplitStats>,
}

/// A split's figures at each run's selected epoch (selected on dev), over the seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitStats {
    pub accuracy: Stat,
    pub weighted_f1: Stat,
    pub macro_f1: Stat,
    /// Each class's F1.
    pub per_class_f1: Vec<Stat>,
    /// The seeds' confusion matrices added up (rows gold, columns predicted).
    pub confusion: Vec<Vec<usize>>,
}

impl SplitStats {
    fn of(metrics: &[&Metrics]) -> Self {
        let stat = |f: &dyn Fn(&Metrics) -> f64| {
            Stat::of(&metrics.iter().map(|m| f(m)).collect::<Vec<_>>())
        };
        let classes = metrics.first().map_or(0, |m| m.per_class.len());
        let mut confusion = vec![vec![0; classes]; classes];
        for m in metrics {
            for (row, counts) in confusion.iter_mut().zip(&m.confusion) {
                for (cell, n) in row.iter_mut().zip(counts) {
                    *cell += n;
                }
            }
        }
        SplitStats {
            accuracy: stat(&|m| m.accuracy),
            weighted_f1: stat(&|m| m.weighted_f1),
            macro_f1: stat(&|m| m.macro_f1),
            per_class_f1: (0..classes)
                .map(|c| stat(&|m| m.per_class.get(c).map_or(0.0, |s| s.f1)))
                .collect(),
            confusion,
        }
    }
}

/// Mean and sample standard deviation (n − 1; 0 for a single seed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    pub mean: f64,
    pub std: f64,
}

impl Stat {
    pub fn of(values: &[f64]) -> Self {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let std = if values.len() < 2 {
            0.0
        } else {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        };
        Stat { mean, std }
    }
}

impl std::fmt::Display for Stat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.2} ± {:.2}", self.mean, self.std)
    }
}

/// Every trained checkpoint under `paths` (a checkpoint folder, or any folder holding some);
/// per-epoch copies (`epochs/`) and untrained checkpoints are left out.
pub fn collect(paths: &[PathBuf]) -> anyhow::Result<Vec<Run>> {
    let mut found = Vec::new();
    for path in paths {
        let entries: Vec<CheckpointEntry> = if mer_core::store::is_checkpoint(path) {
            let manifest = Store::new(path).manifest(Path::new(""))?;
            vec![CheckpointEntry {
                dir: PathBuf::new(),
                manifest,
            }]
        } else {
            crate::tools::store::readable(&Store::new(path))?
        };
        for entry in entries {
            // A checkpoint folder given itself keeps its name as given (no trailing `/`), so
            // its seed suffix is found.
            let dir = match entry.dir.as_os_str().is_empty() {
                true => path.clone(),
                false => path.join(&entry.dir),
            };
            if dir.components().any(|c| c.as_os_str() == "epochs") {
                continue;
            }
            let Some(metrics) = entry.manifest.metrics else {
                continue;
            };
            let best: BestEpoch = serde_json::from_value(metrics)?;
            found.push((dir, entry.manifest.seed, best));
        }
    }
    Ok(found)
}

/// The selected epoch of the checkpoint in `dir`, if it has trained.
pub fn best_epoch(dir: &Path) -> anyhow::Result<Option<BestEpoch>> {
    Ok(collect(&[dir.to_owned()])?.pop().map(|(_, _, best)| best))
}

/// Groups runs by configuration, configurations in name order.
pub fn rows(runs: &[Run]) -> Vec<Row> {
    let mut groups: std::collections::BTreeMap<String, Vec<&Run>> = Default::default();
    for run in runs {
        groups
            .entry(configuration_of(&run.0, run.1))
            .or_default()
            .push(run);
    }
    groups
        .into_iter()
        .map(|(configuration, mut runs)| {
            runs.sort_by_key(|r| r.1);
            let dev: Vec<&Metrics> = runs.iter().map(|r| &r.2.dev).collect();
            let test: Option<Vec<&Metrics>> = runs.iter().map(|r| r.2.test.as_ref()).collect();
            Row {
                configuration,
                seeds: runs.iter().map(|r| r.1).collect(),
                dirs: runs.iter().map(|r| r.0.clone()).collect(),
                selected_epochs: runs.iter().map(|r| r.2.epoch).collect(),
                dev: SplitStats::of(&dev),
                test: test.map(|t| SplitStats::of(&t)),
            }
        })
        .collect()
}

/// A run's configuration: its checkpoint folder without `--{seed}`.
pub fn configuration_of(dir: &Path, seed: u64) -> String {
    let text = dir.display().to_string();
    text.strip_suffix(&format!("--{seed}"))
        .unwrap_or(&text)
        .to_owned()
}

/// The table as Markdown: accuracy, weighted and macro F1 on dev and test.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| configuration | seeds | dev accuracy | dev weighted F1 | dev macro F1 | test accuracy \
         | test weighted F1 | test macro F1 |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for row in rows {
        let test = |f: fn(&SplitStats) -> Stat| {
            row.test
                .as_ref()
                .map_or("–".to_owned(), |t| f(t).to_string())
        };
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            row.configuration,
            row.seeds.len(),
            row.dev.accuracy,
            row.dev.weighted_f1,
            row.dev.macro_f1,
            test(|t| t.accuracy),
            test(|t| t.weighted_f1),
            test(|t| t.macro_f1),
        )
        .unwrap();
    }
    out
}

/// Each class's F1 on test (dev where a configuration has no test figures), mean ± std over
/// the seeds, one row per configuration.
pub fn per_class_markdown(rows: &[Row], classes: &[String]) -> String {
    let mut out = format!("| configuration | split | {} |\n", classes.join(" | "));
    writeln!(out, "| --- | --- |{}", " --- |".repeat(classes.len())).unwrap();
    for row in rows {
        let (split, stats) = match &row.test {
            Some(test) => ("test", test),
            None => ("dev", &row.dev),
        };
        let cells: Vec<String> = stats.per_class_f1.iter().map(Stat::to_string).collect();
        writeln!(
            out,
            "| {} | {split} | {} |",
            row.configuration,
            cells.join(" | ")
        )
        .unwrap();
    }
    out
}

/// The table as CSV, means and standard deviations in their own columns.
pub fn csv(rows: &[Row]) -> String {
    let columns = ["accuracy", "weighted_f1", "macro_f1"];
    let mut out = String::from("configuration,seeds");
    for split in ["dev", "test"] {
        for c in columns {
            write!(out, ",{split}_{c},{split}_{c}_std").unwrap();
        }
    }
    out.push('\n');
    for row in rows {
        let pair =
            |s: Option<Stat>| s.map_or(",".to_owned(), |s| format!("{:.4},{:.4}", s.mean, s.std));
        let figures = |split: Option<&SplitStats>| {
            [
                pair(split.map(|s| s.accuracy)),
                pair(split.map(|s| s.weighted_f1)),
                pair(split.map(|s| s.macro_f1)),
            ]
            .join(",")
        };
        writeln!(
            out,
            "\"{}\",{},{},{}",
            row.configuration.replace('"', "\"\""),
            row.seeds.len(),
            figures(Some(&row.dev)),
            figures(row.test.as_ref())
        )
        .unwrap();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_standard_deviation() {
        let s = Stat::of(&[60.0, 62.0, 64.0]);
        assert_eq!(s.mean, 62.0);
        assert!((s.std - 2.0).abs() < 1e-12);
        assert_eq!(Stat::of(&[5.0]).std, 0.0);
        assert_eq!(s.to_string(), "62.00 ± 2.00");
    }
}
