//! The checkpoint store: weights live once in a content-addressed blob folder, and each
//! checkpoint's weight files are relative symlinks into it.
//!
//! ```text
//! checkpoints/
//!   blobs/3f2a…e1.safetensors
//!   training/MELD--E/trainable--2--focal/1xE--A+T+V/1fee7db6--42/
//!     text.safetensors -> ../../../../../blobs/3f2a…e1.safetensors
//!     config.toml         the resolved config
//!     checkpoint.json     written last: a folder without it is not a checkpoint
//! ```
//!
//! A frozen encoder shared by twenty runs is therefore on disk once. Every file is written
//! atomically.

mod error;
mod layout;
mod maintenance;
mod manifest;
mod parts;

pub use error::StoreError;
pub use layout::Store;
pub use maintenance::Listing;
pub use manifest::{CheckpointEntry, GcReport, Manifest, is_checkpoint};
