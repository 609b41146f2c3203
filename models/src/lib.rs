//! Architectures declared with mer's DSL, and what their binaries share.
//!
//! Each architecture registers itself when this crate is linked; `mer` finds them all.

pub mod bench;
pub mod bench_encoders;
pub mod bench_train_step;
pub mod cli;
pub mod commands;
pub mod encode;
pub mod encode_media;
pub mod experiment;
pub mod export;
pub mod makd;
pub mod mdn;
pub mod multimodal;
pub mod pipeline;
pub mod prep;
pub mod report;
pub mod results;
pub mod telme;
pub mod text_data;
pub mod tools;
pub mod unimodal;

pub use makd::{Makd, MakdConfig};
pub use mdn::{Mdn, MdnConfig};
pub use multimodal::{Multimodal, MultimodalConfig};
pub use telme::{Telme, TelmeAudio, TelmeAudioConfig, TelmeConfig, TelmeVideo, TelmeVideoConfig};
pub use unimodal::{Unimodal, UnimodalConfig};
