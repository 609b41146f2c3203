//! mer's CPU kernels for the operations a transformer step spends its time in: GELU, layer norm,
//! softmax and matrix products, forward and backward.
//!
//! Burn 0.21's ndarray backend composes these from generic element-wise passes (a layer norm's
//! backward is a dozen of them, each allocating), calls libm's scalar `erff`/`expf`, and copies
//! transposed operands before matrixmultiply, which packs skinny matrices slowly. Here each is
//! one pass over contiguous rows (`slices`), vectorisable maths (`math`) and the `gemm` crate on
//! strided views (`product`), wrapped as autodiff operations (`autodiff`).
//!
//! The functions take any backend: on `NdArray<f32>` and `Autodiff<NdArray<f32>>` they run these
//! kernels, on every other backend (CUDA) Burn's own operations, so model code calls them
//! unconditionally. The backend is recognised at run time by the tensor's primitive type.
//! `MER_CPU_KERNELS=0` sends the CPU backends to Burn's operations too, to compare the two.

#![warn(missing_docs)]

mod autodiff;
mod cpu;
mod math;
mod optim;
mod precision;
mod product;
mod slices;

use std::any::Any;
use std::sync::OnceLock;

use burn::backend::NdArray;
use burn::backend::ndarray::NdArrayTensor;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Int, Tensor, TensorPrimitive, activation, s};

pub use optim::AdamWStep;
pub use precision::{Precision, autocast};

/// Where a tensor's operations go.
enum Route<B: Backend> {
    /// `NdArray<f32>`.
    Cpu(NdArrayTensor),
    /// `Autodiff<NdArray<f32>>`.
    Tracked(autodiff::Tracked),
    /// Any other backend or element type: Burn's operations.
    Other(B::FloatTensorPrimitive),
}

/// Whether the CPU kernels are on (`MER_CPU_KERNELS` unset or anything but `0`).
fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("MER_CPU_KERNELS").map_or(true, |v| v != "0"))
}

fn route<B: Backend, const D: usize>(t: Tensor<B, D>) -> Route<B> {
    let primitive = t.into_primitive().tensor();
    if !enabled() {
        return Route::Other(primitive);
    }
    let any: Box<dyn Any> = Box::new(primitive);
    let any = match any.downcast::<NdArrayTensor>() {
        Ok(t) if matches!(*t, NdArrayTensor::F32(_)) => return Route::Cpu(*t),
        Ok(t) => return Route::Other(cast(*t)),
        Err(any) => any,
    };
    match any.downcast::<autodiff::Tracked>() {
        Ok(t) if matches!(t.primitive, NdArrayTensor::F32(_)) => Route::Tracked(*t),
        Ok(t) => Route::Other(cast(*t)),
        Err(any) => Route::Other(*any.downcast().expect("B's own primitive")),
    }
}

/// `value` as type `T`, which it is (checked by `TypeId`).
fn cast<T: 'static>(value: impl Any) -> T {
    *(Box::new(value) as Box<dyn Any>)
        .downcast()
        .expect("the primitive type it was routed from")
}

/// A primitive of the routed backend back as a tensor of `B`.
fn tensor<B: Backend, const D: usize>(primitive: impl Any) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(cast(primitive)))
}

fn back<B: Backend, const D: usize>(route: Route<B>) -> Tensor<B, D> {
    match route {
        Route::Cpu(t) => tensor(t),
        Route::Tracked(t) => tensor(t),
        Route::Other(t) => Tensor::from_primitive(TensorPrimitive::Float(t)),
    }
}

/// `x` with its values stored row-major, for a `reshape` of a permuted tensor: Burn's ndarray
/// backend copies those element by element through dynamic-rank iterators (a VideoMAE patchify
/// was a fifth of the demo video encoder's step); this copies whole last-axis runs. Other
/// backends: `x` as it is (their reshape does its own copy).
pub fn contiguous<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    match route(x) {
        Route::Cpu(x) => tensor(cpu::contiguous(&x)),
        Route::Tracked(x) => tensor(autodiff::contiguous(x)),
        other => back(other),
    }
}

/// GELU, the exact (erf) form: `x · Φ(x)`.
pub fn gelu<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    match route(x) {
        Route::Cpu(x) => tensor(cpu::gelu(&x)),
        Route::Tracked(x) => tensor(autodiff::gelu(x)),
        other => activation::gelu(back(other)),
    }
}

/// Dropout as Burn's `Dropout`: while training (an autodiff backend), each element is zeroed
/// with probability `prob` and the rest scaled by `1 / (1 − prob)`; otherwise the identity.
///
/// On the CPU the mask comes from a counter-based hash keyed by one draw from the ndarray
/// backend's generator, so `B::seed` still makes runs repeatable, and the backward pass
/// recomputes the mask rather than storing it.
pub fn dropout<B: Backend, const D: usize>(x: Tensor<B, D>, prob: f64) -> Tensor<B, D> {
    if prob == 0.0 || !B::ad_enabled(&x.device()) {
        return x;
    }
    match route(x) {
        Route::Tracked(x) => tensor(autodiff::dropout(x, prob, mask_key())),
        other => burn::nn::Dropout { prob }.forward(back(other)),
    }
}

/// A mask key from the ndarray backend's seeded generator (two 31-bit draws).
fn mask_key() -> u64 {
    let draws: Vec<i64> = Tensor::<NdArray<f32>, 1, Int>::random(
        [2],
        Distribution::Uniform(0.0, 2_147_483_648.0),
        &Default::default(),
    )
    .into_data()
    .to_vec()
    .unwrap_or_default();
    draws.iter().fold(0u64, |key, &d| (key << 31) ^ d as u64)
}

/// A 1-D convolution's windows, each one row in (tap, channel) order, `padding` zeros on
/// each side; a convolution is then one matrix product with its weights.
///
/// # Shapes
/// `x` [N, L, C] → [N, T, kernel·C], T = (L + 2·padding − kernel) / stride + 1.
pub fn unfold<B: Backend>(
    x: Tensor<B, 3>,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Tensor<B, 3> {
    let [_, length, channels] = x.dims();
    let windows = cpu::Windows {
        length,
        channels,
        kernel,
        stride,
        padding,
    };
    match route(x) {
        Route::Cpu(x) => tensor(cpu::unfold(&x, windows)),
        Route::Tracked(x) => tensor(autodiff::unfold(x, windows)),
        other => unfold_sliced(back(other), windows),
    }
}

/// [`unfold`] from Burn's slices: kernel/stride runs of contiguous blocks when the stride
/// divides the kernel, one strided slice per tap otherwise.
fn unfold_sliced<B: Backend>(x: Tensor<B, 3>, w: cpu::Windows) -> Tensor<B, 3> {
    let [n, _, c] = x.dims();
    let x = if w.padding > 0 {
        let zeros = Tensor::zeros([n, w.padding, c], &x.device());
        Tensor::cat(vec![zeros.clone(), x, zeros], 1)
    } else {
        x
    };
    let (t, k, stride) = (w.count(), w.kernel, w.stride);
    if k.is_multiple_of(stride) {
        let blocks = x.narrow(1, 0, (t + k / stride - 1) * stride).reshape([
            n,
            t + k / stride - 1,
            stride * c,
        ]);
        let runs: Vec<Tensor<B, 3>> = (0..k / stride)
            .map(|i| blocks.clone().narrow(1, i, t))
            .collect();
        Tensor::cat(runs, 2)
    } else {
        let span = (t - 1) * stride + 1;
        let taps: Vec<Tensor<B, 3>> = (0..k)
            .map(|j| x.clone().slice(s![.., j..j + span;stride as isize, ..]))
            .collect();
        Tensor::stack::<4>(taps, 2).reshape([n, t, k * c])
    }
}

/// Softmax over the last axis.
pub fn softmax<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    match route(x) {
        Route::Cpu(x) => tensor(cpu::softmax(&x)),
        Route::Tracked(x) => tensor(autodiff::softmax(x)),
        other => activation::softmax(back(other), D - 1),
    }
}

/// Layer norm over the last axis, as PyTorch's and Burn's (biased variance, `ε` inside the
/// root).
///
/// # Shapes
/// `x` [..., W], `gamma` and `beta` [W] → [..., W].
pub fn layer_norm<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    gamma: Tensor<B, 1>,
    beta: Option<Tensor<B, 1>>,
    epsilon: f64,
) -> Tensor<B, D> {
    match (route(x), route(gamma), beta.map(route)) {
        (Route::Cpu(x), Route::Cpu(g), None) => tensor(cpu::layer_norm(&x, &g, None, epsilon).0),
        (Route::Cpu(x), Route::Cpu(g), Some(Route::Cpu(b))) => {
            tensor(cpu::layer_norm(&x, &g, Some(&b), epsilon).0)
        }
        (Route::Tracked(x), Route::Tracked(g), None) => {
            tensor(autodiff::layer_norm(x, g, None, epsilon))
        }
        (Route::Tracked(x), Route::Tracked(g), Some(Route::Tracked(b))) => {
            tensor(autodiff::layer_norm(x, g, Some(b), epsilon))
        }
        (x, gamma, beta) => {
            let x: Tensor<B, D> = back(x);
            let (var, mean) = x.clone().var_mean_bias(D - 1);
            let gamma: Tensor<B, 1> = back(gamma);
            let mut shape = [1; D];
            shape[D - 1] = gamma.dims()[0];
            let y = (x - mean) / (var + epsilon).sqrt() * gamma.reshape(shape);
            match beta {
                Some(b) => y + back::<B, 1>(b).reshape(shape),
                None => y,
            }
        }
    }
}

/// `a · b` over the last two axes; the leading axes must match (no broadcasting) for the CPU
/// kernel, otherwise Burn's product runs. Inside [`autocast`] to bf16, a bf16 product.
pub fn matmul<B: Backend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> Tensor<B, D> {
    match precision::current() {
        Precision::F32 => matmul_f32(a, b),
        Precision::Bf16 if precision::casts(&a) => {
            precision::to_f32(precision::to_bf16(a).matmul(precision::to_bf16(b)))
        }
        Precision::Bf16 => round_bf16(matmul_f32(round_bf16(a), round_bf16(b))),
    }
}

fn matmul_f32<B: Backend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> Tensor<B, D> {
    if a.dims()[..D - 2] != b.dims()[..D - 2] {
        return a.matmul(b);
    }
    match (route(a), route(b)) {
        (Route::Cpu(a), Route::Cpu(b)) => tensor(cpu::matmul(&a, false, &b, false)),
        (Route::Tracked(a), Route::Tracked(b)) => tensor(autodiff::matmul(a, b)),
        (a, b) => back::<B, D>(a).matmul(back(b)),
    }
}

/// `x · w + bias`. Inside [`autocast`] to bf16, `x · w` is a bf16 product and the bias is
/// added in f32.
///
/// # Shapes
/// `x` [rows, in], `w` [in, out], `bias` [out] → [rows, out].
pub fn linear<B: Backend>(
    x: Tensor<B, 2>,
    w: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
) -> Tensor<B, 2> {
    if precision::current() == Precision::F32 {
        return linear_f32(x, w, bias);
    }
    let product = if precision::casts(&x) {
        precision::to_f32(precision::to_bf16(x).matmul(precision::to_bf16(w)))
    } else {
        round_bf16(linear_f32(round_bf16(x), round_bf16(w), None))
    };
    match bias {
        Some(b) => product + b.unsqueeze_dim(0),
        None => product,
    }
}

/// `x` rounded to bf16 where the backend has no bf16 type to cast to: mer's CPU kernels do it;
/// Burn's ndarray operations (`MER_CPU_KERNELS=0`) keep f32.
fn round_bf16<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    match route(x) {
        Route::Cpu(x) => tensor(cpu::round_bf16(&x)),
        Route::Tracked(x) => tensor(autodiff::round_bf16(x)),
        other => back(other),
    }
}

fn linear_f32<B: Backend>(
    x: Tensor<B, 2>,
    w: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
) -> Tensor<B, 2> {
    match (route(x), route(w), bias.map(route)) {
        (Route::Cpu(x), Route::Cpu(w), None) => tensor(cpu::linear(&x, &w, None)),
        (Route::Cpu(x), Route::Cpu(w), Some(Route::Cpu(b))) => {
            tensor(cpu::linear(&x, &w, Some(&b)))
        }
        (Route::Tracked(x), Route::Tracked(w), None) => tensor(autodiff::linear(x, w, None)),
        (Route::Tracked(x), Route::Tracked(w), Some(Route::Tracked(b))) => {
            tensor(autodiff::linear(x, w, Some(b)))
        }
        (x, w, bias) => {
            let y = back::<B, 2>(x).matmul(back(w));
            match bias {
                Some(b) => y + back::<B, 1>(b).unsqueeze_dim(0),
                None => y,
            }
        }
    }
}

/// A parameter, its gradient and its moments (None before its first step), as an AdamW step
/// takes them.
pub type AdamWInputs<B, const D: usize> = (
    Tensor<B, D>,
    Tensor<B, D>,
    Option<(Tensor<B, D>, Tensor<B, D>)>,
);

/// The updated parameter and its first and second moments.
pub type AdamWOutputs<B, const D: usize> = (Tensor<B, D>, Tensor<B, D>, Tensor<B, D>);

/// One AdamW step of a parameter on the CPU, in one pass and in place. Tensors of any other
/// backend are handed back unchanged (`Err`), for Burn's `AdamW` to step.
pub fn adamw<B: Backend, const D: usize>(
    (param, grad, moments): AdamWInputs<B, D>,
    step: &AdamWStep,
) -> Result<AdamWOutputs<B, D>, AdamWInputs<B, D>> {
    let routes = (
        route(param),
        route(grad),
        moments.map(|(m, v)| (route(m), route(v))),
    );
    let (p, g, moments) = match routes {
        (Route::Cpu(p), Route::Cpu(g), None) => (p, g, None),
        (Route::Cpu(p), Route::Cpu(g), Some((Route::Cpu(m), Route::Cpu(v)))) => {
            (p, g, Some((m, v)))
        }
        (p, g, moments) => {
            let moments = moments.map(|(m, v)| (back(m), back(v)));
            return Err((back(p), back(g), moments));
        }
    };
    let (p, m, v) = cpu::adamw(p, &g, moments, step);
    Ok((tensor(p), tensor(m), tensor(v)))
}
