//! The named terms a run's total loss is made of and their settings (`[training.losses]`).

use std::collections::BTreeMap;

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
    #[config(default = 1.0, range = "non-negative")]
    pub weight: f64,
    /// The `classification` term's loss; cross-entropy when left out.
    pub kind: Option<ClassificationLoss>,
    /// Focal loss's focusing parameter γ (the `classification` term with `kind = "focal"`).
    #[config(range = "non-negative")]
    pub gamma: Option<f64>,
    /// The softening temperature τ of a distillation term.
    #[config(range = "positive")]
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

#[cfg(test)]
mod tests {
    use super::*;

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
