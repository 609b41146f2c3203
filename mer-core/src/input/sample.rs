//! One utterance as a network reads it: token ids, media paths, the gold label.

use std::path::PathBuf;

/// One utterance, prepared: token ids of its (prompted) text, where its media are, and its gold
/// label. Media are decoded only when an encoder reads them, batch by batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub text_ids: Vec<u32>,
    pub label: usize,
    pub audio: Option<PathBuf>,
    pub video: Option<PathBuf>,
}

impl Sample {
    /// The text input's bytes, for cache keys.
    pub fn text_bytes(&self) -> Vec<u8> {
        self.text_ids.iter().flat_map(|t| t.to_le_bytes()).collect()
    }
}
