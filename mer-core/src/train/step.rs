//! One optimiser step's loss: the classification term and the network's own terms, weighted and
//! summed as `[training.losses]` says.

use std::collections::BTreeMap;

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use super::error::TrainError;
use crate::architecture::Output;
use crate::nn::loss::{CLASSIFICATION, Losses, classification_loss};

/// A batch's total loss (for the backward pass), its value, and each term's unweighted value.
pub struct StepLoss<B: Backend> {
    pub total: Tensor<B, 1>,
    pub value: f64,
    pub terms: Vec<(&'static str, f64)>,
}

/// Weights and sums the terms of `output`: classification of its logits against `labels`
/// (`class_weights` for weighted cross-entropy), then every term the network added.
pub fn step_loss<B: Backend>(
    output: Output<B>,
    labels: Tensor<B, 1, Int>,
    class_weights: &Tensor<B, 1>,
    losses: &Losses,
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
    for ((name, term), unweighted) in terms.iter().zip(&values) {
        let weight = losses.weight(name);
        value += weight * f64::from(*unweighted);
        let weighted = term.clone().mul_scalar(weight);
        total = Some(match total {
            Some(sum) => sum + weighted,
            None => weighted,
        });
    }
    Ok(StepLoss {
        total: total.expect("the classification term is always there"),
        value,
        terms: terms
            .iter()
            .zip(values)
            .map(|((name, _), v)| (*name, f64::from(v)))
            .collect(),
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
        let step = step_loss(output, labels.clone(), &weights, &losses).unwrap();
        let ce = 2f32.ln();
        assert!((step.total.into_scalar() - (ce + 1.5)).abs() < 1e-5);
        assert!((step.value - f64::from(ce + 1.5)).abs() < 1e-5);
        assert_eq!(step.terms[1], ("aux", 3.0));
        let other = Output::logits(logits).with_term("other", aux);
        assert!(matches!(
            step_loss(other, labels, &weights, &losses),
            Err(TrainError::UnconfiguredTerm(name)) if name == "other"
        ));
    }
}
