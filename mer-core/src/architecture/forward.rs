//! The forward contract: what a network returns for a batch.

use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

use crate::input::Batch;
use crate::nn::loss::Losses;

/// A network's output for one batch: class logits and the named loss terms it adds.
#[derive(Debug, Clone)]
pub struct Output<B: Backend> {
    /// [N, C]
    pub logits: Tensor<B, 2>,
    /// Loss terms besides classification, unweighted ([1] each), by the names they are
    /// configured under in `[training.losses]`. Empty when only predicting.
    pub terms: Vec<(&'static str, Tensor<B, 1>)>,
}

impl<B: Backend> Output<B> {
    /// Logits and no extra loss term.
    pub fn logits(logits: Tensor<B, 2>) -> Self {
        Output {
            logits,
            terms: Vec::new(),
        }
    }

    /// Adds loss term `name`.
    pub fn with_term(mut self, name: &'static str, value: Tensor<B, 1>) -> Self {
        self.terms.push((name, value));
        self
    }
}

/// A network that scores a batch.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no forward pass",
    label = "declared here without one",
    note = "implement `mer_core::architecture::Forward` for it: the batch's logits and the loss terms it adds"
)]
pub trait Forward<B: Backend> {
    /// The batch's logits and, when `losses` is given (training), every loss term the network
    /// adds, computed with those settings; `None` when only predicting, and no term is needed.
    fn forward(&self, batch: &Batch<B>, losses: Option<&Losses>) -> Output<B>;
}
