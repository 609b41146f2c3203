//! Building blocks of architectures, each a Burn module with its `#[config]` beside it.

pub mod head;
pub mod projector;

pub use head::{ClassifierHead, ClassifierHeadConfig};
pub use projector::{Projector, ProjectorConfig};
