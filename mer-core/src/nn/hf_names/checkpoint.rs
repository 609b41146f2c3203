//! A `model.safetensors` read into memory, tensors converted to f32 on request.

use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};

use super::table::NamesError;

/// A tensor's f32 values and its shape.
pub type Values = (Vec<f32>, Vec<usize>);

/// A `model.safetensors` read whole, with its names as written.
pub struct Checkpoint {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl Checkpoint {
    pub fn read(path: &Path) -> Result<Self, NamesError> {
        let bytes = std::fs::read(path).map_err(|error| NamesError::Read {
            path: path.to_owned(),
            error,
        })?;
        let checkpoint = Checkpoint {
            path: path.to_owned(),
            bytes,
        };
        checkpoint.tensors()?;
        Ok(checkpoint)
    }

    pub(super) fn bad(&self, message: String) -> NamesError {
        NamesError::Weights {
            path: self.path.clone(),
            message,
        }
    }

    fn tensors(&self) -> Result<SafeTensors<'_>, NamesError> {
        SafeTensors::deserialize(&self.bytes)
            .map_err(|e| self.bad(format!("not a safetensors file: {e}")))
    }

    /// Every tensor name in the file.
    pub fn names(&self) -> Result<Vec<String>, NamesError> {
        let mut names: Vec<String> = self
            .tensors()?
            .names()
            .into_iter()
            .map(str::to_owned)
            .collect();
        names.sort();
        Ok(names)
    }

    /// Tensor `name`'s shape.
    pub fn shape(&self, name: &str) -> Result<Vec<usize>, NamesError> {
        let tensors = self.tensors()?;
        let view = tensors
            .tensor(name)
            .map_err(|e| self.bad(format!("{name}: {e}")))?;
        Ok(view.shape().to_vec())
    }

    /// Tensor `name` as f32 values and its shape.
    pub fn get(&self, name: &str) -> Result<Option<Values>, NamesError> {
        let tensors = self.tensors()?;
        let Ok(view) = tensors.tensor(name) else {
            return Ok(None);
        };
        let data = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => data
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => data
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => return Err(self.bad(format!("{name}: {other:?} tensors are not weights"))),
        };
        Ok(Some((values, view.shape().to_vec())))
    }
}
