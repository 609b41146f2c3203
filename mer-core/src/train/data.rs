//! The prepared splits a run trains on.

use crate::input::{MediaFeed, Sample};

/// Prepared splits: samples, what a batch pads with, and what decodes their media.
#[derive(Debug, Clone)]
pub struct TrainData {
    pub train: Vec<Sample>,
    pub dev: Vec<Sample>,
    /// Empty when the dataset has no test split here (it is then not reported).
    pub test: Vec<Sample>,
    pub pad_id: u32,
    pub num_classes: usize,
    /// Decodes audio and video for the encoders that read them; `None` for text-only networks.
    pub media: Option<MediaFeed>,
}

impl TrainData {
    /// Training utterances per class.
    pub fn train_class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes];
        for s in &self.train {
            counts[s.label] += 1;
        }
        counts
    }

    /// The most tokens any sample of any split has.
    pub fn longest_text(&self) -> usize {
        [&self.train, &self.dev, &self.test]
            .into_iter()
            .flatten()
            .map(|s| s.text_ids.len())
            .max()
            .unwrap_or(0)
    }
}
