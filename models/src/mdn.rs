//! `mdn`: the seed's multimodal disentanglement network: audio, text and video encoders,
//! disentanglement fusion (private and shared parts, an auxiliary `disentangle` loss term), a
//! classifier or mixture-of-experts head.

use burn::module::Module;
use burn::nn::Dropout;
use burn::tensor::backend::Backend;
use mer_core::Architecture;
use mer_core::architecture::{Forward, Output};
use mer_core::encoders::audio::{AudioEncoder, AudioEncoderConfig};
use mer_core::encoders::text::{TextEncoder, TextEncoderConfig};
use mer_core::encoders::video::{VideoEncoder, VideoEncoderConfig};
use mer_core::input::Batch;
use mer_core::nn::loss::Losses;
use mer_core::nn::{DisentangleFusion, DisentangleFusionConfig, MoeHead, MoeHeadConfig};

/// Audio, text and video encoded to one vector each, split by disentanglement fusion into what
/// each modality says alone and what they share, recombined by cross-attention, and classified
/// by a mixture of `experts` linear heads (one expert: a linear classifier).
#[derive(Module, Debug, Architecture)]
#[architecture(name = "mdn")]
pub struct Mdn<B: Backend> {
    /// The waveform encoder.
    #[encoder(modality = "A")]
    pub audio: AudioEncoder<B>,
    /// The utterance encoder.
    #[encoder(modality = "T")]
    pub text: TextEncoder<B>,
    /// The frame encoder.
    #[encoder(modality = "V")]
    pub video: VideoEncoder<B>,
    /// Disentanglement fusion over the pooled audio, text and video states, in that (the
    /// seed's sorted) order.
    #[fusion(inputs = [audio, text, video])]
    pub fusion: DisentangleFusion<B>,
    /// Emotion or sentiment logits: a mixture of `experts` classifiers.
    #[head(experts = experts)]
    pub head: MoeHead<B>,
    /// Dropout on each pooled state, before fusion.
    #[hyper(default = 0.1, range = "probability")]
    pub dropout: f64,
    /// Number of experts in the head (`{N}xE` in the label).
    #[hyper(default = 1, range = "at-least-one")]
    pub experts: usize,
}

/// The built-in demo default: `mdn` with no config file uses it.
pub const DEMO_CONFIG: &str = include_str!("../../experiments/mdn/demo.toml");

/// The name errors show for [`DEMO_CONFIG`].
pub const DEMO_CONFIG_NAME: &str = "experiments/mdn/demo.toml (built in)";

impl<B: Backend> Forward<B> for Mdn<B> {
    fn forward(&self, batch: &Batch<B>, losses: Option<&Losses>) -> Output<B> {
        let dropout = Dropout { prob: self.dropout };
        let pooled = vec![
            dropout.forward(self.encode_audio(batch)),
            dropout.forward(self.encode_text(batch)),
            dropout.forward(self.encode_video(batch)),
        ];
        let (fused, terms) = self.fusion.forward(pooled, losses.is_some());
        let mut output = Output::logits(self.head.forward(fused.clone())).with_features(fused);
        output.terms.extend(terms);
        output
    }
}
