//! Building blocks of architectures, each a Burn module with its `#[config]` beside it.

pub mod conv;
pub mod fusion;
pub mod head;
pub mod linear;
pub mod projector;

pub use conv::{Conv1d, Conv1dConfig};
pub use fusion::{ConcatFusion, ConcatFusionConfig};
pub use head::{ClassifierHead, ClassifierHeadConfig};
pub use linear::{Linear, LinearConfig, Lora};
pub use projector::{Projector, ProjectorConfig};
