//! A Hugging Face `tokenizer.json`, used as `transformers` does with `padding=True`: pad to the
//! longest input of the batch, truncate at the model's maximum.

use std::path::Path;

use tokenizers::{AddedToken, Tokenizer, TruncationDirection};

use super::error::TextError;

/// Which tokens survive when an input is too long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The first (plain text, as `transformers` truncates).
    First,
    /// The last (dialogue prompts: the current utterance and the question are at the end).
    Last,
}

/// What mer adds to a tokenizer file and how it pads and truncates.
#[derive(Debug, Clone, Copy)]
pub struct TokenizerOptions<'a> {
    /// Special tokens added after the vocabulary (speaker tokens).
    pub extra: &'a [String],
    /// Padding id when the file declares no padding token.
    pub pad_token_id: u32,
    /// Longest input, special tokens included.
    pub max_len: usize,
    pub keep: Keep,
}

/// A tokenizer with mer's additions (speaker tokens) and its padding and truncation rules.
#[derive(Debug, Clone)]
pub struct TextTokenizer {
    inner: Tokenizer,
    pad_id: u32,
    max_len: usize,
    keep: Keep,
}

/// Token ids of a batch, padded to its longest input.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBatch {
    /// [N][T] token ids.
    pub ids: Vec<Vec<u32>>,
    /// [N][T]: 1 for tokens, 0 for padding.
    pub attention_mask: Vec<Vec<u32>>,
}

impl TextTokenizer {
    /// Loads `tokenizer.json` with mer's additions and rules.
    pub fn from_file(path: &Path, options: &TokenizerOptions<'_>) -> Result<Self, TextError> {
        let inner = Tokenizer::from_file(path).map_err(|e| TextError::Tokenizer {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        Self::new(inner, path, options)
    }

    /// Like [`TextTokenizer::from_file`], from the JSON text itself; `name` is what errors show.
    pub fn from_json(
        json: &str,
        name: &Path,
        options: &TokenizerOptions<'_>,
    ) -> Result<Self, TextError> {
        let inner: Tokenizer =
            json.parse()
                .map_err(|e: tokenizers::Error| TextError::Tokenizer {
                    path: name.to_owned(),
                    message: e.to_string(),
                })?;
        Self::new(inner, name, options)
    }

    fn new(
        mut inner: Tokenizer,
        path: &Path,
        options: &TokenizerOptions<'_>,
    ) -> Result<Self, TextError> {
        // The file's own padding and truncation are ignored: mer pads and truncates itself.
        inner.with_padding(None);
        inner
            .with_truncation(None)
            .map_err(|e| TextError::Tokenizer {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        let tokens: Vec<AddedToken> = options
            .extra
            .iter()
            .map(|t| AddedToken::from(t.clone(), true))
            .collect();
        inner.add_special_tokens(&tokens);
        let pad_id = ["<pad>", "[PAD]"]
            .iter()
            .find_map(|t| inner.token_to_id(t))
            .unwrap_or(options.pad_token_id);
        Ok(TextTokenizer {
            inner,
            pad_id,
            max_len: options.max_len,
            keep: options.keep,
        })
    }

    /// The tokenizer as `tokenizer.json` (speaker tokens included), for an export.
    pub fn to_json(&self) -> Result<String, TextError> {
        self.inner
            .to_string(true)
            .map_err(|e| TextError::Encode(e.to_string()))
    }

    /// Vocabulary size, added tokens included: the rows the embedding table needs.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The first of `candidates` the vocabulary has (`["<mask>", "[MASK]"]`).
    pub fn find_token(&self, candidates: &[&str]) -> Option<String> {
        candidates
            .iter()
            .find(|t| self.inner.token_to_id(t).is_some())
            .map(|t| (*t).to_owned())
    }

    /// Tokenizes one text with special tokens, truncated to `max_len`.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TextError> {
        let added = self
            .inner
            .get_post_processor()
            .map_or(0, |p| tokenizers::PostProcessor::added_tokens(p, false));
        let budget = self.max_len.saturating_sub(added).max(1);
        let direction = match self.keep {
            Keep::First => TruncationDirection::Right,
            Keep::Last => TruncationDirection::Left,
        };
        let mut encoding = self
            .inner
            .encode(text, false)
            .map_err(|e| TextError::Encode(e.to_string()))?;
        if encoding.len() > budget {
            encoding.truncate(budget, 0, direction);
        }
        let encoding = self
            .inner
            .post_process(encoding, None, true)
            .map_err(|e| TextError::Encode(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The id padding uses.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// Tokenizes `texts` with special tokens, truncating each to `max_len` and padding all to the
    /// longest.
    pub fn encode_batch(&self, texts: &[String]) -> Result<TokenBatch, TextError> {
        let rows = texts
            .iter()
            .map(|text| self.encode(text))
            .collect::<Result<Vec<_>, _>>()?;
        let longest = rows.iter().map(Vec::len).max().unwrap_or(0);
        let attention_mask = rows
            .iter()
            .map(|r| (0..longest).map(|i| u32::from(i < r.len())).collect())
            .collect();
        let ids = rows
            .into_iter()
            .map(|mut r| {
                r.resize(longest, self.pad_id);
                r
            })
            .collect();
        Ok(TokenBatch {
            ids,
            attention_mask,
        })
    }
}
