//! One optimiser step's loss: the classification term and the network's own terms, weighted and
//! summed as `[training.losses]` says.

use std::collections::BTreeMap;

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use super::error::TrainError;
use crate::architecture::Output;
use crate::nn::loss::{CLASSIFICATION, ClassificationLoss, Losses, classification_loss};

/// A batch's total loss (for the backward pass), its value, and each term's unweighted value.
pub struct StepLoss<B: Backend> {
    pub total: Tensor<B, 1>,
    pub value: f64,
    pub terms: Vec<(&'static str, f64)>,
}

/// The part of a batch one device's shard is, in data-parallel training. Each loss term of the
/// shard is scaled by it, so that the shards' losses (and gradients) add up to the whole
/// batch's: weighted cross-entropy by the shard's part of the batch's class weights (its
/// denominator), every other term by the shard's part of the samples. That sum is exact for
/// terms that are means over samples; a term that compares samples with each other (a
/// contrastive loss) sees only its shard's samples, as under PyTorch's DDP.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Share {
    /// The shard's samples over the batch's.
    pub samples: f64,
    /// The shard's sum of class weights over the batch's.
    pub class_weight: f64,
}

impl Share {
    /// One device: the whole batch.
    pub const WHOLE: Share = Share {
        samples: 1.0,
        class_weight: 1.0,
    };

    /// The factor of term `name` under `losses`.
    fn of(&self, name: &str, losses: &Losses) -> f64 {
        match name == CLASSIFICATION && losses.classification().0 == ClassificationLoss::WeightedCe
        {
            true => self.class_weight,
            false => self.samples,
        }
    }
}

/// Weights and sums the terms of `output`: classification of its logits against `labels`
/// (`class_weights` for weighted cross-entropy), then every term the network added, each
/// scaled by the shard's [`Share`] of its batch ([`Share::WHOLE`] on one device).
pub fn step_loss<B: Backend>(
    output: Output<B>,
    labels: Tensor<B, 1, Int>,
    class_weights: &Tensor<B, 1>,
    losses: &Losses,
    share: Share,
) -> Result<StepLoss<B>, TrainError> {
    let classification = classification_loss(
        losses.classification(),
        output.logits,
        labels,
        class_weights,
    );
    let mut terms = vec![(CLASSIFICATION, classification)];
    terms.extend(output.terms);
    if let Some((name, _)) = terms.iter().find(|(name, _)| losses.get(name).is_none()) {
        return Err(TrainError::UnconfiguredTerm((*name).to_owned()));
    }
    // Every term's value leaves the device in one read: each read waits for the device.
    let values: Vec<f32> = Tensor::cat(terms.iter().map(|(_, t)| t.clone()).collect(), 0)
        .into_data()
        .convert::<f32>()
        .into_vec()
        .expect("float loss terms");
    let mut total: Option<Tensor<B, 1>> = None;
    let mut value = 0.0;
    let mut scaled = Vec::with_capacity(terms.len());
    for ((name, term), unweighted) in terms.iter().zip(&values) {
        let (weight, part) = (losses.weight(name), share.of(name, losses));
        let term_value = f64::from(*unweighted) * part;
        value += weight * term_value;
        // One factor per term: the shard's share folds into the term's weight.
        let weighted = term.clone().mul_scalar(weight * part);
        total = Some(match total {
            Some(sum) => sum + weighted,
            None => weighted,
        });
        scaled.push((*name, term_value));
    }
    Ok(StepLoss {
        total: total.expect("the classification term is always there"),
        value,
        terms: scaled,
    })
}

/// Running sums of each term over an epoch.
#[derive(Debug, Default)]
pub struct TermMeans {
    sums: BTreeMap<String, f64>,
    batches: usize,
}

impl TermMeans {
    pub fn add(&mut self, terms: &[(&'static str, f64)]) {
        for (name, value) in terms {
            *self.sums.entry((*name).to_owned()).or_default() += value;
        }
        self.batches += 1;
    }

    /// Each term's mean over the batches added.
    pub fn means(&self) -> BTreeMap<String, f64> {
        let n = self.batches.max(1) as f64;
        self.sums.iter().map(|(k, v)| (k.clone(), v / n)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::loss::LossTerm;
    use burn::backend::NdArray;

    type B = NdArray<f32>;

    #[test]
    fn terms_are_weighted_and_summed_and_an_unconfigured_one_is_refused() {
        let device = Default::default();
        let logits = Tensor::<B, 2>::from_floats([[0.0, 0.0]], &device);
        let labels = Tensor::<B, 1, Int>::from_ints([0], &device);
        let weights = Tensor::<B, 1>::ones([2], &device);
        let mut losses = Losses::defaults_for(&[CLASSIFICATION, "aux"]);
        losses.0.insert(
            "aux".into(),
            LossTerm {
                weight: 0.5,
                kind: None,
                gamma: None,
                temperature: None,
            },
        );
        let aux = Tensor::<B, 1>::from_floats([3.0], &device);
        let output = Output::logits(logits.clone()).with_term("aux", aux.clone());
        let step = step_loss(output, labels.clone(), &weights, &losses, Share::WHOLE).unwrap();
        let ce = 2f32.ln();
        assert!((step.total.into_scalar() - (ce + 1.5)).abs() < 1e-5);
        assert!((step.value - f64::from(ce + 1.5)).abs() < 1e-5);
        assert_eq!(step.terms[1], ("aux", 3.0));
        let other = Output::logits(logits).with_term("other", aux);
        assert!(matches!(
            step_loss(other, labels, &weights, &losses, Share::WHOLE),
            Err(TrainError::UnconfiguredTerm(name)) if name == "other"
        ));
    }
}
