//! Training: the learning-rate schedule, frozen encoders' features, the loop that trains a
//! network (on one device or data-parallel on several), selects it on dev and resumes after a
//! crash, and prediction.

pub mod adamw;
pub mod data;
pub mod error;
pub mod evaluate;
pub mod fit;
pub mod frozen;
pub mod parallel;
pub mod records;
pub mod schedule;
mod state;
pub mod step;

pub use data::TrainData;
pub use error::TrainError;
pub use evaluate::{argmax, predict, predict_with};
pub use fit::{train, train_parallel};
pub use frozen::{FrozenFeatures, SplitName};
pub use records::{BestEpoch, EpochRecord, Outcome};
pub use state::is_finished;
