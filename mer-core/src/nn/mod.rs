//! Building blocks of architectures, each a Burn module with its `#[config]` beside it, and what
//! they are made of: linear layers with LoRA adapters, convolutions, the transformer layer stack,
//! the classification losses, and modules' tensors as safetensors bytes.

pub mod conv;
pub mod fusion;
pub mod head;
pub mod linear;
pub mod lora;
pub mod loss;
pub mod projector;
pub mod transformer;
pub mod weights;

pub use conv::{Conv1d, Conv1dConfig};
pub use fusion::{ConcatFusion, ConcatFusionConfig};
pub use head::{ClassifierHead, ClassifierHeadConfig};
pub use linear::{Linear, LinearConfig, Lora};
pub use projector::{Projector, ProjectorConfig};
