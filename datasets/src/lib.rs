//! Dataset readers of mer: MELD and IEMOCAP in their own layouts, dialogue prompts, and the
//! committed demo dataset.
//!
//! Which dataset a run reads, and what it predicts, is configured by
//! [`mer_core::input::data::DataConfig`]; [`load`] turns that into dialogues of labelled utterances.

mod csvfile;
pub mod error;
pub mod iemocap;
pub mod labels;
pub mod media;
pub mod meld;
pub mod paths;
pub mod prompt;
pub mod split;

use std::path::{Path, PathBuf};

pub use error::DatasetError;
pub use labels::LabelSet;
use mer_core::input::data::{DataConfig, Dataset};
pub use split::Split;

/// One utterance of a dialogue, with its gold label.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    pub speaker: String,
    pub text: String,
    /// Index into the split's [`LabelSet`].
    pub label: usize,
    /// Where its audio would be (MELD: `audios/{split}/dia{D}_utt{U}.flac`).
    pub audio: Option<PathBuf>,
    /// Where its video would be (MELD: `videos/{split}/dia{D}_utt{U}.mp4`).
    pub video: Option<PathBuf>,
}

/// A dialogue: utterances in the order they were spoken.
#[derive(Debug, Clone, PartialEq)]
pub struct Dialogue {
    pub id: String,
    pub utterances: Vec<Utterance>,
}

/// One split of a dataset.
#[derive(Debug, Clone)]
pub struct SplitData {
    pub split: Split,
    pub labels: LabelSet,
    pub dialogues: Vec<Dialogue>,
}

impl SplitData {
    /// Every utterance, dialogue by dialogue.
    pub fn utterances(&self) -> impl Iterator<Item = &Utterance> {
        self.dialogues.iter().flat_map(|d| d.utterances.iter())
    }

    pub fn len(&self) -> usize {
        self.dialogues.iter().map(|d| d.utterances.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Utterances per class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.labels.len()];
        for utterance in self.utterances() {
            counts[utterance.label] += 1;
        }
        counts
    }
}

/// The folder of the demo dataset committed with mer.
pub fn demo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("demo")
}

/// The dataset's folder: `data.root`, or the built-in demo's; `None` when neither applies.
fn root(config: &DataConfig) -> Option<PathBuf> {
    match (&config.root, config.dataset) {
        (Some(root), _) => Some(PathBuf::from(root)),
        (None, Dataset::Demo) => Some(demo_root()),
        (None, _) => None,
    }
}

/// The file a dataset's test split is read from, when its root is known.
pub fn test_split_file(config: &DataConfig) -> Option<PathBuf> {
    let root = root(config)?;
    Some(match config.dataset {
        Dataset::Meld | Dataset::Demo => root.join("test_sent_emo.csv"),
        Dataset::Iemocap => root.join("test.csv"),
    })
}

/// Reads one split of the dataset `config` names.
pub fn load(config: &DataConfig, split: Split) -> Result<SplitData, DatasetError> {
    let labels = LabelSet::of(config.dataset, config.label)?;
    let root = root(config).ok_or(DatasetError::NoRoot(config.dataset.display_name()))?;
    let dialogues = match config.dataset {
        Dataset::Meld | Dataset::Demo => meld::read(&root, split, config.label, &labels)?,
        Dataset::Iemocap => iemocap::read(&root, split, &labels)?,
    };
    Ok(SplitData {
        split,
        labels,
        dialogues,
    })
}
