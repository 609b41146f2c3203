//! Fusion blocks: several modalities' pooled vectors into one. [`Fusion`] is the block a config
//! chooses by `kind`; each block is also a part of its own.

pub mod attention_shift;
pub mod combine;
pub mod concat;
pub mod disentangle;
pub mod low_rank;
pub mod missing;
pub mod selected;
pub mod tensor;

pub use attention_shift::{AttentionShiftFusion, AttentionShiftFusionConfig};
pub use concat::{ConcatFusion, ConcatFusionConfig};
pub use disentangle::{DISENTANGLE, DisentangleFusion, DisentangleFusionConfig, FRL};
pub use low_rank::{LowRankFusion, LowRankFusionConfig};
pub use missing::{ModalityGate, ModalityGateConfig};
pub use selected::{Fusion, FusionConfig, FusionKind};
pub use tensor::{TensorFusion, TensorFusionConfig};
