//! Element-wise functions written without branches or library calls, so the loops over slices
//! that use them vectorise (libm's `expf`/`erff` are scalar calls, a third of Burn's GELU time).

const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// `1/√2`, GELU's argument scale.
const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
/// `1/√(2π)`, the standard normal density's factor.
const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

/// `e^x`: Cephes' `expf` (range reduction by ln 2 in two parts, a degree-5 polynomial), relative
/// error below 2e-7; 0 below −87.3 (where f32 turns subnormal).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let clamped = x.clamp(-87.3, 88.0);
    // Round to nearest without `round` or a float→int cast (neither vectorises everywhere):
    // adding 1.5·2^23 leaves no fractional bits, and n sits in the low bits of the sum.
    let shifted = clamped * LOG2_E + 12_582_912.0;
    let n = shifted - 12_582_912.0;
    let r = clamped - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = ((((1.987_569_2e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let y = p * r * r + r + 1.0;
    let scale = f32::from_bits(
        shifted
            .to_bits()
            .wrapping_sub(0x4B40_0000)
            .wrapping_add(127)
            << 23,
    );
    if x < -87.3 { 0.0 } else { y * scale }
}

/// The error function: Abramowitz & Stegun 7.1.26 (as PyTorch's vectorised `erf`), absolute
/// error below 5e-7 in f32 (1.5e-7 in exact arithmetic).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = ((((1.061_405_4 * t - 1.453_152_1) * t + 1.421_413_8) * t - 0.284_496_74) * t
        + 0.254_829_6)
        * t;
    let y = 1.0 - poly * exp(-a * a);
    y.copysign(x)
}

/// GELU, the exact (erf) form of BERT and transformers' `"gelu"`: `x · Φ(x)`.
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * FRAC_1_SQRT_2))
}

/// `d gelu(x) / dx = Φ(x) + x · φ(x)`.
#[inline(always)]
pub fn gelu_derivative(x: f32) -> f32 {
    0.5 * (1.0 + erf(x * FRAC_1_SQRT_2)) + x * FRAC_1_SQRT_2PI * exp(-0.5 * x * x)
}

/// Whether dropout keeps element `index` of a tensor whose mask has `key`: a counter-based hash
/// (murmur3's finaliser, twice), so any element's decision is computed where it is needed, in
/// any order and on any thread, and the backward pass recomputes the mask instead of storing it.
/// `threshold` is the keep probability scaled to 2^32.
#[inline(always)]
pub fn keep(index: u32, key: u64, threshold: u64) -> bool {
    let fmix = |mut h: u32| {
        h ^= h >> 16;
        h = h.wrapping_mul(0x85EB_CA6B);
        h ^= h >> 13;
        h = h.wrapping_mul(0xC2B2_AE35);
        h ^ (h >> 16)
    };
    let h = fmix(index.wrapping_mul(0x9E37_79B9) ^ key as u32);
    u64::from(fmix(h ^ (key >> 32) as u32)) < threshold
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> impl Iterator<Item = f32> {
        (-20_000..=20_000).map(|i| i as f32 * 1e-3)
    }

    #[test]
    fn dropout_keeps_the_asked_share_independently_of_neighbours() {
        let threshold = (0.9 * 4_294_967_296.0) as u64;
        let n = 1_000_000u32;
        let kept: Vec<bool> = (0..n)
            .map(|i| keep(i, 0xDEAD_BEEF_1234, threshold))
            .collect();
        let share = kept.iter().filter(|&&k| k).count() as f64 / n as f64;
        assert!((share - 0.9).abs() < 2e-3, "kept {share}");
        // Neighbours are not correlated: P(drop, drop) ≈ 0.01.
        let pairs = kept.windows(2).filter(|w| !w[0] && !w[1]).count() as f64 / n as f64;
        assert!((pairs - 0.01).abs() < 1e-3, "dropped pairs {pairs}");
        // Another key, another mask.
        let other = (0..n)
            .filter(|&i| keep(i, 7, threshold) != kept[i as usize])
            .count();
        assert!(other > 100_000);
    }

    #[test]
    fn exp_is_within_2e_7_relative_of_libm() {
        for x in grid().map(|x| x * 4.0).chain([-87.0, 87.9]) {
            let (ours, exact) = (exp(x), (x as f64).exp());
            assert!(
                ((ours as f64 - exact) / exact).abs() < 2e-7,
                "exp({x}) = {ours}, {exact}"
            );
        }
        assert_eq!(exp(-1e9), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
    }

    #[test]
    fn erf_is_within_5e_7_of_the_f64_definition() {
        for x in grid() {
            // std has no erf: its Taylor series in f64 (accurate to ~1e-8 up to 4.5), ±1 beyond.
            let exact = if x.abs() < 4.5 {
                taylor_erf(x as f64)
            } else {
                (x as f64).signum()
            };
            assert!(
                (erf(x) as f64 - exact).abs() < 5e-7,
                "erf({x}) = {}, {exact}",
                erf(x)
            );
        }
    }

    fn taylor_erf(x: f64) -> f64 {
        // erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
        let (mut term, mut sum) = (x, x);
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn gelu_derivative_matches_a_central_difference() {
        for x in grid().step_by(97) {
            let h = 1e-3f64;
            let g = |x: f64| 0.5 * x * (1.0 + taylor_erf(x / std::f64::consts::SQRT_2));
            let numeric = (g(x as f64 + h) - g(x as f64 - h)) / (2.0 * h);
            if x.abs() < 4.0 {
                assert!((gelu_derivative(x) as f64 - numeric).abs() < 1e-5, "at {x}");
                assert!((gelu(x) as f64 - g(x as f64)).abs() < 1e-6, "at {x}");
            }
        }
    }
}
