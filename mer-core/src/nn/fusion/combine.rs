//! How disentanglement fusion recombines its shared and private parts.

use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

use crate::nn::attention::{CrossAttention, CrossAttentionConfig};
use crate::nn::projector::{Projector, ProjectorConfig};

/// How the shared and private parts are combined.
#[crate::config]
pub enum Combine {
    /// Each part attends to the other (8 heads), with layer norm and dropout; concatenated.
    CrossAttention,
    /// Concatenated, then a projector of depth 4.
    Concat,
}

/// A combiner's widths and settings, as disentanglement fusion derives them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CombinerConfig {
    pub combine: Combine,
    /// Width of the shared part.
    pub shared: usize,
    /// Width of the private part.
    pub private: usize,
    /// Attention heads of the cross-attention combiner.
    pub heads: usize,
    pub dropout: f64,
}

impl CombinerConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> Combiner<B> {
        let cross_attention = |query, context| {
            CrossAttentionConfig {
                query,
                context,
                heads: self.heads,
                dropout: self.dropout,
            }
            .init(device)
        };
        let out = self.shared + self.private;
        match self.combine {
            Combine::CrossAttention => Combiner::CrossAttention(CrossAttentionPair {
                shared: cross_attention(self.shared, self.private),
                private: cross_attention(self.private, self.shared),
            }),
            Combine::Concat => Combiner::Concat(
                ProjectorConfig {
                    input: out,
                    output: out,
                    depth: 4,
                    dropout: self.dropout,
                }
                .init(device),
            ),
        }
    }
}

/// The shared part attends to the private part and the private part to the shared one.
#[derive(Module, Debug)]
pub struct CrossAttentionPair<B: Backend> {
    shared: CrossAttention<B>,
    private: CrossAttention<B>,
}

// One per network, built once: the variants' size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Combiner<B: Backend> {
    CrossAttention(CrossAttentionPair<B>),
    Concat(Projector<B>),
}

impl<B: Backend> Combiner<B> {
    /// The shared and private parts, combined.
    ///
    /// # Shapes
    /// `shared` [N, S], `private` [N, P] → [N, S + P].
    pub fn forward(&self, shared: Tensor<B, 2>, private: Tensor<B, 2>) -> Tensor<B, 2> {
        match self {
            Combiner::CrossAttention(pair) => {
                let ([n, s], [_, p]) = (shared.dims(), private.dims());
                let (s3, p3) = (shared.reshape([n, 1, s]), private.reshape([n, 1, p]));
                let s_out = pair.shared.forward(s3.clone(), p3.clone()).reshape([n, s]);
                let p_out = pair.private.forward(p3, s3).reshape([n, p]);
                Tensor::cat(vec![s_out, p_out], 1)
            }
            Combiner::Concat(projector) => projector.forward(Tensor::cat(vec![shared, private], 1)),
        }
    }
}
