//! What `mer cache ls | verify | prune` see and do: every (identity, split) with its shards, sizes
//! and hit counts; checksums; removal of identities nothing uses.

use std::fs;
use std::path::PathBuf;

use super::error::{CacheError, io_at};
use super::feature_cache::{FeatureCache, FeatureIdentity};
use super::layout::{
    FEATURES, HITS, IDENTITY, ShardInfo, dir_size, file_name, shard_files, shard_infos, sub_dirs,
};
use super::shard::Shard;

/// One (identity, split) folder as `mer cache ls` shows it.
#[derive(Debug, Clone)]
pub struct EntryInfo {
    pub identity: String,
    pub description: serde_json::Value,
    pub split: String,
    pub shards: Vec<ShardInfo>,
    pub hits: usize,
    pub computed: usize,
}

impl EntryInfo {
    pub fn rows(&self) -> usize {
        self.shards.iter().map(|s| s.rows).sum()
    }

    pub fn bytes(&self) -> u64 {
        self.shards.iter().map(|s| s.bytes).sum()
    }
}

/// A shard `mer cache verify` found bad.
#[derive(Debug, Clone)]
pub struct BadShard {
    pub path: PathBuf,
    pub message: String,
}

impl FeatureCache {
    /// Every (identity, split) in the cache, with sizes and hit counts.
    pub fn list(&self) -> Result<Vec<EntryInfo>, CacheError> {
        let mut out = Vec::new();
        for identity_dir in sub_dirs(&self.root.join(FEATURES))? {
            let identity = file_name(&identity_dir);
            let description = fs::read(identity_dir.join(IDENTITY))
                .ok()
                .and_then(|b| serde_json::from_slice::<FeatureIdentity>(&b).ok())
                .map_or(serde_json::Value::Null, |i| i.description);
            for split_dir in sub_dirs(&identity_dir)? {
                let shards = shard_infos(&split_dir)?;
                let (mut hits, mut computed) = (0, 0);
                if let Ok(text) = fs::read_to_string(split_dir.join(HITS)) {
                    for line in text.lines() {
                        if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
                            hits += v["hits"].as_u64().unwrap_or(0) as usize;
                            computed += v["computed"].as_u64().unwrap_or(0) as usize;
                        }
                    }
                }
                out.push(EntryInfo {
                    identity: identity.clone(),
                    description: description.clone(),
                    split: file_name(&split_dir),
                    shards,
                    hits,
                    computed,
                });
            }
        }
        Ok(out)
    }

    /// Checks every shard's checksum and layout; returns the bad ones (left in place).
    pub fn verify(&self) -> Result<(usize, Vec<BadShard>), CacheError> {
        let mut checked = 0;
        let mut bad = Vec::new();
        for identity_dir in sub_dirs(&self.root.join(FEATURES))? {
            for split_dir in sub_dirs(&identity_dir)? {
                for path in shard_files(&split_dir)? {
                    checked += 1;
                    if let Err(e) = Shard::open(&path) {
                        bad.push(BadShard {
                            path,
                            message: e.to_string(),
                        });
                    }
                }
            }
        }
        Ok((checked, bad))
    }

    /// Removes every identity not in `keep`; returns the removed identities and bytes freed.
    pub fn prune(&self, keep: &[String]) -> Result<(Vec<String>, u64), CacheError> {
        let mut removed = Vec::new();
        let mut freed = 0;
        for identity_dir in sub_dirs(&self.root.join(FEATURES))? {
            let identity = file_name(&identity_dir);
            if keep.contains(&identity) {
                continue;
            }
            freed += dir_size(&identity_dir);
            fs::remove_dir_all(&identity_dir).map_err(io_at(&identity_dir))?;
            removed.push(identity);
        }
        Ok((removed, freed))
    }
}
