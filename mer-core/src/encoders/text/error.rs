//! Why a text encoder or tokenizer could not be loaded or run.

use std::path::PathBuf;

/// Why a text encoder or tokenizer could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    #[error("{}: cannot read: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: unsupported encoder: {message}", path.display())]
    Unsupported { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    Weights { path: PathBuf, message: String },
    #[error("{}: cannot load tokenizer: {message}", path.display())]
    Tokenizer { path: PathBuf, message: String },
    #[error("tokenizing failed: {0}")]
    Encode(String),
}
