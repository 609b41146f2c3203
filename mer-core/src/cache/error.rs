//! The cache's keys, errors and counts.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::input::MediaLoadError;

/// The content hash of one input.
pub type Key = [u8; 16];

/// The key of an input given as bytes.
pub fn key_of(bytes: &[u8]) -> Key {
    let digest = Sha256::digest(bytes);
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// Why the cache could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("{}: {error}", path.display())]
    Io { path: PathBuf, error: io::Error },
    #[error("{}: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
    #[error("computing features: {0}")]
    Compute(String),
    /// An input's media file is missing or cannot be decoded.
    #[error(transparent)]
    Media(#[from] MediaLoadError),
}

pub(super) fn io_at(path: &Path) -> impl FnOnce(io::Error) -> CacheError + '_ {
    move |error| CacheError::Io {
        path: path.to_owned(),
        error,
    }
}

/// Counts of one process's reads: what a run found and what it had to compute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    pub hits: usize,
    pub computed: usize,
    pub recovered_shards: usize,
}
