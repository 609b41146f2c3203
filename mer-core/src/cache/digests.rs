//! File digests remembered by (path, size, mtime, inode) in `digests.json`, so a large weights
//! file or a media file is hashed once however many runs key on it.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::{CacheError, io_at};
use super::layout::DIGESTS;
use crate::config::identity::hex;
use crate::util::atomic;

fn sha256_of_file(path: &Path) -> Result<String, CacheError> {
    let mut file = File::open(path).map_err(io_at(path))?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher).map_err(io_at(path))?;
    Ok(hex(&hasher.finalize()))
}

/// File digests remembered by file identity, so a large weights file is hashed once.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct DigestMemo {
    pub(super) files: BTreeMap<String, MemoEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct MemoEntry {
    pub(super) size: u64,
    pub(super) mtime_ns: i128,
    pub(super) inode: u64,
    pub(super) sha256: String,
}

/// `digests.json` of a cache folder, read on first use and kept: keying thousands of media files
/// asks for one digest at a time.
#[derive(Default)]
pub(super) struct Digests {
    memo: Mutex<Option<DigestMemo>>,
}

impl Digests {
    /// The SHA-256 of each file, remembered by (path, size, mtime, inode) in `root`'s memo: the memo is written once, and files it does
    /// not know are hashed on every core.
    pub(super) fn of<P: AsRef<Path> + Sync>(
        &self,
        root: &Path,
        paths: &[P],
    ) -> Result<Vec<String>, CacheError> {
        use std::os::unix::fs::MetadataExt;
        let memo_path = root.join(DIGESTS);
        let mut guard = self.memo.lock().expect("digest memo lock");
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
            let hashed = crate::util::parallel::round_robin(
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
}
