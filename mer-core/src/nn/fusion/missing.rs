//! Missing modalities: a learned placeholder stands in for a modality a sample lacks, and
//! modality dropout hides whole modalities in training so the fusion learns to do without.

use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Distribution, Tensor};

/// One learned placeholder vector per modality, and the training-time dropout rate of whole
/// modalities.
#[derive(Debug, Clone, PartialEq)]
pub struct ModalityGateConfig {
    /// Width of each modality's vector.
    pub inputs: Vec<usize>,
    /// Probability that a modality of a sample is replaced by its placeholder in training.
    pub dropout: f64,
}

impl ModalityGateConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> ModalityGate<B> {
        ModalityGate {
            placeholders: self
                .inputs
                .iter()
                .map(|&width| {
                    Initializer::Normal {
                        mean: 0.0,
                        std: 1.0,
                    }
                    .init([1, width], device)
                })
                .collect(),
            dropout: self.dropout,
        }
    }
}

#[derive(Module, Debug)]
pub struct ModalityGate<B: Backend> {
    /// [1, width] per modality.
    placeholders: Vec<Param<Tensor<B, 2>>>,
    dropout: f64,
}

impl<B: Backend> ModalityGate<B> {
    /// Each modality's vectors with the missing ones replaced by its placeholder. A sample's
    /// modality is missing when `present[m]` says so, or, in training, with probability
    /// `dropout`.
    ///
    /// # Shapes
    /// `inputs[m]` [N, width_m], `present[m]` [N] → `[N, width_m]` each.
    pub fn forward(
        &self,
        inputs: Vec<Tensor<B, 2>>,
        present: Option<&[Tensor<B, 1, Bool>]>,
    ) -> Vec<Tensor<B, 2>> {
        let training = inputs.first().is_some_and(|x| B::ad_enabled(&x.device()));
        inputs
            .into_iter()
            .enumerate()
            .map(|(m, x)| {
                let [n, width] = x.dims();
                let device = x.device();
                let mut missing: Option<Tensor<B, 1, Bool>> =
                    present.map(|present| present[m].clone().bool_not());
                if training && self.dropout > 0.0 {
                    let dropped =
                        Tensor::<B, 1>::random([n], Distribution::Bernoulli(self.dropout), &device)
                            .equal_elem(1.0);
                    missing = Some(match missing {
                        Some(m) => m.bool_or(dropped),
                        None => dropped,
                    });
                }
                match missing {
                    None => x,
                    Some(missing) => {
                        let placeholder = self.placeholders[m].val().expand([n, width]);
                        x.mask_where(missing.reshape([n, 1]).expand([n, width]), placeholder)
                    }
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};

    type B = NdArray<f32>;

    #[test]
    fn missing_modalities_become_their_placeholder() {
        let device = Default::default();
        let gate: ModalityGate<B> = ModalityGateConfig {
            inputs: vec![2, 3],
            dropout: 0.0,
        }
        .init(&device);
        let a = Tensor::<B, 2>::ones([2, 2], &device);
        let v = Tensor::<B, 2>::ones([2, 3], &device);
        let present = [
            Tensor::<B, 1, Bool>::from_bool([true, false].into(), &device),
            Tensor::<B, 1, Bool>::from_bool([true, true].into(), &device),
        ];
        let out = gate.forward(vec![a.clone(), v.clone()], Some(&present));
        let placeholder = gate.placeholders[0].val();
        assert!(
            (out[0].clone().narrow(0, 0, 1) - a.narrow(0, 0, 1))
                .abs()
                .max()
                .into_scalar()
                == 0.0
        );
        assert!(
            (out[0].clone().narrow(0, 1, 1) - placeholder)
                .abs()
                .max()
                .into_scalar()
                == 0.0
        );
        assert!((out[1].clone() - v.clone()).abs().max().into_scalar() == 0.0);
        // Nothing is dropped outside training, whatever the rate.
        let eval: ModalityGate<B> = ModalityGateConfig {
            inputs: vec![3],
            dropout: 0.9,
        }
        .init(&device);
        assert!(
            (eval.forward(vec![v.clone()], None)[0].clone() - v)
                .abs()
                .max()
                .into_scalar()
                == 0.0
        );
    }

    #[test]
    fn modality_dropout_hides_about_p_of_the_samples_in_training() {
        let device = Default::default();
        let gate: ModalityGate<Autodiff<B>> = ModalityGateConfig {
            inputs: vec![4],
            dropout: 0.5,
        }
        .init(&device);
        let x = Tensor::<Autodiff<B>, 2>::full([400, 4], 100.0, &device);
        let out = gate.forward(vec![x], None).remove(0);
        let replaced = out.lower_elem(50.0).int().sum().into_scalar() as f64 / 1600.0;
        assert!((0.35..0.65).contains(&replaced), "{replaced}");
    }
}
