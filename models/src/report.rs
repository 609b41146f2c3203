//! `mer report`: results per configuration, as mean ± standard deviation over seeds.
//!
//! A configuration is a checkpoint folder without its seed: runs in
//! `…/1xE--T/d4f806d1--1`, `…--2`, `…--3` are three seeds of one configuration.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use mer_core::store::{CheckpointEntry, Store};
use mer_core::train::BestEpoch;

/// One configuration's figures over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The checkpoint folder without `--{seed}`.
    pub configuration: String,
    pub seeds: Vec<u64>,
    pub dev_accuracy: Stat,
    pub dev_weighted_f1: Stat,
    /// Present when every seed has test figures.
    pub test_accuracy: Option<Stat>,
    pub test_weighted_f1: Option<Stat>,
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
pub fn collect(paths: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, u64, BestEpoch)>> {
    let mut found = Vec::new();
    for path in paths {
        let entries: Vec<CheckpointEntry> = if path.join("checkpoint.json").is_file() {
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

/// Groups runs by configuration.
pub fn rows(runs: &[(PathBuf, u64, BestEpoch)]) -> Vec<Row> {
    let mut groups: BTreeMap<String, Vec<&(PathBuf, u64, BestEpoch)>> = BTreeMap::new();
    for run in runs {
        let text = run.0.display().to_string();
        let key = text
            .strip_suffix(&format!("--{}", run.1))
            .unwrap_or(&text)
            .to_owned();
        groups.entry(key).or_default().push(run);
    }
    groups
        .into_iter()
        .map(|(configuration, runs)| {
            let stat = |f: &dyn Fn(&BestEpoch) -> f64| {
                Stat::of(&runs.iter().map(|r| f(&r.2)).collect::<Vec<_>>())
            };
            let all_tested = runs.iter().all(|r| r.2.test.is_some());
            let test = |f: &dyn Fn(&mer_core::run::metrics::Metrics) -> f64| {
                all_tested.then(|| stat(&|b: &BestEpoch| f(b.test.as_ref().expect("checked"))))
            };
            let mut seeds: Vec<u64> = runs.iter().map(|r| r.1).collect();
            seeds.sort();
            Row {
                configuration,
                seeds,
                dev_accuracy: stat(&|b| b.dev.accuracy),
                dev_weighted_f1: stat(&|b| b.dev.weighted_f1),
                test_accuracy: test(&|m| m.accuracy),
                test_weighted_f1: test(&|m| m.weighted_f1),
            }
        })
        .collect()
}

/// The table as Markdown.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| configuration | seeds | dev accuracy | dev weighted F1 | test accuracy | test weighted F1 |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for row in rows {
        let optional = |s: Option<Stat>| s.map_or("–".to_owned(), |s| s.to_string());
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            row.configuration,
            row.seeds.len(),
            row.dev_accuracy,
            row.dev_weighted_f1,
            optional(row.test_accuracy),
            optional(row.test_weighted_f1)
        )
        .unwrap();
    }
    out
}

/// The table as CSV, means and standard deviations in their own columns.
pub fn csv(rows: &[Row]) -> String {
    let mut out = String::from(
        "configuration,seeds,dev_accuracy,dev_accuracy_std,dev_weighted_f1,dev_weighted_f1_std,\
         test_accuracy,test_accuracy_std,test_weighted_f1,test_weighted_f1_std\n",
    );
    for row in rows {
        let pair =
            |s: Option<Stat>| s.map_or(",".to_owned(), |s| format!("{:.4},{:.4}", s.mean, s.std));
        writeln!(
            out,
            "\"{}\",{},{},{},{},{}",
            row.configuration.replace('"', "\"\""),
            row.seeds.len(),
            pair(Some(row.dev_accuracy)),
            pair(Some(row.dev_weighted_f1)),
            pair(row.test_accuracy),
            pair(row.test_weighted_f1)
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
