//! The BERT and RoBERTa encoders, module for module as Hugging Face's `BertModel` and
//! `RobertaModel` (post-norm layers, exact GELU), so their checkpoints load with little renaming.

use crate::nn::{Dropout, DropoutConfig};
use crate::nn::{LayerNorm, LayerNormConfig};
use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use crate::nn::transformer::{LayerShape, Transformer, layer_parameters};

/// How positions are numbered.
#[crate::config]
pub enum Family {
    /// Positions 0, 1, 2, … for every token.
    Bert,
    /// Positions count real tokens only, from `pad_token_id + 1`: padding keeps `pad_token_id`.
    Roberta,
}

/// The shape of a BERT-family encoder (what Hugging Face's `config.json` says).
#[crate::config(check = Self::check_shape)]
pub struct BertShape {
    /// How positions are numbered.
    #[config(default = Family::Roberta)]
    pub family: Family,
    /// Token vocabulary, before speaker tokens are added.
    #[config(default = 8000, range = "at-least-one")]
    pub vocab_size: usize,
    /// Width of token states.
    #[config(default = 64, range = "at-least-one")]
    pub hidden: usize,
    /// Transformer layers.
    #[config(default = 2, range = "at-least-one")]
    pub layers: usize,
    /// Attention heads per layer; divides `hidden`.
    #[config(default = 4, range = "at-least-one")]
    pub heads: usize,
    /// Width of the feed-forward block.
    #[config(default = 128, range = "at-least-one")]
    pub intermediate: usize,
    /// Rows of the position table (RoBERTa uses two for the padding offset).
    #[config(default = 514, range = "at-least-one")]
    pub max_positions: usize,
    /// Rows of the token-type table.
    #[config(default = 1, range = "at-least-one")]
    pub type_vocab_size: usize,
    /// Epsilon of every layer norm.
    #[config(default = 1e-5)]
    pub layer_norm_eps: f64,
    /// The padding token's id.
    #[config(default = 1)]
    pub pad_token_id: usize,
}

impl BertShape {
    fn check_shape(&self) -> Result<(), crate::config::schema::Problem> {
        use crate::config::checks::{at_least_one, divides_hidden};
        use crate::config::schema::Problem;
        divides_hidden("heads", self.heads, self.hidden)?;
        at_least_one(&[
            ("vocab_size", self.vocab_size),
            ("layers", self.layers),
            ("intermediate", self.intermediate),
            ("max_positions", self.max_positions),
            ("type_vocab_size", self.type_vocab_size),
        ])?;
        if self.pad_token_id >= self.vocab_size {
            return Err(Problem::new(
                "pad_token_id",
                "must be a token of the vocabulary",
            ));
        }
        crate::config::checks::fits_in_memory("layers", self.parameters())
    }

    /// How many weights the encoder has (saturating: a shape read from a file may be absurd).
    pub fn parameters(&self) -> u128 {
        let rows =
            self.vocab_size as u128 + self.max_positions as u128 + self.type_vocab_size as u128;
        rows.saturating_mul(self.hidden as u128)
            .saturating_add(layer_parameters(
                self.hidden,
                self.intermediate,
                self.layers,
            ))
    }

    /// The longest input the position table allows, special tokens included (RoBERTa's
    /// positions start after the padding id).
    pub fn max_tokens(&self) -> usize {
        match self.family {
            Family::Bert => self.max_positions,
            Family::Roberta => self.max_positions.saturating_sub(self.pad_token_id + 1),
        }
    }

    /// Builds the encoder with `vocab_size` rows of token embeddings (speaker tokens included).
    pub fn init<B: Backend>(&self, vocab_size: usize, dropout: f64, device: &B::Device) -> Bert<B> {
        let norm = || {
            LayerNormConfig::new(self.hidden)
                .with_epsilon(self.layer_norm_eps)
                .init(device)
        };
        let layer = LayerShape {
            hidden: self.hidden,
            heads: self.heads,
            intermediate: self.intermediate,
            layer_norm_eps: self.layer_norm_eps,
            dropout,
            norm_first: false,
        };
        Bert {
            embeddings: Embeddings {
                word_embeddings: EmbeddingConfig::new(vocab_size, self.hidden).init(device),
                position_embeddings: EmbeddingConfig::new(self.max_positions, self.hidden)
                    .init(device),
                token_type_embeddings: EmbeddingConfig::new(self.type_vocab_size, self.hidden)
                    .init(device),
                layer_norm: norm(),
                dropout: DropoutConfig::new(dropout).init(),
            },
            encoder: Transformer::init(layer, self.layers, device),
            family: self.family,
            pad_token_id: self.pad_token_id,
        }
    }
}

/// A BERT-family encoder: token ids → token states.
#[derive(Module, Debug)]
pub struct Bert<B: Backend> {
    pub embeddings: Embeddings<B>,
    pub encoder: Transformer<B>,
    #[module(skip)]
    pub family: Family,
    #[module(skip)]
    pub pad_token_id: usize,
}

#[derive(Module, Debug)]
pub struct Embeddings<B: Backend> {
    pub word_embeddings: Embedding<B>,
    pub position_embeddings: Embedding<B>,
    pub token_type_embeddings: Embedding<B>,
    pub layer_norm: LayerNorm<B>,
    dropout: Dropout,
}

impl<B: Backend> Bert<B> {
    /// `input_ids` [N, T] and `attention_mask` [N, T] (1 token, 0 padding) → states [N, T, H].
    pub fn forward(
        &self,
        input_ids: Tensor<B, 2, Int>,
        attention_mask: Tensor<B, 2, Int>,
    ) -> Tensor<B, 3> {
        let [n, t] = input_ids.dims();
        let device = input_ids.device();
        let positions = match self.family {
            Family::Bert => Tensor::<B, 1, Int>::arange(0..t as i64, &device)
                .reshape([1, t])
                .repeat_dim(0, n),
            Family::Roberta => {
                let real = input_ids
                    .clone()
                    .not_equal_elem(self.pad_token_id as i64)
                    .int();
                real.clone().cumsum(1) * real + self.pad_token_id as i64
            }
        };
        let types = Tensor::<B, 2, Int>::zeros([n, t], &device);
        let e = &self.embeddings;
        let x = e.word_embeddings.forward(input_ids)
            + e.position_embeddings.forward(positions)
            + e.token_type_embeddings.forward(types);
        let x = e.dropout.forward(e.layer_norm.forward(x));
        self.encoder.forward(x, attention_mask.float())
    }
}
