//! Why the store could not save, load or list a checkpoint.

use std::io;
use std::path::{Path, PathBuf};

use super::manifest::MANIFEST;
use crate::nn::weights::WeightsError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: {error}", path.display())]
    Io { path: PathBuf, error: io::Error },
    #[error("{}: not a checkpoint (no {MANIFEST})", .0.display())]
    NotACheckpoint(PathBuf),
    #[error("{}: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    Weights { path: PathBuf, message: String },
    #[error("{}: already exists", .0.display())]
    Exists(PathBuf),
}

impl From<WeightsError> for StoreError {
    fn from(e: WeightsError) -> Self {
        if e.corrupt {
            return StoreError::Corrupt {
                path: e.path,
                message: e.message,
            };
        }
        StoreError::Weights {
            path: e.path,
            message: e.message,
        }
    }
}

pub(super) fn io_at(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |error| StoreError::Io {
        path: path.to_owned(),
        error,
    }
}
