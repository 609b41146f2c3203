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

mod digests;
mod error;
mod feature_cache;
mod features;
mod layout;
mod maintenance;
mod memory;
mod shard;

pub use error::{CacheError, CacheStats, Key, key_of};
pub use feature_cache::{DEFAULT_MEMORY_BUDGET, FeatureCache, FeatureIdentity};
pub use features::Features;
pub use layout::ShardInfo;
pub use maintenance::{BadShard, EntryInfo};
