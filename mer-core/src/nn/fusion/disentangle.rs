//! Disentanglement fusion, the seed's MDN core: each modality split into a private part (what
//! only it says) and a shared part (what the others can predict), mixed by noise routers and
//! combined by cross-attention. Seed: `DisentanglementFusion` in
//! emotion-recognition-lab/emotion-recognition, `src/recognize/module/fusion.py`.
//!
//! One shared projector reads every modality, and each modality's cross projector reads the
//! others, so inputs narrower than the widest are zero-padded to it (the seed required equal
//! widths).

use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

use super::combine::{Combine, Combiner, CombinerConfig};
use super::missing::{ModalityGate, ModalityGateConfig};
use crate::config::checks::{at_least_one, below_one, divides_hidden};
use crate::config::schema::Problem;
use crate::config::wiring::{Wiring, derive_widths};
use crate::nn::attention::{AttentionProjector, AttentionProjectorConfig};
use crate::nn::loss::reconstruction::{
    FeatureReconstruction, FeatureReconstructionConfig, smooth_l1,
};
use crate::nn::projector::{Projector, ProjectorConfig};
use crate::nn::router::{NoiseRouter, NoiseRouterConfig};

/// The loss term disentanglement fusion adds: (feature + reconstruction) / 2, weighted by α
/// (`[training.losses.disentangle] weight`; the seed's 1.0 on MELD, 2.0 on IEMOCAP).
pub const DISENTANGLE: &str = "disentangle";

/// The loss term feature reconstruction learning adds when `frl = true` (MAKD's; weighted by
/// `[training.losses.frl] weight`, the seed's 1.2 on IEMOCAP).
pub const FRL: &str = "frl";

/// For M modalities of widths d_m: a private part (per modality an attention projector to
/// `private`, mixed by a noise router), a shared part (one attention projector to
/// `shared`·(M − 1) for every modality, mixed by a noise router) and per-modality cross
/// projectors whose outputs train the shared part; output width `shared`·(M − 1) + `private`.
#[crate::config(check = Self::check_values, loss_terms = Self::terms)]
pub struct DisentangleFusionConfig {
    /// Width of each input, in the order the architecture passes them (the router reads them
    /// concatenated in this order; the seed sorted modalities by name).
    #[config(derived = "the output widths of the encoders it fuses")]
    pub inputs: Vec<usize>,
    /// Width of the private part.
    #[config(default = 256, range = "at-least-one")]
    pub private: usize,
    /// Width of a cross projection; the shared part has this times (M − 1).
    #[config(default = 128, range = "at-least-one")]
    pub shared: usize,
    /// Attention heads of every attention projector; the seed's 4 (private), 4M (shared) and
    /// 4(M − 1) (cross) when left out. Each must divide the width it reads.
    #[config(range = "at-least-one")]
    pub heads: Option<usize>,
    /// How the two parts are combined.
    #[config(default = Combine::CrossAttention)]
    pub combine: Combine,
    /// Attention heads of the cross-attention combiner.
    #[config(default = 8, range = "at-least-one")]
    pub combine_heads: usize,
    /// Dropout inside every block.
    #[config(default = 0.1, range = "probability")]
    pub dropout: f64,
    /// Probability that a modality of a sample is replaced by its learned placeholder in
    /// training.
    #[config(default = 0.0, range = "probability")]
    pub modality_dropout: f64,
    /// Also train feature reconstruction learning over the inputs, the first one the anchor
    /// (MAKD's; adds the `frl` loss term).
    #[config(default = false)]
    pub frl: bool,
    /// Width of FRL's projections; the sum of the inputs' widths when left out (the seed's).
    #[config(range = "at-least-one")]
    pub frl_hidden: Option<usize>,
}

impl DisentangleFusionConfig {
    fn terms(&self) -> Vec<&'static str> {
        if self.frl {
            vec![DISENTANGLE, FRL]
        } else {
            vec![DISENTANGLE]
        }
    }

    fn modalities(&self) -> usize {
        self.inputs.len()
    }

    fn widest(&self) -> usize {
        self.inputs.iter().copied().max().unwrap_or(0)
    }

    fn shared_width(&self) -> usize {
        self.shared * self.modalities().saturating_sub(1)
    }

    fn private_projector(&self, input: usize) -> AttentionProjectorConfig {
        self.attention(input, self.private, self.heads.unwrap_or(4), 2)
    }

    fn shared_projector(&self) -> AttentionProjectorConfig {
        let m = self.modalities();
        self.attention(
            self.widest(),
            self.shared_width(),
            self.heads.unwrap_or(4 * m),
            2 * m,
        )
    }

    fn cross_projector(&self) -> AttentionProjectorConfig {
        let m = self.modalities();
        let depth = 1 << m.saturating_sub(1).min(8);
        self.attention(
            self.widest(),
            self.shared,
            self.heads.unwrap_or(4 * (m - 1)),
            depth,
        )
    }

    fn attention(
        &self,
        input: usize,
        output: usize,
        heads: usize,
        depth: usize,
    ) -> AttentionProjectorConfig {
        AttentionProjectorConfig {
            input,
            output,
            heads,
            depth,
            dropout: self.dropout,
        }
    }

    fn check_values(&self) -> Result<(), Problem> {
        if self.modalities() < 2 {
            return Err(Problem::new("inputs", "needs at least two modalities"));
        }
        at_least_one(&[("private", self.private), ("shared", self.shared)])?;
        if let Some(hidden) = self.frl_hidden {
            if !self.frl {
                return Err(Problem::new("frl_hidden", "is set, but `frl` is false"));
            }
            at_least_one(&[("frl_hidden", hidden)])?;
        }
        below_one("dropout", self.dropout)?;
        below_one("modality_dropout", self.modality_dropout)?;
        let key = if self.heads.is_some() {
            "heads"
        } else {
            "inputs"
        };
        for &w in &self.inputs {
            divides_hidden(key, self.private_projector(w).heads, w)?;
        }
        divides_hidden(key, self.shared_projector().heads, self.widest())?;
        divides_hidden(key, self.cross_projector().heads, self.widest())?;
        if self.combine == Combine::CrossAttention {
            divides_hidden("combine_heads", self.combine_heads, self.private)?;
            divides_hidden("combine_heads", self.combine_heads, self.shared_width())?;
        }
        Ok(())
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> DisentangleFusion<B> {
        let m = self.modalities();
        let router = || {
            NoiseRouterConfig {
                input: self.inputs.iter().sum(),
                experts: m,
            }
            .init(device)
        };
        DisentangleFusion {
            gate: ModalityGateConfig {
                inputs: self.inputs.clone(),
                dropout: self.modality_dropout,
            }
            .init(device),
            private: PrivatePart {
                projectors: self
                    .inputs
                    .iter()
                    .map(|&w| self.private_projector(w).init(device))
                    .collect(),
                router: router(),
            },
            shared: SharedPart {
                projector: self.shared_projector().init(device),
                router: router(),
            },
            cross: (0..m)
                .map(|_| self.cross_projector().init(device))
                .collect(),
            reconstruction: self
                .inputs
                .iter()
                .map(|&w| {
                    ProjectorConfig {
                        input: self.shared_width(),
                        output: w,
                        depth: 4,
                        dropout: self.dropout,
                    }
                    .init(device)
                })
                .collect(),
            combine: CombinerConfig {
                combine: self.combine,
                shared: self.shared_width(),
                private: self.private,
                heads: self.combine_heads,
                dropout: self.dropout,
            }
            .init(device),
            frl: self.frl.then(|| {
                FeatureReconstructionConfig {
                    inputs: self.inputs.clone(),
                    hidden: self.frl_hidden,
                }
                .init(device)
            }),
            widest: self.widest(),
        }
    }
}

impl Wiring for DisentangleFusionConfig {
    fn output_width(&self) -> Result<usize, Problem> {
        Ok(self.shared_width() + self.private)
    }

    fn connect_inputs(&mut self, widths: &[usize], from: &str) -> Result<(), Problem> {
        derive_widths(&mut self.inputs, widths, "inputs", from)
    }
}

/// What only each modality says: per modality an attention projector, mixed by a router.
#[derive(Module, Debug)]
pub struct PrivatePart<B: Backend> {
    projectors: Vec<AttentionProjector<B>>,
    router: NoiseRouter<B>,
}

/// What every modality says: one attention projector for all, mixed by a router.
#[derive(Module, Debug)]
pub struct SharedPart<B: Backend> {
    projector: AttentionProjector<B>,
    router: NoiseRouter<B>,
}

#[derive(Module, Debug)]
pub struct DisentangleFusion<B: Backend> {
    gate: ModalityGate<B>,
    private: PrivatePart<B>,
    shared: SharedPart<B>,
    /// Per modality m: reads each other modality, predicts what the shared part makes of m.
    cross: Vec<AttentionProjector<B>>,
    /// Per modality m: m's input back from its cross features.
    reconstruction: Vec<Projector<B>>,
    combine: Combiner<B>,
    /// Feature reconstruction learning over the inputs, when configured.
    frl: Option<FeatureReconstruction<B>>,
    widest: usize,
}

/// Σ_m w[:, m] · parts[m].
///
/// # Shapes
/// `weights` [N, M], `parts[m]` [N, D] → [N, D].
fn mix<B: Backend>(weights: Tensor<B, 2>, parts: Vec<Tensor<B, 2>>) -> Tensor<B, 2> {
    parts
        .into_iter()
        .enumerate()
        .map(|(m, part)| part * weights.clone().narrow(1, m, 1))
        .reduce(|a, b| a + b)
        .expect("at least one part")
}

impl<B: Backend> DisentangleFusion<B> {
    fn padded(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let [n, w] = x.dims();
        if w == self.widest {
            return x;
        }
        let zeros = Tensor::zeros([n, self.widest - w], &x.device());
        Tensor::cat(vec![x, zeros], 1)
    }

    /// The fused vector and, when `with_loss`, its loss terms, unweighted: the disentanglement
    /// term (feature + reconstruction) / 2, and FRL's when configured.
    ///
    /// # Shapes
    /// `inputs[m]` [N, inputs[m]] → ([N, shared·(M − 1) + private], [1] each).
    pub fn forward(
        &self,
        inputs: Vec<Tensor<B, 2>>,
        with_loss: bool,
    ) -> (Tensor<B, 2>, Vec<(&'static str, Tensor<B, 1>)>) {
        let inputs = self.gate.forward(inputs, None);
        let routed = Tensor::cat(inputs.clone(), 1).detach();

        let private_parts = self
            .private
            .projectors
            .iter()
            .zip(&inputs)
            .map(|(p, x)| p.forward(x.clone()))
            .collect();
        let private = mix(self.private.router.forward(routed.clone()), private_parts);

        // The shared projector and the cross projectors read every modality at one width.
        let padded: Vec<Tensor<B, 2>> = inputs.iter().map(|x| self.padded(x.clone())).collect();
        let shared_parts: Vec<Tensor<B, 2>> = padded
            .iter()
            .map(|x| self.shared.projector.forward(x.clone()))
            .collect();
        let shared = mix(self.shared.router.forward(routed), shared_parts.clone());

        let fused = self.combine.forward(shared, private);
        if !with_loss {
            return (fused, Vec::new());
        }
        let mut terms = vec![(DISENTANGLE, self.loss(&inputs, &padded, shared_parts))];
        terms.extend(self.frl.as_ref().map(|frl| (FRL, frl.forward(&inputs))));
        (fused, terms)
    }

    /// feature = Σ_m smoothL1(shared_m, sg(cross_m)); reconstruction = Σ_m
    /// smoothL1(rec_m(cross_m), sg(x_m)), where cross_m concatenates m's cross projector over
    /// every other modality.
    fn loss(
        &self,
        inputs: &[Tensor<B, 2>],
        padded: &[Tensor<B, 2>],
        shared_parts: Vec<Tensor<B, 2>>,
    ) -> Tensor<B, 1> {
        let mut total = Tensor::zeros([1], &inputs[0].device());
        for (m, shared_m) in shared_parts.into_iter().enumerate() {
            let others = padded
                .iter()
                .enumerate()
                .filter(|(other, _)| *other != m)
                .map(|(_, x)| self.cross[m].forward(x.clone()))
                .collect();
            let cross = Tensor::cat(others, 1);
            let feature = smooth_l1(shared_m, cross.clone().detach());
            let reconstruction = smooth_l1(
                self.reconstruction[m].forward(cross),
                inputs[m].clone().detach(),
            );
            total = total + feature + reconstruction;
        }
        total.div_scalar(2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};
    use burn::optim::GradientsParams;
    use burn::tensor::Distribution;

    type B = NdArray<f32>;

    fn config(combine: Combine) -> DisentangleFusionConfig {
        DisentangleFusionConfig {
            inputs: vec![16, 8, 8],
            private: 16,
            shared: 8,
            heads: Some(4),
            combine,
            combine_heads: 4,
            dropout: 0.0,
            modality_dropout: 0.0,
            frl: false,
            frl_hidden: None,
        }
    }

    #[test]
    fn output_width_and_the_term_for_both_combiners() {
        let device = Default::default();
        for combine in [Combine::CrossAttention, Combine::Concat] {
            let config = config(combine);
            assert_eq!(config.output_width().unwrap(), 8 * 2 + 16);
            let fusion: DisentangleFusion<B> = config.init(&device);
            let x = |w| Tensor::<B, 2>::random([5, w], Distribution::Normal(0.0, 1.0), &device);
            let (out, terms) = fusion.forward(vec![x(16), x(8), x(8)], true);
            assert_eq!(out.dims(), [5, 32]);
            assert_eq!(terms.len(), 1);
            assert!(terms[0].1.clone().into_scalar() > 0.0);
            let (_, none) = fusion.forward(vec![x(16), x(8), x(8)], false);
            assert!(none.is_empty());
        }
    }

    #[test]
    fn the_term_trains_shared_cross_and_reconstruction_but_not_the_private_part() {
        let device = Default::default();
        let fusion: DisentangleFusion<Autodiff<B>> = config(Combine::CrossAttention).init(&device);
        let x = |w| {
            Tensor::<Autodiff<B>, 2>::random([4, w], Distribution::Normal(0.0, 1.0), &device)
                .require_grad()
        };
        let inputs = vec![x(16), x(8), x(8)];
        let (_, terms) = fusion.forward(inputs.clone(), true);
        let mut grads = terms[0].1.clone().backward();
        let shared = GradientsParams::from_module(&mut grads, &fusion.shared.projector).len();
        let cross = GradientsParams::from_module(&mut grads, &fusion.cross).len();
        let reconstruction = GradientsParams::from_module(&mut grads, &fusion.reconstruction).len();
        let private = GradientsParams::from_module(&mut grads, &fusion.private).len();
        assert!(
            shared > 0 && cross > 0 && reconstruction > 0,
            "{shared} {cross} {reconstruction}"
        );
        assert_eq!(private, 0);
        // The encoders' outputs are detached targets, but they feed the projectors.
        assert!(inputs[0].grad(&grads).is_some());
    }

    #[test]
    fn frl_adds_its_term_and_its_trained_projectors() {
        let device = Default::default();
        let mut c = config(Combine::CrossAttention);
        assert_eq!(c.terms(), vec![DISENTANGLE]);
        c.frl = true;
        assert_eq!(c.terms(), vec![DISENTANGLE, FRL]);
        let fusion: DisentangleFusion<Autodiff<B>> = c.init(&device);
        let x =
            |w| Tensor::<Autodiff<B>, 2>::random([4, w], Distribution::Normal(0.0, 1.0), &device);
        let (_, terms) = fusion.forward(vec![x(16), x(8), x(8)], true);
        let names: Vec<&str> = terms.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, [DISENTANGLE, FRL]);
        let frl = terms[1].1.clone();
        // Negative cosines, two per non-anchor modality, halved: within [−2, 2].
        assert!(frl.clone().into_scalar().abs() <= 2.0);
        let mut grads = frl.backward();
        let trained = GradientsParams::from_module(&mut grads, fusion.frl.as_ref().unwrap());
        assert!(!trained.is_empty());
    }

    #[test]
    fn heads_that_do_not_divide_a_width_are_refused() {
        use crate::config::schema::ConfigValue;
        let mut c = config(Combine::CrossAttention);
        c.heads = None;
        // The seed's 4M = 12 shared heads do not divide 16.
        assert_eq!(c.check().unwrap_err().key, "inputs");
        c.heads = Some(3);
        assert_eq!(c.check().unwrap_err().key, "heads");
    }
}
