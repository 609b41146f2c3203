//! A run, before and after training: its whole config, its checkpoint's name, its plan, and the
//! figures it is scored by.

pub mod config;
pub mod metrics;
pub mod plan;
pub mod teacher;

pub use config::{CheckpointId, OutputConfig, Precision, RunConfig, TrainingConfig};
pub use metrics::Metrics;
pub use plan::{Plan, PlanBackend};
pub use teacher::TeacherSlot;
