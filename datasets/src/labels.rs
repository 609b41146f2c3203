//! The classes each dataset labels utterances with, in the order class indices follow.

use mer_core::input::data::{Dataset, LabelKind};

use crate::DatasetError;

/// A dataset's classes for one kind of label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelSet {
    pub names: &'static [&'static str],
}

impl LabelSet {
    pub fn of(dataset: Dataset, kind: LabelKind) -> Result<Self, DatasetError> {
        let names = dataset.class_names(kind).ok_or(DatasetError::NoLabels(
            dataset.display_name(),
            kind.as_str(),
        ))?;
        Ok(LabelSet { names })
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The index of a label as written in the data (case-insensitive).
    pub fn index(&self, name: &str) -> Option<usize> {
        let name = name.trim();
        self.names.iter().position(|n| n.eq_ignore_ascii_case(name))
    }

    /// `one of neutral, joy, …` for error messages.
    pub fn describe(&self) -> String {
        format!("one of {}", self.names.join(", "))
    }
}
