//! Recently used shards' features kept in memory, up to a byte budget.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use super::shard::Shard;

/// Recently used shards' features in memory, up to a byte budget; least recently used first out.
pub(super) struct MemoryLayer {
    pub(super) budget: usize,
    pub(super) used: usize,
    pub(super) entries: HashMap<PathBuf, Arc<Vec<f32>>>,
    pub(super) order: VecDeque<PathBuf>,
}

impl MemoryLayer {
    pub(super) fn new(budget: usize) -> Self {
        MemoryLayer {
            budget,
            used: 0,
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    pub(super) fn get(&mut self, shard: &Shard) -> Option<Arc<Vec<f32>>> {
        if let Some(found) = self.entries.get(&shard.path).cloned() {
            self.order.retain(|p| p != &shard.path);
            self.order.push_back(shard.path.clone());
            return Some(found);
        }
        let size = shard.rows * shard.dim * 4;
        if size > self.budget {
            return None;
        }
        while self.used + size > self.budget {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(evicted) = self.entries.remove(&old) {
                self.used -= evicted.len() * 4;
            }
        }
        let features = Arc::new(shard.all());
        self.used += size;
        self.entries.insert(shard.path.clone(), features.clone());
        self.order.push_back(shard.path.clone());
        Some(features)
    }
}
