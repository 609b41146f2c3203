//! AdamW whose update is one pass over each parameter on the CPU (`mer_kernels::adamw`) and
//! Burn's own `AdamW` on other backends. The state is Burn's `AdamWState`, so optimiser
//! records saved by Burn's `AdamW` (resume states of earlier runs) load unchanged.

use burn::config::Config;
use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamWState, AdaptiveMomentumState, LearningRate, SimpleOptimizer};
use burn::tensor::Tensor;
use burn::tensor::backend::{AutodiffBackend, Backend};
use mer_kernels::AdamWStep;

/// [`AdamW`]'s settings; the defaults are Burn's `AdamWConfig`'s.
#[derive(Config, Debug)]
pub struct AdamWConfig {
    /// Decay of the first moment.
    #[config(default = 0.9)]
    pub beta_1: f32,
    /// Decay of the second moment.
    #[config(default = 0.999)]
    pub beta_2: f32,
    /// Added to the second moment's square root.
    #[config(default = 1e-5)]
    pub epsilon: f32,
    /// Decoupled weight decay.
    #[config(default = 1e-4)]
    pub weight_decay: f32,
    /// Gradient clipping before the update, if any.
    pub grad_clipping: Option<GradientClippingConfig>,
}

/// AdamW (Loshchilov & Hutter) with bias-corrected moments, as `torch.optim.AdamW`.
#[derive(Clone)]
pub struct AdamW {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    weight_decay: f32,
    /// The same settings, for tensors the CPU kernel does not take.
    burn: burn::optim::AdamW,
}

impl AdamWConfig {
    /// The optimiser for module `M` on backend `B`.
    pub fn init<B: AutodiffBackend, M: AutodiffModule<B>>(&self) -> OptimizerAdaptor<AdamW, M, B> {
        let optimizer = AdamW {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
            weight_decay: self.weight_decay,
            burn: burn::optim::AdamWConfig::new()
                .with_beta_1(self.beta_1)
                .with_beta_2(self.beta_2)
                .with_epsilon(self.epsilon)
                .with_weight_decay(self.weight_decay)
                .build(),
        };
        let adaptor = OptimizerAdaptor::from(optimizer);
        match &self.grad_clipping {
            Some(clipping) => adaptor.with_grad_clipping(clipping.init()),
            None => adaptor,
        }
    }
}

impl<B: Backend> SimpleOptimizer<B> for AdamW {
    type State<const D: usize> = AdamWState<B, D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<B, D>, Option<Self::State<D>>) {
        let (time, moments) = match state {
            Some(AdamWState { momentum }) => (
                momentum.time + 1,
                Some((momentum.moment_1, momentum.moment_2)),
            ),
            None => (1, None),
        };
        let step = AdamWStep {
            lr,
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
            weight_decay: self.weight_decay,
            time: time as i32,
        };
        match mer_kernels::adamw((tensor, grad, moments), &step) {
            Ok((tensor, m, v)) => {
                let momentum = AdaptiveMomentumState::new(time, m, v);
                (tensor, Some(AdamWState::new(momentum)))
            }
            Err((tensor, grad, moments)) => {
                let state = moments
                    .map(|(m, v)| AdamWState::new(AdaptiveMomentumState::new(time - 1, m, v)));
                self.burn.step(lr, tensor, grad, state)
            }
        }
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &B::Device) -> Self::State<D> {
        AdamWState::new(state.momentum.to_device(device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::{GradientsParams, Optimizer};
    use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
    use burn::tensor::{Distribution, Tolerance};

    type B = Autodiff<NdArray<f32>>;

    fn steps<O: Optimizer<Linear<B>, B>>(optimizer: &mut O, mut linear: Linear<B>) -> Linear<B> {
        let device = Default::default();
        for _ in 0..3 {
            let x = Tensor::<B, 2>::random([4, 5], Distribution::Default, &device);
            let grads = linear.forward(x).powf_scalar(2.0).mean().backward();
            let grads = GradientsParams::from_grads(grads, &linear);
            linear = optimizer.step(1e-2, linear, grads);
        }
        linear
    }

    #[test]
    fn steps_and_records_are_burns_adamw() {
        let device = Default::default();
        B::seed(&device, 3);
        let start = LinearConfig::new(5, 3).init::<B>(&device);
        let settings = (1e-8, 0.01);
        let mut burns = burn::optim::AdamWConfig::new()
            .with_epsilon(settings.0)
            .with_weight_decay(settings.1)
            .init::<B, Linear<B>>();
        let mut ours = AdamWConfig::new()
            .with_epsilon(settings.0)
            .with_weight_decay(settings.1)
            .init::<B, Linear<B>>();
        B::seed(&device, 4);
        let expected = steps(&mut burns, start.clone());
        B::seed(&device, 4);
        let got = steps(&mut ours, start);
        got.weight.val().into_data().assert_approx_eq::<f32>(
            &expected.weight.val().into_data(),
            Tolerance::absolute(1e-6),
        );

        // A resume state written by Burn's AdamW continues here as it would there.
        let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
        let bytes = recorder.record(burns.to_record(), ()).unwrap();
        let mut resumed = AdamWConfig::new()
            .with_epsilon(settings.0)
            .with_weight_decay(settings.1)
            .init::<B, Linear<B>>()
            .load_record(recorder.load(bytes, &device).unwrap());
        B::seed(&device, 5);
        let expected = steps(&mut burns, expected);
        B::seed(&device, 5);
        let got = steps(&mut resumed, got.clone());
        got.weight.val().into_data().assert_approx_eq::<f32>(
            &expected.weight.val().into_data(),
            Tolerance::absolute(1e-6),
        );
        assert_ne!(
            got.weight.val().into_data(),
            steps(&mut ours.clone(), got.clone())
                .weight
                .val()
                .into_data(),
            "the steps move the weights"
        );
    }
}
