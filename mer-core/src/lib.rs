//! mer's core: everything an architecture declared with the DSL is built on.
//!
//! - [`schema`]: the typed description of configs (types, defaults, docs) that validation,
//!   JSON Schema and the Markdown reference are all made from;
//! - [`config`]: TOML files merged in order, `--set` overrides, validation with file:line:column;
//! - [`identity`]: the canonical form of an architecture config and its stable hash;
//! - [`architecture`], [`registry`], [`plan`]: what `#[derive(Architecture)]` implements, where
//!   architectures register, and the resolved plan of a run;
//! - [`summary`]: the network label (`1xE--A+T+V`) and the parameter table;
//! - [`store`], [`atomic`]: the content-addressed checkpoint store and atomic writes;
//! - [`nn`]: the building blocks architectures are made of;
//! - [`text`], [`audio`], [`video`]: the encoders of each modality.

extern crate self as mer_core;

pub mod architecture;
pub mod atomic;
pub mod audio;
pub mod cache;
pub mod config;
pub mod encoder;
pub mod identity;
pub mod lora;
pub mod metrics;
pub mod nn;
pub mod parallel;
pub mod plan;
pub mod reference;
pub mod registry;
pub mod run;
pub mod schema;
pub mod store;
pub mod summary;
pub mod text;
pub mod train;
pub mod video;

pub use mer_macros::{Architecture, config};

/// Paths the generated code uses; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use burn;
    pub use inventory;
    pub use serde;
}
