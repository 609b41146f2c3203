//! The cache at a folder: features of inputs by (encoder identity, split), computed once.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::digests::Digests;
use super::error::{CacheError, CacheStats, Key, io_at};
use super::features::Features;
use super::layout::{
    FEATURES, HITS, IDENTITY, INDEX, SHARD_EXT, append_line, shard_files, shard_infos,
};
use super::memory::MemoryLayer;
use super::shard::Shard;
use crate::config::identity::hex;
use crate::util::atomic;

/// What decides an encoder's output, and its hash (the cache folder's name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureIdentity {
    pub digest: String,
    /// The settings hashed, for people: weights digest, tokenizer digest, prompt, ….
    pub description: serde_json::Value,
}

impl FeatureIdentity {
    /// Hashes `description` (canonical JSON: keys sorted).
    pub fn new(description: serde_json::Value) -> Self {
        let canonical = serde_json::to_string(&description).expect("JSON serialises");
        let digest = hex(&Sha256::digest(canonical.as_bytes()))[..16].to_owned();
        FeatureIdentity {
            digest,
            description,
        }
    }
}

/// The feature cache at a folder.
pub struct FeatureCache {
    pub(super) root: PathBuf,
    pub(super) memory: Arc<Mutex<MemoryLayer>>,
    pub(super) stats: Mutex<CacheStats>,
    pub(super) digests: Digests,
}

/// The memory layer's default budget.
pub const DEFAULT_MEMORY_BUDGET: usize = 1 << 30;

impl FeatureCache {
    /// The cache at `root` (created on first write) with an in-memory layer of `memory_budget`
    /// bytes.
    pub fn new(root: impl Into<PathBuf>, memory_budget: usize) -> Self {
        FeatureCache {
            root: root.into(),
            memory: Arc::new(Mutex::new(MemoryLayer::new(memory_budget))),
            stats: Mutex::new(CacheStats::default()),
            digests: Digests::default(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The SHA-256 of a file, remembered by (path, size, mtime, inode) so it is computed once.
    pub fn file_digest(&self, path: &Path) -> Result<String, CacheError> {
        Ok(self.file_digests(&[path])?.remove(0))
    }

    /// [`FeatureCache::file_digest`] of many files: the memo is written once, and files it does
    /// not know are hashed on every core.
    pub fn file_digests<P: AsRef<Path> + Sync>(
        &self,
        paths: &[P],
    ) -> Result<Vec<String>, CacheError> {
        self.digests.of(&self.root, paths)
    }

    /// What this process has read and computed so far.
    pub fn stats(&self) -> CacheStats {
        *self.stats.lock().expect("stats lock")
    }

    pub(super) fn split_dir(&self, identity: &str, split: &str) -> PathBuf {
        self.root.join(FEATURES).join(identity).join(split)
    }

    /// The features of `keys` (one per input) for `identity` on `split`. Inputs not in the cache
    /// are computed by `compute` (given their indices into `keys`, it returns one row each) and
    /// written as one new shard.
    pub fn features<E: std::fmt::Display>(
        &self,
        identity: &FeatureIdentity,
        split: &str,
        keys: &[Key],
        compute: impl FnOnce(&[usize]) -> Result<Vec<Vec<f32>>, E>,
    ) -> Result<Features, CacheError> {
        let dir = self.split_dir(&identity.digest, split);
        let mut shards = self.open_shards(&dir)?;
        let mut found: HashMap<Key, (usize, usize)> = HashMap::new();
        for (s, shard) in shards.iter().enumerate() {
            for (row, key) in shard.keys.iter().enumerate() {
                found.entry(*key).or_insert((s, row));
            }
        }
        let missing: Vec<usize> = (0..keys.len())
            .filter(|&i| !found.contains_key(&keys[i]))
            .collect();
        // Repeated inputs are computed once.
        let mut unique: Vec<usize> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for &i in &missing {
            if seen.insert(keys[i]) {
                unique.push(i);
            }
        }
        if !unique.is_empty() {
            let rows = compute(&unique).map_err(|e| CacheError::Compute(e.to_string()))?;
            let shard_keys: Vec<Key> = unique.iter().map(|&i| keys[i]).collect();
            let path = self.write_shard(identity, &dir, &shard_keys, &rows)?;
            let shard = Shard::open(&path)?;
            let s = shards.len();
            for (row, key) in shard.keys.iter().enumerate() {
                found.insert(*key, (s, row));
            }
            shards.push(Arc::new(shard));
        }
        let dims: Vec<usize> = shards.iter().map(|s| s.dim).collect();
        let dim = dims.first().copied().unwrap_or(0);
        if let Some(other) = dims.iter().find(|&&d| d != dim) {
            return Err(CacheError::Corrupt {
                path: dir,
                message: format!("shards of widths {dim} and {other}"),
            });
        }
        let locations: Vec<(usize, usize)> = keys.iter().map(|k| found[k]).collect();
        let hits = keys.len() - missing.len();
        {
            let mut stats = self.stats.lock().expect("stats lock");
            stats.hits += hits;
            stats.computed += unique.len();
        }
        if !keys.is_empty() {
            // The use log is bookkeeping (`mer cache ls`): a complete cache on a read-only disk
            // still serves its features.
            let line = serde_json::json!({ "hits": hits, "computed": unique.len() }).to_string();
            if let Err(error) = append_line(&dir.join(HITS), &line) {
                eprintln!("warning: the feature cache's use is not recorded: {error}");
            }
        }
        Ok(Features {
            dim,
            shards,
            locations,
            memory: self.memory.clone(),
        })
    }

    /// Every valid shard of a split folder; bad ones are removed with a warning.
    fn open_shards(&self, dir: &Path) -> Result<Vec<Arc<Shard>>, CacheError> {
        let mut shards = Vec::new();
        for path in shard_files(dir)? {
            match Shard::open(&path) {
                Ok(shard) => shards.push(Arc::new(shard)),
                Err(CacheError::Io { error, .. }) if error.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    eprintln!("warning: {e}; removing the shard, its features will be recomputed");
                    let _ = fs::remove_file(&path);
                    self.stats.lock().expect("stats lock").recovered_shards += 1;
                }
            }
        }
        Ok(shards)
    }

    fn write_shard(
        &self,
        identity: &FeatureIdentity,
        dir: &Path,
        keys: &[Key],
        rows: &[Vec<f32>],
    ) -> Result<PathBuf, CacheError> {
        let dim = rows.first().map_or(0, Vec::len);
        if rows.len() != keys.len() || rows.iter().any(|r| r.len() != dim) {
            return Err(CacheError::Compute(format!(
                "{} rows of unequal width for {} inputs",
                rows.len(),
                keys.len()
            )));
        }
        fs::create_dir_all(dir).map_err(io_at(dir))?;
        let identity_path = dir
            .parent()
            .expect("split folder has a parent")
            .join(IDENTITY);
        if !identity_path.exists() {
            let json = serde_json::to_vec_pretty(identity).expect("identity serialises");
            atomic::write(&identity_path, &json).map_err(io_at(&identity_path))?;
        }
        let key_bytes: Vec<u8> = keys.iter().flatten().copied().collect();
        let feature_bytes: Vec<u8> = rows
            .iter()
            .flatten()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let views = [
            (
                "keys",
                TensorView::new(Dtype::U8, vec![keys.len(), 16], &key_bytes)
                    .expect("key bytes fit"),
            ),
            (
                "features",
                TensorView::new(Dtype::F32, vec![rows.len(), dim], &feature_bytes)
                    .expect("feature bytes fit"),
            ),
        ];
        let bytes = safetensors::serialize(views, None).map_err(|e| CacheError::Corrupt {
            path: dir.to_owned(),
            message: e.to_string(),
        })?;
        let name = &hex(&Sha256::digest(&bytes))[..32];
        let path = dir.join(format!("{name}.{SHARD_EXT}"));
        atomic::write(&path, &bytes).map_err(io_at(&path))?;
        self.write_index(dir)?;
        Ok(path)
    }

    /// Rewrites a split folder's index from the shards there.
    fn write_index(&self, dir: &Path) -> Result<(), CacheError> {
        let shards = shard_infos(dir)?;
        let json = serde_json::to_vec_pretty(&serde_json::json!({ "shards": shards }))
            .expect("index serialises");
        let path = dir.join(INDEX);
        atomic::write(&path, &json).map_err(io_at(&path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::key_of;

    fn identity(name: &str) -> FeatureIdentity {
        FeatureIdentity::new(serde_json::json!({ "encoder": name }))
    }

    /// Row `i` of `name`'s features: distinct values to check what comes back.
    fn rows(name: &str, keys: &[usize]) -> Vec<Vec<f32>> {
        let base = name.len() as f32 * 1000.0;
        keys.iter()
            .map(|&i| (0..8).map(|j| base + i as f32 + j as f32 / 10.0).collect())
            .collect()
    }

    #[test]
    fn the_memory_layer_keeps_to_its_budget_and_reads_fall_back_to_the_maps() {
        let tmp = tempfile::tempdir().unwrap();
        // 100 rows × 8 floats = 3,200 bytes per shard: room for one shard, not two.
        let cache = FeatureCache::new(tmp.path(), 4000);
        let keys: Vec<Key> = (0..100u32).map(|i| key_of(&i.to_le_bytes())).collect();
        let a = cache
            .features(&identity("a"), "train", &keys, |idx| {
                Ok::<_, CacheError>(rows("a", idx))
            })
            .unwrap();
        let bb = cache
            .features(&identity("bb"), "train", &keys, |idx| {
                Ok::<_, CacheError>(rows("bb", idx))
            })
            .unwrap();
        for round in 0..3 {
            for (features, name) in [(&a, "a"), (&bb, "bb")] {
                let got = features.gather(&[7, 99, round]);
                let want: Vec<f32> = rows(name, &[7, 99, round]).concat();
                assert_eq!(got, want);
                let used = cache.memory.lock().unwrap().used;
                assert!(used <= 4000, "{used} bytes held");
            }
        }
        // No budget at all: every read comes from the memory maps.
        let none = FeatureCache::new(tmp.path(), 0);
        let again = none
            .features(&identity("a"), "train", &keys, |_| {
                Err::<Vec<Vec<f32>>, _>(CacheError::Compute("nothing to compute".into()))
            })
            .unwrap();
        assert_eq!(again.gather(&[3]), rows("a", &[3]).concat());
        assert_eq!(none.memory.lock().unwrap().used, 0);
        assert_eq!(none.stats().hits, 100);
    }

    #[test]
    fn a_complete_cache_serves_its_features_where_its_use_cannot_be_recorded() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = FeatureCache::new(tmp.path(), 1 << 20);
        let keys: Vec<Key> = (0..10u32).map(|i| key_of(&i.to_le_bytes())).collect();
        let compute = |idx: &[usize]| Ok::<_, CacheError>(rows("a", idx));
        cache
            .features(&identity("a"), "train", &keys, compute)
            .unwrap();
        // The use log cannot be appended to (as on a read-only disk; tests run as root, whom
        // permissions do not stop, so the log is made a folder).
        let log = cache.split_dir(&identity("a").digest, "train").join(HITS);
        std::fs::remove_file(&log).unwrap();
        std::fs::create_dir(&log).unwrap();
        let again = cache
            .features(&identity("a"), "train", &keys, |_| {
                Err::<Vec<Vec<f32>>, _>(CacheError::Compute("nothing to compute".into()))
            })
            .unwrap();
        assert_eq!(again.gather(&[4]), rows("a", &[4]).concat());
    }
}
