//! A run's state between epochs: `state-{epoch}/` (weights, optimiser, progress) behind an atomically
//! switched `state` link, and the logs rewritten from it (`metrics.jsonl`, `timings.jsonl`).

use std::fs;
use std::path::{Path, PathBuf};

use burn::module::AutodiffModule;
use burn::optim::Optimizer;
use burn::record::{BinFileRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

use super::error::{TrainError, io, state_error};
use super::records::{BestEpoch, EpochRecord};
use crate::util::atomic;

/// Everything that resuming needs besides the weights and the optimiser; `default()` is a run
/// before its first epoch.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Progress {
    pub epochs_done: usize,
    pub step: usize,
    pub best: Option<BestEpoch>,
    pub bad_epochs: usize,
    pub finished: bool,
    pub history: Vec<EpochRecord>,
    /// Seconds per epoch: `timings.jsonl`, kept apart so `metrics.jsonl` is reproducible.
    pub seconds: Vec<f64>,
    pub utterances_per_s: Vec<f64>,
    pub eval_utterances_per_s: Vec<f64>,
}

pub(super) const STATE_LINK: &str = "state";
pub(super) const PROGRESS: &str = "progress.json";
pub(super) const CONFIG: &str = "config.toml";

/// Whether `dir` holds a run that has finished training. A run stopped half-way has a
/// checkpoint too (its best epoch so far) but its saved progress says it is not finished; a
/// checkpoint without any state (an exported one) cannot resume and counts as finished.
pub fn is_finished(dir: &Path) -> bool {
    if !crate::store::is_checkpoint(dir) {
        return false;
    }
    let link = dir.join(STATE_LINK);
    if fs::symlink_metadata(&link).is_err() {
        return true;
    }
    fs::read(link.join(PROGRESS))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Progress>(&bytes).ok())
        .is_some_and(|progress| progress.finished)
}

/// The saved progress and state folder, if the checkpoint folder has a state for this config.
pub(super) fn read_state(
    dir: &Path,
    config_toml: &str,
) -> Result<Option<(Progress, PathBuf)>, TrainError> {
    let link = dir.join(STATE_LINK);
    if fs::symlink_metadata(&link).is_err() {
        return Ok(None);
    }
    let saved_config = dir.join(CONFIG);
    let previous = fs::read_to_string(&saved_config).map_err(io(&saved_config))?;
    if previous != config_toml {
        return Err(TrainError::State {
            path: saved_config,
            message: "this folder holds a run with another config (same network and seed, other \
                      training settings): remove the folder to start over"
                .into(),
        });
    }
    let state = fs::canonicalize(&link).map_err(io(&link))?;
    let path = state.join(PROGRESS);
    let bytes = fs::read(&path).map_err(io(&path))?;
    let progress = serde_json::from_slice(&bytes).map_err(|e| state_error(&path, e))?;
    Ok(Some((progress, state)))
}

/// Writes `state-{epoch}/`, switches the `state` link to it, rewrites the logs, and removes
/// older states.
pub(super) fn write_state<B, A, O>(
    dir: &Path,
    progress: &Progress,
    network: &A,
    optimizer: &O,
    recorder: &BinFileRecorder<FullPrecisionSettings>,
) -> Result<(), TrainError>
where
    B: AutodiffBackend,
    A: AutodiffModule<B>,
    O: Optimizer<A, B>,
{
    let name = format!("state-{}", progress.epochs_done);
    let state = dir.join(&name);
    let _ = fs::remove_dir_all(&state);
    fs::create_dir_all(&state).map_err(io(&state))?;
    // Finished runs need no weights to resume from; nor does the state before the first epoch
    // (resuming from it starts afresh from the seed).
    if !progress.finished && progress.epochs_done > 0 {
        network
            .clone()
            .save_file(state.join("model"), recorder)
            .map_err(|e| state_error(&state, e))?;
        recorder
            .record(optimizer.to_record(), state.join("optimizer"))
            .map_err(|e| state_error(&state, e))?;
    }
    let json = serde_json::to_vec_pretty(progress).expect("progress serialises");
    atomic::write(&state.join(PROGRESS), &json).map_err(io(&state))?;
    atomic::symlink(Path::new(&name), &dir.join(STATE_LINK)).map_err(io(dir))?;

    write_lines(
        &dir.join("metrics.jsonl"),
        progress
            .history
            .iter()
            .map(|r| serde_json::to_string(r).expect("metrics serialise")),
    )?;
    write_lines(
        &dir.join("timings.jsonl"),
        progress
            .seconds
            .iter()
            .zip(&progress.utterances_per_s)
            .zip(&progress.eval_utterances_per_s)
            .enumerate()
            .map(|(i, ((s, u), e))| {
                serde_json::json!({
                    "epoch": i + 1,
                    "seconds": s,
                    "train_utterances_per_s": u,
                    "eval_utterances_per_s": e,
                })
                .to_string()
            }),
    )?;
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if file_name.starts_with("state-") && file_name != name {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
    Ok(())
}

fn write_lines(path: &Path, lines: impl Iterator<Item = String>) -> Result<(), TrainError> {
    let mut text = String::new();
    for line in lines {
        text.push_str(&line);
        text.push('\n');
    }
    atomic::write(path, text.as_bytes()).map_err(io(path))
}
