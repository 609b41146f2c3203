//! Prototypical contrastive losses over a network's features: SPCL (supervised prototypical
//! contrastive learning, Song et al., 2022) and APCL, its variant with adaptive prototypes.
//!
//! Both pull a feature towards its class's prototype and the same-class features of the
//! batch, and push it from the others. Prototypes carry no gradient; they live on the CPU,
//! updated from each batch's detached features (one read per step).

use std::sync::{Arc, Mutex};

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};

use super::curriculum::{curriculum_weights, difficulty};
use super::similarity::unit_rows;

/// SPCL's and APCL's settings (the seed's values).
#[derive(Debug, Clone, PartialEq)]
pub struct PrototypeConfig {
    pub classes: usize,
    /// Width of the features.
    pub hidden: usize,
    /// Softmax temperature of the scores.
    pub temperature: f64,
    /// SPCL: detached features kept per class.
    pub pool: usize,
    /// SPCL: features averaged into a class's prototype, once its pool holds that many.
    pub support: usize,
    /// APCL: momentum of the prototypes' updates.
    pub gamma: f64,
    /// SPCL's curriculum: the fraction of a batch that counts at the start of training.
    pub curriculum_start: f64,
    /// Seeds the initial prototypes and the pools' sampling.
    pub seed: u64,
}

impl PrototypeConfig {
    /// The seed's settings: temperature 0.08, pools of 512, support 64, γ 0.99; the
    /// curriculum starts from the easiest 30% of a batch.
    pub fn new(classes: usize, hidden: usize) -> Self {
        PrototypeConfig {
            classes,
            hidden,
            temperature: 0.08,
            pool: 512,
            support: 64,
            gamma: 0.99,
            curriculum_start: 0.3,
            seed: 0,
        }
    }

    /// SPCL: per-class pools of features, prototypes sampled from them.
    pub fn spcl(&self) -> Spcl {
        let mut rng = StdRng::seed_from_u64(self.seed);
        let defaults = orthonormal_rows(self.classes, self.hidden, &mut rng);
        Spcl {
            state: Arc::new(Mutex::new(PoolState {
                pools: vec![Vec::new(); self.classes],
                defaults,
                rng,
            })),
            config: self.clone(),
        }
    }

    /// APCL: prototypes moved by momentum towards their class's features.
    pub fn apcl(&self) -> Apcl {
        let mut rng = StdRng::seed_from_u64(self.seed);
        let centres = orthonormal_rows(self.classes, self.hidden, &mut rng);
        Apcl {
            state: Arc::new(Mutex::new(MomentumState {
                momenta: vec![vec![0.0; self.hidden]; self.classes],
                centres,
            })),
            config: self.clone(),
        }
    }
}

/// `rows` orthonormal vectors of width `width` (Gram–Schmidt on Gaussian vectors: the rows of
/// Q in a QR decomposition). Needs `rows <= width`.
pub fn orthonormal_rows(rows: usize, width: usize, rng: &mut StdRng) -> Vec<Vec<f32>> {
    let gaussian = (0..rows)
        .map(|_| (0..width).map(|_| normal(rng)).collect())
        .collect();
    gram_schmidt(gaussian)
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// Rows re-made orthonormal in order, each keeping its direction as far as the earlier ones
/// allow (APCL's prototypes after each update).
pub fn reorthonormalise(rows: &mut [Vec<f32>]) {
    let wide = rows
        .iter()
        .map(|row| row.iter().map(|&x| f64::from(x)).collect())
        .collect();
    for (row, orthonormal) in rows.iter_mut().zip(gram_schmidt(wide)) {
        *row = orthonormal;
    }
}

/// Gram–Schmidt in f64, in order: each row less its projections on the earlier ones, then
/// made unit length.
fn gram_schmidt(rows: Vec<Vec<f64>>) -> Vec<Vec<f32>> {
    let mut basis: Vec<Vec<f64>> = Vec::with_capacity(rows.len());
    for mut v in rows {
        for b in &basis {
            let dot: f64 = v.iter().zip(b).map(|(x, y)| x * y).sum();
            v.iter_mut().zip(b).for_each(|(x, y)| *x -= dot * y);
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
        v.iter_mut().for_each(|x| *x /= norm);
        basis.push(v);
    }
    basis
        .into_iter()
        .map(|v| v.into_iter().map(|x| x as f32).collect())
        .collect()
}

#[derive(Debug)]
struct PoolState {
    pools: Vec<Vec<Vec<f32>>>,
    /// Used for a class whose pool is still below the support size; never written after
    /// creation (the seed overwrote its defaults in place through a view).
    defaults: Vec<Vec<f32>>,
    rng: StdRng,
}

/// SPCL: its pools and default prototypes, shared by its clones (a network's copies).
#[derive(Debug, Clone)]
pub struct Spcl {
    state: Arc<Mutex<PoolState>>,
    config: PrototypeConfig,
}

#[derive(Debug)]
struct MomentumState {
    momenta: Vec<Vec<f32>>,
    centres: Vec<Vec<f32>>,
}

/// APCL: its prototypes and their momenta, shared by its clones.
#[derive(Debug, Clone)]
pub struct Apcl {
    state: Arc<Mutex<MomentumState>>,
    config: PrototypeConfig,
}

/// The batch's features [N, D] and labels as plain values.
fn host_rows<B: Backend>(
    features: &Tensor<B, 2>,
    labels: &Tensor<B, 1, Int>,
) -> (Vec<Vec<f32>>, Vec<usize>) {
    let [_, d] = features.dims();
    let values = features
        .clone()
        .detach()
        .to_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .unwrap();
    let labels = labels.to_data().convert::<i64>().to_vec::<i64>().unwrap();
    (
        values.chunks(d).map(<[f32]>::to_vec).collect(),
        labels.into_iter().map(|l| l as usize).collect(),
    )
}

impl Spcl {
    /// The prototypes the next step uses: per class the mean of `support` features drawn
    /// from its pool, or the default prototype while the pool is smaller.
    fn centres(&self, state: &mut PoolState) -> Vec<Vec<f32>> {
        let PoolState {
            pools,
            defaults,
            rng,
        } = state;
        pools
            .iter()
            .zip(defaults.iter())
            .map(|(pool, default)| {
                if pool.len() < self.config.support {
                    return default.clone();
                }
                let mut mean = vec![0.0f32; self.config.hidden];
                for i in sample(rng, pool.len(), self.config.support) {
                    mean.iter_mut().zip(&pool[i]).for_each(|(m, x)| *m += x);
                }
                mean.iter_mut()
                    .for_each(|m| *m /= self.config.support as f32);
                mean
            })
            .collect()
    }

    /// The default prototypes (orthonormal rows).
    pub fn defaults(&self) -> Vec<Vec<f32>> {
        self.state.lock().unwrap().defaults.clone()
    }

    /// The loss of a batch, then its features go into the pools (a random one leaves a full
    /// pool). With `progress` (the fraction of training done), SPCL's curriculum weighs the
    /// batch: only its easiest features count at first.
    ///
    /// # Shapes
    /// `features` [N, hidden], `labels` [N] → [1].
    pub fn forward<B: Backend>(
        &self,
        features: Tensor<B, 2>,
        labels: Tensor<B, 1, Int>,
        progress: Option<f64>,
    ) -> Tensor<B, 1> {
        let (rows, classes) = host_rows(&features, &labels);
        let mut state = self.state.lock().unwrap();
        let centres = self.centres(&mut state);
        let weights = progress.map(|progress| {
            let hard = difficulty(&rows, &classes, &centres);
            curriculum_weights(&hard, progress, self.config.curriculum_start)
        });
        let PoolState { pools, rng, .. } = &mut *state;
        for (row, class) in rows.into_iter().zip(classes) {
            let pool = &mut pools[class];
            pool.push(row);
            if pool.len() > self.config.pool {
                let out = rng.random_range(0..pool.len());
                pool.swap_remove(out);
            }
        }
        drop(state);
        prototype_loss(
            features,
            labels,
            &centres,
            self.config.temperature,
            Decoupling::Coupled,
            weights.as_deref(),
        )
    }
}

impl Apcl {
    /// The current prototypes.
    pub fn centres(&self) -> Vec<Vec<f32>> {
        self.state.lock().unwrap().centres.clone()
    }

    /// Moves the prototypes (m_c ← γ m_c + α(1 − γ)(x − m_c) per feature, c ← c + m_c, then
    /// the prototypes are made orthonormal again), then the loss against them.
    ///
    /// # Shapes
    /// `features` [N, hidden], `labels` [N] → [1].
    pub fn forward<B: Backend>(
        &self,
        features: Tensor<B, 2>,
        labels: Tensor<B, 1, Int>,
    ) -> Tensor<B, 1> {
        let (rows, classes) = host_rows(&features, &labels);
        let (gamma, alpha) = (self.config.gamma as f32, 0.5f32);
        let beta = alpha * (1.0 - gamma);
        let centres = {
            let mut state = self.state.lock().unwrap();
            let MomentumState { momenta, centres } = &mut *state;
            for (row, class) in rows.iter().zip(classes) {
                momenta[class]
                    .iter_mut()
                    .zip(row)
                    .for_each(|(m, x)| *m = gamma * *m + beta * (x - *m));
            }
            for (centre, momentum) in centres.iter_mut().zip(momenta.iter()) {
                centre.iter_mut().zip(momentum).for_each(|(c, m)| *c += m);
            }
            reorthonormalise(centres);
            centres.clone()
        };
        prototype_loss(
            features,
            labels,
            &centres,
            self.config.temperature,
            Decoupling::Decoupled,
            None,
        )
    }
}

/// How a row's positives and negatives make its loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoupling {
    /// −log(Σ_pos e^s / Σ_all e^s / |pos|), rows above 0.3 averaged (SPCL).
    Coupled,
    /// −mean_pos s + log Σ_neg e^s, rows above 0 averaged (APCL, SPCL's decoupled form).
    Decoupled,
}

/// The prototypical contrastive loss of `features` [N, D] with labels [N] and one prototype
/// per class, over the N + C rows together: s_ij = ((1 + cos(x_i, x_j))/2 + ε)/τ for i ≠ j.
/// With `weights` (one per feature; the curriculum's), the kept rows' losses are averaged with
/// those weights, the prototypes' rows at weight 1.
pub fn prototype_loss<B: Backend>(
    features: Tensor<B, 2>,
    labels: Tensor<B, 1, Int>,
    centres: &[Vec<f32>],
    temperature: f64,
    decoupling: Decoupling,
    weights: Option<&[f32]>,
) -> Tensor<B, 1> {
    let device = features.device();
    let [n, d] = features.dims();
    let c = centres.len();
    let centres: Vec<f32> = centres.iter().flatten().copied().collect();
    let centres = Tensor::<B, 2>::from_data(TensorData::new(centres, [c, d]), &device);
    let all = Tensor::cat(vec![features, centres], 0);
    let classes = Tensor::<B, 1, Int>::arange(0..c as i64, &device);
    let all_labels = Tensor::cat(vec![labels, classes], 0);
    let m = n + c;

    let unit = unit_rows(all, 1e-8);
    let cos = unit.clone().matmul(unit.transpose());
    let off_diagonal = Tensor::<B, 2>::eye(m, &device).neg() + 1.0;
    let scores = ((cos + 1.0) * 0.5 + 1e-8) * off_diagonal.clone() / temperature;
    // A constant shift: e^s stays finite; neither form of the loss changes.
    let max = scores.clone().detach().max().reshape([1, 1]);
    let scores = scores - max;
    let same = all_labels
        .clone()
        .reshape([m, 1])
        .equal(all_labels.reshape([1, m]))
        .float();
    let positive = same.clone() * off_diagonal;
    let negative = same.neg() + 1.0;
    let eps = 1e-8;
    let (rows, threshold) = match decoupling {
        Decoupling::Coupled => {
            let exp = scores.exp();
            let pos = (exp.clone() * positive.clone()).sum_dim(1);
            let neg = (exp * negative).sum_dim(1);
            let probs = pos.clone() / (pos + neg) / (positive.sum_dim(1) + eps);
            ((probs + eps).log().neg(), 0.3)
        }
        Decoupling::Decoupled => {
            let pos = (scores.clone() * positive.clone()).sum_dim(1) / (positive.sum_dim(1) + eps);
            let neg = (scores.exp() * negative).sum_dim(1);
            (pos.neg() + (neg + eps).log(), 0.0)
        }
    };
    let rows = rows.reshape([m]);
    let mut kept = rows.clone().greater_elem(threshold).float();
    if let Some(weights) = weights {
        let row_weights: Vec<f32> = weights
            .iter()
            .copied()
            .chain(std::iter::repeat_n(1.0, c))
            .collect();
        kept = kept * Tensor::<B, 1>::from_data(TensorData::new(row_weights, [m]), &device);
    }
    (rows * kept.clone()).sum() / kept.sum().clamp_min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::loss::curriculum::{curriculum_weights, difficulty};
    use crate::nn::loss::gradcheck::{self, AB, rows};
    use burn::backend::NdArray;
    use burn::tensor::Distribution;

    type B = NdArray<f32>;

    const FEATURES: [f64; 12] = [
        0.3, -0.2, 0.9, 1.2, 0.4, -0.7, 0.0, 0.8, 0.1, -1.1, 0.6, 0.5,
    ];
    const LABELS: [i64; 4] = [0, 1, 0, 2];

    fn centres() -> Vec<Vec<f32>> {
        vec![
            vec![1.0, 0.0, 0.0],
            vec![0.0, 1.0, 0.0],
            vec![0.0, 0.0, 1.0],
        ]
    }

    /// The loss written from its definition, over features then prototypes.
    fn reference(x: &[f64], decoupling: Decoupling, tau: f64) -> f64 {
        let mut all = rows(x, 3);
        all.extend(
            centres()
                .iter()
                .map(|c| c.iter().map(|&v| f64::from(v)).collect::<Vec<_>>()),
        );
        let labels: Vec<i64> = LABELS.iter().copied().chain(0..3).collect();
        let cos = |a: &[f64], b: &[f64]| {
            let n = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
            a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>() / (n(a) * n(b))
        };
        let m = all.len();
        let mut losses = Vec::new();
        for i in 0..m {
            let s = |j: usize| ((1.0 + cos(&all[i], &all[j])) / 2.0 + 1e-8) / tau;
            let pos: Vec<usize> = (0..m)
                .filter(|&j| j != i && labels[j] == labels[i])
                .collect();
            let neg: Vec<usize> = (0..m).filter(|&j| labels[j] != labels[i]).collect();
            let loss = match decoupling {
                Decoupling::Coupled => {
                    let p: f64 = pos.iter().map(|&j| s(j).exp()).sum();
                    let n: f64 = neg.iter().map(|&j| s(j).exp()).sum();
                    -(p / (p + n) / pos.len() as f64).ln()
                }
                Decoupling::Decoupled => {
                    let p = pos.iter().map(|&j| s(j)).sum::<f64>() / pos.len() as f64;
                    -p + neg.iter().map(|&j| s(j).exp()).sum::<f64>().ln()
                }
            };
            losses.push(loss);
        }
        let threshold = if decoupling == Decoupling::Coupled {
            0.3
        } else {
            0.0
        };
        let kept: Vec<f64> = losses.into_iter().filter(|&l| l > threshold).collect();
        kept.iter().sum::<f64>() / kept.len().max(1) as f64
    }

    #[test]
    fn the_loss_matches_its_definition_with_gradients() {
        for decoupling in [Decoupling::Coupled, Decoupling::Decoupled] {
            // τ = 1 keeps finite differences well-conditioned; τ = 0.08 is checked by value.
            for tau in [1.0, 0.5] {
                gradcheck::check(
                    |x| {
                        let labels = Tensor::<AB, 1, Int>::from_ints(LABELS, &Default::default());
                        prototype_loss(x, labels, &centres(), tau, decoupling, None)
                    },
                    |x| reference(x, decoupling, tau),
                    &FEATURES,
                    [4, 3],
                );
            }
            let (value, _) = gradcheck::autodiff(
                |x| {
                    let labels = Tensor::<AB, 1, Int>::from_ints(LABELS, &Default::default());
                    prototype_loss(x, labels, &centres(), 0.08, decoupling, None)
                },
                &FEATURES,
                [4, 3],
            );
            let expected = reference(&FEATURES, decoupling, 0.08);
            assert!(
                (value - expected).abs() < 1e-3 * expected.abs().max(1.0),
                "{value} vs {expected}"
            );
        }
    }

    fn assert_orthonormal(rows: &[Vec<f32>]) {
        for (i, a) in rows.iter().enumerate() {
            for (j, b) in rows.iter().enumerate() {
                let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
                let expected = if i == j { 1.0 } else { 0.0 };
                assert!((dot - expected).abs() < 1e-4, "rows {i}, {j}: {dot}");
            }
        }
    }

    #[test]
    fn spcl_samples_prototypes_from_full_pools_and_keeps_its_defaults() {
        let device = Default::default();
        let mut config = PrototypeConfig::new(3, 8);
        config.pool = 20;
        config.support = 4;
        let spcl = config.spcl();
        let defaults = spcl.defaults();
        assert_orthonormal(&defaults);
        let labels = Tensor::<B, 1, Int>::from_ints([0, 1, 2, 0, 1, 2], &device);
        let features = || Tensor::<B, 2>::random([6, 8], Distribution::Normal(0.0, 1.0), &device);
        // Before any pool reaches the support size, the loss is against the defaults.
        let x = features();
        let first = spcl.forward(x.clone(), labels.clone(), None).into_scalar();
        let expected = prototype_loss(
            x,
            labels.clone(),
            &defaults,
            0.08,
            Decoupling::Coupled,
            None,
        );
        assert!((first - expected.into_scalar()).abs() < 1e-6);
        for _ in 0..20 {
            spcl.forward(features(), labels.clone(), None);
        }
        let state = spcl.state.lock().unwrap();
        assert!(
            state.pools.iter().all(|p| p.len() == 20),
            "pools are capped"
        );
        drop(state);
        assert_eq!(spcl.defaults(), defaults, "the defaults were overwritten");
    }

    #[test]
    fn apcl_prototypes_follow_their_class_and_stay_orthonormal() {
        let device = Default::default();
        let apcl = PrototypeConfig::new(2, 4).apcl();
        let before = apcl.centres();
        // Class 0's features all lie along e0.
        let features =
            Tensor::<B, 2>::from_floats([[5.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 5.0]], &device);
        let labels = Tensor::<B, 1, Int>::from_ints([0, 1], &device);
        for _ in 0..50 {
            apcl.forward(features.clone(), labels.clone());
        }
        let after = apcl.centres();
        assert_orthonormal(&after);
        assert!(
            after[0][0].abs() > before[0][0].abs(),
            "{:?} → {:?}",
            before[0],
            after[0]
        );
    }

    #[test]
    fn the_curriculum_leaves_out_the_hardest_features_early() {
        let device = Default::default();
        let spcl = PrototypeConfig::new(3, 8).spcl();
        let defaults = spcl.defaults();
        let labels = Tensor::<B, 1, Int>::from_ints([0, 1, 2, 0, 1, 2], &device);
        let x = Tensor::<B, 2>::random([6, 8], Distribution::Normal(0.0, 1.0), &device);
        let (rows, classes) = host_rows(&x, &labels);
        let weights = curriculum_weights(&difficulty(&rows, &classes, &defaults), 0.0, 0.3);
        assert_eq!(weights.iter().filter(|&&w| w == 1.0).count(), 2);
        let early = spcl
            .forward(x.clone(), labels.clone(), Some(0.0))
            .into_scalar();
        let expected = prototype_loss(
            x.clone(),
            labels.clone(),
            &defaults,
            0.08,
            Decoupling::Coupled,
            Some(&weights),
        );
        assert!((early - expected.into_scalar()).abs() < 1e-5);
        // At the end of training every feature counts: the unweighted loss.
        let all = prototype_loss(
            x.clone(),
            labels.clone(),
            &defaults,
            0.08,
            Decoupling::Coupled,
            Some(&[1.0; 6]),
        );
        let plain = prototype_loss(x, labels, &defaults, 0.08, Decoupling::Coupled, None);
        assert!((all.into_scalar() - plain.into_scalar()).abs() < 1e-6);
    }
}
