//! A module's tensors as safetensors bytes: what the store writes as blobs and what names a
//! randomly initialised encoder in the feature cache.

use std::path::{Path, PathBuf};
use std::{fs, io};

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor};
use burn_store::{ModuleSnapshot, SafetensorsStore};
use sha2::{Digest, Sha256};

use super::lora;
use crate::config::identity::hex;

/// Hex digits of a content name: the first 128 bits of the SHA-256 of a file's bytes.
pub const CONTENT_NAME_LEN: usize = 32;

/// The folder whose weight files are named by their content ([`content_name`]).
pub const CONTENT_NAMED_DIR: &str = "blobs";

/// The name of `bytes` by their content: the start of their SHA-256, in hex.
pub fn content_name(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))[..CONTENT_NAME_LEN].to_owned()
}

/// The bytes of the weight file at `path` (a link is followed). A file in a store's blobs
/// folder is named by its content: bytes that no longer match the name (a disk error, an
/// edit) are refused, checked in the same pass that reads them.
pub fn read_weight_file(path: &Path) -> Result<Vec<u8>, WeightsError> {
    let error = |message: String| WeightsError {
        path: path.to_owned(),
        message,
        corrupt: false,
    };
    let bytes = fs::read(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => error("missing weight file".into()),
        _ => error(e.to_string()),
    })?;
    let target = fs::canonicalize(path).map_err(|e| error(e.to_string()))?;
    let in_blobs = target
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == CONTENT_NAMED_DIR);
    let expected = target.file_stem().and_then(|s| s.to_str()).filter(|stem| {
        in_blobs && stem.len() == CONTENT_NAME_LEN && stem.bytes().all(|b| b.is_ascii_hexdigit())
    });
    if let Some(expected) = expected {
        let actual = content_name(&bytes);
        if actual != expected {
            return Err(WeightsError {
                corrupt: true,
                ..error(format!(
                    "corrupt: {} holds bytes whose digest is {actual}, not its name; the file was \
                 changed after it was stored (retrain, or restore it from a copy)",
                    target.display()
                ))
            });
        }
    }
    Ok(bytes)
}

/// A module's tensors could not be written or read as safetensors.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct WeightsError {
    pub path: PathBuf,
    pub message: String,
    /// The file's bytes no longer match the content name it is stored under.
    pub corrupt: bool,
}

/// Which of a part's tensors a blob holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tensors {
    /// Everything but LoRA adapters.
    Base,
    /// LoRA adapters only.
    Adapters,
}

impl Tensors {
    /// Whether the tensor at `path` is one of these.
    fn holds(self, path: &str) -> bool {
        lora::is_adapter_path(path) == (self == Tensors::Adapters)
    }

    /// [`Tensors::holds`] as burn-store's filters take it (a function, not a closure).
    fn filter(self) -> fn(&str, &str) -> bool {
        match self {
            Tensors::Base => |path, _| Tensors::Base.holds(path),
            Tensors::Adapters => |path, _| Tensors::Adapters.holds(path),
        }
    }
}

/// A module's tensors as safetensors bytes. Without metadata the bytes depend on the tensors
/// alone, so equal weights make equal blobs.
pub fn module_bytes<B: Backend, M: Module<B>>(
    module: &M,
    path_for_errors: &Path,
) -> Result<Vec<u8>, WeightsError> {
    part_bytes(module, path_for_errors, Tensors::Base)
}

/// [`module_bytes`] for the base tensors or the adapters of a part.
pub fn part_bytes<B: Backend, M: Module<B>>(
    module: &M,
    path_for_errors: &Path,
    which: Tensors,
) -> Result<Vec<u8>, WeightsError> {
    let weights_error = |message: String| WeightsError {
        path: path_for_errors.to_owned(),
        message,
        corrupt: false,
    };
    let mut store = SafetensorsStore::from_bytes(None)
        .clear_metadata()
        .with_predicate(which.filter());
    module
        .save_into(&mut store)
        .map_err(|e| weights_error(e.to_string()))?;
    store.get_bytes().map_err(|e| weights_error(e.to_string()))
}

/// How many weights `module` will hold, read from its parameters' shapes without drawing them
/// (Burn draws a parameter on first use).
pub fn lazy_parameters<B: Backend, M: Module<B>>(module: &M) -> u128 {
    struct Count(u128);
    impl<B: Backend> ModuleVisitor<B> for Count {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let shape = param.lazy_shape();
            let n = shape
                .iter()
                .fold(1u128, |n, &d| n.saturating_mul(d as u128));
            self.0 = self.0.saturating_add(n);
        }
    }
    let mut count = Count(0);
    module.visit(&mut count);
    count.0
}

/// `module`, if its weights fit in this machine's memory: checked before any is drawn, so an
/// impossible width is an error, not an allocation failure.
pub fn fits_in_memory<B: Backend, M: Module<B>>(module: M) -> Result<M, String> {
    crate::config::checks::fits_in_memory("", lazy_parameters(&module))
        .map(|()| module)
        .map_err(|problem| problem.message)
}

/// Initialises every lazily initialised parameter of `module` now.
///
/// Burn draws a parameter's initial value on first use, and a clone of a not-yet-used module
/// draws its own: two "copies" of one encoder would hold different weights. Generated `init`
/// calls this so that a network, once built, has its weights.
pub fn materialize<B: Backend, M: Module<B>>(module: &M) {
    struct Touch;
    impl<B: Backend> ModuleVisitor<B> for Touch {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let _ = param.val();
        }
        fn visit_int<const D: usize>(&mut self, param: &Param<Tensor<B, D, Int>>) {
            let _ = param.val();
        }
        fn visit_bool<const D: usize>(&mut self, param: &Param<Tensor<B, D, Bool>>) {
            let _ = param.val();
        }
    }
    module.visit(&mut Touch);
}

/// Loads the base tensors (everything but LoRA adapters) of the safetensors file at `path` into
/// `module`; a tensor the module has and the file lacks, or one of another shape, is an error
/// naming it.
pub fn load_base<B: Backend, M: Module<B>>(module: M, path: &Path) -> Result<M, WeightsError> {
    load_tensors(module, path, Tensors::Base)
}

/// Loads `which` tensors of the safetensors file at `path` into `module`, every one of them the
/// module has: one missing or of another shape is an error naming it.
pub fn load_tensors<B: Backend, M: Module<B>>(
    mut module: M,
    path: &Path,
    which: Tensors,
) -> Result<M, WeightsError> {
    let error = |message: String| WeightsError {
        path: path.to_owned(),
        message,
        corrupt: false,
    };
    let bytes = read_weight_file(path)?;
    let mut store = SafetensorsStore::from_bytes(Some(bytes))
        .with_predicate(which.filter())
        .allow_partial(true);
    let result = module
        .load_from(&mut store)
        .map_err(|e| error(format!("does not fit the network: {e}")))?;
    let missing: Vec<String> = result
        .missing
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| which.holds(name))
        .collect();
    if !missing.is_empty() || !result.errors.is_empty() {
        return Err(error(format!(
            "does not fit the network: missing {missing:?}, errors {:?}",
            result.errors
        )));
    }
    Ok(module)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::LinearConfig;
    use burn::backend::NdArray;

    type B = NdArray<f32>;

    #[test]
    fn loading_copies_tensors_exactly_and_refuses_other_shapes() {
        let device = Default::default();
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("linear.safetensors");
        let source = LinearConfig::new(4, 3).init::<B>(&device);
        let bytes = module_bytes(&source, &path).unwrap();
        std::fs::write(&path, &bytes).unwrap();

        let same = load_base(LinearConfig::new(4, 3).init::<B>(&device), &path).unwrap();
        assert_eq!(module_bytes(&same, &path).unwrap(), bytes);

        let other = load_base(LinearConfig::new(4, 2).init::<B>(&device), &path).unwrap_err();
        assert!(
            other.message.contains("does not fit") && other.message.contains("ShapeMismatch"),
            "{other}"
        );
        let missing = load_base(same, &tmp.path().join("absent.safetensors")).unwrap_err();
        assert!(missing.message.contains("missing weight file"), "{missing}");
    }
}
