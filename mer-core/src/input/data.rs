//! Which data a run reads: the dataset, the label kind and where the files are.

/// Which data a run reads.
#[crate::config]
pub struct DataConfig {
    /// The dataset, read in its own layout.
    #[config(default = Dataset::Demo)]
    pub dataset: Dataset,
    /// What is predicted.
    #[config(default = LabelKind::Emotion)]
    pub label: LabelKind,
    /// The dataset's folder; the built-in demo dataset when left out.
    pub root: Option<String>,
}

const MELD_EMOTIONS: &[&str] = &[
    "neutral", "joy", "sadness", "anger", "fear", "disgust", "surprise",
];
const MELD_SENTIMENTS: &[&str] = &["neutral", "positive", "negative"];
const IEMOCAP_EMOTIONS: &[&str] = &["neu", "ang", "exc", "fru", "hap", "sad"];

impl DataConfig {
    /// The classes of the configured labels; see [`Dataset::class_names`].
    pub fn class_names(&self) -> Option<&'static [&'static str]> {
        self.dataset.class_names(self.label)
    }
}

/// A dataset mer reads.
#[crate::config]
pub enum Dataset {
    /// MELD: Friends dialogues, 7 emotions, 3 sentiments.
    Meld,
    /// IEMOCAP, in TelME's CSV layout: 6 emotions.
    Iemocap,
    /// The small MELD-layout dataset committed with mer.
    Demo,
}

impl Dataset {
    /// The classes of this dataset's labels of `kind`, in class-index order; `None` when the
    /// dataset has no such labels (IEMOCAP sentiments).
    pub fn class_names(self, kind: LabelKind) -> Option<&'static [&'static str]> {
        match (self, kind) {
            (Dataset::Meld | Dataset::Demo, LabelKind::Emotion) => Some(MELD_EMOTIONS),
            (Dataset::Meld | Dataset::Demo, LabelKind::Sentiment) => Some(MELD_SENTIMENTS),
            (Dataset::Iemocap, LabelKind::Emotion) => Some(IEMOCAP_EMOTIONS),
            (Dataset::Iemocap, LabelKind::Sentiment) => None,
        }
    }

    /// The name checkpoint paths use.
    pub fn display_name(self) -> &'static str {
        match self {
            Dataset::Meld => "MELD",
            Dataset::Iemocap => "IEMOCAP",
            Dataset::Demo => "demo",
        }
    }
}

/// What is predicted from an utterance.
#[crate::config]
pub enum LabelKind {
    Emotion,
    Sentiment,
}

impl LabelKind {
    /// `E` or `S`, as checkpoint paths write it.
    pub fn letter(self) -> char {
        match self {
            LabelKind::Emotion => 'E',
            LabelKind::Sentiment => 'S',
        }
    }
}
