//! Training losses: the named terms a run's total loss is made of, their settings
//! (`[training.losses]`), and the loss functions.

pub mod classification;
pub mod contrastive;
pub mod curriculum;
pub mod distillation;
pub mod reconstruction;
pub mod similarity;
pub mod terms;

#[cfg(test)]
mod gradcheck;

pub use classification::{balanced_weights, classification_loss};
pub use distillation::{dist, distillation_kl, feature_distillation};
pub use terms::{
    CLASSIFICATION, ClassificationLoss, DEFAULT_FOCAL_GAMMA, DEFAULT_TEMPERATURE, LossTerm, Losses,
};
