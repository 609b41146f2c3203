//! One shard: a safetensors file of `keys` [rows, 16] u8 and `features` [rows, dim] f32, named by
//! the hash of its bytes and read through a memory map.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use safetensors::tensor::{Dtype, SafeTensors};
use sha2::{Digest, Sha256};

use super::error::{CacheError, Key, io_at};
use crate::config::identity::hex;

/// One memory-mapped shard.
pub(super) struct Shard {
    pub(super) path: PathBuf,
    pub(super) map: Mmap,
    pub(super) rows: usize,
    pub(super) dim: usize,
    /// Byte offset of the features in `map`.
    pub(super) features_at: usize,
    pub(super) keys: Vec<Key>,
}

impl Shard {
    /// Maps and checks a shard: its bytes must hash to its name.
    pub(super) fn open(path: &Path) -> Result<Shard, CacheError> {
        let corrupt = |message: String| CacheError::Corrupt {
            path: path.to_owned(),
            message,
        };
        let file = File::open(path).map_err(io_at(path))?;
        // SAFETY: shards are never modified in place (written whole, then renamed), so the
        // mapping stays valid; a removed shard stays mapped until dropped.
        let map = unsafe { Mmap::map(&file) }.map_err(io_at(path))?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let actual = &hex(&Sha256::digest(&map[..]))[..32];
        if name != actual {
            return Err(corrupt(format!(
                "checksum mismatch (content hashes to {actual})"
            )));
        }
        let (header_len, _) =
            SafeTensors::read_metadata(&map).map_err(|e| corrupt(e.to_string()))?;
        let tensors = SafeTensors::deserialize(&map).map_err(|e| corrupt(e.to_string()))?;
        let keys_view = tensors.tensor("keys").map_err(|e| corrupt(e.to_string()))?;
        let features = tensors
            .tensor("features")
            .map_err(|e| corrupt(e.to_string()))?;
        let (rows, dim) = match (keys_view.shape(), features.shape(), features.dtype()) {
            ([r, 16], [r2, d], Dtype::F32) if r == r2 => (*r, *d),
            _ => return Err(corrupt("unexpected tensor shapes".into())),
        };
        let keys = keys_view
            .data()
            .chunks_exact(16)
            .map(|c| c.try_into().expect("16-byte chunks"))
            .collect();
        let features_at = features.data().as_ptr() as usize - map.as_ptr() as usize;
        debug_assert!(features_at >= 8 + header_len);
        Ok(Shard {
            path: path.to_owned(),
            rows,
            dim,
            features_at,
            keys,
            map,
        })
    }

    pub(super) fn row(&self, row: usize, out: &mut Vec<f32>) {
        let start = self.features_at + row * self.dim * 4;
        let bytes = &self.map[start..start + self.dim * 4];
        out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))),
        );
    }

    /// All rows, decoded.
    pub(super) fn all(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.rows * self.dim);
        for row in 0..self.rows {
            self.row(row, &mut out);
        }
        out
    }
}
