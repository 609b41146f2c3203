//! What a network reads: the modalities, which data a run reads, prepared samples, media decoded
//! ahead of the batches that need it, and the batches themselves.

pub mod batch;
pub mod data;
pub mod media;
pub mod modality;
pub mod padding;
pub mod prefetch;
pub mod sample;

pub use batch::{AudioInput, Batch, TextInput, VideoInput};
pub use data::{DataConfig, Dataset, LabelKind};
pub use media::{
    Media, MediaFeed, MediaLoadError, MediaNeeds, MediaSource, MediaStream, VideoClip,
};
pub use modality::Modality;
pub use padding::{BatchShape, Buckets, Padding};
pub use sample::Sample;
