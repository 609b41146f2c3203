//! Matrix products through the `gemm` crate, reading ndarray views with their strides as they
//! are: a transposed or head-split operand (attention's `swap_dims`) is not copied first, as
//! Burn's ndarray backend does before calling matrixmultiply.

use ndarray::{ArrayViewD, Axis};
use rayon::prelude::*;

/// A matrix as gemm reads it: its first element and the strides of its rows and columns.
#[derive(Clone, Copy)]
struct Matrix {
    /// The address of element (0, 0), as an integer so tasks may share it.
    at: usize,
    rows: usize,
    cols: usize,
    row_stride: isize,
    col_stride: isize,
}

impl Matrix {
    /// The same matrix starting `elements` further on.
    fn offset(self, elements: isize) -> Self {
        let at = (self.at as *const f32).wrapping_offset(elements) as usize;
        Matrix { at, ..self }
    }

    /// The last two axes of `view`, at the batch offset `offset` (in elements).
    fn of(view: &ArrayViewD<f32>, offset: isize, transpose: bool) -> Self {
        let d = view.ndim();
        let (shape, strides) = (view.shape(), view.strides());
        let m = Matrix {
            at: view.as_ptr().wrapping_offset(offset) as usize,
            rows: shape[d - 2],
            cols: shape[d - 1],
            row_stride: strides[d - 2],
            col_stride: strides[d - 1],
        };
        if transpose {
            Matrix {
                rows: m.cols,
                cols: m.rows,
                row_stride: m.col_stride,
                col_stride: m.row_stride,
                ..m
            }
        } else {
            m
        }
    }
}

/// `out (+)= lhs · rhs`, `out` row-major [lhs.rows, rhs.cols]; `accumulate` adds to what `out`
/// holds (a bias broadcast into it).
///
/// # Safety
/// `lhs` and `rhs` must point at live matrices of their shapes and strides, and `out` at
/// `lhs.rows · rhs.cols` writable values no one else touches.
unsafe fn multiply(out: *mut f32, lhs: Matrix, rhs: Matrix, accumulate: bool) {
    debug_assert_eq!(lhs.cols, rhs.rows);
    let (m, n) = (lhs.rows, rhs.cols);
    let bands = bands(m, n, lhs.cols);
    if bands == 1 {
        // SAFETY: the caller's contract.
        return unsafe { gemm_into(out, n, lhs, rhs, accumulate) };
    }
    // Bands of the output as rayon tasks, each a single-threaded product: gemm's own splitting
    // scaled poorly here (2 threads: 1.0–1.3× one thread at MiniLM's shapes). Each band packs
    // the other operand whole, so the bands run along the longer side, whose operand is larger.
    // The bands depend on the shape alone, never on the thread count: gemm's blocking follows
    // the band's shape, so the bits of a result do too, and a run must not change with the
    // threads it had.
    let out = out as usize;
    (0..bands).into_par_iter().for_each(|b| {
        let out = out as *mut f32;
        let (lhs, rhs, out) = if m >= n {
            let (first, rows) = band(m, bands, b);
            let lhs = Matrix {
                rows,
                ..lhs.offset(first as isize * lhs.row_stride)
            };
            (lhs, rhs, out.wrapping_add(first * n))
        } else {
            let (first, cols) = band(n, bands, b);
            let rhs = Matrix {
                cols,
                ..rhs.offset(first as isize * rhs.col_stride)
            };
            (lhs, rhs, out.wrapping_add(first))
        };
        // SAFETY: the caller's contract; the bands write disjoint parts of `out`.
        unsafe { gemm_into(out, n, lhs, rhs, accumulate) };
    });
}

/// `out (+)= lhs · rhs` on this thread, `out`'s rows `out_row_stride` apart.
///
/// # Safety
/// As [`multiply`].
unsafe fn gemm_into(
    out: *mut f32,
    out_row_stride: usize,
    lhs: Matrix,
    rhs: Matrix,
    accumulate: bool,
) {
    // SAFETY: the caller's contract; gemm computes dst = α·dst + β·lhs·rhs.
    unsafe {
        gemm::gemm(
            lhs.rows,
            rhs.cols,
            lhs.cols,
            out,
            1,
            out_row_stride as isize,
            accumulate,
            lhs.at as *const f32,
            lhs.col_stride,
            lhs.row_stride,
            rhs.at as *const f32,
            rhs.col_stride,
            rhs.row_stride,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// How many bands an `m × k · k × n` product is split into: bands of at most [`BAND`] rows (or
/// columns), a multiple of 4 of them so that 2 or 4 threads get equal shares, when the product
/// is large enough to share out; else one.
fn bands(m: usize, n: usize, k: usize) -> usize {
    if m * n * k < 1 << 21 {
        return 1;
    }
    let long = m.max(n);
    long.div_ceil(BAND)
        .next_multiple_of(4)
        .min(long / 16)
        .max(1)
}

/// Rows (or columns) per band at most: 128 measured fastest at MiniLM's shapes on 2 threads
/// (bands of 64 repacked the other operand too often; one band per thread ran slower).
const BAND: usize = 128;

/// The first index and length of band `b` of `bands` over `len`.
fn band(len: usize, bands: usize, b: usize) -> (usize, usize) {
    let size = len.div_ceil(bands);
    let first = (b * size).min(len);
    (first, size.min(len - first))
}

/// Element offsets of every matrix of `view` (all axes but the last two), in row-major order.
fn batch_offsets(view: &ArrayViewD<f32>) -> Vec<isize> {
    let d = view.ndim();
    let mut offsets = vec![0isize];
    for axis in 0..d - 2 {
        let (len, stride) = (view.len_of(Axis(axis)), view.strides()[axis]);
        offsets = offsets
            .iter()
            .flat_map(|&o| (0..len as isize).map(move |i| o + i * stride))
            .collect();
    }
    offsets
}

/// Writes an output's starting values (a bias) before the product is added to them.
pub type Fill<'a> = &'a dyn Fn(&mut [f32]);

/// `op(lhs) · op(rhs)` for every matrix of two views with the same batch axes, `op` a
/// transpose where asked; the result row-major [batch…, m, n]. `init` fills the output first
/// and is added to (a bias); zeros otherwise.
pub fn batched(
    lhs: &ArrayViewD<f32>,
    transpose_lhs: bool,
    rhs: &ArrayViewD<f32>,
    transpose_rhs: bool,
    init: Option<Fill>,
) -> (Vec<usize>, Vec<f32>) {
    let (lo, ro) = (batch_offsets(lhs), batch_offsets(rhs));
    debug_assert_eq!(lo.len(), ro.len());
    let first = |view, offset, t| Matrix::of(view, offset, t);
    let (a, b) = (first(lhs, 0, transpose_lhs), first(rhs, 0, transpose_rhs));
    let (m, n, k) = (a.rows, b.cols, a.cols);
    assert_eq!(k, b.rows, "inner dimensions of a matrix product");
    let mut shape = lhs.shape()[..lhs.ndim() - 2].to_vec();
    shape.extend([m, n]);
    let mut out = vec![0.0f32; lo.len() * m * n];
    if m * n == 0 {
        return (shape, out);
    }
    if let Some(init) = init {
        init(&mut out);
    }
    if k == 0 {
        return (shape, out);
    }
    let accumulate = init.is_some();
    // Matrices and their bands are rayon tasks, nested: however many there are of either.
    out.par_chunks_exact_mut(m * n)
        .zip(lo.par_iter().zip(&ro))
        .for_each(|(out, (&l, &r))| {
            let (a, b) = (first(lhs, l, transpose_lhs), first(rhs, r, transpose_rhs));
            // SAFETY: offsets and strides come from the views, which outlive the call; each
            // task writes its own output matrix.
            unsafe { multiply(out.as_mut_ptr(), a, b, accumulate) };
        });
    (shape, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    fn array(shape: &[usize], seed: usize) -> ArrayD<f32> {
        let n: usize = shape.iter().product();
        ArrayD::from_shape_vec(
            IxDyn(shape),
            (0..n)
                .map(|i| ((i * 7919 + seed * 31) % 97) as f32 / 48.0 - 1.0)
                .collect(),
        )
        .unwrap()
    }

    /// The plain definition, one element at a time.
    fn reference(a: &ArrayD<f32>, b: &ArrayD<f32>) -> Vec<f32> {
        let (s, m, k, n) = (a.shape()[0], a.shape()[1], a.shape()[2], b.shape()[2]);
        let mut out = Vec::new();
        for batch in 0..s {
            for i in 0..m {
                for j in 0..n {
                    out.push((0..k).map(|p| a[[batch, i, p]] * b[[batch, p, j]]).sum());
                }
            }
        }
        out
    }

    #[test]
    fn strided_and_transposed_operands_give_the_plain_product() {
        for batch in [1, 5] {
            let (a, b) = (array(&[batch, 13, 70], 1), array(&[batch, 70, 9], 2));
            let expected = reference(&a, &b);
            let (shape, out) = batched(
                &a.view().into_dyn(),
                false,
                &b.view().into_dyn(),
                false,
                None,
            );
            assert_eq!(shape, [batch, 13, 9]);
            let close = |out: &[f32]| out.iter().zip(&expected).all(|(x, y)| (x - y).abs() < 1e-4);
            assert!(close(&out));
            // The same operands stored transposed, read through swapped axes.
            let (at, bt) = (
                a.clone()
                    .permuted_axes(IxDyn(&[0, 2, 1]))
                    .as_standard_layout()
                    .to_owned(),
                b.clone()
                    .permuted_axes(IxDyn(&[0, 2, 1]))
                    .as_standard_layout()
                    .to_owned(),
            );
            let (_, out) = batched(
                &at.view().into_dyn(),
                true,
                &bt.view().into_dyn(),
                true,
                None,
            );
            assert!(close(&out));
            let swapped = at.view().permuted_axes(IxDyn(&[0, 2, 1]));
            let (_, out) = batched(&swapped, false, &b.view().into_dyn(), false, None);
            assert!(close(&out));
            // A bias written first is added to.
            let (_, out) = batched(
                &a.view(),
                false,
                &b.view(),
                false,
                Some(&|o: &mut [f32]| o.fill(1.0)),
            );
            assert!(
                out.iter()
                    .zip(&expected)
                    .all(|(x, y)| (x - 1.0 - y).abs() < 1e-4)
            );
        }
    }

    /// `multiply` on `lhs` read transposed, into an output of ones, on a pool of `threads`.
    fn banded(lhs: &ArrayD<f32>, rhs: &ArrayD<f32>, threads: usize) -> Vec<f32> {
        let (m, n) = (lhs.shape()[2], rhs.shape()[2]);
        let (lhs, rhs) = (lhs.view().into_dyn(), rhs.view().into_dyn());
        let mut out = vec![1.0f32; m * n];
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        // SAFETY: the views are alive and `out` holds m·n values.
        pool.install(|| unsafe {
            multiply(
                out.as_mut_ptr(),
                Matrix::of(&lhs, 0, true),
                Matrix::of(&rhs, 0, false),
                true,
            )
        });
        out
    }

    #[test]
    fn products_split_into_bands_give_the_plain_product_with_the_same_bits_on_any_threads() {
        // Tall (bands of rows) and wide (bands of columns), the left operand read transposed,
        // four bands that do not divide the side evenly, a bias accumulated into.
        for (m, k, n) in [(350, 80, 90), (90, 80, 350)] {
            assert_eq!(bands(m, n, k), 4, "{m}x{k}x{n} is split");
            let (a, b) = (array(&[1, m, k], 3), array(&[1, k, n], 4));
            let expected = reference(&a, &b);
            let at = a
                .permuted_axes(IxDyn(&[0, 2, 1]))
                .as_standard_layout()
                .to_owned();
            let out = banded(&at, &b, 1);
            for (i, (x, y)) in out.iter().zip(&expected).enumerate() {
                assert!(
                    (x - 1.0 - y).abs() < 1e-3,
                    "{m}x{k}x{n} element {i}: {x} vs {y} + 1"
                );
            }
            assert_eq!(
                out,
                banded(&at, &b, 3),
                "{m}x{k}x{n}: 1 thread and 3 threads differ"
            );
        }
    }
}
