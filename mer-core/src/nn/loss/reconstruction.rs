//! Reconstruction losses: smooth L1 (the disentanglement term) and feature reconstruction
//! learning (FRL), SimSiam's negative cosine with a stop-gradient between modalities.

use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

use super::similarity::mean_cosine;
use crate::nn::projector::{Projector, ProjectorConfig};

/// PyTorch's `smooth_l1_loss` with β = 1, averaged over every element: ½d² where |d| < 1,
/// |d| − ½ elsewhere.
///
/// # Shapes
/// `prediction`, `target` [N, D] → [1].
pub fn smooth_l1<B: Backend>(prediction: Tensor<B, 2>, target: Tensor<B, 2>) -> Tensor<B, 1> {
    let diff = (prediction - target).abs();
    let small = diff.clone().lower_elem(1.0);
    let quadratic = diff.clone().powi_scalar(2).mul_scalar(0.5);
    let linear = diff.sub_scalar(0.5);
    linear.mask_where(small, quadratic).mean()
}

/// FRL's widths: the modalities it relates, the first one (the text) to each other.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureReconstructionConfig {
    /// Width of each modality's vector; the first is the anchor.
    pub inputs: Vec<usize>,
    /// Width of the projections; the sum of the inputs' widths when `None` (the seed's choice).
    pub hidden: Option<usize>,
}

impl FeatureReconstructionConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> FeatureReconstruction<B> {
        let hidden = self.hidden.unwrap_or(self.inputs.iter().sum());
        FeatureReconstruction {
            projectors: self
                .inputs
                .iter()
                .map(|&w| ProjectorConfig::new(w, hidden, 1).init(device))
                .collect(),
            predictors: self
                .inputs
                .iter()
                .map(|_| ProjectorConfig::new(hidden, hidden, 1).init(device))
                .collect(),
        }
    }
}

/// Feature reconstruction learning: each modality's projection predicts the anchor's and the
/// anchor's predicts each modality's (SimSiam, Chen & He, 2021). Its projectors and predictors
/// are module fields, so they are saved and trained with the network (the seed kept them in a
/// plain Python list: never registered, never updated).
#[derive(Module, Debug)]
pub struct FeatureReconstruction<B: Backend> {
    projectors: Vec<Projector<B>>,
    predictors: Vec<Projector<B>>,
}

impl<B: Backend> FeatureReconstruction<B> {
    /// −½ Σ_m [cos(pred_0(h_0), sg(h_m)) + cos(pred_m(h_m), sg(h_0))] over the modalities m
    /// after the first, with h_m = proj_m(x_m) and sg the stop-gradient.
    ///
    /// # Shapes
    /// `inputs[m]` [N, inputs[m]] → [1].
    pub fn forward(&self, inputs: &[Tensor<B, 2>]) -> Tensor<B, 1> {
        let h: Vec<Tensor<B, 2>> = self
            .projectors
            .iter()
            .zip(inputs)
            .map(|(p, x)| p.forward(x.clone()))
            .collect();
        let device = inputs[0].device();
        (1..h.len()).fold(Tensor::zeros([1], &device), |total, m| {
            let anchor_predicts = mean_cosine(
                self.predictors[0].forward(h[0].clone()),
                h[m].clone().detach(),
            );
            let other_predicts = mean_cosine(
                self.predictors[m].forward(h[m].clone()),
                h[0].clone().detach(),
            );
            total - (anchor_predicts + other_predicts).mul_scalar(0.5)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::loss::gradcheck::{self, AB};
    use burn::module::{AutodiffModule, ModuleMapper, Param};
    use burn::optim::{AdamConfig, GradientsParams, Optimizer};
    use burn::tensor::Distribution;

    const X: [f64; 8] = [0.2, -1.7, 0.9, 0.1, 1.4, -0.3, -0.6, 2.2];

    #[test]
    fn smooth_l1_matches_its_definition_with_gradients() {
        let target = [0.0, 0.5, 1.0, -1.0, 1.0, 0.0, 0.4, 0.0];
        let reference = |x: &[f64]| {
            x.iter()
                .zip(&target)
                .map(|(a, b)| {
                    let d = (a - b).abs();
                    if d < 1.0 { 0.5 * d * d } else { d - 0.5 }
                })
                .sum::<f64>()
                / 8.0
        };
        let t = || {
            Tensor::<AB, 1>::from_floats(target.map(|v| v as f32), &Default::default())
                .reshape([2, 4])
        };
        gradcheck::check(|x| smooth_l1(x, t()), reference, &X, [2, 4]);
    }

    /// Collects every float parameter's values.
    struct Values(Vec<Vec<f32>>);
    impl<B: Backend> ModuleMapper<B> for Values {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
            self.0.push(param.val().to_data().to_vec::<f32>().unwrap());
            param
        }
    }

    fn values<M: Module<AB>>(module: M) -> Vec<Vec<f32>> {
        let mut v = Values(Vec::new());
        module.map(&mut v);
        v.0
    }

    #[test]
    fn frl_projectors_and_predictors_receive_gradients_and_change() {
        let device = Default::default();
        let frl: FeatureReconstruction<AB> = FeatureReconstructionConfig {
            inputs: vec![6, 4, 4],
            hidden: Some(8),
        }
        .init(&device);
        let x = |w| Tensor::<AB, 2>::random([5, w], Distribution::Normal(0.0, 1.0), &device);
        let inputs = [x(6), x(4), x(4)];
        let before = values(frl.clone());
        let loss = frl.forward(&inputs);
        let first = loss.clone().into_scalar();
        let grads = GradientsParams::from_grads(loss.backward(), &frl);
        // Every projector and predictor of every modality has a gradient.
        assert_eq!(grads.len(), values(frl.clone()).len());
        let mut optim = AdamConfig::new().init();
        let mut frl = optim.step(1e-2, frl, grads);
        let after = values(frl.clone());
        assert!(
            before.iter().zip(&after).all(|(b, a)| b != a),
            "a tensor did not change"
        );
        for _ in 0..30 {
            let loss = frl.forward(&inputs);
            let grads = GradientsParams::from_grads(loss.backward(), &frl);
            frl = optim.step(1e-2, frl, grads);
        }
        let last = frl
            .valid()
            .forward(&inputs.map(|x| x.inner()))
            .into_scalar();
        assert!(last < first, "{last} !< {first}");
    }
}
