//! Building blocks of architectures, each a Burn module with its `#[config]` beside it, and what
//! they are made of: linear layers with LoRA adapters, convolutions, the transformer layer stack,
//! projectors, attention, routers, fusion blocks, heads, the training losses, and modules'
//! tensors as safetensors bytes.

pub mod attention;
pub mod conv;
pub mod dropout;
pub mod fusion;
pub mod head;
pub mod hf_names;
pub mod linear;
pub mod lora;
pub mod loss;
pub mod norm;
pub mod projector;
pub mod router;
pub mod transformer;
pub mod weights;

pub use attention::{AttentionProjector, AttentionProjectorConfig};
pub use conv::{Conv1d, Conv1dConfig};
pub use dropout::{Dropout, DropoutConfig};
pub use fusion::{
    ConcatFusion, ConcatFusionConfig, DisentangleFusion, DisentangleFusionConfig, Fusion,
    FusionConfig,
};
pub use head::{ClassifierHead, ClassifierHeadConfig, MoeHead, MoeHeadConfig};
pub use linear::{Linear, LinearConfig, Lora};
pub use norm::{LayerNorm, LayerNormConfig};
pub use projector::{Projector, ProjectorConfig};
pub use router::{NoiseRouter, NoiseRouterConfig};
