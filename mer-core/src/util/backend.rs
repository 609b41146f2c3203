//! Which backend a generic caller runs on.

use burn::tensor::backend::Backend;

/// Whether `B` is Burn's CPU backend (ndarray), plain or under autodiff: its kernels take any
/// shape at no extra cost and run one thread each, unlike a GPU backend, which compiles and
/// tunes its kernels per shape.
pub fn is_ndarray<B: Backend>(device: &B::Device) -> bool {
    B::name(device).to_lowercase().contains("ndarray")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_backend_is_recognised_with_and_without_autodiff() {
        type Cpu = burn::backend::NdArray<f32>;
        assert!(is_ndarray::<Cpu>(&Default::default()));
        assert!(is_ndarray::<burn::backend::Autodiff<Cpu>>(
            &Default::default()
        ));
    }
}
