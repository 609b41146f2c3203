//! Running a sweep on a Slurm cluster: one job array per stage over its missing cells, each
//! task a `mer train` of one cell, a stage's array starting after the arrays of the stages it
//! comes after have all succeeded (`--dependency=afterok`). What finished is read back from
//! the checkpoint store, which the cluster's nodes share with the submitting machine.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use super::local::shell_words;
use super::sweep::{CellState, Sweep};

/// What each job asks Slurm for, and how its cell trains.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    /// The `mer` binary every node runs (on a path the nodes share).
    pub exe: PathBuf,
    /// `cpu` or `cuda`.
    pub device: String,
    pub partition: Option<String>,
    /// `gpu:1`, …
    pub gres: Option<String>,
    pub time: Option<String>,
    pub cpus_per_task: Option<usize>,
    /// Further `#SBATCH` options, as given (`--mem=16G`).
    pub extra: Vec<String>,
    /// Where the job scripts and the tasks' logs go.
    pub logs: PathBuf,
}

/// A stage's job array: its script and, once submitted, its job id.
#[derive(Debug, Clone, PartialEq)]
pub struct StageJob {
    pub stage: String,
    pub script: PathBuf,
    /// The sweep's cells, in array-index order.
    pub cells: Vec<usize>,
    /// Stages whose arrays it waits for.
    pub after: Vec<String>,
    pub job_id: Option<String>,
}

/// Writes one job script per stage with missing cells; nothing is submitted.
pub fn write_scripts(sweep: &Sweep, options: &SlurmOptions) -> anyhow::Result<Vec<StageJob>> {
    let dir = options.logs.join("slurm");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let workdir = std::env::current_dir()?;
    let states = sweep.states();
    let mut jobs = Vec::new();
    for stage in &sweep.experiment.stages {
        let cells: Vec<usize> = (0..sweep.cells.len())
            .filter(|&i| sweep.cells[i].stage == stage.name && states[i] != CellState::Done)
            .collect();
        if cells.is_empty() {
            continue;
        }
        let script = dir.join(format!("{}.sh", stage.name));
        let text = script_text(sweep, &stage.name, &cells, options, &workdir);
        mer_core::util::atomic::write(&script, text.as_bytes())
            .with_context(|| format!("writing {}", script.display()))?;
        jobs.push(StageJob {
            stage: stage.name.clone(),
            script,
            cells,
            after: stage.after.clone(),
            job_id: None,
        });
    }
    Ok(jobs)
}

/// The job script of `stage`: an array whose task N trains `cells[N]`.
fn script_text(
    sweep: &Sweep,
    stage: &str,
    cells: &[usize],
    options: &SlurmOptions,
    workdir: &Path,
) -> String {
    let logs = absolute(workdir, &options.logs);
    let mut s = String::from("#!/bin/bash\n");
    let mut directive = |option: String| writeln!(s, "#SBATCH {option}").unwrap();
    directive(format!("--job-name=mer-{}-{stage}", sweep.experiment.name));
    directive(format!("--array=0-{}", cells.len() - 1));
    directive(format!("--chdir={}", workdir.display()));
    directive(format!("--output={}/{stage}-%a.log", logs.display()));
    if let Some(p) = &options.partition {
        directive(format!("--partition={p}"));
    }
    if let Some(g) = &options.gres {
        directive(format!("--gres={g}"));
    }
    if let Some(t) = &options.time {
        directive(format!("--time={t}"));
    }
    if let Some(c) = options.cpus_per_task {
        directive(format!("--cpus-per-task={c}"));
    }
    for extra in &options.extra {
        directive(extra.clone());
    }
    writeln!(
        s,
        "# {}: stage {stage:?} of {}",
        sweep.experiment.name,
        sweep.experiment.path.display()
    )
    .unwrap();
    s.push_str("set -euo pipefail\ncase \"$SLURM_ARRAY_TASK_ID\" in\n");
    for (task, &cell) in cells.iter().enumerate() {
        let cell = &sweep.cells[cell];
        let mut args = vec![absolute(workdir, &options.exe).display().to_string()];
        args.extend(cell.train_args());
        args.extend(["--device".into(), options.device.clone()]);
        writeln!(s, "  {task}) # {}", cell.label()).unwrap();
        writeln!(s, "    exec {} ;;", shell_words(&args)).unwrap();
    }
    s.push_str("  *) echo \"no cell $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;\nesac\n");
    s
}

fn absolute(workdir: &Path, path: &Path) -> PathBuf {
    match path.is_absolute() {
        true => path.to_owned(),
        false => workdir.join(path),
    }
}

/// Submits the scripts in order with `sbatch`, each stage after the arrays of the stages it
/// comes after (those submitted now: a stage already done has nothing to wait for).
pub fn submit(jobs: &mut [StageJob]) -> anyhow::Result<()> {
    for index in 0..jobs.len() {
        let waits: Vec<String> = jobs[..index]
            .iter()
            .filter(|j| jobs[index].after.contains(&j.stage))
            .filter_map(|j| j.job_id.clone())
            .collect();
        let mut command = Command::new("sbatch");
        command.arg("--parsable");
        if !waits.is_empty() {
            command.arg(format!("--dependency=afterok:{}", waits.join(":")));
        }
        command.arg(&jobs[index].script);
        let output = command
            .output()
            .context("running sbatch (is this a Slurm submit host?)")?;
        if !output.status.success() {
            bail!(
                "sbatch {} failed: {}",
                jobs[index].script.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        // `--parsable` prints `jobid` or `jobid;cluster`.
        let text = String::from_utf8_lossy(&output.stdout);
        let id = text.trim().split(';').next().unwrap_or_default().to_owned();
        if id.is_empty() {
            bail!("sbatch {} printed no job id", jobs[index].script.display());
        }
        jobs[index].job_id = Some(id);
    }
    Ok(())
}
