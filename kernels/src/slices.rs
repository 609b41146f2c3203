//! The kernels on plain `f32` slices, row-major: element-wise GELU and, per row of `width`
//! values, layer norm and softmax, forward and backward. Rows are split over rayon's threads
//! (Burn's ndarray backend uses the same pool) in chunks of at least [`CHUNK`] values.

use rayon::prelude::*;

use crate::math;

/// Values per parallel task: below this the thread hand-off costs more than it saves.
pub(crate) const CHUNK: usize = 16 * 1024;

/// Defines a kernel function compiled twice, for AVX2 + FMA and for the x86-64 baseline
/// (SSE2, which leaves much of [`crate::math`] and every reduction scalar), and run as the CPU
/// allows. The body is an `#[inline(always)]` function called straight from the AVX2 copy: a
/// closure handed to such a copy is compiled once, apart, for the baseline (softmax, layer norm
/// and GELU's gradient ran scalar that way, without a `ymm` register).
macro_rules! vectorised {
    ($(#[$attr:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$attr])*
        fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn kernel($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    kernel($($arg),*)
                }
                if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                    // SAFETY: the features were just detected.
                    return unsafe { avx2($($arg),*) };
                }
            }
            kernel($($arg),*)
        }
    };
}
pub(crate) use vectorised;

/// Rows per task for rows of `width` values.
fn rows_per_task(width: usize) -> usize {
    (CHUNK / width.max(1)).max(1)
}

/// `y = gelu(x)`.
pub fn gelu(x: &[f32], y: &mut [f32]) {
    y.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .for_each(|(y, x)| gelu_chunk(x, y));
}

vectorised! {
    fn gelu_chunk(x: &[f32], y: &mut [f32]) {
        y.iter_mut().zip(x).for_each(|(y, &x)| *y = math::gelu(x));
    }
}

/// `dx = dy · gelu'(x)`.
pub fn gelu_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) {
    dx.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK).zip(dy.par_chunks(CHUNK)))
        .for_each(|(dx, (x, dy))| gelu_backward_chunk(x, dy, dx));
}

vectorised! {
    fn gelu_backward_chunk(x: &[f32], dy: &[f32], dx: &mut [f32]) {
        for ((dx, &x), &dy) in dx.iter_mut().zip(x).zip(dy) {
            *dx = dy * math::gelu_derivative(x);
        }
    }
}

/// `y = x · mask / keep`: dropout with the mask of `key` (see [`math::keep`]); the backward
/// pass is the same call on the gradient.
pub fn dropout(x: &[f32], prob: f64, key: u64, y: &mut [f32]) {
    let keep = 1.0 - prob;
    let threshold = (keep * 4_294_967_296.0) as u64;
    let scale = (1.0 / keep) as f32;
    y.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .enumerate()
        .for_each(|(chunk, (y, x))| {
            let start = (chunk * CHUNK) as u32;
            dropout_chunk(x, start, key, threshold, scale, y)
        });
}

vectorised! {
    fn dropout_chunk(x: &[f32], start: u32, key: u64, threshold: u64, scale: f32, y: &mut [f32]) {
        for (i, (y, &x)) in y.iter_mut().zip(x).enumerate() {
            let kept = math::keep(start.wrapping_add(i as u32), key, threshold);
            *y = if kept { x * scale } else { 0.0 };
        }
    }
}

/// The shape of a 1-D convolution's windows over a [N, L, C] input.
#[derive(Clone, Copy, Debug)]
pub struct Windows {
    pub length: usize,
    pub channels: usize,
    pub kernel: usize,
    pub stride: usize,
    /// Zeros on each side.
    pub padding: usize,
}

impl Windows {
    /// Windows per sample.
    pub fn count(&self) -> usize {
        (self.length + 2 * self.padding).saturating_sub(self.kernel) / self.stride + 1
    }

    /// Input position of tap `j` of window `t`, when not in the padding.
    #[inline(always)]
    fn source(&self, t: usize, j: usize) -> Option<usize> {
        (t * self.stride + j)
            .checked_sub(self.padding)
            .filter(|&i| i < self.length)
    }
}

/// Every window of each sample as one row of kernel × C values, tap-major: `x` [N, L, C] →
/// [N, T, kernel·C].
pub fn unfold(x: &[f32], w: Windows, out: &mut [f32]) {
    let (c, t) = (w.channels, w.count());
    out.par_chunks_mut(t * w.kernel * c)
        .zip(x.par_chunks(w.length * c))
        .for_each(|(out, x)| {
            for (window, row) in out.chunks_exact_mut(w.kernel * c).enumerate() {
                for (j, tap) in row.chunks_exact_mut(c).enumerate() {
                    match w.source(window, j) {
                        Some(i) => tap.copy_from_slice(&x[i * c..(i + 1) * c]),
                        None => tap.fill(0.0),
                    }
                }
            }
        });
}

/// [`unfold`]'s backward pass: each window's gradient added back at the positions it read.
pub fn fold(dy: &[f32], w: Windows, dx: &mut [f32]) {
    let (c, t) = (w.channels, w.count());
    dx.par_chunks_mut(w.length * c)
        .zip(dy.par_chunks(t * w.kernel * c))
        .for_each(|(dx, dy)| {
            dx.fill(0.0);
            for (window, row) in dy.chunks_exact(w.kernel * c).enumerate() {
                for (j, tap) in row.chunks_exact(c).enumerate() {
                    if let Some(i) = w.source(window, j) {
                        dx[i * c..(i + 1) * c]
                            .iter_mut()
                            .zip(tap)
                            .for_each(|(d, g)| *d += g);
                    }
                }
            }
        });
}

/// Per-row statistics a layer norm's backward pass needs.
#[derive(Clone, Debug)]
pub struct RowStats {
    pub mean: Vec<f32>,
    /// `1 / √(var + ε)`, the biased variance as PyTorch's and Burn's layer norms.
    pub rstd: Vec<f32>,
}

/// `y = (x − mean) / √(var + ε) · γ + β` over each row of `gamma.len()` values.
pub fn layer_norm(
    x: &[f32],
    gamma: &[f32],
    beta: Option<&[f32]>,
    epsilon: f32,
    y: &mut [f32],
) -> RowStats {
    let width = gamma.len();
    let rows = x.len() / width;
    let (mut mean, mut rstd) = (vec![0.0; rows], vec![0.0; rows]);
    let task = rows_per_task(width);
    y.par_chunks_mut(task * width)
        .zip(x.par_chunks(task * width))
        .zip(mean.par_chunks_mut(task).zip(rstd.par_chunks_mut(task)))
        .for_each(|((y, x), (mean, rstd))| layer_norm_rows(x, gamma, beta, epsilon, y, mean, rstd));
    RowStats { mean, rstd }
}

vectorised! {
    fn layer_norm_rows(
        x: &[f32],
        gamma: &[f32],
        beta: Option<&[f32]>,
        epsilon: f32,
        y: &mut [f32],
        mean: &mut [f32],
        rstd: &mut [f32],
    ) {
        let width = gamma.len();
        for (((y, x), mean), rstd) in y
            .chunks_exact_mut(width)
            .zip(x.chunks_exact(width))
            .zip(mean)
            .zip(rstd)
        {
            let m = sum(x, |v| v) / width as f32;
            let var = sum(x, |v| (v - m) * (v - m)) / width as f32;
            let r = 1.0 / (var + epsilon).sqrt();
            (*mean, *rstd) = (m, r);
            match beta {
                Some(beta) => {
                    for (((y, &x), &g), &b) in y.iter_mut().zip(x).zip(gamma).zip(beta) {
                        *y = (x - m) * r * g + b;
                    }
                }
                None => {
                    for ((y, &x), &g) in y.iter_mut().zip(x).zip(gamma) {
                        *y = (x - m) * r * g;
                    }
                }
            }
        }
    }
}

/// Gradients of [`layer_norm`]: `dx` always, `(dγ, dβ)` summed over rows.
pub fn layer_norm_backward(
    x: &[f32],
    gamma: &[f32],
    stats: &RowStats,
    dy: &[f32],
    dx: &mut [f32],
) -> (Vec<f32>, Vec<f32>) {
    let width = gamma.len();
    let task = rows_per_task(width);
    let partials: Vec<(Vec<f32>, Vec<f32>)> = dx
        .par_chunks_mut(task * width)
        .zip(x.par_chunks(task * width).zip(dy.par_chunks(task * width)))
        .zip(stats.mean.par_chunks(task).zip(stats.rstd.par_chunks(task)))
        .map(|((dx, (x, dy)), (mean, rstd))| layer_norm_backward_rows(x, gamma, mean, rstd, dy, dx))
        .collect();
    let (mut dgamma, mut dbeta) = (vec![0.0; width], vec![0.0; width]);
    for (g, b) in partials {
        dgamma.iter_mut().zip(g).for_each(|(s, v)| *s += v);
        dbeta.iter_mut().zip(b).for_each(|(s, v)| *s += v);
    }
    (dgamma, dbeta)
}

vectorised! {
    /// `dx` of a chunk of rows, and the chunk's `(dγ, dβ)`.
    fn layer_norm_backward_rows(
        x: &[f32],
        gamma: &[f32],
        mean: &[f32],
        rstd: &[f32],
        dy: &[f32],
        dx: &mut [f32],
    ) -> (Vec<f32>, Vec<f32>) {
        let width = gamma.len();
        let (mut dgamma, mut dbeta) = (vec![0.0; width], vec![0.0; width]);
        for ((((dx, x), dy), &m), &r) in dx
            .chunks_exact_mut(width)
            .zip(x.chunks_exact(width))
            .zip(dy.chunks_exact(width))
            .zip(mean)
            .zip(rstd)
        {
            for (((dgamma, dbeta), &x), &dy) in dgamma.iter_mut().zip(&mut dbeta).zip(x).zip(dy) {
                *dgamma += dy * (x - m) * r;
                *dbeta += dy;
            }
            let sum_g = sum2(dy, gamma, |dy, g| dy * g);
            let sum_gx = r * sum3(dy, gamma, x, |dy, g, x| dy * g * (x - m));
            let (mean_g, mean_gx) = (sum_g / width as f32, sum_gx / width as f32);
            for (((dx, &x), &dy), &g) in dx.iter_mut().zip(x).zip(dy).zip(gamma) {
                let xhat = (x - m) * r;
                *dx = r * (dy * g - mean_g - xhat * mean_gx);
            }
        }
        (dgamma, dbeta)
    }
}

/// Softmax over each row of `width` values.
pub fn softmax(x: &[f32], width: usize, y: &mut [f32]) {
    let task = rows_per_task(width);
    y.par_chunks_mut(task * width)
        .zip(x.par_chunks(task * width))
        .for_each(|(y, x)| softmax_rows(x, width, y));
}

vectorised! {
    fn softmax_rows(x: &[f32], width: usize, y: &mut [f32]) {
        for (y, x) in y.chunks_exact_mut(width).zip(x.chunks_exact(width)) {
            let max = max(x);
            for (y, &x) in y.iter_mut().zip(x) {
                *y = math::exp(x - max);
            }
            let scale = 1.0 / sum(y, |v| v);
            y.iter_mut().for_each(|y| *y *= scale);
        }
    }
}

/// `dx = y · (dy − Σ dy·y)` per row, from softmax's output `y`.
pub fn softmax_backward(y: &[f32], dy: &[f32], width: usize, dx: &mut [f32]) {
    let task = rows_per_task(width);
    dx.par_chunks_mut(task * width)
        .zip(y.par_chunks(task * width).zip(dy.par_chunks(task * width)))
        .for_each(|(dx, (y, dy))| softmax_backward_rows(y, dy, width, dx));
}

vectorised! {
    fn softmax_backward_rows(y: &[f32], dy: &[f32], width: usize, dx: &mut [f32]) {
        for ((dx, y), dy) in dx
            .chunks_exact_mut(width)
            .zip(y.chunks_exact(width))
            .zip(dy.chunks_exact(width))
        {
            let dot = sum2(y, dy, |y, dy| y * dy);
            for ((dx, &y), &dy) in dx.iter_mut().zip(y).zip(dy) {
                *dx = y * (dy - dot);
            }
        }
    }
}

/// Partial results of a row's reduction kept apart: one running sum is a chain of dependent
/// additions, scalar and bound by their latency; [`LANES`] independent ones vectorise.
const LANES: usize = 16;

/// `Σ f(x)` over `x`.
#[inline(always)]
fn sum(x: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    sum3(x, x, x, |v, _, _| f(v))
}

/// `Σ f(a, b)` over two slices of one length.
#[inline(always)]
fn sum2(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    sum3(a, b, b, |a, b, _| f(a, b))
}

/// `Σ f(a, b, c)` over three slices of one length, in [`LANES`] partial sums, then the
/// remainder. [`sum`] and [`sum2`] pass a slice more than once: the repeated loads fold into one.
#[inline(always)]
fn sum3(a: &[f32], b: &[f32], c: &[f32], f: impl Fn(f32, f32, f32) -> f32) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let (ac, bc, cc) = (
        a.chunks_exact(LANES),
        b.chunks_exact(LANES),
        c.chunks_exact(LANES),
    );
    let tail: f32 = (ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .zip(cc.remainder()))
    .map(|((&a, &b), &c)| f(a, b, c))
    .sum();
    for ((ac, bc), cc) in ac.zip(bc).zip(cc) {
        for (((lane, &a), &b), &c) in lanes.iter_mut().zip(ac).zip(bc).zip(cc) {
            *lane += f(a, b, c);
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// The largest value of `x` (−∞ for none).
#[inline(always)]
fn max(x: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = lane.max(v);
        }
    }
    lanes.iter().fold(tail, |m, &v| m.max(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u32) -> Vec<f32> {
        // A fixed, irregular sequence in about [−3, 3].
        (0..n)
            .map(|i| {
                ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 6000) as f32 / 1000.0
                    - 3.0
            })
            .collect()
    }

    #[test]
    fn layer_norm_and_its_gradient_follow_the_definition() {
        // Narrower than the reductions' lanes, and wider with a remainder.
        for (rows, width) in [(300, 7), (30, 70)] {
            let (x, gamma, beta, dy) = (
                values(rows * width, 1),
                values(width, 2),
                values(width, 3),
                values(rows * width, 4),
            );
            let mut y = vec![0.0; x.len()];
            let stats = layer_norm(&x, &gamma, Some(&beta), 1e-5, &mut y);
            let loss = |x: &[f32], gamma: &[f32], beta: &[f32]| -> f64 {
                // Σ dy · layer_norm(x), in f64 by the definition.
                let mut total = 0.0;
                for (r, row) in x.chunks(width).enumerate() {
                    let m = row.iter().map(|&v| v as f64).sum::<f64>() / width as f64;
                    let var =
                        row.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / width as f64;
                    for i in 0..width {
                        let out = (row[i] as f64 - m) / (var + 1e-5).sqrt() * gamma[i] as f64
                            + beta[i] as f64;
                        total += out * dy[r * width + i] as f64;
                    }
                }
                total
            };
            let first = (x[0] as f64
                - x[..width].iter().map(|&v| v as f64).sum::<f64>() / width as f64)
                * f64::from(stats.rstd[0])
                * gamma[0] as f64
                + beta[0] as f64;
            assert!((first - y[0] as f64).abs() < 1e-5);
            let mut dx = vec![0.0; x.len()];
            let (dgamma, dbeta) = layer_norm_backward(&x, &gamma, &stats, &dy, &mut dx);
            let h = 1e-2;
            let numeric = |f: &dyn Fn(f32) -> f64| (f(h) - f(-h)) / (2.0 * h as f64);
            for i in [0, 5, 13, 2099] {
                let d = numeric(&|e| {
                    let mut x = x.clone();
                    x[i] += e;
                    loss(&x, &gamma, &beta)
                });
                assert!(
                    (dx[i] as f64 - d).abs() < 2e-3 * d.abs().max(1.0),
                    "dx[{i}] {} {d}",
                    dx[i]
                );
            }
            for i in 0..width {
                let dg = numeric(&|e| {
                    let mut g = gamma.clone();
                    g[i] += e;
                    loss(&x, &g, &beta)
                });
                assert!(
                    (dgamma[i] as f64 - dg).abs() < 2e-3 * dg.abs().max(1.0),
                    "dγ[{i}]"
                );
                let db: f64 = (0..rows).map(|r| dy[r * width + i] as f64).sum();
                assert!((dbeta[i] as f64 - db).abs() < 1e-3, "dβ[{i}]");
            }
        }
    }

    #[test]
    fn softmax_and_its_gradient_follow_the_definition() {
        for (rows, width) in [(50, 9), (10, 45)] {
            let (mut x, dy) = (values(rows * width, 5), values(rows * width, 6));
            x[3] = -1e9; // a masked position gets no weight
            let mut y = vec![0.0; x.len()];
            softmax(&x, width, &mut y);
            for (row, out) in x.chunks(width).zip(y.chunks(width)) {
                let exps: Vec<f64> = row.iter().map(|&v| (v as f64).exp()).collect();
                let total: f64 = exps.iter().sum();
                for (e, &o) in exps.iter().zip(out) {
                    assert!((e / total - o as f64).abs() < 1e-6);
                }
            }
            assert_eq!(y[3], 0.0);
            let mut dx = vec![0.0; x.len()];
            softmax_backward(&y, &dy, width, &mut dx);
            for (r, out) in y.chunks(width).enumerate() {
                for i in 0..width {
                    // Jacobian row: y_i (δ_ij − y_j).
                    let exact: f64 = (0..width)
                        .map(|j| {
                            let delta = if i == j { 1.0 } else { 0.0 };
                            dy[r * width + j] as f64 * out[j] as f64 * (delta - out[i] as f64)
                        })
                        .sum();
                    assert!((dx[r * width + i] as f64 - exact).abs() < 1e-5);
                }
            }
        }
    }

    #[test]
    fn windows_hold_the_strided_taps_and_fold_adds_them_back() {
        let (n, l, c) = (2, 11, 3);
        let x = values(n * l * c, 8);
        for (kernel, stride, padding) in [(4, 2, 0), (3, 1, 1), (10, 5, 0), (5, 3, 2)] {
            let w = Windows {
                length: l,
                channels: c,
                kernel,
                stride,
                padding,
            };
            let t = w.count();
            let mut out = vec![f32::NAN; n * t * kernel * c];
            unfold(&x, w, &mut out);
            let at = |s: usize, i: isize, ch: usize| {
                if i < 0 || i >= l as isize {
                    0.0
                } else {
                    x[(s * l + i as usize) * c + ch]
                }
            };
            for s in 0..n {
                for window in 0..t {
                    for j in 0..kernel {
                        for ch in 0..c {
                            let i = (window * stride + j) as isize - padding as isize;
                            assert_eq!(out[((s * t + window) * kernel + j) * c + ch], at(s, i, ch));
                        }
                    }
                }
            }
            // fold is unfold's transpose: <unfold(x), g> = <x, fold(g)>.
            let g = values(out.len(), 9);
            let mut dx = vec![f32::NAN; x.len()];
            fold(&g, w, &mut dx);
            let lhs: f64 = out.iter().zip(&g).map(|(a, b)| (a * b) as f64).sum();
            let rhs: f64 = x.iter().zip(&dx).map(|(a, b)| (a * b) as f64).sum();
            assert!(
                (lhs - rhs).abs() < 1e-3 * lhs.abs().max(1.0),
                "{kernel}/{stride}/{padding}"
            );
        }
    }

    #[test]
    fn gelu_over_slices_matches_the_scalar_function() {
        let x = values(100_000, 7);
        let (mut y, mut dx) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        gelu(&x, &mut y);
        gelu_backward(&x, &x, &mut dx);
        for i in [0, 40_000, 99_999] {
            assert_eq!(y[i], math::gelu(x[i]));
            assert_eq!(dx[i], x[i] * math::gelu_derivative(x[i]));
        }
    }
}
