//! The modalities of an utterance.

use std::fmt;

use serde::Serialize;

/// An input modality. Ordered alphabetically, as the summary label sorts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Modality {
    /// Audio.
    A,
    /// Text.
    T,
    /// Video.
    V,
}

impl fmt::Display for Modality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Modality::A => "A",
            Modality::T => "T",
            Modality::V => "V",
        })
    }
}
