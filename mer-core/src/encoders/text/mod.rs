//! Text encoders: BERT and RoBERTa, from Hugging Face folders or randomly initialised, with
//! their tokenizers and pooling.

pub mod bert;
pub mod error;
pub mod hf;
pub mod tokenize;

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

pub use bert::{Bert, BertShape, Family};
pub use error::TextError;
pub use tokenize::{Keep, TextTokenizer, TokenBatch, TokenizerOptions};

use sha2::{Digest, Sha256};

use crate::cache::{self, CacheError, FeatureCache, FeatureIdentity, Key};
use crate::config::schema::Problem;
use crate::config::wiring::Wiring;
use crate::encoders::{CacheableEncoder, Encode};
use crate::input::{Batch, Sample};

/// Speaker tokens added to every tokenizer used with dialogue prompts. MELD's busiest dialogue
/// has 9 speakers; beyond that, tokens are reused in turn.
pub const SPEAKER_TOKENS: usize = 9;

/// The token of a dialogue's `k`th speaker (by first appearance).
pub fn speaker_token(k: usize) -> String {
    format!("<s{}>", k % SPEAKER_TOKENS)
}

/// The demo dataset's tokenizer (a word-level RoBERTa-style vocabulary): a randomly initialised
/// encoder without a `tokenizer` file uses it, so the built-in demo runs from any folder.
pub const DEMO_TOKENIZER: &str = include_str!("../../../../datasets/demo/tokenizer.json");

/// How token states become one vector per utterance.
#[crate::config]
pub enum Pooling {
    /// The state at the prompt's mask token (`<mask>` / `[MASK]`): needs `prompt = "dialogue"`.
    Mask,
    /// The first token's state (`<s>` / `[CLS]`).
    Cls,
    /// The mean over real (unpadded) tokens.
    Mean,
}

/// What the encoder reads for an utterance.
#[crate::config]
pub enum PromptKind {
    /// The utterance alone.
    Utterance,
    /// The dialogue so far with speaker tokens, then `</s> Now <sK> feels <mask>`.
    Dialogue,
}

/// A BERT-family text encoder: pretrained from a Hugging Face folder, or randomly initialised.
#[crate::config(check = Self::check_files)]
pub struct TextEncoderConfig {
    /// A Hugging Face model folder (`config.json`, `model.safetensors`, `tokenizer.json`).
    pub pretrained: Option<String>,
    /// The tokenizer file; by default `tokenizer.json` in `pretrained`, or without `pretrained`
    /// the demo dataset's tokenizer.
    pub tokenizer: Option<String>,
    /// The shape of a randomly initialised encoder; with `pretrained`, its `config.json` says.
    pub shape: Option<BertShape>,
    /// Longest input in tokens, special tokens included; longer inputs are truncated.
    #[config(default = 128, range = "at-least-one")]
    pub max_len: usize,
    /// How token states are pooled.
    #[config(default = Pooling::Mask)]
    pub pooling: Pooling,
    /// What the encoder reads for an utterance.
    #[config(default = PromptKind::Dialogue)]
    pub prompt: PromptKind,
    /// Dropout inside the encoder while training.
    #[config(default = 0.1)]
    pub dropout: f64,
}

impl TextEncoderConfig {
    fn check_files(&self) -> Result<(), Problem> {
        let shape = match (&self.pretrained, &self.shape) {
            (Some(_), Some(_)) => {
                return Err(Problem::new(
                    "shape",
                    "give `pretrained` or `shape`, not both (a pretrained folder's config.json sets the shape)",
                ));
            }
            (None, None) => {
                return Err(Problem::new(
                    "pretrained",
                    "give `pretrained` (a Hugging Face folder) or a `shape` to initialise randomly",
                ));
            }
            (Some(dir), None) => hf::read_shape(Path::new(dir))
                .map_err(|e| Problem::new("pretrained", e.to_string()))?,
            (None, Some(shape)) => shape.clone(),
        };
        let tokenizer = self
            .tokenizer_for(&shape)
            .map_err(|e| Problem::new(self.tokenizer_key(), e.to_string()))?;
        if self.pooling == Pooling::Mask {
            if self.prompt != PromptKind::Dialogue {
                return Err(Problem::new(
                    "pooling",
                    "\"mask\" pooling reads the dialogue prompt's mask token: set prompt = \"dialogue\"",
                ));
            }
            if tokenizer.find_token(&["<mask>", "[MASK]"]).is_none() {
                return Err(Problem::new(
                    self.tokenizer_key(),
                    "the tokenizer has no mask token (<mask> or [MASK])",
                ));
            }
        }
        let positions = shape.max_tokens();
        if self.max_len < 2 || self.max_len > positions {
            return Err(Problem::new(
                "max_len",
                format!("must be between 2 and {positions}, the encoder's positions"),
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Problem::new("dropout", "must be in [0, 1)"));
        }
        Ok(())
    }

    fn tokenizer_key(&self) -> &'static str {
        if self.tokenizer.is_some() {
            "tokenizer"
        } else {
            "pretrained"
        }
    }

    /// The shape of the encoder, from `shape` or the pretrained folder.
    pub fn encoder_shape(&self) -> Result<BertShape, TextError> {
        match (&self.pretrained, &self.shape) {
            (Some(dir), _) => hf::read_shape(Path::new(dir)),
            (None, Some(shape)) => Ok(shape.clone()),
            (None, None) => Err(TextError::Unsupported {
                path: PathBuf::new(),
                message: "neither `pretrained` nor `shape` is set".into(),
            }),
        }
    }

    /// The tokenizer, with speaker tokens when prompts are dialogues.
    pub fn tokenizer(&self) -> Result<TextTokenizer, TextError> {
        self.tokenizer_for(&self.encoder_shape()?)
    }

    /// [`TextEncoderConfig::tokenizer`] for an encoder shape already read.
    fn tokenizer_for(&self, shape: &BertShape) -> Result<TextTokenizer, TextError> {
        let (extra, keep) = match self.prompt {
            PromptKind::Dialogue => ((0..SPEAKER_TOKENS).map(speaker_token).collect(), Keep::Last),
            PromptKind::Utterance => (Vec::new(), Keep::First),
        };
        let options = TokenizerOptions {
            extra: &extra,
            pad_token_id: shape.pad_token_id as u32,
            max_len: self.max_len,
            keep,
        };
        match (&self.tokenizer, &self.pretrained) {
            (Some(file), _) => TextTokenizer::from_file(Path::new(file), &options),
            (None, Some(dir)) => {
                TextTokenizer::from_file(&Path::new(dir).join("tokenizer.json"), &options)
            }
            (None, None) => TextTokenizer::from_json(
                DEMO_TOKENIZER,
                Path::new("datasets/demo/tokenizer.json (built in)"),
                &options,
            ),
        }
    }

    /// Builds the encoder, loading pretrained weights when a folder is given.
    ///
    /// # Panics
    /// If the files changed since the config was checked (checking loads the same files).
    pub fn init<B: Backend>(&self, device: &B::Device) -> TextEncoder<B> {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`TextEncoderConfig::init`], reporting unreadable or unfitting files as errors.
    pub fn try_init<B: Backend>(&self, device: &B::Device) -> Result<TextEncoder<B>, TextError> {
        self.try_init_reporting(device).map(|(encoder, _)| encoder)
    }

    /// [`TextEncoderConfig::try_init`], also saying what loading pretrained weights did.
    pub fn try_init_reporting<B: Backend>(
        &self,
        device: &B::Device,
    ) -> Result<(TextEncoder<B>, Option<hf::LoadReport>), TextError> {
        let shape = self.encoder_shape()?;
        let tokenizer = self.tokenizer_for(&shape)?;
        let rows = shape.vocab_size.max(tokenizer.vocab_size());
        let (bert, report) = match &self.pretrained {
            Some(dir) => {
                let mut bert = shape.init(shape.vocab_size, self.dropout, device);
                let report = hf::load_weights(&mut bert, Path::new(dir))?;
                hf::resize_token_embeddings(&mut bert, rows);
                (bert, Some(report))
            }
            None => (shape.init(rows, self.dropout, device), None),
        };
        let encoder = TextEncoder {
            bert,
            pooling: self.pooling,
            mask_token: tokenizer
                .find_token(&["<mask>", "[MASK]"])
                .and_then(|t| tokenizer.token_id(&t))
                .map(i64::from),
        };
        Ok((encoder, report))
    }
}

impl Wiring for TextEncoderConfig {
    fn output_width(&self) -> Result<usize, Problem> {
        if self.pretrained.is_none() && self.shape.is_none() {
            return Err(Problem::new(
                "shape",
                "missing: set `shape` (a randomly initialised encoder) or `pretrained` (a \
                 Hugging Face folder)",
            ));
        }
        self.encoder_shape()
            .map(|shape| shape.hidden)
            .map_err(|e| Problem::new("pretrained", e.to_string()))
    }
}

impl CacheableEncoder for TextEncoderConfig {
    fn feature_identity<B: Backend, M: Module<B>>(
        &self,
        module: &M,
        cache: &FeatureCache,
    ) -> Result<FeatureIdentity, CacheError> {
        let (weights, shape_source) = match &self.pretrained {
            Some(dir) => {
                let dir = Path::new(dir);
                (
                    format!(
                        "sha256:{}",
                        cache.file_digest(&dir.join("model.safetensors"))?
                    ),
                    format!("sha256:{}", cache.file_digest(&dir.join("config.json"))?),
                )
            }
            None => (
                crate::encoders::random_weights_digest(module)?,
                serde_json::to_string(&self.shape).expect("shape serialises"),
            ),
        };
        let tokenizer = match (&self.tokenizer, &self.pretrained) {
            (Some(file), _) => format!("sha256:{}", cache.file_digest(Path::new(file))?),
            (None, Some(dir)) => format!(
                "sha256:{}",
                cache.file_digest(&Path::new(dir).join("tokenizer.json"))?
            ),
            (None, None) => format!(
                "builtin:{}",
                &crate::config::identity::hex(&Sha256::digest(DEMO_TOKENIZER.as_bytes()))[..32]
            ),
        };
        Ok(FeatureIdentity::new(serde_json::json!({
            "encoder": "text",
            "weights": weights,
            "shape": shape_source,
            "tokenizer": tokenizer,
            "speaker_tokens": SPEAKER_TOKENS,
            "prompt": self.prompt.as_str(),
            "max_len": self.max_len,
            "pooling": self.pooling.as_str(),
        })))
    }

    fn input_key(&self, sample: &Sample, _: &FeatureCache) -> Result<Key, CacheError> {
        Ok(cache::key_of(&sample.text_bytes()))
    }
}

impl<B: Backend> Encode<B> for TextEncoder<B> {
    fn encode(&self, batch: &Batch<B>) -> Tensor<B, 2> {
        self.forward(batch.text.ids.clone(), batch.text.attention_mask.clone())
    }
}

/// Token ids → one vector per input.
#[derive(Module, Debug)]
pub struct TextEncoder<B: Backend> {
    pub bert: Bert<B>,
    #[module(skip)]
    pooling: Pooling,
    #[module(skip)]
    mask_token: Option<i64>,
}

impl<B: Backend> TextEncoder<B> {
    /// `input_ids` [N, T] and `attention_mask` [N, T] → pooled states [N, H].
    pub fn forward(
        &self,
        input_ids: Tensor<B, 2, Int>,
        attention_mask: Tensor<B, 2, Int>,
    ) -> Tensor<B, 2> {
        let [n, _] = input_ids.dims();
        let weights = match self.pooling {
            Pooling::Cls => None,
            Pooling::Mean => Some(attention_mask.clone().float()),
            Pooling::Mask => Some(
                input_ids
                    .clone()
                    .equal_elem(self.mask_token.unwrap_or(-1))
                    .float(),
            ),
        };
        let states = self.bert.forward(input_ids, attention_mask);
        let [_, _, hidden] = states.dims();
        match weights {
            None => states.slice([0..n, 0..1, 0..hidden]).reshape([n, hidden]),
            Some(weights) => {
                let counts = weights.clone().sum_dim(1).clamp_min(1.0);
                let summed = (states * weights.unsqueeze_dim::<3>(2))
                    .sum_dim(1)
                    .reshape([n, hidden]);
                summed / counts
            }
        }
    }
}
