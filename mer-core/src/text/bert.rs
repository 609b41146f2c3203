//! The BERT and RoBERTa encoders, module for module as Hugging Face's `BertModel` and
//! `RobertaModel` (post-norm layers, exact GELU), so their checkpoints load with little renaming.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig};
use burn::tensor::activation::{gelu, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use crate::nn::{Linear, LinearConfig};

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
    #[config(default = 8000)]
    pub vocab_size: usize,
    /// Width of token states.
    #[config(default = 64)]
    pub hidden: usize,
    /// Transformer layers.
    #[config(default = 2)]
    pub layers: usize,
    /// Attention heads per layer; divides `hidden`.
    #[config(default = 4)]
    pub heads: usize,
    /// Width of the feed-forward block.
    #[config(default = 128)]
    pub intermediate: usize,
    /// Rows of the position table (RoBERTa uses two for the padding offset).
    #[config(default = 514)]
    pub max_positions: usize,
    /// Rows of the token-type table.
    #[config(default = 1)]
    pub type_vocab_size: usize,
    /// Epsilon of every layer norm.
    #[config(default = 1e-5)]
    pub layer_norm_eps: f64,
    /// The padding token's id.
    #[config(default = 1)]
    pub pad_token_id: usize,
}

impl BertShape {
    fn check_shape(&self) -> Result<(), crate::schema::Problem> {
        use crate::schema::{Problem, at_least_one, divides_hidden};
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
        Ok(())
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
            encoder: Encoder::init(layer, self.layers, device),
            family: self.family,
            pad_token_id: self.pad_token_id,
        }
    }
}

/// A BERT-family encoder: token ids → token states.
#[derive(Module, Debug)]
pub struct Bert<B: Backend> {
    pub embeddings: Embeddings<B>,
    pub encoder: Encoder<B>,
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

#[derive(Module, Debug)]
pub struct Encoder<B: Backend> {
    pub layer: Vec<Layer<B>>,
}

#[derive(Module, Debug)]
pub struct Layer<B: Backend> {
    pub attention: Attention<B>,
    pub intermediate: Intermediate<B>,
    pub output: Output<B>,
}

#[derive(Module, Debug)]
pub struct Attention<B: Backend> {
    /// `attention.self` in Hugging Face's names (`self` is a Rust keyword).
    pub self_attn: SelfAttention<B>,
    pub output: Output<B>,
}

#[derive(Module, Debug)]
pub struct SelfAttention<B: Backend> {
    pub query: Linear<B>,
    pub key: Linear<B>,
    pub value: Linear<B>,
    dropout: Dropout,
    #[module(skip)]
    heads: usize,
}

#[derive(Module, Debug)]
pub struct Intermediate<B: Backend> {
    pub dense: Linear<B>,
}

/// Dense, dropout, residual, layer norm: `BertSelfOutput` and `BertOutput`.
#[derive(Module, Debug)]
pub struct Output<B: Backend> {
    pub dense: Linear<B>,
    pub layer_norm: LayerNorm<B>,
    dropout: Dropout,
}

/// The shape of one post-norm transformer layer; the audio and video encoders build theirs
/// from it too.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LayerShape {
    pub hidden: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub layer_norm_eps: f64,
    pub dropout: f64,
}

impl<B: Backend> Encoder<B> {
    /// `layers` BERT layers of `shape`, randomly initialised.
    pub(crate) fn init(shape: LayerShape, layers: usize, device: &B::Device) -> Self {
        Encoder {
            layer: (0..layers).map(|_| init_layer(shape, device)).collect(),
        }
    }
}

/// A BERT layer of `shape`, randomly initialised.
fn init_layer<B: Backend>(shape: LayerShape, device: &B::Device) -> Layer<B> {
    let norm = || {
        LayerNormConfig::new(shape.hidden)
            .with_epsilon(shape.layer_norm_eps)
            .init(device)
    };
    let linear = |input, output| LinearConfig::new(input, output).init(device);
    let dropout = || DropoutConfig::new(shape.dropout).init();
    let hidden = shape.hidden;
    Layer {
        attention: Attention {
            self_attn: SelfAttention {
                query: linear(hidden, hidden),
                key: linear(hidden, hidden),
                value: linear(hidden, hidden),
                dropout: dropout(),
                heads: shape.heads,
            },
            output: Output {
                dense: linear(hidden, hidden),
                layer_norm: norm(),
                dropout: dropout(),
            },
        },
        intermediate: Intermediate {
            dense: linear(hidden, shape.intermediate),
        },
        output: Output {
            dense: linear(shape.intermediate, hidden),
            layer_norm: norm(),
            dropout: dropout(),
        },
    }
}

/// `mask` [N, T] (1 real, 0 padding) → the bias [N, heads, T, T] that keeps attention off
/// padding. Expanded once to the scores' shape: same-shape adds take the CPU backend's SIMD path.
pub(crate) fn attention_bias<B: Backend>(mask: Tensor<B, 2>, heads: usize) -> Tensor<B, 4> {
    let [n, t] = mask.dims();
    (mask - 1.0)
        .mul_scalar(1e9)
        .reshape([n, 1, 1, t])
        .repeat_dim(1, heads)
        .repeat_dim(2, t)
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

impl<B: Backend> Encoder<B> {
    /// `x` [N, T, H] and `mask` [N, T] (1 real, 0 padding) → [N, T, H].
    pub fn forward(&self, mut x: Tensor<B, 3>, mask: Tensor<B, 2>) -> Tensor<B, 3> {
        // Padding gets a large negative score, so softmax gives it no weight.
        let heads = self
            .layer
            .first()
            .map_or(1, |l| l.attention.self_attn.heads);
        let bias = attention_bias(mask, heads);
        for layer in &self.layer {
            x = layer.forward(x, bias.clone());
        }
        x
    }
}

impl<B: Backend> Layer<B> {
    /// [N, T, H] → [N, T, H]; `bias` [N, heads, T, T] is added to the attention scores.
    pub fn forward(&self, x: Tensor<B, 3>, bias: Tensor<B, 4>) -> Tensor<B, 3> {
        let context = self.attention.self_attn.forward(x.clone(), bias);
        let attended = self.attention.output.forward(context, x);
        let inner = gelu(self.intermediate.dense.forward(attended.clone()));
        self.output.forward(inner, attended)
    }
}

impl<B: Backend> SelfAttention<B> {
    /// [N, T, H] → [N, T, H]; `bias` [N, heads, T, T] is added to the scores.
    fn forward(&self, x: Tensor<B, 3>, bias: Tensor<B, 4>) -> Tensor<B, 3> {
        let [n, t, hidden] = x.dims();
        let d = hidden / self.heads;
        let split = |y: Tensor<B, 3>| y.reshape([n, t, self.heads, d]).swap_dims(1, 2);
        let q = split(self.query.forward(x.clone()));
        let k = split(self.key.forward(x.clone()));
        let v = split(self.value.forward(x));
        let scores = q.matmul(k.swap_dims(2, 3)).div_scalar((d as f64).sqrt()) + bias;
        let probs = self.dropout.forward(softmax(scores, 3));
        probs.matmul(v).swap_dims(1, 2).reshape([n, t, hidden])
    }
}

impl<B: Backend> Output<B> {
    fn forward(&self, x: Tensor<B, 3>, residual: Tensor<B, 3>) -> Tensor<B, 3> {
        self.layer_norm
            .forward(self.dropout.forward(self.dense.forward(x)) + residual)
    }
}
