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
    #[error("no device to train on")]
    NoDevice,
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
    let text = error.to_string();
    TrainError::State {
        path: path.to_owned(),
        message: os_error_in(&text).map_or(text, |e| e.to_string()),
    }
}

/// The OS error inside Burn's recorder errors, which carry an `io::Error` only as its debug text
/// (`Unknown("Io { inner: Os { code: 28, … } }")`): "No space left on device (os error 28)".
fn os_error_in(text: &str) -> Option<std::io::Error> {
    let after = &text[text.find("Os { code: ")? + "Os { code: ".len()..];
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    Some(std::io::Error::from_raw_os_error(digits.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorder_error_reads_as_the_os_error_inside_it() {
        let burn = r#"Unknown("Io { inner: Os { code: 28, kind: StorageFull, message: \"No space left on device\" } }")"#;
        let error = state_error(Path::new("/run/state-3"), burn).to_string();
        assert_eq!(error, "/run/state-3: No space left on device (os error 28)");
        let other = state_error(Path::new("/run"), "shape mismatch").to_string();
        assert_eq!(other, "/run: shape mismatch");
    }
}
