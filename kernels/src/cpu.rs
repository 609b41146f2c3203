//! The kernels on Burn's ndarray tensors (`f32`): views in, new row-major tensors out.

use std::borrow::Cow;

use burn::backend::ndarray::NdArrayTensor;
use burn::tensor::TensorMetadata;
use ndarray::{ArcArray, ArrayViewD, IxDyn};

use crate::optim::{self, AdamWStep};
use crate::{product, slices};

pub use slices::{RowStats, Windows};

/// The tensor's values as a view, strides as stored.
///
/// # Panics
/// When it is not `f32` (the router sends nothing else here).
pub fn view(t: &NdArrayTensor) -> ArrayViewD<'_, f32> {
    match t {
        NdArrayTensor::F32(storage) => storage.view(),
        other => unreachable!(
            "mer's CPU kernels take f32 tensors, not {:?}",
            other.dtype()
        ),
    }
}

/// The values in row-major order: borrowed when stored so, copied otherwise (a gradient
/// broadcast by `sum`'s backward has stride-0 axes).
fn values(t: &NdArrayTensor) -> Cow<'_, [f32]> {
    let view = view(t);
    match view.to_slice() {
        Some(slice) => Cow::Borrowed(slice),
        None => {
            let mut out = Vec::with_capacity(view.len());
            // ndarray's element iterator over dynamic dimensions costs ~10 ns an element;
            // copying whole last-axis runs does not.
            gather(view.as_ptr(), view.shape(), view.strides(), &mut out);
            Cow::Owned(out)
        }
    }
}

/// Appends the values of the strided block at `at` to `out` in row-major order.
fn gather(at: *const f32, shape: &[usize], strides: &[isize], out: &mut Vec<f32>) {
    match shape {
        [] => out.push(unsafe { *at }),
        [n] => match strides[0] {
            // SAFETY (all three): `at`, `shape` and `strides` describe a live view.
            1 => out.extend_from_slice(unsafe { std::slice::from_raw_parts(at, *n) }),
            0 => out.extend(std::iter::repeat_n(unsafe { *at }, *n)),
            s => out.extend((0..*n as isize).map(|i| unsafe { *at.offset(i * s) })),
        },
        [n, rest @ ..] => {
            for i in 0..*n as isize {
                gather(at.wrapping_offset(i * strides[0]), rest, &strides[1..], out);
            }
        }
    }
}

/// A tensor of `shape` holding `data` in row-major order.
fn tensor(shape: &[usize], data: Vec<f32>) -> NdArrayTensor {
    NdArrayTensor::from(ArcArray::from_shape_vec(IxDyn(shape), data).expect("data fits the shape"))
}

fn shape(t: &NdArrayTensor) -> Vec<usize> {
    view(t).shape().to_vec()
}

/// The values stored row-major: shared when they already are, else copied run by run.
pub fn contiguous(x: &NdArrayTensor) -> NdArrayTensor {
    match values(x) {
        Cow::Borrowed(_) => x.clone(),
        Cow::Owned(data) => tensor(&shape(x), data),
    }
}

/// Every value rounded to the nearest bf16 (see `precision`).
pub fn round_bf16(x: &NdArrayTensor) -> NdArrayTensor {
    let out = values(x)
        .iter()
        .map(|&v| crate::precision::round_bf16(v))
        .collect();
    tensor(&shape(x), out)
}

/// GELU (erf form).
pub fn gelu(x: &NdArrayTensor) -> NdArrayTensor {
    let input = values(x);
    let mut out = vec![0.0; input.len()];
    slices::gelu(&input, &mut out);
    tensor(&shape(x), out)
}

/// GELU's input gradient.
pub fn gelu_backward(x: &NdArrayTensor, dy: &NdArrayTensor) -> NdArrayTensor {
    let (input, grad) = (values(x), values(dy));
    let mut out = vec![0.0; input.len()];
    slices::gelu_backward(&input, &grad, &mut out);
    tensor(&shape(x), out)
}

/// Layer norm over the last axis; the row statistics for the backward pass.
pub fn layer_norm(
    x: &NdArrayTensor,
    gamma: &NdArrayTensor,
    beta: Option<&NdArrayTensor>,
    epsilon: f64,
) -> (NdArrayTensor, RowStats) {
    let (input, gamma) = (values(x), values(gamma));
    let beta = beta.map(values);
    let mut out = vec![0.0; input.len()];
    let stats = slices::layer_norm(&input, &gamma, beta.as_deref(), epsilon as f32, &mut out);
    (tensor(&shape(x), out), stats)
}

/// Layer norm's gradients: input, γ, β.
pub fn layer_norm_backward(
    x: &NdArrayTensor,
    gamma: &NdArrayTensor,
    stats: &RowStats,
    dy: &NdArrayTensor,
) -> (NdArrayTensor, NdArrayTensor, NdArrayTensor) {
    let (input, gamma_values, grad) = (values(x), values(gamma), values(dy));
    let mut dx = vec![0.0; input.len()];
    let (dgamma, dbeta) = slices::layer_norm_backward(&input, &gamma_values, stats, &grad, &mut dx);
    let width = [gamma_values.len()];
    (
        tensor(&shape(x), dx),
        tensor(&width, dgamma),
        tensor(&width, dbeta),
    )
}

/// Dropout with the mask of `key`: the forward pass on `x`, or the backward pass on `dy`.
pub fn dropout(x: &NdArrayTensor, prob: f64, key: u64) -> NdArrayTensor {
    let input = values(x);
    let mut out = vec![0.0; input.len()];
    slices::dropout(&input, prob, key, &mut out);
    tensor(&shape(x), out)
}

/// A 1-D convolution's windows: [N, L, C] → [N, T, kernel·C].
pub fn unfold(x: &NdArrayTensor, w: Windows) -> NdArrayTensor {
    let n = shape(x)[0];
    let input = values(x);
    let mut out = vec![0.0; n * w.count() * w.kernel * w.channels];
    slices::unfold(&input, w, &mut out);
    tensor(&[n, w.count(), w.kernel * w.channels], out)
}

/// [`unfold`]'s input gradient.
pub fn fold(dy: &NdArrayTensor, w: Windows) -> NdArrayTensor {
    let n = shape(dy)[0];
    let grad = values(dy);
    let mut out = vec![0.0; n * w.length * w.channels];
    slices::fold(&grad, w, &mut out);
    tensor(&[n, w.length, w.channels], out)
}

/// Softmax over the last axis.
pub fn softmax(x: &NdArrayTensor) -> NdArrayTensor {
    let dims = shape(x);
    let input = values(x);
    let mut out = vec![0.0; input.len()];
    slices::softmax(&input, *dims.last().unwrap_or(&1), &mut out);
    tensor(&dims, out)
}

/// Softmax's input gradient, from its output `y`.
pub fn softmax_backward(y: &NdArrayTensor, dy: &NdArrayTensor) -> NdArrayTensor {
    let dims = shape(y);
    let (output, grad) = (values(y), values(dy));
    let mut out = vec![0.0; output.len()];
    slices::softmax_backward(&output, &grad, *dims.last().unwrap_or(&1), &mut out);
    tensor(&dims, out)
}

/// `op(a) · op(b)` over matching batch axes, `op` a transpose of the last two axes where asked.
pub fn matmul(a: &NdArrayTensor, ta: bool, b: &NdArrayTensor, tb: bool) -> NdArrayTensor {
    let (shape, out) = product::batched(&view(a), ta, &view(b), tb, None);
    tensor(&shape, out)
}

/// `x · w + bias`, `x` [rows, in], `w` [in, out], `bias` [out].
pub fn linear(x: &NdArrayTensor, w: &NdArrayTensor, bias: Option<&NdArrayTensor>) -> NdArrayTensor {
    let bias = bias.map(values);
    let fill = |out: &mut [f32]| {
        if let Some(bias) = &bias {
            out.chunks_exact_mut(bias.len())
                .for_each(|row| row.copy_from_slice(bias));
        }
    };
    let init: Option<product::Fill> = bias.is_some().then_some(&fill);
    let (shape, out) = product::batched(&view(x), false, &view(w), false, init);
    tensor(&shape, out)
}

/// The column sums of a [rows, out] gradient: a bias's gradient.
pub fn column_sums(dy: &NdArrayTensor) -> NdArrayTensor {
    let dims = shape(dy);
    let width = *dims.last().unwrap_or(&1);
    let grad = values(dy);
    let mut sums = vec![0.0f32; width];
    for row in grad.chunks_exact(width) {
        sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
    }
    tensor(&[width], sums)
}

/// The tensor's values to update in place: its own buffer when it is row-major (copied first
/// only if another tensor shares it), a row-major copy otherwise.
fn writable(t: NdArrayTensor) -> ArcArray<f32, IxDyn> {
    let array = match t {
        NdArrayTensor::F32(storage) => storage.into_owned(),
        other => unreachable!(
            "mer's CPU kernels take f32 tensors, not {:?}",
            other.dtype()
        ),
    };
    if array.is_standard_layout() {
        array
    } else {
        array.as_standard_layout().into_owned().into_shared()
    }
}

/// One AdamW step of a parameter, updating it and its moments (zeros when `moments` is None)
/// in place where no other tensor holds them.
pub fn adamw(
    param: NdArrayTensor,
    grad: &NdArrayTensor,
    moments: Option<(NdArrayTensor, NdArrayTensor)>,
    step: &AdamWStep,
) -> (NdArrayTensor, NdArrayTensor, NdArrayTensor) {
    let grad = values(grad);
    let mut param = writable(param);
    let (mut m, mut v) = match moments {
        Some((m, v)) => (writable(m), writable(v)),
        None => (
            ArcArray::zeros(param.raw_dim()),
            ArcArray::zeros(param.raw_dim()),
        ),
    };
    let row_major = "row-major after `writable`";
    optim::adamw(
        param.as_slice_mut().expect(row_major),
        &grad,
        m.as_slice_mut().expect(row_major),
        v.as_slice_mut().expect(row_major),
        step,
    );
    (param.into(), m.into(), v.into())
}
