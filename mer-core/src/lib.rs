//! mer's core: everything an architecture declared with the DSL is built on.
//!
//! Its modules are layers, each depending only on those listed before it (`tests/layers.rs`
//! checks this, and that no files depend on each other in a cycle):
//!
//! - [`util`]: atomic file writes, work spread over threads;
//! - [`config`]: the typed description of configs (schema), TOML files merged in order with
//!   `--set` overrides and validated with file:line:column, the Markdown reference, and the
//!   identity hash of a config;
//! - [`input`]: modalities, datasets and labels, samples, media decoded ahead, batches;
//! - [`nn`]: the building blocks networks are made of (linear layers with LoRA, convolutions,
//!   transformer layers, heads, projectors, fusions, losses);
//! - [`cache`]: the persistent feature cache of frozen encoders;
//! - [`encoders`]: the text, audio and video encoders and the modes of an `#[encoder]` field;
//! - [`architecture`]: what `#[derive(Architecture)]` implements, the summary label and the
//!   parameter table;
//! - [`store`]: the content-addressed checkpoint store;
//! - [`run`]: a run's whole config, its checkpoint name, its plan and its metrics;
//! - [`train`]: the training loop, frozen features, evaluation, resuming;
//! - [`registry`]: where architectures register, so tools find them by name.

extern crate self as mer_core;

pub mod architecture;
pub mod cache;
pub mod config;
pub mod encoders;
pub mod input;
pub mod nn;
pub mod registry;
pub mod run;
pub mod store;
pub mod train;
pub mod util;

pub use mer_macros::{Architecture, config};

/// Paths the generated code uses; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use burn;
    pub use inventory;
    pub use serde;
}
