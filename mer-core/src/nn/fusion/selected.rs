//! The fusion block a config selects: `[model.fusion] kind = "concat" | "tfn" | "lmf" |
//! "attention-shift"`, behind one declared field, with learned placeholders for missing
//! modalities and modality dropout in front of it.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

use super::attention_shift::{
    AttentionShiftFusion, AttentionShiftFusionConfig, DEFAULT_BETA, DEFAULT_HEADS,
};
use super::concat::{ConcatFusion, ConcatFusionConfig, DEFAULT_OUTPUT};
use super::low_rank::{DEFAULT_RANK, LowRankFusion, LowRankFusionConfig};
use super::missing::{ModalityGate, ModalityGateConfig};
use super::tensor::{DEFAULT_FACTOR, TensorFusion, TensorFusionConfig};
use crate::config::checks::below_one;
use crate::config::schema::{ConfigValue, Problem};
use crate::config::wiring::{Wiring, derive_widths};

/// Which fusion block.
#[crate::config]
pub enum FusionKind {
    /// Concatenation, then linear and GELU.
    Concat,
    /// Tensor fusion: the outer product of the inputs, each extended by a 1 (Zadeh et al., 2017).
    Tfn,
    /// Low-rank multimodal fusion: tensor fusion with a rank-`rank` weight (Liu et al., 2018).
    Lmf,
    /// TelME's attention-shifting fusion: the other modalities shift the first (the text).
    AttentionShift,
}

/// A fusion block chosen by `kind`; the keys of the other kinds must be left out.
#[crate::config(check = Self::check_values)]
pub struct FusionConfig {
    /// The block.
    #[config(default = FusionKind::Concat)]
    pub kind: FusionKind,
    /// Width of each input, in the order the architecture passes them.
    #[config(derived = "the output widths of the encoders it fuses")]
    pub inputs: Vec<usize>,
    /// Width of the output: 128 when left out, except for attention-shift, which outputs its
    /// first input's width unless `output` asks for a linear map to another.
    #[config(range = "at-least-one")]
    pub output: Option<usize>,
    /// Dropout inside the block (tfn, attention-shift).
    #[config(default = 0.1, range = "probability")]
    pub dropout: f64,
    /// Probability that a modality of a sample is replaced by its learned placeholder in
    /// training.
    #[config(default = 0.0, range = "probability")]
    pub modality_dropout: f64,
    /// tfn: width each input is projected to before the outer product (16 when left out).
    pub factor: Option<usize>,
    /// lmf: number of rank-one terms (4 when left out).
    pub rank: Option<usize>,
    /// attention-shift: attention heads over the other modalities (4 when left out).
    #[config(range = "at-least-one")]
    pub heads: Option<usize>,
    /// attention-shift: the largest shift as a fraction of the text's norm (0.1 when left out;
    /// TelME uses 0.2 on IEMOCAP).
    #[config(range = "positive")]
    pub beta: Option<f64>,
}

impl FusionConfig {
    fn concat(&self) -> ConcatFusionConfig {
        ConcatFusionConfig {
            inputs: self.inputs.clone(),
            output: self.output.unwrap_or(DEFAULT_OUTPUT),
        }
    }

    fn tfn(&self) -> TensorFusionConfig {
        TensorFusionConfig {
            inputs: self.inputs.clone(),
            factor: self.factor.unwrap_or(DEFAULT_FACTOR),
            output: self.output.unwrap_or(DEFAULT_OUTPUT),
            dropout: self.dropout,
        }
    }

    fn lmf(&self) -> LowRankFusionConfig {
        LowRankFusionConfig {
            inputs: self.inputs.clone(),
            rank: self.rank.unwrap_or(DEFAULT_RANK),
            output: self.output.unwrap_or(DEFAULT_OUTPUT),
        }
    }

    fn attention_shift(&self) -> AttentionShiftFusionConfig {
        AttentionShiftFusionConfig {
            inputs: self.inputs.clone(),
            heads: self.heads.unwrap_or(DEFAULT_HEADS),
            beta: self.beta.unwrap_or(DEFAULT_BETA),
            dropout: self.dropout,
        }
    }

    fn check_values(&self) -> Result<(), Problem> {
        let set = [
            (
                "factor",
                self.factor.is_some(),
                self.kind == FusionKind::Tfn,
            ),
            ("rank", self.rank.is_some(), self.kind == FusionKind::Lmf),
            (
                "heads",
                self.heads.is_some(),
                self.kind == FusionKind::AttentionShift,
            ),
            (
                "beta",
                self.beta.is_some(),
                self.kind == FusionKind::AttentionShift,
            ),
        ];
        if let Some((key, _, _)) = set.iter().find(|(_, set, used)| *set && !used) {
            return Err(Problem::new(
                *key,
                format!("is set, but kind \"{}\" does not use it", self.kind),
            ));
        }
        below_one("modality_dropout", self.modality_dropout)?;
        match self.kind {
            FusionKind::Concat => self.concat().check(),
            FusionKind::Tfn => self.tfn().check(),
            FusionKind::Lmf => self.lmf().check(),
            FusionKind::AttentionShift => self.attention_shift().check(),
        }
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> Fusion<B> {
        let block = match self.kind {
            FusionKind::Concat => FusionBlock::Concat(self.concat().init(device)),
            FusionKind::Tfn => FusionBlock::Tfn(self.tfn().init(device)),
            FusionKind::Lmf => FusionBlock::Lmf(self.lmf().init(device)),
            FusionKind::AttentionShift => FusionBlock::AttentionShift(ShiftThenProject {
                shift: self.attention_shift().init(device),
                project: self.output.map(|out| {
                    LinearConfig::new(self.attention_shift().text_width(), out).init(device)
                }),
            }),
        };
        Fusion {
            gate: ModalityGateConfig {
                inputs: self.inputs.clone(),
                dropout: self.modality_dropout,
            }
            .init(device),
            block,
        }
    }
}

impl Wiring for FusionConfig {
    fn output_width(&self) -> Result<usize, Problem> {
        match self.kind {
            FusionKind::AttentionShift if self.output.is_none() => {
                self.attention_shift().output_width()
            }
            _ => Ok(self.output.unwrap_or(DEFAULT_OUTPUT)),
        }
    }

    fn connect_inputs(&mut self, widths: &[usize], from: &str) -> Result<(), Problem> {
        derive_widths(&mut self.inputs, widths, "inputs", from)
    }
}

// One per network, built once: the variants' size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum FusionBlock<B: Backend> {
    Concat(ConcatFusion<B>),
    Tfn(TensorFusion<B>),
    Lmf(LowRankFusion<B>),
    AttentionShift(ShiftThenProject<B>),
}

/// Attention-shift fusion, then a linear map when `output` asks for another width.
#[derive(Module, Debug)]
pub struct ShiftThenProject<B: Backend> {
    shift: AttentionShiftFusion<B>,
    project: Option<Linear<B>>,
}

#[derive(Module, Debug)]
pub struct Fusion<B: Backend> {
    gate: ModalityGate<B>,
    block: FusionBlock<B>,
}

impl<B: Backend> Fusion<B> {
    /// # Shapes
    /// `inputs[m]` [N, inputs[m]] → [N, output].
    pub fn forward(&self, inputs: Vec<Tensor<B, 2>>) -> Tensor<B, 2> {
        let inputs = self.gate.forward(inputs, None);
        match &self.block {
            FusionBlock::Concat(block) => block.forward(inputs),
            FusionBlock::Tfn(block) => block.forward(inputs),
            FusionBlock::Lmf(block) => block.forward(inputs),
            FusionBlock::AttentionShift(block) => {
                let shifted = block.shift.forward(inputs);
                match &block.project {
                    Some(project) => project.forward(shifted),
                    None => shifted,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    type B = NdArray<f32>;

    fn config(kind: FusionKind) -> FusionConfig {
        FusionConfig {
            kind,
            inputs: vec![8, 4, 4],
            output: None,
            dropout: 0.1,
            modality_dropout: 0.0,
            factor: None,
            rank: None,
            heads: None,
            beta: None,
        }
    }

    #[test]
    fn every_kind_builds_and_outputs_its_width() {
        let device = Default::default();
        for kind in [
            FusionKind::Concat,
            FusionKind::Tfn,
            FusionKind::Lmf,
            FusionKind::AttentionShift,
        ] {
            let config = config(kind);
            config.check().unwrap();
            let fusion: Fusion<B> = config.init(&device);
            let out = fusion.forward(vec![
                Tensor::ones([3, 8], &device),
                Tensor::ones([3, 4], &device),
                Tensor::ones([3, 4], &device),
            ]);
            assert_eq!(out.dims(), [3, config.output_width().unwrap()], "{kind}");
        }
        assert_eq!(
            config(FusionKind::AttentionShift).output_width().unwrap(),
            8
        );
    }

    #[test]
    fn keys_of_another_kind_are_refused() {
        let mut lmf = config(FusionKind::Lmf);
        lmf.beta = Some(0.2);
        let problem = lmf.check().unwrap_err();
        assert_eq!(problem.key, "beta");
        assert!(problem.message.contains("\"lmf\""), "{}", problem.message);
        let mut shift = config(FusionKind::AttentionShift);
        shift.output = Some(64);
        assert_eq!(shift.output_width().unwrap(), 64);
        let fusion: Fusion<B> = shift.init(&Default::default());
        let x = |w| Tensor::<B, 2>::ones([2, w], &Default::default());
        assert_eq!(fusion.forward(vec![x(8), x(4), x(4)]).dims(), [2, 64]);
    }
}
