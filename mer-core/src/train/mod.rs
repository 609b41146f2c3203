//! Training: losses, the learning-rate schedule, batches, and the loop that trains a network,
//! selects it on dev, and resumes after a crash.

pub mod batch;
pub mod frozen;
pub mod loss;
pub mod schedule;
mod trainer;

pub use batch::{Batch, Classifier, Sample, TextInput};
pub use frozen::{FrozenFeatures, SplitName};
pub use trainer::{
    BestEpoch, EpochRecord, Outcome, TrainData, TrainError, argmax, predict, predict_with, train,
};
