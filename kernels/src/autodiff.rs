//! The kernels as operations of Burn's autodiff graph over the ndarray backend: each saves what
//! its backward pass reads and computes only the gradients of inputs that require them (a
//! frozen base weight under LoRA gets none).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::ndarray::NdArrayTensor;
use burn::backend::{Autodiff, NdArray};
use burn::tensor::ops::FloatTensor;

use crate::cpu;

type Cpu = NdArray<f32>;
/// A tensor of `Autodiff<NdArray<f32>>`: the ndarray tensor and its graph node.
pub type Tracked = FloatTensor<Autodiff<Cpu>>;

/// Registers `grad` for the `i`-th parent when it requires one; `grad` runs only then.
fn give<const N: usize>(
    ops: &Ops<impl Sized, N>,
    grads: &mut Gradients,
    i: usize,
    grad: impl FnOnce() -> NdArrayTensor,
) {
    if let Some(Some(node)) = ops.parents.get(i) {
        grads.register::<Cpu>(node.id, grad());
    }
}

fn wants<const N: usize>(ops: &Ops<impl Sized, N>, i: usize) -> bool {
    matches!(ops.parents.get(i), Some(Some(_)))
}

/// Records `out = op(x)` in the graph, keeping `state` for the backward pass when `x` is
/// tracked.
fn record<O: Backward<Cpu, 1>>(op: O, x: &Tracked, state: O::State, out: NdArrayTensor) -> Tracked {
    match op
        .prepare::<NoCheckpointing>([x.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(state, out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

#[derive(Debug)]
struct Gelu;

impl Backward<Cpu, 1> for Gelu {
    type State = NdArrayTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let x = ops.state;
        unary::<Cpu, _>(ops.parents, ops.node, grads, |dy| {
            cpu::gelu_backward(&x, &dy)
        });
    }
}

/// GELU (erf form).
pub fn gelu(x: Tracked) -> Tracked {
    let out = cpu::gelu(&x.primitive);
    let state = x.primitive.clone();
    record(Gelu, &x, state, out)
}

#[derive(Debug)]
struct Contiguous;

impl Backward<Cpu, 1> for Contiguous {
    type State = ();

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        // The same values in the same shape: the gradient passes through.
        unary::<Cpu, _>(ops.parents, ops.node, grads, |dy| dy);
    }
}

/// The values stored row-major.
pub fn contiguous(x: Tracked) -> Tracked {
    let out = cpu::contiguous(&x.primitive);
    record(Contiguous, &x, (), out)
}

#[derive(Debug)]
struct RoundBf16;

impl Backward<Cpu, 1> for RoundBf16 {
    type State = ();

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        // A cast's gradient is the incoming one cast the same way.
        unary::<Cpu, _>(ops.parents, ops.node, grads, |dy| cpu::round_bf16(&dy));
    }
}

/// The values rounded to bf16, as a cast to bf16 and back would.
pub fn round_bf16(x: Tracked) -> Tracked {
    let out = cpu::round_bf16(&x.primitive);
    record(RoundBf16, &x, (), out)
}

#[derive(Debug)]
struct Dropout;

impl Backward<Cpu, 1> for Dropout {
    /// Probability and mask key: the mask is recomputed, not stored.
    type State = (f64, u64);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (prob, key) = ops.state;
        unary::<Cpu, _>(ops.parents, ops.node, grads, |dy| {
            cpu::dropout(&dy, prob, key)
        });
    }
}

/// Dropout with the mask of `key`.
pub fn dropout(x: Tracked, prob: f64, key: u64) -> Tracked {
    let out = cpu::dropout(&x.primitive, prob, key);
    record(Dropout, &x, (prob, key), out)
}

#[derive(Debug)]
struct Unfold;

impl Backward<Cpu, 1> for Unfold {
    type State = cpu::Windows;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let windows = ops.state;
        unary::<Cpu, _>(ops.parents, ops.node, grads, |dy| cpu::fold(&dy, windows));
    }
}

/// A 1-D convolution's windows.
pub fn unfold(x: Tracked, windows: cpu::Windows) -> Tracked {
    let out = cpu::unfold(&x.primitive, windows);
    record(Unfold, &x, windows, out)
}

#[derive(Debug)]
struct Softmax;

impl Backward<Cpu, 1> for Softmax {
    type State = NdArrayTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let y = ops.state;
        unary::<Cpu, _>(ops.parents, ops.node, grads, |dy| {
            cpu::softmax_backward(&y, &dy)
        });
    }
}

/// Softmax over the last axis.
pub fn softmax(x: Tracked) -> Tracked {
    let out = cpu::softmax(&x.primitive);
    record(Softmax, &x, out.clone(), out)
}

/// Layer norm over [x, γ] or [x, γ, β].
#[derive(Debug)]
struct LayerNorm;

impl<const N: usize> Backward<Cpu, N> for LayerNorm {
    type State = (NdArrayTensor, NdArrayTensor, cpu::RowStats);

    fn backward(self, ops: Ops<Self::State, N>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Cpu>(&ops.node);
        let (x, gamma, stats) = &ops.state;
        let (dx, dgamma, dbeta) = cpu::layer_norm_backward(x, gamma, stats, &dy);
        give(&ops, grads, 0, || dx);
        give(&ops, grads, 1, || dgamma);
        give(&ops, grads, 2, || dbeta);
    }
}

fn finish_layer_norm<const N: usize>(
    nodes: [&Tracked; N],
    x: &Tracked,
    gamma: &Tracked,
    beta: Option<&Tracked>,
    epsilon: f64,
) -> Tracked {
    let beta_values = beta.map(|b| &b.primitive);
    let (out, stats) = cpu::layer_norm(&x.primitive, &gamma.primitive, beta_values, epsilon);
    match LayerNorm
        .prepare::<NoCheckpointing>(nodes.map(|t| t.node.clone()))
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            prep.finish((x.primitive.clone(), gamma.primitive.clone(), stats), out)
        }
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

/// Layer norm over the last axis.
pub fn layer_norm(x: Tracked, gamma: Tracked, beta: Option<Tracked>, epsilon: f64) -> Tracked {
    match &beta {
        Some(b) => finish_layer_norm([&x, &gamma, b], &x, &gamma, Some(b), epsilon),
        None => finish_layer_norm([&x, &gamma], &x, &gamma, None, epsilon),
    }
}

/// A matrix product of [lhs, rhs] or, with a bias, [x, w, b] (`x · w + b`).
#[derive(Debug)]
struct Product;

impl<const N: usize> Backward<Cpu, N> for Product {
    type State = (NdArrayTensor, NdArrayTensor);

    fn backward(self, ops: Ops<Self::State, N>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Cpu>(&ops.node);
        let (a, b) = &ops.state;
        give(&ops, grads, 0, || cpu::matmul(&dy, false, b, true));
        give(&ops, grads, 1, || cpu::matmul(a, true, &dy, false));
        if wants(&ops, 2) {
            give(&ops, grads, 2, || cpu::column_sums(&dy));
        }
    }
}

fn finish_product<const N: usize>(
    nodes: [&Tracked; N],
    a: &Tracked,
    b: &Tracked,
    out: NdArrayTensor,
) -> Tracked {
    match Product
        .prepare::<NoCheckpointing>(nodes.map(|t| t.node.clone()))
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish((a.primitive.clone(), b.primitive.clone()), out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

/// `a · b` over matching batch axes.
pub fn matmul(a: Tracked, b: Tracked) -> Tracked {
    let out = cpu::matmul(&a.primitive, false, &b.primitive, false);
    finish_product([&a, &b], &a, &b, out)
}

/// `x · w + bias`, `x` [rows, in], `w` [in, out].
pub fn linear(x: Tracked, w: Tracked, bias: Option<Tracked>) -> Tracked {
    let out = cpu::linear(
        &x.primitive,
        &w.primitive,
        bias.as_ref().map(|b| &b.primitive),
    );
    match &bias {
        Some(b) => finish_product([&x, &w, b], &x, &w, out),
        None => finish_product([&x, &w], &x, &w, out),
    }
}
