//! The encoders of each modality, and what the DSL adds to every `#[encoder]` field: its mode
//! (trainable, frozen with cached outputs, LoRA) and how its outputs are keyed in the cache.

pub mod audio;
#[cfg(test)]
mod padded;
pub mod pretrained;
pub mod slot;
pub mod text;
pub mod video;

pub use slot::{
    CacheableEncoder, Encode, EncoderMode, EncoderSlot, InitSources, SlotError, media_key,
    random_weights_digest,
};

/// An encoder's config seen by what prepares its inputs: tokenizing text, decoding media.
#[derive(Debug, Clone, Copy)]
pub enum InputConfig<'a> {
    Text(&'a text::TextEncoderConfig),
    Audio(&'a audio::AudioEncoderConfig),
    Video(&'a video::VideoEncoderConfig),
}

/// An encoder config whose inputs mer knows how to prepare.
pub trait EncoderInput {
    fn input(&self) -> InputConfig<'_>;
}

impl EncoderInput for text::TextEncoderConfig {
    fn input(&self) -> InputConfig<'_> {
        InputConfig::Text(self)
    }
}

impl EncoderInput for audio::AudioEncoderConfig {
    fn input(&self) -> InputConfig<'_> {
        InputConfig::Audio(self)
    }
}

impl EncoderInput for video::VideoEncoderConfig {
    fn input(&self) -> InputConfig<'_> {
        InputConfig::Video(self)
    }
}
