//! Listing checkpoints, collecting unreferenced blobs, and exporting a self-contained copy.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::error::{StoreError, io_at};
use super::layout::Store;
use super::manifest::{BLOBS, MANIFEST, WEIGHTS_EXT};
use super::manifest::{CheckpointEntry, GcReport};
use crate::nn::weights::read_weight_file;
use crate::util::atomic;

/// The checkpoints of a store, and the errors of those that could not be read.
#[derive(Debug, Default)]
pub struct Listing {
    pub entries: Vec<CheckpointEntry>,
    /// One per checkpoint whose manifest is missing its fields or not JSON; each names the file.
    pub unreadable: Vec<StoreError>,
}

impl Store {
    /// Every checkpoint in the store, by path. A checkpoint whose manifest cannot be read is
    /// set aside with its error: one corrupt `checkpoint.json` hides only its own checkpoint.
    pub fn list(&self) -> Result<Listing, StoreError> {
        let mut manifests = Vec::new();
        self.walk(&self.root, &mut |path, file_type| {
            if file_type.is_file() && path.file_name() == Some(MANIFEST.as_ref()) {
                manifests.push(path.parent().expect("in a folder").to_owned());
            }
        })?;
        manifests.sort();
        let mut listing = Listing::default();
        for dir in manifests {
            let relative = dir.strip_prefix(&self.root).unwrap_or(&dir).to_owned();
            match self.manifest(&relative) {
                Ok(manifest) => listing.entries.push(CheckpointEntry {
                    manifest,
                    dir: relative,
                }),
                Err(error) => listing.unreadable.push(error),
            }
        }
        Ok(listing)
    }

    /// Reads every blob and checks its bytes against its name: the blobs that no longer match,
    /// each as the error loading it would give.
    pub fn verify(&self) -> Result<Vec<StoreError>, StoreError> {
        let mut corrupt: Vec<StoreError> = self
            .blobs()?
            .into_iter()
            .filter_map(|(path, _)| read_weight_file(&path).err().map(StoreError::from))
            .collect();
        corrupt.sort_by_key(|e| e.to_string());
        Ok(corrupt)
    }

    /// Removes blobs no checkpoint links to, and nothing else.
    pub fn gc(&self) -> Result<GcReport, StoreError> {
        let blobs = self.blobs()?;
        let mut referenced = BTreeSet::new();
        self.walk(&self.root, &mut |path, file_type| {
            if file_type.is_symlink()
                && let Ok(target) = fs::read_link(path)
                && let Some(blob) = blob_name_of(&target)
            {
                referenced.insert(blob);
            }
        })?;
        let mut report = GcReport::default();
        for (path, blob) in blobs {
            if referenced.contains(&blob) {
                report.kept += 1;
            } else {
                let size = fs::metadata(&path).map_err(io_at(&path))?.len();
                fs::remove_file(&path).map_err(io_at(&path))?;
                report.freed_bytes += size;
                report.removed.push(blob);
            }
        }
        report.removed.sort();
        Ok(report)
    }

    /// Writes a self-contained copy of a checkpoint to `dest` (links resolved into files).
    /// `dest` must not exist; it appears whole or not at all.
    pub fn export(&self, dir: &Path, dest: &Path) -> Result<(), StoreError> {
        let source = self.resolve(dir);
        let manifest = self.manifest(dir)?;
        if dest.exists() {
            return Err(StoreError::Exists(dest.to_owned()));
        }
        let staging = dest.with_file_name(format!(
            ".{}.tmp-{}",
            dest.file_name()
                .map_or("export".into(), |n| n.to_string_lossy()),
            std::process::id()
        ));
        let result = (|| {
            fs::create_dir_all(&staging).map_err(io_at(&staging))?;
            for entry in fs::read_dir(&source).map_err(io_at(&source))? {
                let entry = entry.map_err(io_at(&source))?;
                let from = entry.path();
                let to = staging.join(entry.file_name());
                let kind = entry.file_type().map_err(io_at(&from))?;
                if kind.is_symlink() && fs::metadata(&from).is_ok_and(|m| m.is_dir()) {
                    // The link to the training state (`state`) is not part of an export.
                    continue;
                }
                if kind.is_symlink() {
                    // A weight file: its blob's bytes, checked against the blob's name.
                    self.check_blob_link(&from)?;
                    let bytes = read_weight_file(&from)?;
                    fs::write(&to, bytes).map_err(io_at(&to))?;
                } else if kind.is_file() {
                    fs::copy(&from, &to).map_err(io_at(&from))?;
                }
                // Training state (`state-N/`, `epochs/`) is not part of an export.
            }
            for part in manifest.parts.keys() {
                let file = format!("{part}.{WEIGHTS_EXT}");
                if !staging.join(&file).exists() {
                    return Err(StoreError::Corrupt {
                        path: source.join(&file),
                        message: format!(
                            "missing weight file of part `{part}`, which {MANIFEST} lists"
                        ),
                    });
                }
            }
            fs::rename(&staging, dest).map_err(io_at(dest))
        })();
        if result.is_err() {
            let _ = fs::remove_dir_all(&staging);
        }
        result
    }

    /// Every finished blob of the store: its path and name (temporary files of a write under
    /// way are left out).
    fn blobs(&self) -> Result<Vec<(PathBuf, String)>, StoreError> {
        let blobs_dir = self.blobs_dir()?;
        let entries = match fs::read_dir(&blobs_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_at(&blobs_dir)(e)),
        };
        let mut blobs = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_at(&blobs_dir))?;
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if atomic::is_temp(&file_name) {
                continue;
            }
            if let Some(blob) = file_name.strip_suffix(&format!(".{WEIGHTS_EXT}")) {
                blobs.push((entry.path(), blob.to_owned()));
            }
        }
        Ok(blobs)
    }

    /// The store's blobs folder, which must be a folder of the store: were it a link, `gc`
    /// would delete weight files elsewhere.
    fn blobs_dir(&self) -> Result<PathBuf, StoreError> {
        let dir = self.root.join(BLOBS);
        match fs::symlink_metadata(&dir) {
            Ok(meta) if meta.file_type().is_symlink() => Err(StoreError::Corrupt {
                path: dir,
                message: "is a link; a store's blobs must be a folder inside it: refused".into(),
            }),
            _ => Ok(dir),
        }
    }

    /// A link in a checkpoint folder must point at a blob of this store: anything else (a link
    /// to `/etc/passwd`, to another store) is refused rather than followed.
    fn check_blob_link(&self, link: &Path) -> Result<(), StoreError> {
        let blobs = fs::canonicalize(self.root.join(BLOBS)).map_err(io_at(&self.root))?;
        let target = fs::canonicalize(link).map_err(|e| StoreError::Corrupt {
            path: link.to_owned(),
            message: format!("missing weight file: the blob it links to cannot be read ({e})"),
        })?;
        if target.parent() == Some(blobs.as_path()) {
            return Ok(());
        }
        Err(StoreError::Corrupt {
            path: link.to_owned(),
            message: format!(
                "links to {}, outside the store's {BLOBS}/: refused",
                target.display()
            ),
        })
    }

    /// Visits every file and link below `dir` without following links, skipping the blobs.
    fn walk(
        &self,
        dir: &Path,
        visit: &mut dyn FnMut(&Path, fs::FileType),
    ) -> Result<(), StoreError> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_at(dir)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io_at(dir))?;
            let path = entry.path();
            let file_type = entry.file_type().map_err(io_at(&path))?;
            if file_type.is_dir() {
                if path != self.root.join(BLOBS) {
                    self.walk(&path, visit)?;
                }
            } else {
                visit(&path, file_type);
            }
        }
        Ok(())
    }
}

/// The blob a link target names (`../../blobs/<name>.safetensors` → `<name>`).
fn blob_name_of(target: &Path) -> Option<String> {
    let mut components = target.components().rev();
    let file = components.next()?.as_os_str().to_str()?;
    let folder = components.next()?.as_os_str();
    (folder == BLOBS)
        .then(|| file.strip_suffix(&format!(".{WEIGHTS_EXT}")))
        .flatten()
        .map(str::to_owned)
}
