//! Milliseconds and GFLOP/s of mer's CPU matrix product at the MiniLM shapes.
use burn::backend::NdArray;
use burn::tensor::{Distribution, Tensor};
use std::time::Instant;

fn main() {
    let device = Default::default();
    let r = |s: [usize; 2]| Tensor::<NdArray, 2>::random(s, Distribution::Default, &device);
    let cases: Vec<(&str, Tensor<NdArray, 2>, Tensor<NdArray, 2>)> = vec![
        ("1024x384x384 NN", r([1024, 384]), r([384, 384])),
        ("1024x1536x384 NN", r([1024, 1536]), r([1536, 384])),
        ("1024x384x1536 NN", r([1024, 384]), r([384, 1536])),
        (
            "dX 1024x384x384 NT",
            r([1024, 384]),
            r([384, 384]).transpose(),
        ),
        (
            "dW 384x1024x384 TN",
            r([1024, 384]).transpose(),
            r([1024, 384]),
        ),
        (
            "dW 1536x1024x384 TN",
            r([1024, 1536]).transpose(),
            r([1024, 384]),
        ),
    ];
    for (name, a, b) in cases {
        let [m, k] = a.dims();
        let n = b.dims()[1];
        time(name, m * k * n, || {
            mer_kernels::matmul(a.clone(), b.clone()).into_primitive()
        });
    }
    // Attention's products at MiniLM's shapes (16 sequences × 12 heads of 64 tokens × 32).
    let r3 = |s: [usize; 3]| Tensor::<NdArray, 3>::random(s, Distribution::Default, &device);
    let heads: Vec<(&str, Tensor<NdArray, 3>, Tensor<NdArray, 3>)> = vec![
        (
            "scores 192x(64x32x64) NT",
            r3([192, 64, 32]),
            r3([192, 64, 32]).swap_dims(1, 2),
        ),
        (
            "context 192x(64x64x32) NN",
            r3([192, 64, 64]),
            r3([192, 64, 32]),
        ),
    ];
    for (name, a, b) in heads {
        let [s, m, k] = a.dims();
        let n = b.dims()[2];
        time(name, s * m * k * n, || {
            mer_kernels::matmul(a.clone(), b.clone()).into_primitive()
        });
    }
}

/// Prints the median of 32 calls of `product` (`macs` multiply-adds each).
fn time<T>(name: &str, macs: usize, product: impl Fn() -> T) {
    let mut times = Vec::new();
    for _ in 0..32 {
        let t = Instant::now();
        std::hint::black_box(product());
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let t = times[16];
    println!(
        "{name}: {:.2} ms {:.1} GFLOP/s",
        t * 1e3,
        2.0 * macs as f64 / t / 1e9
    );
}
