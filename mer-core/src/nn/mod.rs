//! Building blocks of architectures, each a Burn module with its `#[config]` beside it.

pub mod head;
pub mod linear;
pub mod projector;

pub use head::{ClassifierHead, ClassifierHeadConfig};
pub use linear::{Linear, LinearConfig, Lora};
pub use projector::{Projector, ProjectorConfig};
