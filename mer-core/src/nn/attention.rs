//! Attention blocks of the fusion networks: the seed's attention projector and cross-attention.
//!
//! Attention runs over the tokens (or modalities) of one sample, never across the batch. The
//! seed handed PyTorch's `nn.MultiheadAttention` [B, D] tensors, which it reads as one unbatched
//! sequence of B tokens, so every sample attended to the others in its batch; here a pooled
//! vector is a sequence of one token.

use burn::module::Module;
use burn::nn::attention::{MhaInput, MultiHeadAttention, MultiHeadAttentionConfig};
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

use super::projector::{Projector, ProjectorConfig};
use crate::config::checks::{at_least_one, below_one, divides_hidden};
use crate::config::schema::Problem;
use crate::config::wiring::{Wiring, derive_width, single_input};

/// Self-attention with a residual connection, layer norm and dropout, then a [`Projector`].
#[crate::config(check = Self::check_values)]
pub struct AttentionProjectorConfig {
    /// Width of the input tokens.
    #[config(derived = "the output width of the part before it")]
    pub input: usize,
    /// Width of the output.
    #[config(default = 128)]
    pub output: usize,
    /// Attention heads; they must divide `input`.
    #[config(default = 4)]
    pub heads: usize,
    /// The projector's number of linear layers.
    #[config(default = 2)]
    pub depth: usize,
    /// Dropout after attention and inside the projector.
    #[config(default = 0.1, range = "probability")]
    pub dropout: f64,
}

impl AttentionProjectorConfig {
    /// `input` → `output` with `heads` heads and a projector of `depth` layers, dropout 0.1.
    pub fn new(input: usize, output: usize, heads: usize, depth: usize) -> Self {
        AttentionProjectorConfig {
            input,
            output,
            heads,
            depth,
            dropout: 0.1,
        }
    }

    fn check_values(&self) -> Result<(), Problem> {
        at_least_one(&[("output", self.output), ("depth", self.depth)])?;
        divides_hidden("heads", self.heads, self.input)?;
        below_one("dropout", self.dropout)
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> AttentionProjector<B> {
        AttentionProjector {
            attention: MultiHeadAttentionConfig::new(self.input, self.heads)
                .with_dropout(self.dropout)
                .init(device),
            norm: LayerNormConfig::new(self.input).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            projector: ProjectorConfig {
                input: self.input,
                output: self.output,
                depth: self.depth,
                dropout: self.dropout,
            }
            .init(device),
        }
    }
}

impl Wiring for AttentionProjectorConfig {
    fn output_width(&self) -> Result<usize, Problem> {
        Ok(self.output)
    }

    fn connect_inputs(&mut self, widths: &[usize], from: &str) -> Result<(), Problem> {
        derive_width(&mut self.input, single_input(widths, from)?, "input", from)
    }
}

#[derive(Module, Debug)]
pub struct AttentionProjector<B: Backend> {
    attention: MultiHeadAttention<B>,
    norm: LayerNorm<B>,
    dropout: Dropout,
    projector: Projector<B>,
}

impl<B: Backend> AttentionProjector<B> {
    /// # Shapes
    /// `tokens` [N, S, input] → [N, S, output]: each sample's S tokens attend to each other.
    pub fn forward_tokens(&self, tokens: Tensor<B, 3>) -> Tensor<B, 3> {
        let attended = self
            .attention
            .forward(MhaInput::self_attn(tokens.clone()))
            .context;
        let x = self.dropout.forward(self.norm.forward(attended + tokens));
        self.projector.forward(x)
    }

    /// # Shapes
    /// `x` [N, input] → [N, output]: each vector a sequence of one token.
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let [n, d] = x.dims();
        let out = self.forward_tokens(x.reshape([n, 1, d]));
        let [_, _, o] = out.dims();
        out.reshape([n, o])
    }
}

/// A query vector attends to another vector of a possibly different width: the key/value is
/// projected to the query's width, then multi-head attention, residual, layer norm, dropout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CrossAttentionConfig {
    pub query: usize,
    pub context: usize,
    pub heads: usize,
    pub dropout: f64,
}

impl CrossAttentionConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> CrossAttention<B> {
        CrossAttention {
            context: LinearConfig::new(self.context, self.query).init(device),
            attention: MultiHeadAttentionConfig::new(self.query, self.heads)
                .with_dropout(self.dropout)
                .init(device),
            norm: LayerNormConfig::new(self.query).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

#[derive(Module, Debug)]
pub struct CrossAttention<B: Backend> {
    context: Linear<B>,
    attention: MultiHeadAttention<B>,
    norm: LayerNorm<B>,
    dropout: Dropout,
}

impl<B: Backend> CrossAttention<B> {
    /// # Shapes
    /// `query` [N, Sq, query], `context` [N, Sc, context] → [N, Sq, query].
    pub fn forward(&self, query: Tensor<B, 3>, context: Tensor<B, 3>) -> Tensor<B, 3> {
        let context = self.context.forward(context);
        let attended = self
            .attention
            .forward(MhaInput::new(query.clone(), context.clone(), context))
            .context;
        self.dropout.forward(self.norm.forward(attended + query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use burn::tensor::{Distribution, Int};

    type B = NdArray<f32>;

    fn permuted(x: Tensor<B, 3>, order: &[i64]) -> Tensor<B, 3> {
        let device = x.device();
        x.select(0, Tensor::<B, 1, Int>::from_ints(order, &device))
    }

    #[test]
    fn samples_do_not_attend_to_each_other() {
        let device = Default::default();
        let block: AttentionProjector<B> = AttentionProjectorConfig::new(8, 6, 4, 2).init(&device);
        let tokens = Tensor::<B, 3>::random([5, 3, 8], Distribution::Normal(0.0, 1.0), &device);
        let order = [3, 0, 4, 1, 2];
        let of_permuted = block.forward_tokens(permuted(tokens.clone(), &order));
        let permuted_out = permuted(block.forward_tokens(tokens.clone()), &order);
        assert!((of_permuted - permuted_out).abs().max().into_scalar() < 1e-5);
        // A sample's output does not depend on the other samples at all.
        let alone = block.forward_tokens(tokens.clone().narrow(0, 0, 1));
        let with_others = block.forward_tokens(tokens).narrow(0, 0, 1);
        assert!((alone - with_others).abs().max().into_scalar() < 1e-5);
        let pooled = Tensor::<B, 2>::random([4, 8], Distribution::Normal(0.0, 1.0), &device);
        assert_eq!(block.forward(pooled).dims(), [4, 6]);
    }

    #[test]
    fn tokens_of_one_sample_do_attend_to_each_other() {
        let device = Default::default();
        let block: AttentionProjector<B> = AttentionProjectorConfig::new(8, 6, 2, 1).init(&device);
        let tokens = Tensor::<B, 3>::random([1, 3, 8], Distribution::Normal(0.0, 1.0), &device);
        let first = block.forward_tokens(tokens.clone()).slice([0..1, 0..1]);
        let changed = tokens.clone().slice_assign(
            [0..1, 2..3],
            Tensor::random([1, 1, 8], Distribution::Normal(0.0, 1.0), &device),
        );
        let first_changed = block.forward_tokens(changed).slice([0..1, 0..1]);
        assert!((first - first_changed).abs().max().into_scalar() > 1e-4);
    }

    #[test]
    fn cross_attention_keeps_the_query_width_and_the_batch_apart() {
        let device = Default::default();
        let block: CrossAttention<B> = CrossAttentionConfig {
            query: 8,
            context: 4,
            heads: 2,
            dropout: 0.1,
        }
        .init(&device);
        let q = Tensor::<B, 3>::random([3, 1, 8], Distribution::Normal(0.0, 1.0), &device);
        let c = Tensor::<B, 3>::random([3, 2, 4], Distribution::Normal(0.0, 1.0), &device);
        let out = block.forward(q.clone(), c.clone());
        assert_eq!(out.dims(), [3, 1, 8]);
        let order = [2, 0, 1];
        let of_permuted = block.forward(permuted(q, &order), permuted(c, &order));
        assert!(
            (of_permuted - permuted(out, &order))
                .abs()
                .max()
                .into_scalar()
                < 1e-5
        );
    }

    #[test]
    fn heads_must_divide_the_input() {
        use crate::config::schema::ConfigValue;
        let problem = AttentionProjectorConfig::new(10, 4, 4, 1)
            .check()
            .unwrap_err();
        assert_eq!(problem.key, "heads");
    }
}
