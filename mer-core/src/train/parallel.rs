//! Data-parallel training over several devices of one machine (`--devices cuda:0,cuda:1`).
//!
//! Each batch is split into one contiguous shard per device. The network on the first device is
//! the run's; every other device gets a copy of it forked for the step (`Module::fork`: its
//! weights moved there, as fresh autodiff leaves with the same parameter ids). Each device
//! computes its shard's loss, scaled by the shard's [`Share`] of the batch, and its gradients, on
//! its own thread; the gradients are summed on the first device (in device order, so a run is
//! repeatable) and one optimiser step updates the run's network. The sum of the scaled shard
//! gradients is the whole batch's gradient, so a data-parallel run follows the one-device run up
//! to float rounding, as long as every loss term is a mean over samples and dropout is off:
//! each device draws its own masks (CPU replicas from the one CPU generator, in whatever order
//! their threads reach it, so a CPU data-parallel run with dropout does not repeat bit for bit).
//!
//! Why not Burn's `distributed` feature (NCCL all-reduce inside the backward pass): in Burn
//! 0.21 it makes `Autodiff<B>` an autodiff backend only for backends with a `DistributedBackend`
//! implementation, which the CPU backend (ndarray) lacks, and cargo turns a feature on for the
//! whole build, so a `--features cuda` binary could no longer train on the CPU. Burn's
//! `collective` all-reduce (burn-collective) works on every backend but blocks each peer until
//! all have arrived, so one device failing before it (a non-finite loss, a bad batch) would
//! leave the others waiting forever; it also moves tensors between devices through the backend,
//! as this module does. (On CUDA, CubeCL 0.10 carries out `to_device` between GPUs as an NCCL
//! send and receive.)

use std::ops::Range;

use burn::module::{AutodiffModule, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use burn::tensor::backend::AutodiffBackend;

use super::error::TrainError;
use super::step::Share;

/// `len` positions split into at most `devices` contiguous shards whose lengths differ by at
/// most one (the first ones are the longer); fewer shards when `len < devices`.
pub fn shards(len: usize, devices: usize) -> Vec<Range<usize>> {
    let count = devices.clamp(1, len.max(1));
    let (base, longer) = (len / count, len % count);
    let mut start = 0;
    (0..count)
        .map(|k| {
            let end = start + base + usize::from(k < longer);
            let shard = start..end;
            start = end;
            shard
        })
        .collect()
}

/// What a run over `devices` does with its batches, when it splits them.
pub fn describe(devices: usize, batch_size: usize) -> Option<String> {
    (devices > 1).then(|| {
        format!(
            "data-parallel over {devices} devices: each batch of {batch_size} split into shards \
             of at most {}",
            batch_size.div_ceil(devices)
        )
    })
}

/// Each shard's [`Share`] of a batch whose samples have `labels`, under per-class
/// `class_weights` (those of weighted cross-entropy).
pub fn shares(labels: &[usize], class_weights: &[f32], shards: &[Range<usize>]) -> Vec<Share> {
    if shards.len() == 1 {
        return vec![Share::WHOLE];
    }
    let weight = |at: &Range<usize>| -> f64 {
        labels[at.clone()]
            .iter()
            .map(|&label| f64::from(class_weights[label]))
            .sum()
    };
    let total = weight(&(0..labels.len()));
    shards
        .iter()
        .map(|at| Share {
            samples: at.len() as f64 / labels.len() as f64,
            class_weight: weight(at) / total,
        })
        .collect()
}

/// One shard's gradients, loss and (scaled) loss terms.
pub type ShardStep = (GradientsParams, f64, Vec<(&'static str, f64)>);

/// `shard_step` of each shard of a batch whose samples have `labels` (under per-class weights), on
/// `devices` ([`run_shards`]), added up; the first error of a shard, if any.
pub fn step<B, M, F>(
    network: &M,
    devices: &[B::Device],
    (labels, class_weights): (&[usize], &[f32]),
    shard_step: &F,
) -> Result<ShardSum, TrainError>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    F: Fn(&M, Range<usize>, usize, Share) -> Result<ShardStep, TrainError> + Sync,
{
    let shards = shards(labels.len(), devices.len());
    let shares = shares(labels, class_weights, &shards);
    let mut sum = ShardSum::default();
    for shard in run_shards(network, devices, &shards, &shares, shard_step) {
        sum.add(shard?);
    }
    Ok(sum)
}

/// `step` of each shard, in shard order: the first by `network` on this thread, each other by a
/// copy of `network` forked to its device (`devices[k]` for shard `k`, whose index `step` is
/// given), on a thread of its own.
pub fn run_shards<B, M, R, F>(
    network: &M,
    devices: &[B::Device],
    shards: &[Range<usize>],
    shares: &[Share],
    step: &F,
) -> Vec<R>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    R: Send,
    F: Fn(&M, Range<usize>, usize, Share) -> R + Sync,
{
    if shards.len() == 1 {
        return vec![step(network, shards[0].clone(), 0, shares[0])];
    }
    let replicas: Vec<M> = devices[1..shards.len()]
        .iter()
        .map(|device| network.clone().fork(device))
        .collect();
    std::thread::scope(|scope| {
        let others: Vec<_> = replicas
            .into_iter()
            .zip(shards[1..].iter().zip(&shares[1..]))
            .enumerate()
            .map(|(k, (replica, (at, &share)))| {
                scope.spawn(move || step(&replica, at.clone(), k + 1, share))
            })
            .collect();
        let first = step(network, shards[0].clone(), 0, shares[0]);
        std::iter::once(first)
            .chain(others.into_iter().map(|other| {
                other
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            }))
            .collect()
    })
}

/// The devices' gradients of `module`'s parameters summed on `device`, in the order given. A
/// parameter without a gradient on some device (an expert no sample of its shard was routed
/// to) is summed over the devices that have one.
pub fn sum_gradients<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    per_device: Vec<GradientsParams>,
    device: &B::Device,
) -> GradientsParams {
    let mut sum = GradientSum::<B> {
        per_device,
        sum: GradientsParams::new(),
        device,
    };
    module.visit(&mut sum);
    sum.sum
}

struct GradientSum<'a, B: AutodiffBackend> {
    per_device: Vec<GradientsParams>,
    sum: GradientsParams,
    device: &'a B::Device,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for GradientSum<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let mut total: Option<Tensor<B::InnerBackend, D>> = None;
        for grads in &mut self.per_device {
            if let Some(grad) = grads.remove::<B::InnerBackend, D>(param.id) {
                let grad = grad.to_device(self.device);
                total = Some(match total {
                    Some(sum) => sum + grad,
                    None => grad,
                });
            }
        }
        if let Some(total) = total {
            self.sum.register::<B::InnerBackend, D>(param.id, total);
        }
    }
}

/// A batch's shards added up: their gradients (in device order), loss and terms.
#[derive(Default)]
pub struct ShardSum {
    pub grads: Vec<GradientsParams>,
    pub value: f64,
    pub terms: Vec<(&'static str, f64)>,
}

impl ShardSum {
    /// Adds one shard's gradients, loss and terms.
    pub fn add(&mut self, (grads, value, terms): ShardStep) {
        self.grads.push(grads);
        self.value += value;
        if self.terms.is_empty() {
            self.terms = terms;
        } else {
            // Every replica is the same network: the same terms, in the same order.
            for ((_, sum), (_, value)) in self.terms.iter_mut().zip(terms) {
                *sum += value;
            }
        }
    }

    /// The batch's gradients: the one shard's, or all shards' summed on `device`.
    pub fn gradients<B: AutodiffBackend, M: AutodiffModule<B>>(
        mut self,
        module: &M,
        device: &B::Device,
    ) -> GradientsParams {
        match self.grads.len() {
            1 => self.grads.pop().expect("one shard's gradients"),
            _ => sum_gradients(module, self.grads, device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};
    use burn::module::Module;
    use burn::nn::{Initializer, Linear, LinearConfig};

    type AB = Autodiff<NdArray<f32>>;

    #[test]
    fn shards_cover_the_batch_in_order_and_differ_by_at_most_one() {
        assert_eq!(shards(7, 2), vec![0..4, 4..7]);
        assert_eq!(shards(8, 3), vec![0..3, 3..6, 6..8]);
        assert_eq!(shards(2, 4), vec![0..1, 1..2]);
        assert_eq!(shards(5, 1), vec![0..5]);
    }

    #[test]
    fn shares_add_up_to_the_batch_and_follow_the_class_weights() {
        let labels = [0, 1, 1, 0, 2];
        let weights = [1.0, 2.0, 4.0];
        let shares = shares(&labels, &weights, &shards(5, 2));
        // Shard 0..3 holds class weights 1 + 2 + 2 = 5 of 1 + 2 + 2 + 1 + 4 = 10.
        assert_eq!(shares[0].class_weight, 0.5);
        assert_eq!(shares[0].samples, 0.6);
        let sum = |f: fn(&Share) -> f64| shares.iter().map(f).sum::<f64>();
        assert!((sum(|s| s.samples) - 1.0).abs() < 1e-12);
        assert!((sum(|s| s.class_weight) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn gradients_are_summed_per_parameter() {
        #[derive(Module, Debug)]
        struct Two<B: burn::tensor::backend::Backend> {
            a: Linear<B>,
            b: Linear<B>,
        }
        let device = Default::default();
        // Not random: other tests in this binary seed the shared generator and replay it.
        let linear = || {
            LinearConfig::new(3, 2)
                .with_initializer(Initializer::Zeros)
                .init(&device)
        };
        let net = Two::<AB> {
            a: linear(),
            b: linear(),
        };
        let x = |v: f32| Tensor::<AB, 2>::full([4, 3], v, &device);
        let grads_of = |loss: Tensor<AB, 1>| GradientsParams::from_grads(loss.backward(), &net);
        // Device 0 reaches both layers, device 1 only `a`: `b`'s sum is device 0's alone.
        let both = grads_of((net.a.forward(x(1.0)) + net.b.forward(x(2.0))).sum());
        let only_a = grads_of(net.a.forward(x(3.0)).sum());
        let sum = sum_gradients(&net, vec![both, only_a], &device);
        let weight = |grads: &GradientsParams, id| {
            grads
                .get::<NdArray<f32>, 2>(id)
                .unwrap()
                .into_data()
                .to_vec::<f32>()
                .unwrap()
        };
        // d(sum of x·W)/dW = 4 rows of x: 4·1 + 4·3 for `a`, 4·2 for `b`.
        assert!(weight(&sum, net.a.weight.id).iter().all(|&g| g == 16.0));
        assert!(weight(&sum, net.b.weight.id).iter().all(|&g| g == 8.0));
        assert_eq!(sum.len(), 4);
    }
}
