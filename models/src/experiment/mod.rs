//! `mer run`: an experiment file's sweep, run here (`--jobs`, `--devices`) or on a Slurm
//! cluster (`--slurm`), resumed for free because every cell is named by its checkpoint.

pub mod file;
pub mod local;
pub mod slurm;
pub mod sweep;

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

pub use file::{Experiment, ExperimentError, StageSpec};
pub use sweep::{Cell, CellState, Sweep};

/// `mer run`'s arguments.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The experiment file (`experiments/demo-sweep.toml`).
    pub file: PathBuf,
    /// Print the cells, which are done, and the order; run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print what the checkpoint store holds of each cell (with its figures); run nothing.
    #[arg(long)]
    pub status: bool,
    /// Cells trained at once on this machine (the cores are shared among them).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// `cpu`, `cuda` or `cuda:N`.
    #[arg(long, default_value = "cpu", value_parser = crate::results::parse_device)]
    pub device: String,
    /// GPUs to use, one cell on each at a time: `--devices 0,1` (implies `--device cuda`).
    #[arg(long, value_delimiter = ',')]
    pub devices: Vec<String>,
    /// Where the cells' logs (and Slurm job scripts) go; default `logs/<experiment>`.
    #[arg(long)]
    pub logs: Option<PathBuf>,
    /// Submit the missing cells to Slurm (a job array per stage) instead of running them here.
    #[arg(long)]
    pub slurm: bool,
    /// Slurm partition.
    #[arg(long, requires = "slurm")]
    pub partition: Option<String>,
    /// Slurm generic resources per job (`gpu:1`).
    #[arg(long, requires = "slurm")]
    pub gres: Option<String>,
    /// Slurm time limit per job (`4:00:00`).
    #[arg(long, requires = "slurm")]
    pub time: Option<String>,
    /// Slurm CPUs per job.
    #[arg(long, requires = "slurm")]
    pub cpus_per_task: Option<usize>,
    /// Any other `#SBATCH` option, as written: `--sbatch=--mem=16G`; repeat for more.
    #[arg(
        long = "sbatch",
        value_name = "OPTION",
        requires = "slurm",
        allow_hyphen_values = true
    )]
    pub sbatch: Vec<String>,
}

/// Runs `mer run`.
pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    let sweep = Sweep::plan(Experiment::read(&args.file)?)?;
    if args.dry_run || args.status {
        print!("{}", table(&sweep, args.status)?);
        return Ok(());
    }
    let exe = std::env::current_exe()?;
    let logs = args
        .logs
        .clone()
        .unwrap_or_else(|| local::default_logs(&sweep));
    let device = match args.devices.is_empty() {
        true => args.device.clone(),
        false => "cuda".to_owned(),
    };
    crate::results::check_device(&device)?;
    let name = &sweep.experiment.name;
    let to_train = sweep
        .states()
        .iter()
        .filter(|s| **s != CellState::Done)
        .count();
    if to_train == 0 {
        println!(
            "{name}: all {} cells are done; nothing to run (`mer report {}` shows them)",
            sweep.cells.len(),
            args.file.display()
        );
        return Ok(());
    }
    if args.slurm {
        let options = slurm::SlurmOptions {
            exe,
            device,
            partition: args.partition.clone(),
            gres: args.gres.clone(),
            time: args.time.clone(),
            cpus_per_task: args.cpus_per_task,
            extra: args.sbatch.clone(),
            logs,
        };
        let mut jobs = slurm::write_scripts(&sweep, &options)?;
        slurm::submit(&mut jobs)?;
        for job in &jobs {
            println!(
                "submitted {}: job {} ({} cells, {})",
                job.stage,
                job.job_id.as_deref().unwrap_or("?"),
                job.cells.len(),
                job.script.display()
            );
        }
        println!(
            "`mer run {} --status` shows what has finished",
            args.file.display()
        );
        return Ok(());
    }
    eprintln!(
        "{name}: {} cells, {} done, {to_train} to train ({} at a time); logs in {}",
        sweep.cells.len(),
        sweep.cells.len() - to_train,
        args.devices.len().max(args.jobs.max(1)),
        logs.display()
    );
    let summary = local::run(
        &sweep,
        &local::LocalOptions {
            exe,
            jobs: args.jobs,
            device,
            devices: args.devices.clone(),
            logs,
        },
    )?;
    println!(
        "{name}: {} trained, {} done before, {} failed, {} skipped",
        summary.trained.len(),
        summary.already_done,
        summary.failed.len(),
        summary.skipped.len()
    );
    if !summary.failed.is_empty() {
        for (cell, status, log) in &summary.failed {
            println!("failed: {cell} ({status}); log: {}", log.display());
        }
        bail!(
            "{} of {} cells failed",
            summary.failed.len(),
            sweep.cells.len()
        );
    }
    Ok(())
}

/// The `mer report` rows of an experiment's trained cells: one per configuration (its seeds
/// together), named by its stage and matrix values other than `training.seed`, in sweep order.
pub fn report_rows(sweep: &Sweep) -> anyhow::Result<Vec<crate::report::Row>> {
    let done: Vec<PathBuf> = sweep
        .cells
        .iter()
        .filter(|c| c.state() == CellState::Done)
        .map(|c| c.checkpoint.clone())
        .collect();
    let mut rows = crate::report::rows(&crate::report::collect(&done)?);
    let first_cell = |row: &crate::report::Row| {
        sweep
            .cells
            .iter()
            .position(|c| row.dirs.contains(&c.checkpoint))
            .unwrap_or(usize::MAX)
    };
    rows.sort_by_key(first_cell);
    for row in &mut rows {
        if let Some(cell) = sweep.cells.get(first_cell(row)) {
            row.configuration = cell.configuration_label();
        }
    }
    Ok(rows)
}

/// The cells in the order they run, what the store holds of each, what each waits for and
/// its checkpoint; with `figures`, the dev and test weighted F1 of the done ones.
pub fn table(sweep: &Sweep, figures: bool) -> anyhow::Result<String> {
    use std::fmt::Write;
    let states = sweep.states();
    let mut out = String::new();
    writeln!(
        out,
        "{}: {} cells ({})",
        sweep.experiment.name,
        sweep.cells.len(),
        sweep.experiment.path.display()
    )?;
    let width = sweep
        .cells
        .iter()
        .map(|c| c.label().len())
        .max()
        .unwrap_or(4);
    let header_figures = if figures { "  dev wF1 test wF1" } else { "" };
    writeln!(
        out,
        "{:>3}  {:<width$}  {:<10} {:<9}{header_figures}  checkpoint",
        "#", "cell", "state", "after"
    )?;
    for (i, (cell, state)) in sweep.cells.iter().zip(&states).enumerate() {
        let state_text = match state {
            CellState::Done => "done".to_owned(),
            CellState::Partial(epochs) => format!("{epochs} epochs"),
            CellState::Missing => "to train".to_owned(),
        };
        let after = match cell.after.is_empty() {
            true => "-".to_owned(),
            false => cell
                .after
                .iter()
                .map(|a| (a + 1).to_string())
                .collect::<Vec<_>>()
                .join(","),
        };
        let mut figure_text = String::new();
        if figures {
            let best = match state {
                CellState::Done => crate::report::best_epoch(&cell.checkpoint)?,
                _ => None,
            };
            figure_text = match best {
                Some(best) => format!(
                    "  {:>7.2} {:>8}",
                    best.dev.weighted_f1,
                    best.test
                        .map_or("-".to_owned(), |t| format!("{:.2}", t.weighted_f1))
                ),
                None => format!("  {:>7} {:>8}", "-", "-"),
            };
        }
        writeln!(
            out,
            "{:>3}  {:<width$}  {state_text:<10} {after:<9}{figure_text}  {}",
            i + 1,
            cell.label(),
            cell.checkpoint.display()
        )?;
    }
    let done = states.iter().filter(|s| **s == CellState::Done).count();
    let started = states
        .iter()
        .filter(|s| matches!(s, CellState::Partial(_)))
        .count();
    writeln!(
        out,
        "{done} done, {started} started (resume from their last epoch), {} not started",
        states.len() - done - started
    )?;
    Ok(out)
}
