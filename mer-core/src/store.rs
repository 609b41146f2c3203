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

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn_store::{ModuleSnapshot, SafetensorsStore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::architecture::{Architecture, PartMapper, PartVisitor, Role};
use crate::atomic;
use crate::identity::hex;
use crate::lora;

const BLOBS: &str = "blobs";
const MANIFEST: &str = "checkpoint.json";
const CONFIG: &str = "config.toml";
const WEIGHTS_EXT: &str = "safetensors";
/// A part's LoRA adapters are saved beside it as `{part}.lora.safetensors`.
const ADAPTERS: &str = "lora";
/// Hex digits of SHA-256 that name a blob: 128 bits, collision-free in practice.
const BLOB_NAME_LEN: usize = 32;

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

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |error| StoreError::Io {
        path: path.to_owned(),
        error,
    }
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

/// A checkpoint store rooted at a folder (`checkpoints/`).
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Store { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn blob_path(&self, name: &str) -> PathBuf {
        self.root.join(BLOBS).join(format!("{name}.{WEIGHTS_EXT}"))
    }

    /// Stores `bytes` under their content hash unless already there; returns the blob name.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let name = hex(&Sha256::digest(bytes))[..BLOB_NAME_LEN].to_owned();
        let path = self.blob_path(&name);
        if !path.exists() {
            atomic::write(&path, bytes).map_err(io_at(&path))?;
        }
        Ok(name)
    }

    /// Saves `network` as a checkpoint in `dir` (relative to the root): one weight file per part,
    /// the resolved config, and the manifest last.
    pub fn save<B: Backend, A: Architecture<B>>(
        &self,
        dir: &Path,
        network: &A,
        config_toml: &str,
        mut manifest: Manifest,
    ) -> Result<PathBuf, StoreError> {
        let full = self.checkpoint_path(dir)?;
        struct Saver<'a> {
            store: &'a Store,
            dir: &'a Path,
            depth: usize,
            parts: BTreeMap<String, String>,
            error: Option<StoreError>,
        }
        impl Saver<'_> {
            /// Puts `bytes` in the blob store and links `{file}` to it.
            fn link(&mut self, file: String, bytes: Vec<u8>) -> Result<(), StoreError> {
                let link = self.dir.join(format!("{file}.{WEIGHTS_EXT}"));
                let blob = self.store.put_blob(&bytes)?;
                let target = Path::new(&"../".repeat(self.depth))
                    .join(BLOBS)
                    .join(format!("{blob}.{WEIGHTS_EXT}"));
                atomic::symlink(&target, &link).map_err(io_at(&link))?;
                self.parts.insert(file, blob);
                Ok(())
            }
        }
        impl<B: Backend> PartVisitor<B> for Saver<'_> {
            fn part<M: Module<B>>(&mut self, name: &'static str, _: Role, module: &M) {
                if self.error.is_some() {
                    return;
                }
                // LoRA adapters go to a blob of their own, so a frozen base is stored once.
                let path = self.dir.join(format!("{name}.{WEIGHTS_EXT}"));
                let result = part_bytes(module, &path, Tensors::Base)
                    .and_then(|bytes| self.link(name.to_owned(), bytes))
                    .and_then(|()| {
                        if lora::adapters(module).is_empty() {
                            return Ok(());
                        }
                        let bytes = part_bytes(module, &path, Tensors::Adapters)?;
                        self.link(format!("{name}.{ADAPTERS}"), bytes)
                    });
                if let Err(e) = result {
                    self.error = Some(e);
                }
            }
        }
        let mut saver = Saver {
            store: self,
            dir: &full,
            depth: dir.components().count(),
            parts: BTreeMap::new(),
            error: None,
        };
        network.visit_parts(&mut saver);
        if let Some(e) = saver.error {
            return Err(e);
        }
        manifest.parts = saver.parts;
        let config_path = full.join(CONFIG);
        atomic::write(&config_path, config_toml.as_bytes()).map_err(io_at(&config_path))?;
        self.write_manifest(dir, &manifest)?;
        Ok(full)
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

    /// Loads a checkpoint's weights into `network`, part by part.
    pub fn load<B: Backend, A: Architecture<B>>(
        &self,
        dir: &Path,
        network: A,
    ) -> Result<A, StoreError> {
        struct Loader(PathBuf);
        impl<B: Backend> PartMapper<B> for Loader {
            type Error = StoreError;
            fn part<M: Module<B>>(
                &mut self,
                name: &'static str,
                _: Role,
                mut module: M,
            ) -> Result<M, StoreError> {
                let path = self.0.join(format!("{name}.{WEIGHTS_EXT}"));
                let weights_error = |message: String| StoreError::Weights {
                    path: path.clone(),
                    message,
                };
                if !path.exists() {
                    return Err(weights_error("missing weight file".into()));
                }
                let mut store = SafetensorsStore::from_file(&path)
                    .with_predicate(|path, _| !lora::is_adapter_path(path))
                    .allow_partial(true);
                let result = module
                    .load_from(&mut store)
                    .map_err(|e| weights_error(e.to_string()))?;
                let mut missing: Vec<String> = result
                    .missing
                    .into_iter()
                    .map(|(name, _)| name)
                    .filter(|name| !lora::is_adapter_path(name))
                    .collect();
                let mut errors = result.errors;
                let adapters = self.0.join(format!("{name}.{ADAPTERS}.{WEIGHTS_EXT}"));
                if adapters.exists() {
                    let mut store = SafetensorsStore::from_file(&adapters)
                        .with_predicate(|path, _| lora::is_adapter_path(path))
                        .allow_partial(true);
                    let result = module
                        .load_from(&mut store)
                        .map_err(|e| weights_error(e.to_string()))?;
                    missing.extend(
                        result
                            .missing
                            .into_iter()
                            .map(|(name, _)| name)
                            .filter(|name| lora::is_adapter_path(name)),
                    );
                    errors.extend(result.errors);
                } else if let Some((layer, _)) = lora::adapters(&module).first() {
                    missing.push(format!("{layer}.lora (no {name}.{ADAPTERS}.{WEIGHTS_EXT})"));
                }
                if !missing.is_empty() || !errors.is_empty() {
                    return Err(weights_error(format!(
                        "does not fit the network: missing {missing:?}, errors {errors:?}"
                    )));
                }
                Ok(module)
            }
        }
        let full = self.resolve(dir);
        self.manifest(dir)?;
        network.map_parts(&mut Loader(full))
    }

    /// Every checkpoint in the store, by path.
    pub fn list(&self) -> Result<Vec<CheckpointEntry>, StoreError> {
        let mut manifests = Vec::new();
        self.walk(&self.root, &mut |path, file_type| {
            if file_type.is_file() && path.file_name() == Some(MANIFEST.as_ref()) {
                manifests.push(path.parent().expect("in a folder").to_owned());
            }
        })?;
        manifests.sort();
        manifests
            .into_iter()
            .map(|dir| {
                let relative = dir.strip_prefix(&self.root).unwrap_or(&dir).to_owned();
                Ok(CheckpointEntry {
                    manifest: self.manifest(&relative)?,
                    dir: relative,
                })
            })
            .collect()
    }

    /// Removes blobs no checkpoint links to, and nothing else.
    pub fn gc(&self) -> Result<GcReport, StoreError> {
        let blobs_dir = self.root.join(BLOBS);
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
        let entries = match fs::read_dir(&blobs_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(report),
            Err(e) => return Err(io_at(&blobs_dir)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io_at(&blobs_dir))?;
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let Some(blob) = file_name.strip_suffix(&format!(".{WEIGHTS_EXT}")) else {
                continue;
            };
            if atomic::is_temp(&file_name) {
                continue;
            }
            if referenced.contains(blob) {
                report.kept += 1;
            } else {
                let path = entry.path();
                let size = entry.metadata().map_err(io_at(&path))?.len();
                fs::remove_file(&path).map_err(io_at(&path))?;
                report.freed_bytes += size;
                report.removed.push(blob.to_owned());
            }
        }
        report.removed.sort();
        Ok(report)
    }

    /// Writes a self-contained copy of a checkpoint to `dest` (links resolved into files).
    /// `dest` must not exist; it appears whole or not at all.
    pub fn export(&self, dir: &Path, dest: &Path) -> Result<(), StoreError> {
        let source = self.resolve(dir);
        self.manifest(dir)?;
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
                // Training state (`state-N/`, `epochs/`) is not part of an export.
                if !fs::metadata(&from).is_ok_and(|m| m.is_file()) {
                    continue;
                }
                // fs::copy follows the symlink: the export holds the bytes.
                let to = staging.join(entry.file_name());
                fs::copy(&from, &to).map_err(io_at(&from))?;
            }
            fs::rename(&staging, dest).map_err(io_at(dest))
        })();
        if result.is_err() {
            let _ = fs::remove_dir_all(&staging);
        }
        result
    }

    /// A checkpoint folder given relative to the root, or as a path that already includes it.
    fn resolve(&self, dir: &Path) -> PathBuf {
        if dir.is_absolute() || dir.starts_with(&self.root) {
            dir.to_owned()
        } else {
            self.root.join(dir)
        }
    }

    /// Checks that a new checkpoint folder stays inside the store (its links are relative).
    fn checkpoint_path(&self, dir: &Path) -> Result<PathBuf, StoreError> {
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

/// Which of a part's tensors a blob holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tensors {
    /// Everything but LoRA adapters.
    Base,
    /// LoRA adapters only.
    Adapters,
}

/// A module's tensors as safetensors bytes. Without metadata the bytes depend on the tensors
/// alone, so equal weights make equal blobs.
pub fn module_bytes<B: Backend, M: Module<B>>(
    module: &M,
    path_for_errors: &Path,
) -> Result<Vec<u8>, StoreError> {
    part_bytes(module, path_for_errors, Tensors::Base)
}

/// [`module_bytes`] for the base tensors or the adapters of a part.
pub fn part_bytes<B: Backend, M: Module<B>>(
    module: &M,
    path_for_errors: &Path,
    which: Tensors,
) -> Result<Vec<u8>, StoreError> {
    let weights_error = |message: String| StoreError::Weights {
        path: path_for_errors.to_owned(),
        message,
    };
    let store = SafetensorsStore::from_bytes(None).clear_metadata();
    let mut store = match which {
        Tensors::Base => store.with_predicate(|path, _| !lora::is_adapter_path(path)),
        Tensors::Adapters => store.with_predicate(|path, _| lora::is_adapter_path(path)),
    };
    module
        .save_into(&mut store)
        .map_err(|e| weights_error(e.to_string()))?;
    store.get_bytes().map_err(|e| weights_error(e.to_string()))
}
