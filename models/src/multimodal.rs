//! `multimodal`: text, audio and video encoders, late fusion by concatenation, a classifier head.

use std::sync::Arc;

use burn::module::Module;
use burn::nn::Dropout;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use mer_core::Architecture;
use mer_core::config::schema::Problem;
use mer_core::encoders::audio::{AudioEncoder, AudioEncoderConfig};
use mer_core::encoders::text::{TextEncoder, TextEncoderConfig};
use mer_core::encoders::video::{VideoEncoder, VideoEncoderConfig};
use mer_core::input::MediaFeed;
use mer_core::nn::{ClassifierHead, ClassifierHeadConfig, ConcatFusion, ConcatFusionConfig};
use mer_datasets::media::ClipLoader;

/// Text, audio and video of an utterance, each encoded to one vector, concatenated, projected,
/// and classified.
#[derive(Module, Debug, Architecture)]
#[architecture(name = "multimodal", check = Self::check_widths)]
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
    /// Concatenates the pooled text, audio and video states (in that order) and projects them.
    #[fusion]
    pub fusion: ConcatFusion<B>,
    /// Emotion or sentiment logits.
    #[head]
    pub head: ClassifierHead<B>,
    /// Dropout on each pooled state, before fusion.
    #[hyper(default = 0.1)]
    pub dropout: f64,
}

/// The built-in demo default: `multimodal` with no config file uses it.
pub const DEMO_CONFIG: &str = include_str!("../../experiments/multimodal/demo.toml");

/// The name errors show for [`DEMO_CONFIG`].
pub const DEMO_CONFIG_NAME: &str = "experiments/multimodal/demo.toml (built in)";

impl MultimodalConfig {
    /// Widths must agree from part to part.
    fn check_widths(&self) -> Result<(), Problem> {
        let text = self
            .text
            .config
            .encoder_shape()
            .map_err(|e| Problem::new("text", e.to_string()))?
            .hidden;
        let widths = [
            text,
            self.audio.config.shape.hidden,
            self.video.config.shape.hidden,
        ];
        if self.fusion.inputs != widths {
            return Err(Problem::new(
                "fusion.inputs",
                format!(
                    "must be the text, audio and video widths {widths:?}, found {:?}",
                    self.fusion.inputs
                ),
            ));
        }
        if self.head.input != self.fusion.output {
            return Err(Problem::new(
                "head.input",
                format!(
                    "must equal fusion.output ({}), found {}",
                    self.fusion.output, self.head.input
                ),
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Problem::new("dropout", "must be in [0, 1)"));
        }
        Ok(())
    }
}

impl<B: Backend> mer_core::architecture::Classifier<B> for Multimodal<B> {
    fn logits(&self, batch: &mer_core::input::Batch<B>) -> Tensor<B, 2> {
        let dropout = Dropout { prob: self.dropout };
        let pooled = vec![
            dropout.forward(self.encode_text(batch)),
            dropout.forward(self.encode_audio(batch)),
            dropout.forward(self.encode_video(batch)),
        ];
        self.head.forward(self.fusion.forward(pooled))
    }
}

impl MultimodalConfig {
    /// What decodes the audio and video files as this network's encoders read them.
    pub fn media_feed(&self) -> MediaFeed {
        MediaFeed::new(Arc::new(ClipLoader::for_encoders(
            Some(&self.audio.config),
            Some(&self.video.config),
        )))
    }
}
