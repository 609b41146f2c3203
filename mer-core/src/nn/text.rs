//! A small transformer text encoder built from Burn's layers, pooled to one vector per input.

use burn::module::Module;
use burn::nn::transformer::{
    TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput,
};
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use crate::schema::Problem;

/// How token states become one vector.
#[crate::config]
pub enum Pooling {
    /// The first token's state (`<s>` / `[CLS]`).
    Cls,
    /// The mean over real (unpadded) tokens.
    Mean,
}

/// A transformer encoder over token ids, with learned positions.
#[crate::config(check = Self::check_shape)]
pub struct TextEncoderConfig {
    /// Size of the token vocabulary.
    #[config(default = 8000)]
    pub vocab_size: usize,
    /// Width of token states.
    #[config(default = 128)]
    pub hidden: usize,
    /// Transformer layers.
    #[config(default = 2)]
    pub layers: usize,
    /// Attention heads per layer; divides `hidden`.
    #[config(default = 4)]
    pub heads: usize,
    /// Width of the feed-forward block.
    #[config(default = 512)]
    pub ff: usize,
    /// Longest input, in tokens.
    #[config(default = 128)]
    pub max_len: usize,
    /// Dropout inside the transformer.
    #[config(default = 0.1)]
    pub dropout: f64,
    /// How token states are pooled.
    #[config(default = Pooling::Mean)]
    pub pooling: Pooling,
}

/// Token ids → pooled states.
#[derive(Module, Debug)]
pub struct TextEncoder<B: Backend> {
    tokens: Embedding<B>,
    positions: Embedding<B>,
    norm: LayerNorm<B>,
    transformer: TransformerEncoder<B>,
    #[module(skip)]
    pooling: Pooling,
}

impl TextEncoderConfig {
    fn check_shape(&self) -> Result<(), Problem> {
        if self.heads == 0 || !self.hidden.is_multiple_of(self.heads) {
            return Err(Problem::new(
                "heads",
                format!("must divide hidden ({}), found {}", self.hidden, self.heads),
            ));
        }
        for (key, value) in [
            ("vocab_size", self.vocab_size),
            ("max_len", self.max_len),
            ("layers", self.layers),
        ] {
            if value == 0 {
                return Err(Problem::new(key, "must be at least 1"));
            }
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Problem::new("dropout", "must be in [0, 1)"));
        }
        Ok(())
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> TextEncoder<B> {
        TextEncoder {
            tokens: EmbeddingConfig::new(self.vocab_size, self.hidden).init(device),
            positions: EmbeddingConfig::new(self.max_len, self.hidden).init(device),
            norm: LayerNormConfig::new(self.hidden).init(device),
            transformer: TransformerEncoderConfig::new(
                self.hidden,
                self.ff,
                self.heads,
                self.layers,
            )
            .with_dropout(self.dropout)
            .with_norm_first(true)
            .init(device),
            pooling: self.pooling,
        }
    }
}

impl<B: Backend> TextEncoder<B> {
    /// `tokens` [N, T] ids and `attention_mask` [N, T] (1 token, 0 padding) → [N, hidden].
    pub fn forward(
        &self,
        tokens: Tensor<B, 2, Int>,
        attention_mask: Tensor<B, 2, Int>,
    ) -> Tensor<B, 2> {
        let [n, t] = tokens.dims();
        let device = tokens.device();
        let positions = Tensor::<B, 1, Int>::arange(0..t as i64, &device)
            .reshape([1, t])
            .repeat_dim(0, n);
        let x = self.tokens.forward(tokens) + self.positions.forward(positions);
        let x = self.norm.forward(x);
        let padding = attention_mask.clone().equal_elem(0);
        let states = self
            .transformer
            .forward(TransformerEncoderInput::new(x).mask_pad(padding));
        let [_, _, hidden] = states.dims();
        match self.pooling {
            Pooling::Cls => states.slice([0..n, 0..1, 0..hidden]).reshape([n, hidden]),
            Pooling::Mean => {
                let weights = attention_mask.float().unsqueeze_dim::<3>(2);
                let summed = (states * weights.clone()).sum_dim(1).reshape([n, hidden]);
                let counts = weights.sum_dim(1).reshape([n, 1]).clamp_min(1.0);
                summed / counts
            }
        }
    }
}
