//! Each kernel, through Burn's tensors, against Burn's own operations on the same backend:
//! outputs, and gradients of a weighted sum with respect to every input.

use burn::backend::{Autodiff, NdArray};
use burn::tensor::activation;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};

type Ad = Autodiff<NdArray<f32>>;

fn random<B: Backend, const D: usize>(shape: [usize; D]) -> Tensor<B, D> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.5), &Default::default())
}

fn close<const D: usize>(a: Tensor<NdArray<f32>, D>, b: Tensor<NdArray<f32>, D>, what: &str) {
    let diff: f32 = (a.clone() - b).abs().max().into_scalar();
    let scale: f32 = a.abs().max().into_scalar();
    assert!(diff <= 1e-5 * scale.max(1.0), "{what}: differs by {diff}");
}

/// Runs `ours` and `burns` on the same leaves and compares the output and each leaf's gradient
/// of `Σ w · out` (`w` random, so every output element matters differently).
fn check<const D: usize, const O: usize>(
    leaves: Vec<Tensor<Ad, D>>,
    ours: impl Fn(&[Tensor<Ad, D>]) -> Tensor<Ad, O>,
    burns: impl Fn(&[Tensor<Ad, D>]) -> Tensor<Ad, O>,
    what: &str,
) {
    let run = |f: &dyn Fn(&[Tensor<Ad, D>]) -> Tensor<Ad, O>| {
        let leaves: Vec<_> = leaves
            .iter()
            .map(|t| t.clone().detach().require_grad())
            .collect();
        let out = f(&leaves);
        let weights = Tensor::<Ad, O>::from_inner(random(out.dims()));
        (out, weights, leaves)
    };
    let (mine, weights, my_leaves) = run(&ours);
    let grads = (mine.clone() * weights.clone()).sum().backward();
    let (theirs, _, their_leaves) = run(&burns);
    let their_grads = (theirs.clone() * weights).sum().backward();
    close(mine.inner(), theirs.inner(), &format!("{what} output"));
    for (i, (m, t)) in my_leaves.iter().zip(&their_leaves).enumerate() {
        let (gm, gt) = (m.grad(&grads).unwrap(), t.grad(&their_grads).unwrap());
        close(gm, gt, &format!("{what} gradient {i}"));
    }
}

#[test]
fn gelu_and_softmax() {
    // The definition through Burn's `erf` (whose gradient is exact; Burn's `gelu` backward is
    // the tanh approximation's derivative).
    let exact = |x: Tensor<Ad, 3>| x.clone() * ((x / std::f64::consts::SQRT_2).erf() + 1.0) / 2.0;
    check(
        vec![random([3, 70, 33])],
        |t| mer_kernels::gelu(t[0].clone()),
        |t| exact(t[0].clone()),
        "gelu",
    );
    let x: Tensor<Ad, 3> = random([3, 70, 33]);
    close(
        mer_kernels::gelu(x.clone()).inner(),
        activation::gelu(x).inner(),
        "gelu as Burn's",
    );
    // Burn's softmax gradient is off by ~2e-4 on these shapes (its composed backward); the
    // reference is the analytic one, y · (w − Σ y·w).
    for (x, transpose) in [
        (random::<Ad, 3>([8, 9, 9]), false),
        (random([2, 9, 5]), true),
    ] {
        let x = x.require_grad();
        let input = if transpose {
            x.clone().swap_dims(1, 2)
        } else {
            x.clone()
        };
        let y = mer_kernels::softmax(input.clone());
        close(
            y.clone().inner(),
            activation::softmax(input, 2).inner(),
            "softmax",
        );
        let w = Tensor::<Ad, 3>::from_inner(random(y.dims()));
        let grads = (y.clone() * w.clone()).sum().backward();
        let (y, w) = (y.inner(), w.inner());
        let expected = y.clone() * (w.clone() - (y * w).sum_dim(2));
        let expected = if transpose {
            expected.swap_dims(1, 2)
        } else {
            expected
        };
        close(x.grad(&grads).unwrap(), expected, "softmax gradient");
    }
}

#[test]
fn layer_norm_with_and_without_bias() {
    // Outputs against Burn's LayerNorm formula; gradients against the analytic ones (Burn's
    // composed backward drifts by ~1e-3 here), computed with plain tensor operations.
    for with_beta in [true, false] {
        let x: Tensor<Ad, 2> = random::<Ad, 2>([300, 24]).require_grad();
        let gamma: Tensor<Ad, 1> = random::<Ad, 1>([24]).require_grad();
        let beta: Tensor<Ad, 1> = random::<Ad, 1>([24]).require_grad();
        let y = mer_kernels::layer_norm(
            x.clone(),
            gamma.clone(),
            with_beta.then(|| beta.clone()),
            1e-5,
        );
        let w = Tensor::<Ad, 2>::from_inner(random([300, 24]));
        let grads = (y.clone() * w.clone()).sum().backward();
        let (xi, g, w) = (
            x.clone().inner(),
            gamma.clone().inner().unsqueeze_dim(0),
            w.inner(),
        );
        let centred = xi.clone() - xi.mean_dim(1);
        // Division, not `recip` (Burn's ndarray `recip` is an approximate reciprocal).
        let std = (centred.clone().powi_scalar(2).mean_dim(1) + 1e-5).sqrt();
        let xhat = centred / std.clone();
        let shift = if with_beta {
            beta.clone().inner().unsqueeze_dim(0)
        } else {
            g.clone() * 0.0
        };
        close(y.inner(), xhat.clone() * g.clone() + shift, "layer norm");
        let wg = w.clone() * g;
        let dx =
            (wg.clone() - wg.clone().mean_dim(1) - xhat.clone() * (wg * xhat.clone()).mean_dim(1))
                / std;
        close(x.grad(&grads).unwrap(), dx, "layer norm dx");
        close(
            gamma.grad(&grads).unwrap(),
            (w.clone() * xhat).sum_dim(0).reshape([24]),
            "dγ",
        );
        match beta.grad(&grads) {
            Some(db) => close(db, w.sum_dim(0).reshape([24]), "dβ"),
            None => assert!(!with_beta, "β gets a gradient when used"),
        }
    }
}

#[test]
fn products_plain_transposed_and_with_bias() {
    check(
        vec![random([37, 20]), random([20, 11]), random([1, 11])],
        |t| mer_kernels::linear(t[0].clone(), t[1].clone(), Some(t[2].clone().reshape([11]))),
        |t| t[0].clone().matmul(t[1].clone()) + t[2].clone(),
        "linear",
    );
    check(
        vec![random([37, 20]), random([20, 11])],
        |t| mer_kernels::linear(t[0].clone(), t[1].clone(), None),
        |t| t[0].clone().matmul(t[1].clone()),
        "linear without bias",
    );
    // Attention's shapes: heads split by swap_dims, keys transposed.
    let split = |t: &Tensor<Ad, 4>| t.clone().swap_dims(1, 2);
    check(
        vec![random([2, 7, 3, 8]), random([2, 7, 3, 8])],
        |t| mer_kernels::matmul(split(&t[0]), split(&t[1]).swap_dims(2, 3)),
        |t| split(&t[0]).matmul(split(&t[1]).swap_dims(2, 3)),
        "batched q·kᵀ",
    );
}

#[test]
fn frozen_inputs_get_no_gradient_and_inference_matches_training() {
    let x: Tensor<Ad, 2> = random([5, 4]);
    let w: Tensor<Ad, 2> = random::<Ad, 2>([4, 3]).require_grad();
    let y = mer_kernels::linear(x.clone(), w.clone(), None);
    let grads = y.clone().sum().backward();
    assert!(x.grad(&grads).is_none());
    assert!(w.grad(&grads).is_some());
    // The same kernels without autodiff.
    let plain = mer_kernels::linear(x.inner(), w.inner(), None);
    close(plain, y.inner(), "inference linear");
}

#[test]
fn a_permuted_tensor_made_contiguous_reshapes_as_burns_and_passes_its_gradient_back() {
    check(
        vec![random([3, 4, 5, 6])],
        |t| mer_kernels::contiguous(t[0].clone().permute([0, 2, 3, 1])).reshape([15, 24]),
        |t| t[0].clone().permute([0, 2, 3, 1]).reshape([15, 24]),
        "contiguous",
    );
    let x: Tensor<NdArray<f32>, 3> = random([4, 5, 6]);
    let same = mer_kernels::contiguous(x.clone());
    assert_eq!(
        same.into_data(),
        x.into_data(),
        "a row-major tensor is unchanged"
    );
}

/// `t` rounded to bf16 (nearest, ties to even), as a reference independent of the kernels.
fn bf16<const D: usize>(t: Tensor<NdArray<f32>, D>) -> Tensor<NdArray<f32>, D> {
    let shape = t.shape();
    let values: Vec<f32> = t.into_data().to_vec().unwrap();
    let rounded: Vec<f32> = values
        .iter()
        .map(|v| {
            let bits = v.to_bits();
            f32::from_bits((bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF_0000)
        })
        .collect();
    Tensor::from_data(
        burn::tensor::TensorData::new(rounded, shape),
        &Default::default(),
    )
}

#[test]
fn bf16_products_multiply_rounded_operands_on_both_cpu_routes() {
    use mer_kernels::{Precision, autocast};
    type Cpu = NdArray<f32>;
    let (x, w): (Tensor<Cpu, 2>, Tensor<Cpu, 2>) = (random([6, 9]), random([9, 5]));
    let b: Tensor<Cpu, 1> = random([5]);
    let expected = bf16(bf16(x.clone()).matmul(bf16(w.clone()))) + b.clone().unsqueeze_dim(0);
    let plain = autocast(Precision::Bf16, || {
        mer_kernels::linear(x.clone(), w.clone(), Some(b.clone()))
    });
    // Sums in another order can land a value on the other side of a bf16 rounding boundary:
    // one bf16 step (2^-8 relative) is allowed.
    let within_a_step = |a: Tensor<NdArray<f32>, 2>, b: Tensor<NdArray<f32>, 2>, what: &str| {
        let diff: f32 = (a.clone() - b.clone()).abs().max().into_scalar();
        let scale: f32 = b.abs().max().into_scalar();
        assert!(diff <= scale / 256.0, "{what}: differs by {diff}");
    };
    within_a_step(plain.clone(), expected, "bf16 linear");
    let exact = mer_kernels::linear(x.clone(), w.clone(), Some(b.clone()));
    let off: f32 = (exact - plain).abs().max().into_scalar();
    assert!(off > 0.0, "the product is not the f32 one");

    let tracked = autocast(Precision::Bf16, || {
        mer_kernels::matmul(
            Tensor::<Ad, 2>::from_inner(x.clone()).require_grad(),
            Tensor::<Ad, 2>::from_inner(w.clone()),
        )
    });
    within_a_step(
        tracked.inner(),
        bf16(bf16(x).matmul(bf16(w.clone()))),
        "bf16 matmul, tracked",
    );
    // Outside autocast the same call is f32 again.
    let y: Tensor<NdArray<f32>, 2> = random([2, 9]);
    close(
        mer_kernels::matmul(y.clone(), w.clone()),
        y.matmul(w),
        "f32 after autocast",
    );
}
