//! The cache's folder layout: file names, and listing what a folder holds.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use safetensors::tensor::SafeTensors;

use super::error::{CacheError, io_at};
use crate::util::atomic;
use serde::{Deserialize, Serialize};

/// Shards listed for people and pruning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardInfo {
    pub file: String,
    pub rows: usize,
    pub dim: usize,
    pub bytes: u64,
}

pub(super) const FEATURES: &str = "features";
pub(super) const DIGESTS: &str = "digests.json";
pub(super) const IDENTITY: &str = "identity.json";
pub(super) const INDEX: &str = "index.json";
pub(super) const HITS: &str = "hits.jsonl";
pub(super) const SHARD_EXT: &str = "safetensors";

pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub(super) fn sub_dirs(dir: &Path) -> Result<Vec<PathBuf>, CacheError> {
    entries(dir, |entry| entry.file_type().is_ok_and(|t| t.is_dir()))
}

/// Shard files of a split folder, in name order (temporary files skipped).
pub(super) fn shard_files(dir: &Path) -> Result<Vec<PathBuf>, CacheError> {
    entries(dir, |entry| {
        let path = entry.path();
        path.extension().is_some_and(|e| e == SHARD_EXT) && !atomic::is_temp(&file_name(&path))
    })
}

/// The entries of `dir` that `keep` accepts, in name order; a missing folder has none.
pub(super) fn entries(
    dir: &Path,
    keep: impl Fn(&fs::DirEntry) -> bool,
) -> Result<Vec<PathBuf>, CacheError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_at(dir)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_at(dir))?;
        if keep(&entry) {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// What the index and `mer cache ls` say of a split folder's shards, read from their headers
/// (checking checksums is `verify`'s job, not every write's).
pub(super) fn shard_infos(dir: &Path) -> Result<Vec<ShardInfo>, CacheError> {
    Ok(shard_files(dir)?
        .into_iter()
        .map(|path| {
            let (rows, dim) = shard_shape(&path).unwrap_or((0, 0));
            ShardInfo {
                file: file_name(&path),
                rows,
                dim,
                bytes: fs::metadata(&path).map_or(0, |m| m.len()),
            }
        })
        .collect())
}

/// A shard's (rows, dim) from its header alone.
pub(super) fn shard_shape(path: &Path) -> Option<(usize, usize)> {
    let file = File::open(path).ok()?;
    // SAFETY: as in `Shard::open`.
    let map = unsafe { Mmap::map(&file) }.ok()?;
    let (_, metadata) = SafeTensors::read_metadata(&map).ok()?;
    let info = metadata.info("features")?;
    match info.shape.as_slice() {
        [rows, dim] => Some((*rows, *dim)),
        _ => None,
    }
}

pub(super) fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}

/// Appends one line; lines below the pipe-buffer size are written whole even when several
/// processes append at once.
pub(super) fn append_line(path: &Path, line: &str) -> Result<(), CacheError> {
    use std::io::Write;
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io_at(path))?;
    file.write_all(format!("{line}\n").as_bytes())
        .map_err(io_at(path))
}
