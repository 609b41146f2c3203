//! `multimodal`: text, audio and video encoders, a fusion block the config chooses, a classifier
//! head.

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
use mer_core::nn::{ClassifierHead, ClassifierHeadConfig, Fusion, FusionConfig};

/// Text, audio and video of an utterance, each encoded to one vector, fused by the block
/// `[model.fusion] kind` selects (concatenation, TFN, LMF, attention-shift), and classified.
#[derive(Module, Debug, Architecture)]
#[architecture(name = "multimodal")]
pub struct Multimodal<B: Backend> {
    /// The utterance encoder.
    #[encoder(modality = "T")]
    pub text: TextEncoder<B>,
    /// The waveform encoder.
    #[encoder(modality = "A")]
    pub audio: AudioEncoder<B>,
    /// The frame encoder.
    #[encoder(modality = "V")]
    pub video: VideoEncoder<B>,
    /// Fuses the pooled text, audio and video states (in that order: attention-shift shifts the
    /// text by the others).
    #[fusion(inputs = [text, audio, video])]
    pub fusion: Fusion<B>,
    /// Emotion or sentiment logits.
    #[head]
    pub head: ClassifierHead<B>,
    /// Dropout on each pooled state, before fusion.
    #[hyper(default = 0.1, range = "probability")]
    pub dropout: f64,
}

/// The built-in demo default: `multimodal` with no config file uses it.
pub const DEMO_CONFIG: &str = include_str!("../../experiments/multimodal/demo.toml");

/// The name errors show for [`DEMO_CONFIG`].
pub const DEMO_CONFIG_NAME: &str = "experiments/multimodal/demo.toml (built in)";

impl<B: Backend> Forward<B> for Multimodal<B> {
    fn forward(&self, batch: &Batch<B>, _losses: Option<&Losses>) -> Output<B> {
        let dropout = Dropout { prob: self.dropout };
        let pooled = vec![
            dropout.forward(self.encode_text(batch)),
            dropout.forward(self.encode_audio(batch)),
            dropout.forward(self.encode_video(batch)),
        ];
        Output::logits(self.head.forward(self.fusion.forward(pooled)))
    }
}
