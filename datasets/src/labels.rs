//! The classes each dataset labels utterances with, in the order class indices follow.

use mer_core::input::data::{Dataset, LabelKind};

use crate::DatasetError;

const MELD_EMOTIONS: &[&str] = &[
    "neutral", "joy", "sadness", "anger", "fear", "disgust", "surprise",
];
const MELD_SENTIMENTS: &[&str] = &["neutral", "positive", "negative"];
const IEMOCAP_EMOTIONS: &[&str] = &["neu", "ang", "exc", "fru", "hap", "sad"];

/// A dataset's classes for one kind of label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelSet {
    pub names: &'static [&'static str],
}

impl LabelSet {
    pub fn of(dataset: Dataset, kind: LabelKind) -> Result<Self, DatasetError> {
        let names = match (dataset, kind) {
            (Dataset::Meld | Dataset::Demo, LabelKind::Emotion) => MELD_EMOTIONS,
            (Dataset::Meld | Dataset::Demo, LabelKind::Sentiment) => MELD_SENTIMENTS,
            (Dataset::Iemocap, LabelKind::Emotion) => IEMOCAP_EMOTIONS,
            (Dataset::Iemocap, LabelKind::Sentiment) => {
                return Err(DatasetError::NoLabels("IEMOCAP", "sentiment"));
            }
        };
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
