//! Training losses: the named terms a run's total loss is made of, their settings
//! (`[training.losses]`), and the loss functions over class logits.

use std::collections::BTreeMap;

use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};
use serde::{Deserialize, Serialize};

use crate::config::schema::{ConfigValue, Kind, Problem};

/// The term every network produces: its logits against the gold labels.
pub const CLASSIFICATION: &str = "classification";

/// Focal loss's focusing parameter γ when the config leaves it out.
pub const DEFAULT_FOCAL_GAMMA: f64 = 2.0;

/// The softening temperature τ of distillation terms when the config leaves it out.
pub const DEFAULT_TEMPERATURE: f64 = 4.0;

/// How the classification term scores logits against the gold labels.
#[crate::config]
pub enum ClassificationLoss {
    /// Cross-entropy.
    Ce,
    /// Cross-entropy weighted by inverse class frequency.
    WeightedCe,
    /// Focal loss, (1 − p)^γ · −log p.
    Focal,
}

/// One loss term: its weight in the total and its own settings.
#[crate::config(check = Self::check_values)]
pub struct LossTerm {
    /// The term's factor in the total loss.
    #[config(default = 1.0)]
    pub weight: f64,
    /// The `classification` term's loss; cross-entropy when left out.
    pub kind: Option<ClassificationLoss>,
    /// Focal loss's focusing parameter γ (the `classification` term with `kind = "focal"`).
    pub gamma: Option<f64>,
    /// The softening temperature τ of a distillation term.
    pub temperature: Option<f64>,
}

impl LossTerm {
    fn check_values(&self) -> Result<(), Problem> {
        if self.weight < 0.0 {
            return Err(Problem::new("weight", "must not be negative"));
        }
        if self.gamma.is_some_and(|g| g < 0.0) {
            return Err(Problem::new("gamma", "must not be negative"));
        }
        if self.gamma.is_some() && self.kind != Some(ClassificationLoss::Focal) {
            return Err(Problem::new("gamma", "is set but kind is not \"focal\""));
        }
        if self.temperature.is_some_and(|t| t <= 0.0) {
            return Err(Problem::new("temperature", "must be positive"));
        }
        Ok(())
    }

    /// The classification loss this term asks for.
    pub fn classification(&self) -> ClassificationLoss {
        self.kind.unwrap_or(ClassificationLoss::Ce)
    }
}

/// `[training.losses]`: every loss term of a run by name (`classification`, `disentangle`, …).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Losses(pub BTreeMap<String, LossTerm>);

impl ConfigValue for Losses {
    type Checked = Self;

    fn kind() -> Kind {
        BTreeMap::<String, LossTerm>::kind()
    }

    fn check(&self) -> Result<(), Problem> {
        self.0.check()?;
        for (name, term) in &self.0 {
            if name != CLASSIFICATION && term.kind.is_some() {
                return Err(Problem::new(
                    format!("{name}.kind"),
                    format!("only the `{CLASSIFICATION}` term has a kind"),
                ));
            }
        }
        Ok(())
    }
}

impl Losses {
    /// Every term in `produced` with default settings.
    pub fn defaults_for(produced: &[&str]) -> Self {
        let term = LossTerm {
            weight: 1.0,
            kind: None,
            gamma: None,
            temperature: None,
        };
        Losses(
            produced
                .iter()
                .map(|name| ((*name).to_owned(), term.clone()))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&LossTerm> {
        self.0.get(name)
    }

    /// Term `name`'s weight (0 for a term not configured).
    pub fn weight(&self, name: &str) -> f64 {
        self.get(name).map_or(0.0, |t| t.weight)
    }

    /// Term `name`'s temperature, or [`DEFAULT_TEMPERATURE`].
    pub fn temperature(&self, name: &str) -> f64 {
        self.get(name)
            .and_then(|t| t.temperature)
            .unwrap_or(DEFAULT_TEMPERATURE)
    }

    /// The classification loss and focal γ.
    pub fn classification(&self) -> (ClassificationLoss, f64) {
        let term = self.get(CLASSIFICATION);
        (
            term.map_or(ClassificationLoss::Ce, LossTerm::classification),
            term.and_then(|t| t.gamma).unwrap_or(DEFAULT_FOCAL_GAMMA),
        )
    }

    /// Term names as the checkpoint path's loss slot writes them: the classification loss when
    /// it is not plain cross-entropy, then every other term; `None` when that is nothing.
    pub fn label(&self) -> Option<String> {
        let mut parts = Vec::new();
        let (kind, _) = self.classification();
        if kind != ClassificationLoss::Ce {
            parts.push(kind.to_string());
        }
        parts.extend(
            self.0
                .keys()
                .filter(|name| name.as_str() != CLASSIFICATION)
                .cloned(),
        );
        (!parts.is_empty()).then(|| parts.join("+"))
    }

    /// Checks the configured terms against those the network produces: each one configured,
    /// none extra. Problems are keyed below `training.losses`' parent.
    pub fn match_produced(&self, produced: &[&str]) -> Result<(), Problem> {
        if let Some(extra) = self.0.keys().find(|k| !produced.contains(&k.as_str())) {
            return Err(Problem::new(
                extra.clone(),
                format!(
                    "is configured, but the network produces no such loss term (it produces: {})",
                    produced.join(", ")
                ),
            ));
        }
        if let Some(missing) = produced.iter().find(|p| !self.0.contains_key(**p)) {
            return Err(Problem::new(
                "",
                format!(
                    "has no `{missing}` term, which the network produces: add \
                     [training.losses.{missing}] (weight = 1.0 by default), or leave \
                     [training.losses] out for every term at weight 1"
                ),
            ));
        }
        Ok(())
    }
}

/// Per-class weights for weighted cross-entropy: `total / (classes × count)` (scikit-learn's
/// "balanced"); a class with no examples gets weight 0.
pub fn balanced_weights(counts: &[usize]) -> Vec<f32> {
    let total: usize = counts.iter().sum();
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                total as f32 / (counts.len() * c) as f32
            }
        })
        .collect()
}

/// The mean loss of `logits` [N, C] against `targets` [N]; `weights` [C] are used by weighted
/// cross-entropy (the weighted mean, as PyTorch's `CrossEntropyLoss(weight=...)`), `gamma` by
/// focal loss.
pub fn classification_loss<B: Backend>(
    (kind, gamma): (ClassificationLoss, f64),
    logits: Tensor<B, 2>,
    targets: Tensor<B, 1, Int>,
    weights: &Tensor<B, 1>,
) -> Tensor<B, 1> {
    let [n, _] = logits.dims();
    let log_probs = log_softmax(logits, 1);
    let target_log_prob = log_probs
        .gather(1, targets.clone().reshape([n, 1]))
        .reshape([n]);
    match kind {
        ClassificationLoss::Ce => target_log_prob.neg().mean(),
        ClassificationLoss::WeightedCe => {
            let w = weights.clone().select(0, targets);
            (target_log_prob.neg() * w.clone()).sum() / w.sum()
        }
        ClassificationLoss::Focal => {
            let p = target_log_prob.clone().exp();
            let modulator = (p.neg() + 1.0).powf_scalar(gamma);
            (modulator * target_log_prob).neg().mean()
        }
    }
}

/// Logit distillation (Hinton et al.): τ² · KL(softmax(teacher/τ) ‖ softmax(student/τ)),
/// averaged over the batch. `teacher` [N, C] carries no gradient.
pub fn distillation_kl<B: Backend>(
    student: Tensor<B, 2>,
    teacher: Tensor<B, 2>,
    temperature: f64,
) -> Tensor<B, 1> {
    let [n, _] = student.dims();
    let target = softmax(teacher.detach().div_scalar(temperature), 1);
    let log_student = log_softmax(student.div_scalar(temperature), 1);
    let log_target = target.clone().clamp_min(1e-12).log();
    (target * (log_target - log_student))
        .sum()
        .div_scalar(n as f64)
        .mul_scalar(temperature * temperature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    type B = NdArray<f32>;

    fn value(kind: ClassificationLoss, weights: [f32; 3]) -> f32 {
        let device = Default::default();
        let logits = Tensor::<B, 2>::from_floats([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]], &device);
        let targets = Tensor::<B, 1, Int>::from_ints([0, 1], &device);
        let weights = Tensor::<B, 1>::from_floats(weights, &device);
        classification_loss((kind, DEFAULT_FOCAL_GAMMA), logits, targets, &weights).into_scalar()
    }

    /// -log softmax by hand.
    fn nll(row: [f32; 3], target: usize) -> f32 {
        let z: f32 = row.iter().map(|x| x.exp()).sum();
        -(row[target].exp() / z).ln()
    }

    #[test]
    fn cross_entropy_is_the_mean_negative_log_likelihood() {
        let expected = (nll([2.0, 0.5, -1.0], 0) + nll([0.1, 0.2, 3.0], 1)) / 2.0;
        assert!((value(ClassificationLoss::Ce, [1.0; 3]) - expected).abs() < 1e-5);
    }

    #[test]
    fn weighted_cross_entropy_is_the_weighted_mean() {
        let (a, b) = (nll([2.0, 0.5, -1.0], 0), nll([0.1, 0.2, 3.0], 1));
        let expected = (1.0 * a + 3.0 * b) / 4.0;
        assert!((value(ClassificationLoss::WeightedCe, [1.0, 3.0, 7.0]) - expected).abs() < 1e-5);
        assert!(
            (value(ClassificationLoss::WeightedCe, [2.0; 3])
                - value(ClassificationLoss::Ce, [1.0; 3]))
            .abs()
                < 1e-5
        );
    }

    #[test]
    fn focal_loss_down_weights_easy_examples() {
        let focal = |row: [f32; 3], t: usize| {
            let p = (-nll(row, t)).exp();
            (1.0 - p).powi(2) * nll(row, t)
        };
        let expected = (focal([2.0, 0.5, -1.0], 0) + focal([0.1, 0.2, 3.0], 1)) / 2.0;
        assert!((value(ClassificationLoss::Focal, [1.0; 3]) - expected).abs() < 1e-5);
        assert!(
            value(ClassificationLoss::Focal, [1.0; 3]) < value(ClassificationLoss::Ce, [1.0; 3])
        );
    }

    #[test]
    fn balanced_weights_follow_inverse_frequency() {
        assert_eq!(balanced_weights(&[6, 3, 0]), vec![0.5, 1.0, 0.0]);
    }

    #[test]
    fn distillation_is_zero_for_equal_logits_and_matches_kl_by_hand() {
        let device = Default::default();
        let s = [[1.0f32, 0.0, -1.0]];
        let t = [[0.5f32, 0.5, 2.0]];
        let student = Tensor::<B, 2>::from_floats(s, &device);
        let teacher = Tensor::<B, 2>::from_floats(t, &device);
        let same = distillation_kl(student.clone(), student.clone(), 2.0).into_scalar();
        assert!(same.abs() < 1e-6, "{same}");
        let tau = 2.0f32;
        let soft = |row: [f32; 3]| {
            let z: f32 = row.iter().map(|x| (x / tau).exp()).sum();
            row.map(|x| (x / tau).exp() / z)
        };
        let (p, q) = (soft(t[0]), soft(s[0]));
        let kl: f32 = (0..3).map(|i| p[i] * (p[i] / q[i]).ln()).sum();
        let got = distillation_kl(student, teacher, 2.0).into_scalar();
        assert!(
            (got - tau * tau * kl).abs() < 1e-5,
            "{got} vs {}",
            tau * tau * kl
        );
    }

    #[test]
    fn configured_terms_must_match_the_produced_ones() {
        let losses = Losses::defaults_for(&[CLASSIFICATION, "disentangle"]);
        assert!(
            losses
                .match_produced(&[CLASSIFICATION, "disentangle"])
                .is_ok()
        );
        let extra = losses.match_produced(&[CLASSIFICATION]).unwrap_err();
        assert_eq!(extra.key, "disentangle");
        let missing = Losses::defaults_for(&[CLASSIFICATION])
            .match_produced(&[CLASSIFICATION, "disentangle"])
            .unwrap_err();
        assert!(
            missing.message.contains("`disentangle`"),
            "{}",
            missing.message
        );
        assert_eq!(losses.label().as_deref(), Some("disentangle"));
        assert_eq!(Losses::defaults_for(&[CLASSIFICATION]).label(), None);
    }
}
