//! The persistent feature cache of frozen encoders.
//!
//! ```text
//! cache/
//!   digests.json                       file digests, remembered by (path, size, mtime, inode)
//!   features/<identity>/
//!     identity.json                    what the identity stands for (weights, preprocessing)
//!     <split>/
//!       <sha256[..32]>.safetensors     a shard: `keys` [rows, 16] u8, `features` [rows, dim] f32
//!       index.json                     shards, rows and dims (rebuilt from the folder if stale)
//!       hits.jsonl                     one line per run: features read and computed
//! ```
//!
//! An identity is a hash of everything that decides an encoder's output: its weights' content
//! and the preprocessing of its input. A key is a hash of one input's content. A shard is named
//! by the hash of its bytes, written to a temporary file and renamed: two runs filling a cache at
//! once each add a complete shard, and a shard whose bytes no longer match its name is detected,
//! removed and recomputed. Shards are read through memory maps; an in-memory layer keeps the
//! most recently used shards' features up to a byte budget.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use memmap2::Mmap;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::atomic;
use crate::identity::hex;

/// The content hash of one input.
pub type Key = [u8; 16];

fn sha256_of_file(path: &Path) -> Result<String, CacheError> {
    let mut file = File::open(path).map_err(io_at(path))?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher).map_err(io_at(path))?;
    Ok(hex(&hasher.finalize()))
}

/// The key of an input given as bytes.
pub fn key_of(bytes: &[u8]) -> Key {
    let digest = Sha256::digest(bytes);
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// Why the cache could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("{}: {error}", path.display())]
    Io { path: PathBuf, error: io::Error },
    #[error("{}: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
    #[error("computing features: {0}")]
    Compute(String),
    /// An input's media file is missing or cannot be decoded.
    #[error(transparent)]
    Media(#[from] crate::train::MediaLoadError),
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> CacheError + '_ {
    move |error| CacheError::Io {
        path: path.to_owned(),
        error,
    }
}

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

/// File digests remembered by file identity, so a large weights file is hashed once.
#[derive(Debug, Default, Serialize, Deserialize)]
struct DigestMemo {
    files: BTreeMap<String, MemoEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MemoEntry {
    size: u64,
    mtime_ns: i128,
    inode: u64,
    sha256: String,
}

/// Counts of one process's reads: what a run found and what it had to compute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    pub hits: usize,
    pub computed: usize,
    pub recovered_shards: usize,
}

/// The feature cache at a folder.
pub struct FeatureCache {
    root: PathBuf,
    memory: Arc<Mutex<MemoryLayer>>,
    stats: Mutex<CacheStats>,
    /// `digests.json`, read on first use and kept: keying thousands of media files asks for one
    /// digest at a time.
    digests: Mutex<Option<DigestMemo>>,
}

const FEATURES: &str = "features";
const DIGESTS: &str = "digests.json";
const IDENTITY: &str = "identity.json";
const INDEX: &str = "index.json";
const HITS: &str = "hits.jsonl";
const SHARD_EXT: &str = "safetensors";

/// One memory-mapped shard.
struct Shard {
    path: PathBuf,
    map: Mmap,
    rows: usize,
    dim: usize,
    /// Byte offset of the features in `map`.
    features_at: usize,
    keys: Vec<Key>,
}

impl Shard {
    /// Maps and checks a shard: its bytes must hash to its name.
    fn open(path: &Path) -> Result<Shard, CacheError> {
        let corrupt = |message: String| CacheError::Corrupt {
            path: path.to_owned(),
            message,
        };
        let file = File::open(path).map_err(io_at(path))?;
        // SAFETY: shards are never modified in place (written whole, then renamed), so the
        // mapping stays valid; a removed shard stays mapped until dropped.
        let map = unsafe { Mmap::map(&file) }.map_err(io_at(path))?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let actual = &hex(&Sha256::digest(&map[..]))[..32];
        if name != actual {
            return Err(corrupt(format!(
                "checksum mismatch (content hashes to {actual})"
            )));
        }
        let (header_len, _) =
            SafeTensors::read_metadata(&map).map_err(|e| corrupt(e.to_string()))?;
        let tensors = SafeTensors::deserialize(&map).map_err(|e| corrupt(e.to_string()))?;
        let keys_view = tensors.tensor("keys").map_err(|e| corrupt(e.to_string()))?;
        let features = tensors
            .tensor("features")
            .map_err(|e| corrupt(e.to_string()))?;
        let (rows, dim) = match (keys_view.shape(), features.shape(), features.dtype()) {
            ([r, 16], [r2, d], Dtype::F32) if r == r2 => (*r, *d),
            _ => return Err(corrupt("unexpected tensor shapes".into())),
        };
        let keys = keys_view
            .data()
            .chunks_exact(16)
            .map(|c| c.try_into().expect("16-byte chunks"))
            .collect();
        let features_at = features.data().as_ptr() as usize - map.as_ptr() as usize;
        debug_assert!(features_at >= 8 + header_len);
        Ok(Shard {
            path: path.to_owned(),
            rows,
            dim,
            features_at,
            keys,
            map,
        })
    }

    fn row(&self, row: usize, out: &mut Vec<f32>) {
        let start = self.features_at + row * self.dim * 4;
        let bytes = &self.map[start..start + self.dim * 4];
        out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))),
        );
    }

    /// All rows, decoded.
    fn all(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.rows * self.dim);
        for row in 0..self.rows {
            self.row(row, &mut out);
        }
        out
    }
}

/// Recently used shards' features in memory, up to a byte budget; least recently used first out.
struct MemoryLayer {
    budget: usize,
    used: usize,
    entries: HashMap<PathBuf, Arc<Vec<f32>>>,
    order: VecDeque<PathBuf>,
}

impl MemoryLayer {
    fn get(&mut self, shard: &Shard) -> Option<Arc<Vec<f32>>> {
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

/// The features of one split's inputs, in the order asked for.
pub struct Features {
    dim: usize,
    shards: Vec<Arc<Shard>>,
    /// (shard, row) per input.
    locations: Vec<(usize, usize)>,
    memory: Arc<Mutex<MemoryLayer>>,
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

/// Shards listed for people and pruning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardInfo {
    pub file: String,
    pub rows: usize,
    pub dim: usize,
    pub bytes: u64,
}

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

/// The memory layer's default budget.
pub const DEFAULT_MEMORY_BUDGET: usize = 1 << 30;

impl FeatureCache {
    /// The cache at `root` (created on first write) with an in-memory layer of `memory_budget`
    /// bytes.
    pub fn new(root: impl Into<PathBuf>, memory_budget: usize) -> Self {
        FeatureCache {
            root: root.into(),
            memory: Arc::new(Mutex::new(MemoryLayer {
                budget: memory_budget,
                used: 0,
                entries: HashMap::new(),
                order: VecDeque::new(),
            })),
            stats: Mutex::new(CacheStats::default()),
            digests: Mutex::new(None),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// What this process has read and computed so far.
    pub fn stats(&self) -> CacheStats {
        *self.stats.lock().expect("stats lock")
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
        use std::os::unix::fs::MetadataExt;
        let memo_path = self.root.join(DIGESTS);
        let mut guard = self.digests.lock().expect("digest memo lock");
        let memo = guard.get_or_insert_with(|| {
            fs::read(&memo_path)
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                .unwrap_or_default()
        });
        let mut stamps = Vec::with_capacity(paths.len());
        let mut missing = Vec::new();
        for (i, path) in paths.iter().enumerate() {
            let path = path.as_ref();
            let canonical = fs::canonicalize(path).map_err(io_at(path))?;
            let meta = fs::metadata(&canonical).map_err(io_at(path))?;
            let stamp = MemoEntry {
                size: meta.len(),
                mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
                inode: meta.ino(),
                sha256: String::new(),
            };
            let key = canonical.display().to_string();
            let known = memo.files.get(&key).filter(|entry| {
                (entry.size, entry.mtime_ns, entry.inode)
                    == (stamp.size, stamp.mtime_ns, stamp.inode)
            });
            if known.is_none() {
                missing.push(i);
            }
            stamps.push((key, stamp));
        }
        if !missing.is_empty() {
            let hashed = crate::parallel::round_robin(
                missing.len(),
                std::thread::available_parallelism().map_or(1, |n| n.get()),
                || (),
                |_, k| sha256_of_file(paths[missing[k]].as_ref()),
            );
            for (&i, sha256) in missing.iter().zip(hashed) {
                let (key, stamp) = &stamps[i];
                let entry = MemoEntry {
                    sha256: sha256?,
                    ..stamp.clone()
                };
                memo.files.insert(key.clone(), entry);
            }
            let json = serde_json::to_vec_pretty(&*memo).expect("memo serialises");
            // Losing a race with another writer only costs a later re-hash.
            atomic::write(&memo_path, &json).map_err(io_at(&memo_path))?;
        }
        Ok(stamps
            .iter()
            .map(|(key, _)| memo.files[key].sha256.clone())
            .collect())
    }

    fn split_dir(&self, identity: &str, split: &str) -> PathBuf {
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
            let line = serde_json::json!({ "hits": hits, "computed": unique.len() }).to_string();
            append_line(&dir.join(HITS), &line)?;
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

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn sub_dirs(dir: &Path) -> Result<Vec<PathBuf>, CacheError> {
    entries(dir, |entry| entry.file_type().is_ok_and(|t| t.is_dir()))
}

/// Shard files of a split folder, in name order (temporary files skipped).
fn shard_files(dir: &Path) -> Result<Vec<PathBuf>, CacheError> {
    entries(dir, |entry| {
        let path = entry.path();
        path.extension().is_some_and(|e| e == SHARD_EXT) && !atomic::is_temp(&file_name(&path))
    })
}

/// The entries of `dir` that `keep` accepts, in name order; a missing folder has none.
fn entries(dir: &Path, keep: impl Fn(&fs::DirEntry) -> bool) -> Result<Vec<PathBuf>, CacheError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_at(dir)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_at(dir))?;
        if keep(&entry) {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// What the index and `mer cache ls` say of a split folder's shards, read from their headers
/// (checking checksums is `verify`'s job, not every write's).
fn shard_infos(dir: &Path) -> Result<Vec<ShardInfo>, CacheError> {
    Ok(shard_files(dir)?
        .into_iter()
        .map(|path| {
            let (rows, dim) = shard_shape(&path).unwrap_or((0, 0));
            ShardInfo {
                file: file_name(&path),
                rows,
                dim,
                bytes: fs::metadata(&path).map_or(0, |m| m.len()),
            }
        })
        .collect())
}

/// A shard's (rows, dim) from its header alone.
fn shard_shape(path: &Path) -> Option<(usize, usize)> {
    let file = File::open(path).ok()?;
    // SAFETY: as in `Shard::open`.
    let map = unsafe { Mmap::map(&file) }.ok()?;
    let (_, metadata) = SafeTensors::read_metadata(&map).ok()?;
    let info = metadata.info("features")?;
    match info.shape.as_slice() {
        [rows, dim] => Some((*rows, *dim)),
        _ => None,
    }
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}

/// Appends one line; lines below the pipe-buffer size are written whole even when several
/// processes append at once.
fn append_line(path: &Path, line: &str) -> Result<(), CacheError> {
    use std::io::Write;
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io_at(path))?;
    file.write_all(format!("{line}\n").as_bytes())
        .map_err(io_at(path))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
