//! Samples a model reads and the batches they are padded into.

use std::collections::BTreeMap;

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

/// One utterance, prepared: token ids of its (prompted) text and its gold label.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub text_ids: Vec<u32>,
    pub label: usize,
}

impl Sample {
    /// The text input's bytes, for cache keys.
    pub fn text_bytes(&self) -> Vec<u8> {
        self.text_ids.iter().flat_map(|t| t.to_le_bytes()).collect()
    }
}

/// Text input of a batch: ids padded to the longest.
#[derive(Debug, Clone)]
pub struct TextInput<B: Backend> {
    /// [N, T]
    pub ids: Tensor<B, 2, Int>,
    /// [N, T]: 1 token, 0 padding.
    pub attention_mask: Tensor<B, 2, Int>,
}

/// A batch: each modality's input and the gold labels.
#[derive(Debug, Clone)]
pub struct Batch<B: Backend> {
    pub text: TextInput<B>,
    /// [N]
    pub labels: Tensor<B, 1, Int>,
    /// Cached outputs [N, H] of frozen encoders, by field name: the generated `encode_<field>`
    /// returns these instead of running the encoder.
    pub features: BTreeMap<&'static str, Tensor<B, 2>>,
}

impl<B: Backend> Batch<B> {
    /// Pads `samples` to their longest text with `pad_id`.
    pub fn new(samples: &[&Sample], pad_id: u32, device: &B::Device) -> Self {
        let n = samples.len();
        let t = samples
            .iter()
            .map(|s| s.text_ids.len())
            .max()
            .unwrap_or(0)
            .max(1);
        let mut ids = Vec::with_capacity(n * t);
        let mut mask = Vec::with_capacity(n * t);
        for sample in samples {
            for i in 0..t {
                let token = sample.text_ids.get(i);
                ids.push(i64::from(*token.unwrap_or(&pad_id)));
                mask.push(i64::from(token.is_some()));
            }
        }
        let labels: Vec<i64> = samples.iter().map(|s| s.label as i64).collect();
        Batch {
            text: TextInput {
                ids: Tensor::from_data(TensorData::new(ids, [n, t]), device),
                attention_mask: Tensor::from_data(TensorData::new(mask, [n, t]), device),
            },
            labels: Tensor::from_data(TensorData::new(labels, [n]), device),
            features: BTreeMap::new(),
        }
    }
}

/// A network that scores a batch: class logits [N, C].
pub trait Classifier<B: Backend> {
    fn logits(&self, batch: &Batch<B>) -> Tensor<B, 2>;
}
