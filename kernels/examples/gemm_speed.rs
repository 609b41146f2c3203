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
        let mut times = Vec::new();
        for _ in 0..32 {
            let t = Instant::now();
            let c = mer_kernels::matmul(a.clone(), b.clone());
            std::hint::black_box(c.into_primitive());
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let t = times[16];
        println!(
            "{name}: {:.2} ms {:.1} GFLOP/s",
            t * 1e3,
            2.0 * (m * k * n) as f64 / t / 1e9
        );
    }
}
