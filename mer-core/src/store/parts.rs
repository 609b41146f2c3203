//! Saving a network part by part (one blob per part, adapters apart) and loading it back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::backend::Backend;

use super::error::{StoreError, io_at};
use super::layout::Store;
use super::manifest::Manifest;
use super::manifest::{ADAPTERS, BLOBS, CONFIG, WEIGHTS_EXT};
use crate::architecture::{Architecture, PartMapper, PartVisitor, Role};
use crate::nn::lora;
use crate::nn::weights::{Tensors, load_base, load_tensors, part_bytes};
use crate::util::atomic;

impl Store {
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
                    .map_err(StoreError::from)
                    .and_then(|bytes| self.link(name.to_owned(), bytes))
                    .and_then(|()| {
                        if lora::adapters(module).is_empty() {
                            return Ok(());
                        }
                        let bytes = part_bytes(module, &path, Tensors::Adapters)
                            .map_err(StoreError::from)?;
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
                module: M,
            ) -> Result<M, StoreError> {
                let path = self.0.join(format!("{name}.{WEIGHTS_EXT}"));
                let module = load_base(module, &path)?;
                let adapters = self.0.join(format!("{name}.{ADAPTERS}.{WEIGHTS_EXT}"));
                if adapters.exists() {
                    return Ok(load_tensors(module, &adapters, Tensors::Adapters)?);
                }
                if let Some((layer, _)) = lora::adapters(&module).first() {
                    return Err(StoreError::Weights {
                        path: adapters,
                        message: format!("missing: the network has LoRA adapters ({layer}.lora)"),
                    });
                }
                Ok(module)
            }
        }
        let full = self.resolve(dir);
        self.manifest(dir)?;
        network.map_parts(&mut Loader(full))
    }
}
