//! A `model.safetensors` read into memory, tensors converted to f32 on request.

use std::path::{Path, PathBuf};

use safetensors::tensor::{Metadata, TensorInfo};
use safetensors::{Dtype, SafeTensors};

use super::table::NamesError;

/// A tensor's f32 values and its shape.
pub type Values = (Vec<f32>, Vec<usize>);

/// A `model.safetensors` read whole, its header parsed once, with its names as written.
pub struct Checkpoint {
    path: PathBuf,
    bytes: Vec<u8>,
    /// Where the tensor data starts: after the 8-byte length and the header.
    data_start: usize,
    metadata: Metadata,
}

impl Checkpoint {
    pub fn read(path: &Path) -> Result<Self, NamesError> {
        let bytes = std::fs::read(path).map_err(|error| NamesError::Read {
            path: path.to_owned(),
            error,
        })?;
        let bad = |message: String| NamesError::Weights {
            path: path.to_owned(),
            message,
        };
        let (header, metadata) = SafeTensors::read_metadata(&bytes)
            .map_err(|e| bad(format!("not a safetensors file: {e}")))?;
        let data_start = 8 + header;
        if let Some((name, info)) = metadata
            .tensors()
            .into_iter()
            .find(|(_, info)| data_start + info.data_offsets.1 > bytes.len())
        {
            return Err(bad(format!(
                "{name}: {:?} lies past the end of the file",
                info.data_offsets
            )));
        }
        Ok(Checkpoint {
            path: path.to_owned(),
            bytes,
            data_start,
            metadata,
        })
    }

    pub(super) fn bad(&self, message: String) -> NamesError {
        NamesError::Weights {
            path: self.path.clone(),
            message,
        }
    }

    /// Every tensor name in the file.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.metadata.tensors().into_keys().collect();
        names.sort();
        names
    }

    fn info(&self, name: &str) -> Result<&TensorInfo, NamesError> {
        self.metadata
            .info(name)
            .ok_or_else(|| self.bad(format!("no tensor {name}")))
    }

    /// Tensor `name`'s shape.
    pub fn shape(&self, name: &str) -> Result<Vec<usize>, NamesError> {
        Ok(self.info(name)?.shape.clone())
    }

    /// Tensor `name` as f32 values and its shape.
    pub fn get(&self, name: &str) -> Result<Option<Values>, NamesError> {
        let Some(info) = self.metadata.info(name) else {
            return Ok(None);
        };
        let (start, end) = info.data_offsets;
        let data = &self.bytes[self.data_start + start..self.data_start + end];
        let values: Vec<f32> = match info.dtype {
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
        Ok(Some((values, info.shape.clone())))
    }
}
