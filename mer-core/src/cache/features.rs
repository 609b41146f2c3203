//! A split's features, gathered row by row from shards through the memory layer.

use std::sync::{Arc, Mutex};

use super::memory::MemoryLayer;
use super::shard::Shard;

/// The features of one split's inputs, in the order asked for.
pub struct Features {
    pub(super) dim: usize,
    pub(super) shards: Vec<Arc<Shard>>,
    /// (shard, row) per input.
    pub(super) locations: Vec<(usize, usize)>,
    pub(super) memory: Arc<Mutex<MemoryLayer>>,
}

impl Features {
    /// Width of a feature vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Inputs covered.
    pub fn len(&self) -> usize {
        self.locations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.locations.is_empty()
    }

    /// The features of inputs `indices`, row after row: [indices.len() × dim].
    pub fn gather(&self, indices: &[usize]) -> Vec<f32> {
        let mut out = Vec::with_capacity(indices.len() * self.dim);
        let mut memory = self.memory.lock().expect("memory layer lock");
        // The memory layer is asked once per run of rows from one shard, not once per row.
        let mut current: Option<(usize, Option<Arc<Vec<f32>>>)> = None;
        for &i in indices {
            let (s, row) = self.locations[i];
            let shard = &self.shards[s];
            if current.as_ref().is_none_or(|(c, _)| *c != s) {
                current = Some((s, memory.get(shard)));
            }
            match current.as_ref().and_then(|(_, all)| all.as_ref()) {
                Some(all) => out.extend_from_slice(&all[row * self.dim..(row + 1) * self.dim]),
                None => shard.row(row, &mut out),
            }
        }
        out
    }
}
