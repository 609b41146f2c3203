//! The network label: experts, then the modalities sorted and joined by `+` (`1xE--A+T+V`).

use std::collections::BTreeSet;
use std::fmt;

use crate::input::Modality;

/// The network label: `{experts}xE--{modalities sorted, joined by +}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub experts: usize,
    pub modalities: BTreeSet<Modality>,
}

impl Summary {
    pub fn new(experts: usize, modalities: &[Modality]) -> Self {
        Summary {
            experts,
            modalities: modalities.iter().copied().collect(),
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let modalities: Vec<String> = self.modalities.iter().map(|m| m.to_string()).collect();
        write!(f, "{}xE--{}", self.experts, modalities.join("+"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_sorts_modalities() {
        let summary = Summary::new(1, &[Modality::V, Modality::T, Modality::A]);
        assert_eq!(summary.to_string(), "1xE--A+T+V");
        assert_eq!(Summary::new(3, &[Modality::T]).to_string(), "3xE--T");
    }
}
