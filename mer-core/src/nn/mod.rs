//! Building blocks of architectures, each a Burn module with its `#[config]` beside it.

pub mod head;
pub mod linear;
pub mod projector;

pub use linear::{Linear, LinearConfig, Lora};
pub use head::{ClassifierHead, ClassifierHeadConfig};
pub use projector::{Projector, ProjectorConfig};
