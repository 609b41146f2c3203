//! What a run reports: each epoch's figures, the epoch selected on dev, and the run's outcome.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::cache::CacheStats;
use crate::input::BatchShape;
use crate::run::Metrics;

/// One epoch's figures: what `metrics.jsonl` holds, one line each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    /// The weighted total loss, the epoch's mean.
    pub train_loss: f64,
    /// Each loss term's epoch mean, unweighted.
    #[serde(default)]
    pub losses: BTreeMap<String, f64>,
    pub dev: Metrics,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<Metrics>,
}

/// The epoch selected on dev.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestEpoch {
    pub epoch: usize,
    pub dev: Metrics,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<Metrics>,
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub dir: PathBuf,
    pub best: BestEpoch,
    pub epochs: usize,
    /// The epoch a resumed run started from (0: it started fresh).
    pub resumed_at: usize,
    /// Mean training throughput, utterances per second.
    pub train_utterances_per_s: f64,
    /// Mean inference throughput while evaluating, utterances per second.
    pub eval_utterances_per_s: f64,
    /// Seconds of each epoch (this process's and earlier ones').
    pub epoch_seconds: Vec<f64>,
    /// Mean training loss of each epoch.
    pub train_losses: Vec<f64>,
    /// Seconds spent before the first epoch reading or computing frozen encoders' features.
    pub feature_seconds: f64,
    /// Inputs the frozen encoders had to encode (the rest came from the cache).
    pub frozen_encoded: usize,
    /// Seconds of that encoding.
    pub frozen_encode_seconds: f64,
    /// What the feature cache served and computed.
    pub cache: CacheStats,
    /// The distinct shapes this process padded its batches to (training, evaluation and
    /// frozen encoding): on a GPU, each is a set of kernels compiled and tuned.
    pub batch_shapes: Vec<BatchShape>,
}
