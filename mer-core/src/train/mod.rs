//! Training: losses, the learning-rate schedule, batches, media decoding ahead of the model, and
//! the loop that trains a network, selects it on dev, and resumes after a crash.

pub mod batch;
pub mod frozen;
pub mod loss;
pub mod media;
pub mod prefetch;
pub mod schedule;
mod trainer;

pub use batch::{AudioInput, Batch, Classifier, Sample, TextInput, VideoInput};
pub use frozen::{FrozenFeatures, SplitName};
pub use media::{
    Media, MediaFeed, MediaLoadError, MediaNeeds, MediaSource, MediaStream, VideoClip,
};
pub use trainer::{
    BestEpoch, EpochRecord, Outcome, TrainData, TrainError, argmax, predict, predict_with, train,
};
