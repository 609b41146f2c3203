//! `mer encode`: a Hugging Face text encoder's `last_hidden_state`, to check the port against
//! PyTorch.

use std::path::Path;

use anyhow::Context;
use burn::backend::NdArray;
use burn::tensor::{Int, Tensor, TensorData};
use mer_core::encoders::text::{Pooling, PromptKind, TextEncoderConfig, TokenBatch, hf};
use mer_core::util::atomic;
use safetensors::{Dtype, View};

type B = NdArray<f32>;

/// What `transformers`' `AutoModel` returns for a padded batch.
pub struct Encoded {
    pub batch: TokenBatch,
    /// [N, T, H], row-major.
    pub last_hidden_state: Vec<f32>,
    pub hidden: usize,
}

/// Tokenizes `texts` with the folder's tokenizer (padding to the longest, truncating at the
/// model's maximum) and runs the encoder.
pub fn encode(model: &Path, texts: &[String]) -> anyhow::Result<Encoded> {
    let shape = hf::read_shape(model)?;
    let config = TextEncoderConfig {
        pretrained: Some(model.display().to_string()),
        tokenizer: None,
        shape: None,
        max_len: shape.max_tokens(),
        pooling: Pooling::Cls,
        prompt: PromptKind::Utterance,
        dropout: 0.0,
    };
    let tokenizer = config.tokenizer()?;
    let device = Default::default();
    let (encoder, report) = config.try_init_reporting::<B>(&device)?;
    if let Some(report) = report.filter(|r| !r.unused.is_empty()) {
        eprintln!(
            "loaded {} tensors; not used by the encoder: {}",
            report.applied,
            report.unused.join(", ")
        );
    }
    let batch = tokenizer.encode_batch(texts)?;
    let (n, t) = (batch.ids.len(), batch.ids.first().map_or(0, Vec::len));
    let flat =
        |rows: &[Vec<u32>]| -> Vec<i64> { rows.iter().flatten().map(|&x| i64::from(x)).collect() };
    let ids = Tensor::<B, 2, Int>::from_data(TensorData::new(flat(&batch.ids), [n, t]), &device);
    let mask = Tensor::<B, 2, Int>::from_data(
        TensorData::new(flat(&batch.attention_mask), [n, t]),
        &device,
    );
    let states = encoder.bert.forward(ids, mask);
    let hidden = states.dims()[2];
    let last_hidden_state = states
        .into_data()
        .into_vec::<f32>()
        .context("reading the encoder's output")?;
    Ok(Encoded {
        batch,
        last_hidden_state,
        hidden,
    })
}

struct Raw<'a> {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: &'a [u8],
}

impl View for Raw<'_> {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        self.bytes.into()
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

impl Encoded {
    /// Writes `last_hidden_state` (f32 [N, T, H]) and `attention_mask` (i64 [N, T]) atomically.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let n = self.batch.ids.len();
        let t = self.batch.ids.first().map_or(0, Vec::len);
        let states: Vec<u8> = self
            .last_hidden_state
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let mask: Vec<u8> = self
            .batch
            .attention_mask
            .iter()
            .flatten()
            .flat_map(|&x| i64::from(x).to_le_bytes())
            .collect();
        let tensors = [
            (
                "attention_mask",
                Raw {
                    dtype: Dtype::I64,
                    shape: vec![n, t],
                    bytes: &mask,
                },
            ),
            (
                "last_hidden_state",
                Raw {
                    dtype: Dtype::F32,
                    shape: vec![n, t, self.hidden],
                    bytes: &states,
                },
            ),
        ];
        let bytes = safetensors::serialize(tensors, None)?;
        atomic::write(path, &bytes).with_context(|| format!("writing {}", path.display()))
    }
}
