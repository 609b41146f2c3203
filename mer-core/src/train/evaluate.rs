//! Prediction and scoring: class probabilities for samples, and a split's metrics.

use burn::tensor::backend::Backend;

use super::data::TrainData;
use super::frozen::{FrozenFeatures, SplitName};
use crate::architecture::Forward;
use crate::input::{Batch, MediaFeed, MediaLoadError, MediaNeeds, MediaStream, Padding, Sample};
use crate::run::Metrics;

/// Class probabilities for every sample, in order; batches are formed by length so little
/// padding is computed. `media` decodes what `needs` asks for, ahead of the batches.
pub fn predict<B: Backend, M: Forward<B>>(
    network: &M,
    samples: &[Sample],
    pad_id: u32,
    batch_size: usize,
    device: &B::Device,
    media: (Option<&MediaFeed>, MediaNeeds),
) -> Result<Vec<Vec<f32>>, MediaLoadError> {
    predict_with(
        network,
        samples,
        (pad_id, &Padding::default()),
        batch_size,
        device,
        media,
        |_, _| {},
    )
}

/// [`predict`], batches padded as `padding` says, calling `attach` on each batch with its
/// samples' indices (to add features).
pub fn predict_with<B: Backend, M: Forward<B>>(
    network: &M,
    samples: &[Sample],
    (pad_id, padding): (u32, &Padding),
    batch_size: usize,
    device: &B::Device,
    (feed, needs): (Option<&MediaFeed>, MediaNeeds),
    attach: impl Fn(&mut Batch<B>, &[usize]),
) -> Result<Vec<Vec<f32>>, MediaLoadError> {
    let mut order: Vec<usize> = (0..samples.len()).collect();
    order.sort_by_key(|&i| samples[i].text_ids.len());
    let batch_size = batch_size.max(1);
    let mut media = MediaStream::start(feed, samples, &order, needs, 2 * batch_size);
    let mut out = vec![Vec::new(); samples.len()];
    for chunk in order.chunks(batch_size) {
        let batch_samples: Vec<&Sample> = chunk.iter().map(|&i| &samples[i]).collect();
        let decoded = media.take(chunk.len())?;
        let mut batch = Batch::<B>::padded(&batch_samples, &decoded, pad_id, padding, device);
        attach(&mut batch, chunk);
        let probs = burn::tensor::activation::softmax(network.forward(&batch, None).logits, 1);
        let [n, c] = probs.dims();
        let values: Vec<f32> = probs
            .into_data()
            .convert::<f32>()
            .into_vec()
            .expect("float probabilities");
        for (row, &i) in chunk.iter().enumerate().take(n) {
            out[i] = values[row * c..(row + 1) * c].to_vec();
        }
    }
    Ok(out)
}

pub(super) fn evaluate<B: Backend, M: Forward<B>>(
    network: &M,
    (samples, split): (&[Sample], SplitName),
    data: &TrainData,
    (frozen, needs): (&FrozenFeatures, MediaNeeds),
    (batch_size, padding): (usize, &Padding),
    device: &B::Device,
) -> Result<Metrics, MediaLoadError> {
    let predicted: Vec<usize> = predict_with(
        network,
        samples,
        (data.pad_id, padding),
        batch_size,
        device,
        (data.media.as_ref(), needs),
        |batch, indices| frozen.attach(batch, split, indices, device),
    )?
    .iter()
    .map(|p| argmax(p))
    .collect();
    let gold: Vec<usize> = samples.iter().map(|s| s.label).collect();
    Ok(Metrics::compute(&gold, &predicted, data.num_classes))
}

/// The index of the largest value (the first, on ties).
pub fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}
