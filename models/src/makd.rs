//! `makd`: the seed's multimodal knowledge distillation in one run: a trained text-only teacher
//! (`unimodal`) distils into a text + audio + video student whose text encoder starts from the
//! teacher's, fused by disentanglement fusion with feature reconstruction learning (FRL).

use burn::module::Module;
use burn::nn::Dropout;
use burn::tensor::backend::Backend;
use mer_core::Architecture;
use mer_core::architecture::{Forward, Output};
use mer_core::encoders::audio::{AudioEncoder, AudioEncoderConfig};
use mer_core::encoders::text::{TextEncoder, TextEncoderConfig};
use mer_core::encoders::video::{VideoEncoder, VideoEncoderConfig};
use mer_core::input::Batch;
use mer_core::nn::loss::{Losses, dist};
use mer_core::nn::{DisentangleFusion, DisentangleFusionConfig, MoeHead, MoeHeadConfig};

use crate::unimodal::{Unimodal, UnimodalConfig};

/// The loss term between the student's and the teacher's logits: DIST (Huang et al., 2022),
/// the seed's choice, at `[training.losses.distillation] temperature`.
pub const DISTILLATION: &str = "distillation";

/// Text, audio and video encoded to one vector each (the text first: FRL's anchor), fused by
/// disentanglement fusion, classified by a mixture of `experts` heads, and pulled towards a
/// frozen text-only teacher's class ranking (DIST on the logits).
#[derive(Module, Debug, Architecture)]
#[architecture(name = "makd", loss_terms = ["distillation"])]
pub struct Makd<B: Backend> {
    /// The utterance encoder (`init_from = "teacher.text"` starts it from the teacher's).
    #[encoder(modality = "T")]
    pub text: TextEncoder<B>,
    /// The waveform encoder.
    #[encoder(modality = "A")]
    pub audio: AudioEncoder<B>,
    /// The frame encoder.
    #[encoder(modality = "V")]
    pub video: VideoEncoder<B>,
    /// Disentanglement fusion over the pooled text, audio and video states; with `frl = true`
    /// the text is the anchor the others reconstruct.
    #[fusion(inputs = [text, audio, video])]
    pub fusion: DisentangleFusion<B>,
    /// Emotion or sentiment logits: a mixture of `experts` classifiers.
    #[head(experts = experts)]
    pub head: MoeHead<B>,
    /// The trained text-only network whose logits the student learns from (frozen; its
    /// outputs are computed once per input and cached).
    #[teacher]
    pub teacher: Unimodal<B>,
    /// Dropout on each pooled state, before fusion.
    #[hyper(default = 0.1, range = "probability")]
    pub dropout: f64,
    /// Number of experts in the head (`{N}xE` in the label).
    #[hyper(default = 1, range = "at-least-one")]
    pub experts: usize,
}

/// The built-in demo default: `makd` with no config file uses it.
pub const DEMO_CONFIG: &str = include_str!("../../experiments/makd/demo.toml");

/// The name errors show for [`DEMO_CONFIG`].
pub const DEMO_CONFIG_NAME: &str = "experiments/makd/demo.toml (built in)";

impl<B: Backend> Forward<B> for Makd<B> {
    fn forward(&self, batch: &Batch<B>, losses: Option<&Losses>) -> Output<B> {
        let dropout = Dropout { prob: self.dropout };
        let pooled = vec![
            dropout.forward(self.encode_text(batch)),
            dropout.forward(self.encode_audio(batch)),
            dropout.forward(self.encode_video(batch)),
        ];
        let (fused, terms) = self.fusion.forward(pooled, losses.is_some());
        let logits = self.head.forward(fused.clone());
        let mut output = Output::logits(logits.clone()).with_features(fused);
        let Some(losses) = losses else {
            return output;
        };
        output.terms.extend(terms);
        let teacher = self.teacher_logits(batch);
        output.with_term(
            DISTILLATION,
            dist(logits, teacher, losses.temperature(DISTILLATION)),
        )
    }
}
