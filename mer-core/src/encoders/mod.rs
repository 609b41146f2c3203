//! The encoders of each modality, and what the DSL adds to every `#[encoder]` field: its mode
//! (trainable, frozen with cached outputs, LoRA) and how its outputs are keyed in the cache.

pub mod audio;
pub mod slot;
pub mod text;
pub mod video;

pub use slot::{
    CacheableEncoder, Encode, EncoderMode, EncoderSlot, media_key, random_weights_digest,
};
