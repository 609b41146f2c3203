//! Why a run could not train or resume.

use std::path::{Path, PathBuf};

use crate::cache::CacheError;
use crate::input::MediaLoadError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    State { path: PathBuf, message: String },
    #[error("the training split is empty")]
    NoData,
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Init(#[from] crate::architecture::InitError),
    #[error(transparent)]
    Media(#[from] MediaLoadError),
    /// The network produced a loss term that `[training.losses]` does not configure.
    #[error("training.losses: the network produced the loss term `{0}`, which is not configured")]
    UnconfiguredTerm(String),
    /// The loss stopped being a number: the weights would be poisoned from this step on.
    #[error(
        "epoch {epoch}, step {step}: the loss is {value} ({terms}); training stopped, the \
         checkpoint and training state keep the last good epoch (lower training.learning_rate, \
         check the loss weights and dropout)"
    )]
    NonFinite {
        epoch: usize,
        step: usize,
        value: f64,
        /// Each term's value, `name value`, comma-separated.
        terms: String,
    },
}

pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |error| TrainError::Io {
        path: path.to_owned(),
        error,
    }
}

pub(super) fn state_error(path: &Path, error: impl std::fmt::Display) -> TrainError {
    TrainError::State {
        path: path.to_owned(),
        message: error.to_string(),
    }
}
