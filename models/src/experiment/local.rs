//! Running a sweep's missing cells on this machine: each cell is a `mer train` process with its
//! own log, started when the cells it waits for are done, `jobs` at a time.
//!
//! Resuming needs nothing of its own: a finished cell is recognised by its checkpoint and
//! skipped, and a cell that was stopped half-way resumes from its last epoch, as `mer train`
//! always does.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::sweep::{CellState, Sweep};

/// Where and how the cells run.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// The `mer` binary that trains a cell.
    pub exe: PathBuf,
    /// Cells at once.
    pub jobs: usize,
    /// `cpu` or `cuda`.
    pub device: String,
    /// GPU indices, one cell on each at a time (sets `CUDA_VISIBLE_DEVICES`); empty on the CPU.
    pub devices: Vec<String>,
    /// Where each cell's log goes: `DIR/<cell>.log`.
    pub logs: PathBuf,
}

/// How a sweep's run ended.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RunSummary {
    /// Cells done before this run.
    pub already_done: usize,
    pub trained: Vec<String>,
    /// `(cell, exit status, log)`.
    pub failed: Vec<(String, String, PathBuf)>,
    /// Cells not run because a cell they wait for failed: `(cell, that cell)`.
    pub skipped: Vec<(String, String)>,
}

/// A cell being trained.
struct Running {
    cell: usize,
    child: Child,
    slot: usize,
    started: Instant,
    log: PathBuf,
}

/// Trains every cell of `sweep` that is not done, each after the cells it waits for.
pub fn run(sweep: &Sweep, options: &LocalOptions) -> anyhow::Result<RunSummary> {
    let states = sweep.states();
    let slots = match options.devices.len() {
        0 => options.jobs.max(1),
        n => n,
    };
    let mut done: Vec<bool> = states.iter().map(|s| *s == CellState::Done).collect();
    let mut pending: Vec<usize> = (0..sweep.cells.len()).filter(|&i| !done[i]).collect();
    let mut summary = RunSummary {
        already_done: done.iter().filter(|d| **d).count(),
        ..RunSummary::default()
    };
    if pending.is_empty() {
        return Ok(summary);
    }
    fs::create_dir_all(&options.logs)?;
    let bar = ProgressBar::new(pending.len() as u64).with_style(
        ProgressStyle::with_template("[{elapsed_precise}] {bar:30} {pos}/{len} cells  {wide_msg}")
            .expect("a valid template"),
    );
    let mut failed: Vec<Option<String>> = vec![None; sweep.cells.len()];
    let mut running: Vec<Running> = Vec::new();
    let threads = cpu_threads(slots);
    loop {
        // Cells whose wait ended in a failure will not run.
        pending.retain(
            |&i| match sweep.cells[i].after.iter().find_map(|&a| failed[a].clone()) {
                Some(cause) => {
                    let label = sweep.cells[i].label();
                    bar.suspend(|| eprintln!("skipped: {label} (waits for {cause}, which failed)"));
                    failed[i] = Some(label.clone());
                    summary.skipped.push((label, cause));
                    bar.inc(1);
                    false
                }
                None => true,
            },
        );
        while running.len() < slots {
            let Some(at) = pending
                .iter()
                .position(|&i| sweep.cells[i].after.iter().all(|&a| done[a]))
            else {
                break;
            };
            let cell = pending.remove(at);
            let slot = (0..slots)
                .find(|s| running.iter().all(|r| r.slot != *s))
                .expect("a free slot");
            running.push(start(sweep, cell, slot, options, threads)?);
            bar.suspend(|| eprintln!("started: {}", sweep.cells[cell].label()));
        }
        let labels: Vec<String> = running
            .iter()
            .map(|r| sweep.cells[r.cell].label())
            .collect();
        bar.set_message(labels.join(", "));
        if running.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        bar.tick();
        let mut index = 0;
        while index < running.len() {
            let Some(status) = running[index].child.try_wait()? else {
                index += 1;
                continue;
            };
            let finished = running.remove(index);
            let cell = &sweep.cells[finished.cell];
            let seconds = finished.started.elapsed().as_secs_f64();
            if status.success() && cell.state() == CellState::Done {
                done[finished.cell] = true;
                summary.trained.push(cell.label());
                bar.suspend(|| eprintln!("done: {} in {seconds:.0} s", cell.label()));
            } else {
                failed[finished.cell] = Some(cell.label());
                let log = finished.log.display().to_string();
                bar.suspend(|| eprintln!("failed: {} ({status}); log: {log}", cell.label()));
                summary
                    .failed
                    .push((cell.label(), status.to_string(), finished.log));
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    Ok(summary)
}

/// Threads per CPU cell: the machine's cores shared by the cells that run at once.
fn cpu_threads(slots: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / slots).max(1)
}

/// Starts `mer train` on cell `index`, its output appended to the cell's log.
fn start(
    sweep: &Sweep,
    index: usize,
    slot: usize,
    options: &LocalOptions,
    threads: usize,
) -> anyhow::Result<Running> {
    let cell = &sweep.cells[index];
    let log = options.logs.join(format!("{}.log", cell.slug()));
    let mut file = File::options().create(true).append(true).open(&log)?;
    writeln!(
        file,
        "== {} {} ==",
        options.exe.display(),
        shell_words(&cell.train_args())
    )?;
    let mut command = Command::new(&options.exe);
    command
        .args(cell.train_args())
        .args(["--device", &options.device])
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file);
    match options.devices.get(slot) {
        Some(gpu) => {
            command.env("CUDA_VISIBLE_DEVICES", gpu);
        }
        None if options.jobs > 1 => {
            // Cells side by side share the cores instead of each taking all of them.
            for name in ["RAYON_NUM_THREADS", "MATMUL_NUM_THREADS"] {
                if std::env::var_os(name).is_none() {
                    command.env(name, threads.to_string());
                }
            }
        }
        None => {}
    }
    die_with_parent(&mut command);
    let child = command
        .spawn()
        .map_err(|e| anyhow::anyhow!("starting {}: {e}", options.exe.display()))?;
    Ok(Running {
        cell: index,
        child,
        slot,
        started: Instant::now(),
        log,
    })
}

/// A cell's process ends with the sweep's: a killed sweep leaves nothing training, and its
/// next run resumes the cell.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_: &mut Command) {}

/// Arguments as a shell would read them back.
pub fn shell_words(args: &[String]) -> String {
    args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=./,:+@".contains(c));
    match plain {
        true => arg.to_owned(),
        false => format!("'{}'", arg.replace('\'', r"'\''")),
    }
}

/// Where logs go when not given: `logs/<experiment>/`.
pub fn default_logs(sweep: &Sweep) -> PathBuf {
    Path::new("logs").join(&sweep.experiment.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_quote_for_the_shell() {
        let args = vec![
            "train".to_owned(),
            "output.checkpoints=\"runs/x\"".to_owned(),
            "it's".to_owned(),
        ];
        assert_eq!(
            shell_words(&args),
            r#"train 'output.checkpoints="runs/x"' 'it'\''s'"#
        );
    }
}
