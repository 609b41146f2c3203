//! Dataset readers of mer: MELD and IEMOCAP in their own layouts, dialogue prompts, media
//! decoding, and the committed demo dataset.
//!
//! Which dataset a run reads, and what it predicts, is configured by
//! [`mer_core::run::DataConfig`]; this crate turns that into utterances.
