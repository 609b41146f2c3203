//! `mer report`: the tables of experiment files and checkpoint folders, printed and, with
//! `--out`, written as report folders.

use std::path::{Path, PathBuf};

use anyhow::bail;
use mer_core::store::StoreError;

use crate::experiment::{Experiment, Sweep};
use crate::report::{self, page};

/// `mer report`: a table per experiment file given, one for the checkpoints given otherwise;
/// with `out`, each also written as a report folder (a subfolder per table when there are
/// several).
pub fn run(paths: &[PathBuf], format: &str, out: Option<&Path>, html: bool) -> anyhow::Result<()> {
    let mut tables: Vec<(String, String, Vec<report::Row>)> = Vec::new();
    let mut checkpoints = Vec::new();
    for path in paths {
        if !path.exists() {
            bail!(StoreError::NotACheckpoint(path.clone()));
        }
        if path.is_file() && path.extension().is_some_and(|e| e == "toml") {
            let sweep = Sweep::plan(Experiment::read(path)?)?;
            let rows = crate::experiment::report_rows(&sweep)?;
            if rows.is_empty() {
                bail!(
                    "{}: no cell is trained yet (`mer run {}`)",
                    path.display(),
                    path.display()
                );
            }
            let experiment = sweep.experiment;
            tables.push((experiment.name, experiment.description, rows));
        } else {
            checkpoints.push(path.clone());
        }
    }
    if !checkpoints.is_empty() {
        let rows = report::rows(&report::collect(&checkpoints)?);
        if rows.is_empty() {
            bail!("no trained checkpoints under {checkpoints:?}");
        }
        tables.push(("results".into(), String::new(), rows));
    }
    let several = tables.len() > 1;
    for (title, description, rows) in &tables {
        if several {
            println!("## {title}\n");
        }
        match format {
            "csv" => print!("{}", report::csv(rows)),
            _ => print!("{}", report::markdown(rows)),
        }
        if let Some(out) = out {
            let dir = if several {
                out.join(title)
            } else {
                out.to_owned()
            };
            let report = page::Report {
                title: title.clone(),
                description: description.clone(),
                rows,
            };
            let written = page::write(&report, &dir, html)?;
            eprintln!("wrote {} files to {}", written.len(), dir.display());
        }
        if several {
            println!();
        }
    }
    Ok(())
}
