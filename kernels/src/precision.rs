//! bf16 matrix products, in the manner of PyTorch's autocast (Burn 0.21 has none): inside
//! [`autocast`], [`crate::linear`] and [`crate::matmul`] multiply bf16 operands and hand back
//! f32, while parameters stay f32 (the master weights) and every other operation runs in f32.
//!
//! A backend with a bf16 type (CUDA) casts the operands and multiplies in bf16 with f32
//! accumulation. The CPU backend has no bf16 type; there the operands and the product are
//! rounded to bf16's 8-bit significand and multiplied in f32, which gives a bf16 run's numbers
//! without its speed, so that tests on the CPU see what a bf16 run on a GPU computes. Gradients
//! pass back through the casts (and are rounded the same way).

use std::cell::Cell;

use burn::tensor::backend::Backend;
use burn::tensor::{DType, FloatDType, Tensor};

/// The precision of the matrix products of [`crate::linear`] and [`crate::matmul`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// f32 throughout.
    #[default]
    F32,
    /// bf16 operands, f32 accumulation and result.
    Bf16,
}

impl Precision {
    /// The name configs and command lines use: `fp32` or `bf16`.
    pub const fn name(self) -> &'static str {
        match self {
            Precision::F32 => "fp32",
            Precision::Bf16 => "bf16",
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        [Precision::F32, Precision::Bf16]
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| format!("unknown precision `{name}`: fp32 or bf16"))
    }
}

thread_local! {
    static PRECISION: Cell<Precision> = const { Cell::new(Precision::F32) };
}

/// Runs `f` with this thread's matrix products at `precision`, and restores the previous
/// precision afterwards (also when `f` panics).
///
/// A thread-local setting, like autocast's: the model code stays as it is, and only the scope
/// that trains or evaluates decides. Operations recorded inside keep their precision in their
/// backward pass, wherever that runs.
pub fn autocast<R>(precision: Precision, f: impl FnOnce() -> R) -> R {
    struct Restore(Precision);
    impl Drop for Restore {
        fn drop(&mut self) {
            PRECISION.with(|p| p.set(self.0));
        }
    }
    let _restore = Restore(PRECISION.with(|p| p.replace(precision)));
    f()
}

/// This thread's precision of matrix products.
pub fn current() -> Precision {
    PRECISION.with(Cell::get)
}

/// `x` rounded to the nearest bf16 value (ties to even), as an f32.
pub(crate) fn round_bf16(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let bits = x.to_bits();
    let rounded = bits.wrapping_add(0x7FFF + ((bits >> 16) & 1)) & 0xFFFF_0000;
    f32::from_bits(rounded)
}

/// Whether `x`'s backend has a bf16 type to cast to.
pub(crate) fn casts<B: Backend, const D: usize>(x: &Tensor<B, D>) -> bool {
    B::supports_dtype(&x.device(), DType::BF16)
}

/// `x` cast to bf16.
pub(crate) fn to_bf16<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    x.cast(FloatDType::BF16)
}

/// `x` cast back to f32.
pub(crate) fn to_f32<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    x.cast(FloatDType::F32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_keeps_eight_significant_bits_and_ties_to_even() {
        assert_eq!(round_bf16(1.0), 1.0);
        // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even significand, 1.
        assert_eq!(round_bf16(1.0 + 2f32.powi(-8)), 1.0);
        assert_eq!(
            round_bf16(1.0 + 3.0 * 2f32.powi(-8)),
            1.0 + 2.0 * 2f32.powi(-7)
        );
        assert_eq!(round_bf16(1.0 + 2f32.powi(-9)), 1.0);
        assert_eq!(round_bf16(-3.0), -3.0);
        assert!(round_bf16(f32::NAN).is_nan());
        let x = 0.123_456_79_f32;
        assert!((round_bf16(x) - x).abs() <= x * 2f32.powi(-9));
    }

    #[test]
    fn names_parse_back_and_unknown_ones_are_refused() {
        for p in [Precision::F32, Precision::Bf16] {
            assert_eq!(p.name().parse::<Precision>(), Ok(p));
        }
        let refused = "f16".parse::<Precision>().unwrap_err();
        assert!(refused.contains("`f16`"), "{refused}");
    }

    #[test]
    fn autocast_is_scoped_and_restored() {
        assert_eq!(current(), Precision::F32);
        let inside = autocast(Precision::Bf16, || {
            let nested = autocast(Precision::F32, current);
            (current(), nested)
        });
        assert_eq!(inside, (Precision::Bf16, Precision::F32));
        assert_eq!(current(), Precision::F32);
        let _ = std::panic::catch_unwind(|| autocast(Precision::Bf16, || panic!("inside")));
        assert_eq!(current(), Precision::F32);
    }
}
