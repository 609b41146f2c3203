//! Test support: a loss's gradient by automatic differentiation against central finite
//! differences of an independent reference written in plain f64.

use burn::backend::{Autodiff, NdArray};
use burn::tensor::{Tensor, TensorData};

pub type AB = Autodiff<NdArray<f32>>;

/// ∂f/∂x by central differences.
pub fn numeric(f: impl Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    let h = 1e-5;
    (0..x.len())
        .map(|i| {
            let (mut up, mut down) = (x.to_vec(), x.to_vec());
            up[i] += h;
            down[i] -= h;
            (f(&up) - f(&down)) / (2.0 * h)
        })
        .collect()
}

/// f(x) and ∂f/∂x by Burn's autodiff, `x` of shape `[rows, cols]`.
pub fn autodiff(
    f: impl Fn(Tensor<AB, 2>) -> Tensor<AB, 1>,
    x: &[f64],
    [rows, cols]: [usize; 2],
) -> (f64, Vec<f64>) {
    let device = Default::default();
    let values: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let input =
        Tensor::<AB, 2>::from_data(TensorData::new(values, [rows, cols]), &device).require_grad();
    let out = f(input.clone());
    let value = f64::from(out.clone().into_scalar());
    let grads = out.backward();
    let grad = input
        .grad(&grads)
        .expect("the input takes part in the loss")
        .to_data()
        .to_vec::<f32>()
        .unwrap();
    (value, grad.into_iter().map(f64::from).collect())
}

/// Checks the value and the gradient of `loss` at `x` against `reference`.
pub fn check(
    loss: impl Fn(Tensor<AB, 2>) -> Tensor<AB, 1>,
    reference: impl Fn(&[f64]) -> f64,
    x: &[f64],
    shape: [usize; 2],
) {
    let (value, grad) = autodiff(loss, x, shape);
    let expected = reference(x);
    assert!(
        (value - expected).abs() < 1e-4 * (1.0 + expected.abs()),
        "value {value} vs reference {expected}"
    );
    let expected = numeric(&reference, x);
    for (i, (g, e)) in grad.iter().zip(&expected).enumerate() {
        assert!(
            (g - e).abs() < 2e-3 * (1.0 + e.abs()),
            "gradient [{i}]: {g} vs finite differences {e}\n{grad:?}\n{expected:?}"
        );
    }
}

/// Row-major rows of a flat slice.
pub fn rows(x: &[f64], cols: usize) -> Vec<Vec<f64>> {
    x.chunks(cols).map(<[f64]>::to_vec).collect()
}

/// softmax(row / τ).
pub fn softmax(row: &[f64], tau: f64) -> Vec<f64> {
    let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = row.iter().map(|v| ((v - max) / tau).exp()).collect();
    let z: f64 = e.iter().sum();
    e.into_iter().map(|v| v / z).collect()
}
