//! SPCL's curriculum (Song et al., 2022): early in training only the easiest features of a batch
//! count, the harder ones join as training progresses. A feature is hard when it lies far from
//! its class's prototype.

/// 1 − (1 + cos(x, c_y))/2 per feature row: 0 on its prototype, 1 opposite it.
pub fn difficulty(rows: &[Vec<f32>], labels: &[usize], centres: &[Vec<f32>]) -> Vec<f32> {
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-8);
    rows.iter()
        .zip(labels)
        .map(|(row, &label)| {
            let centre = &centres[label];
            let dot: f32 = row.iter().zip(centre).map(|(a, b)| a * b).sum();
            1.0 - (1.0 + dot / (norm(row) * norm(centre))) / 2.0
        })
        .collect()
}

/// Weight 1 for the easiest ⌈λ·N⌉ features of the batch and 0 for the rest, with
/// λ = start + (1 − start) · progress growing from `start` to 1 as `progress` (the fraction of
/// training done) goes from 0 to 1. Ties keep batch order.
pub fn curriculum_weights(difficulty: &[f32], progress: f64, start: f64) -> Vec<f32> {
    let fraction = (start + (1.0 - start) * progress.clamp(0.0, 1.0)).clamp(0.0, 1.0);
    let kept = ((fraction * difficulty.len() as f64).ceil() as usize).max(1);
    let mut order: Vec<usize> = (0..difficulty.len()).collect();
    order.sort_by(|&a, &b| difficulty[a].total_cmp(&difficulty[b]));
    let mut weights = vec![0.0; difficulty.len()];
    for &i in order.iter().take(kept) {
        weights[i] = 1.0;
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn difficulty_is_the_distance_to_the_own_prototype() {
        let centres = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        let rows = vec![vec![2.0, 0.0], vec![-1.0, 0.0], vec![1.0, 1.0]];
        let d = difficulty(&rows, &[0, 0, 1], &centres);
        assert!(
            (d[0] - 0.0).abs() < 1e-6 && (d[1] - 1.0).abs() < 1e-6,
            "{d:?}"
        );
        let expected = 1.0 - (1.0 + std::f32::consts::FRAC_1_SQRT_2) / 2.0;
        assert!((d[2] - expected).abs() < 1e-6, "{d:?}");
    }

    #[test]
    fn the_easiest_fraction_counts_and_grows_with_progress() {
        let d = [0.9, 0.1, 0.5, 0.3];
        assert_eq!(curriculum_weights(&d, 0.0, 0.5), vec![0.0, 1.0, 0.0, 1.0]);
        assert_eq!(curriculum_weights(&d, 0.5, 0.5), vec![0.0, 1.0, 1.0, 1.0]);
        assert_eq!(curriculum_weights(&d, 1.0, 0.5), vec![1.0; 4]);
        // At least one feature always counts.
        assert_eq!(curriculum_weights(&d, 0.0, 0.0), vec![0.0, 1.0, 0.0, 0.0]);
    }
}
