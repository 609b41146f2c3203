//! The store's folder: its blobs, checkpoint folders and manifests.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use super::error::{StoreError, io_at};
use super::manifest::{BLOBS, MANIFEST, Manifest, WEIGHTS_EXT};
use crate::nn::weights::content_name;
use crate::util::atomic;

/// A checkpoint store rooted at a folder (`checkpoints/`).
#[derive(Debug, Clone)]
pub struct Store {
    pub(super) root: PathBuf,
}

impl Store {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Store { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(super) fn blob_path(&self, name: &str) -> PathBuf {
        self.root.join(BLOBS).join(format!("{name}.{WEIGHTS_EXT}"))
    }

    /// Stores `bytes` under their content hash unless already there; returns the blob name.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let name = content_name(bytes);
        let path = self.blob_path(&name);
        if !path.exists() {
            atomic::write(&path, bytes).map_err(io_at(&path))?;
        }
        Ok(name)
    }

    /// Rewrites a checkpoint's manifest (to record metrics, say).
    pub fn write_manifest(&self, dir: &Path, manifest: &Manifest) -> Result<(), StoreError> {
        let path = self.checkpoint_path(dir)?.join(MANIFEST);
        let json = serde_json::to_vec_pretty(manifest).expect("manifests serialise");
        atomic::write(&path, &json).map_err(io_at(&path))
    }

    /// Reads a checkpoint's manifest; `dir` is relative to the root or a path to the folder.
    pub fn manifest(&self, dir: &Path) -> Result<Manifest, StoreError> {
        let path = self.resolve(dir).join(MANIFEST);
        let bytes = fs::read(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StoreError::NotACheckpoint(self.resolve(dir)),
            _ => StoreError::Io {
                path: path.clone(),
                error: e,
            },
        })?;
        serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
            path,
            message: e.to_string(),
        })
    }

    /// A checkpoint folder given relative to the root, or as a path that already includes it,
    /// or as a path to a checkpoint outside the store (an exported one, `./exported`).
    pub(super) fn resolve(&self, dir: &Path) -> PathBuf {
        let below_root = self.root.join(dir);
        let outside = !below_root.join(MANIFEST).is_file() && dir.join(MANIFEST).is_file();
        if dir.is_absolute() || dir.starts_with(&self.root) || outside {
            dir.to_owned()
        } else {
            below_root
        }
    }

    /// Checks that a new checkpoint folder stays inside the store (its links are relative).
    pub(super) fn checkpoint_path(&self, dir: &Path) -> Result<PathBuf, StoreError> {
        let inside = !dir.as_os_str().is_empty()
            && dir.components().all(|c| matches!(c, Component::Normal(_)))
            && !dir.starts_with(BLOBS);
        if inside {
            Ok(self.root.join(dir))
        } else {
            Err(StoreError::Corrupt {
                path: dir.to_owned(),
                message: "a checkpoint folder is a relative path inside the store".into(),
            })
        }
    }
}
