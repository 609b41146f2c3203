//! The forward contract: what a network returns for a batch.

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use crate::input::Batch;
use crate::nn::loss::Losses;

/// A network's output for one batch: class logits, the vector its head read, and the named loss
/// terms it adds.
#[derive(Debug, Clone)]
pub struct Output<B: Backend> {
    /// [N, C]
    pub logits: Tensor<B, 2>,
    /// [N, H]: what the head classified, when the network says; a student distils from a
    /// teacher's (feature distillation).
    pub features: Option<Tensor<B, 2>>,
    /// Loss terms besides classification, unweighted ([1] each), by the names they are
    /// configured under in `[training.losses]`. Empty when only predicting.
    pub terms: Vec<(&'static str, Tensor<B, 1>)>,
}

impl<B: Backend> Output<B> {
    /// Logits and no extra loss term.
    pub fn logits(logits: Tensor<B, 2>) -> Self {
        Output {
            logits,
            features: None,
            terms: Vec::new(),
        }
    }

    /// Adds the vector the head read [N, H].
    pub fn with_features(mut self, features: Tensor<B, 2>) -> Self {
        self.features = Some(features);
        self
    }

    /// Adds loss term `name`.
    pub fn with_term(mut self, name: &'static str, value: Tensor<B, 1>) -> Self {
        self.terms.push((name, value));
        self
    }
}

/// A teacher's outputs as the feature cache holds them: one row per input, `[C, logits (C),
/// features (H)]`. The leading count lets a row be split without knowing the teacher's classes,
/// and a student on other labels be told so instead of misreading the columns.
pub struct TeacherRow;

impl TeacherRow {
    /// `output`'s logits and features, one row per input → [N, 1 + C + H].
    pub fn encode<B: Backend>(output: Output<B>) -> Tensor<B, 2> {
        let [n, classes] = output.logits.dims();
        let count = Tensor::full([n, 1], classes as f32, &output.logits.device());
        let mut parts = vec![count, output.logits];
        parts.extend(output.features);
        Tensor::cat(parts, 1)
    }

    /// The number of logits in rows made by [`TeacherRow::encode`].
    pub fn classes(row: &[f32]) -> usize {
        row.first().map_or(0, |&c| c as usize)
    }

    /// The logits [N, C] and features [N, H] (`None` when the teacher gives none) of `rows`.
    /// The class count is read from the device once per call: this runs every training step.
    pub fn split<B: Backend>(rows: Tensor<B, 2>) -> (Tensor<B, 2>, Option<Tensor<B, 2>>) {
        let [_, width] = rows.dims();
        let classes = Self::count(&rows);
        let features =
            (width > 1 + classes).then(|| rows.clone().narrow(1, 1 + classes, width - 1 - classes));
        (rows.narrow(1, 1, classes), features)
    }

    fn count<B: Backend>(rows: &Tensor<B, 2>) -> usize {
        let first: TensorData = rows.clone().narrow(0, 0, 1).narrow(1, 0, 1).into_data();
        first
            .convert::<f32>()
            .to_vec::<f32>()
            .ok()
            .and_then(|v| v.first().map(|&c| c as usize))
            .unwrap_or(0)
    }
}

/// Teacher field `field`'s logits [N, C] and features [N, H] for `batch`: from the batch's
/// cached rows when training attached them (each input's computed once), else the teacher run.
pub fn teacher_outputs<B: Backend, T: Forward<B>>(
    teacher: &T,
    batch: &Batch<B>,
    field: &str,
) -> (Tensor<B, 2>, Option<Tensor<B, 2>>) {
    match batch.features.get(field) {
        Some(rows) => TeacherRow::split(rows.clone()),
        None => {
            let output = teacher.forward(batch, None);
            (output.logits, output.features)
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    type B = NdArray<f32>;

    #[test]
    fn a_teacher_row_splits_back_into_its_logits_and_features() {
        let device = Default::default();
        let logits = Tensor::<B, 2>::from_floats([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], &device);
        let features = Tensor::<B, 2>::from_floats([[0.5, -0.5], [1.5, -1.5]], &device);
        let output = Output::logits(logits.clone()).with_features(features.clone());
        let rows = TeacherRow::encode(output);
        assert_eq!(rows.dims(), [2, 6]);
        let first: Vec<f32> = rows.clone().narrow(0, 0, 1).into_data().to_vec().unwrap();
        assert_eq!(TeacherRow::classes(&first), 3);
        let (back_logits, back_features) = TeacherRow::split(rows);
        assert_eq!(back_logits.into_data(), logits.clone().into_data());
        let back = back_features.unwrap();
        assert_eq!(back.into_data(), features.into_data());

        // Without features, a row is the count and the logits.
        let rows = TeacherRow::encode(Output::logits(logits.clone()));
        assert_eq!(rows.dims(), [2, 4]);
        let (back_logits, back_features) = TeacherRow::split(rows);
        assert!(back_features.is_none());
        assert_eq!(back_logits.into_data(), logits.into_data());
    }
}
