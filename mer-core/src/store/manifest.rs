//! What a checkpoint records about itself, and what listing and collecting the store report.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Blobs are named by their content, which every load checks ([`read_weight_file`]).
///
/// [`read_weight_file`]: crate::nn::weights::read_weight_file
pub(super) const BLOBS: &str = crate::nn::weights::CONTENT_NAMED_DIR;
pub(super) const MANIFEST: &str = "checkpoint.json";
pub(super) const CONFIG: &str = "config.toml";
pub(super) const WEIGHTS_EXT: &str = "safetensors";
/// A part's LoRA adapters are saved beside it as `{part}.lora.safetensors`.
pub(super) const ADAPTERS: &str = "lora";

/// Whether `dir` holds a checkpoint: its manifest is written last, so a folder without one is
/// not (yet) a checkpoint. A run stopped half-way has one too, for its best epoch so far.
pub fn is_checkpoint(dir: &std::path::Path) -> bool {
    dir.join(MANIFEST).is_file()
}

/// What `checkpoint.json` records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub architecture: String,
    pub summary: String,
    pub hash: String,
    pub seed: u64,
    /// Part name → blob name (hex), one weight file each.
    pub parts: BTreeMap<String, String>,
    /// Best metrics, once the run has trained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<serde_json::Value>,
}

/// A checkpoint found in the store.
#[derive(Debug, Clone)]
pub struct CheckpointEntry {
    /// Its folder, relative to the store's root.
    pub dir: PathBuf,
    pub manifest: Manifest,
}

/// What `gc` did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GcReport {
    pub removed: Vec<String>,
    pub freed_bytes: u64,
    pub kept: usize,
}
