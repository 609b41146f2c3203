//! `unimodal`: one encoder, a projector and a classifier head.

use burn::module::Module;
use burn::nn::Dropout;
use burn::tensor::activation::gelu;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};
use mer_core::Architecture;
use mer_core::architecture::{Forward, Output};
use mer_core::encoders::text::{TextEncoder, TextEncoderConfig};
use mer_core::input::Batch;
use mer_core::nn::loss::Losses;
use mer_core::nn::{ClassifierHead, ClassifierHeadConfig, Projector, ProjectorConfig};

/// The text-only baseline: an utterance encoder, a projector and a classifier head.
#[derive(Module, Debug, Architecture)]
#[architecture(name = "unimodal")]
pub struct Unimodal<B: Backend> {
    /// The utterance encoder.
    #[encoder(modality = "T")]
    pub text: TextEncoder<B>,
    /// Maps the pooled utterance state to the head's width (followed by GELU).
    #[fusion]
    pub projector: Projector<B>,
    /// Emotion or sentiment logits.
    #[head]
    pub head: ClassifierHead<B>,
    /// Dropout on the pooled utterance state, before the projector.
    #[hyper(default = 0.1, range = "probability")]
    pub dropout: f64,
}

/// The built-in demo default: `unimodal` with no config file uses it.
pub const DEMO_CONFIG: &str = include_str!("../../experiments/unimodal/demo.toml");

/// The name errors show for [`DEMO_CONFIG`].
pub const DEMO_CONFIG_NAME: &str = "experiments/unimodal/demo.toml (built in)";

impl<B: Backend> Unimodal<B> {
    /// Pooled utterance states [N, H] → logits [N, classes].
    pub fn classify(&self, pooled: Tensor<B, 2>) -> Tensor<B, 2> {
        self.head.forward(self.project(pooled))
    }

    /// Pooled utterance states [N, H] → what the head reads [N, projector output].
    pub fn project(&self, pooled: Tensor<B, 2>) -> Tensor<B, 2> {
        let pooled = Dropout { prob: self.dropout }.forward(pooled);
        gelu(self.projector.forward(pooled))
    }

    /// `tokens` [N, T] ids and `attention_mask` [N, T] (1 token, 0 padding) → logits [N, classes].
    pub fn logits(
        &self,
        tokens: Tensor<B, 2, Int>,
        attention_mask: Tensor<B, 2, Int>,
    ) -> Tensor<B, 2> {
        self.classify(self.text.forward(tokens, attention_mask))
    }
}

impl<B: Backend> Forward<B> for Unimodal<B> {
    fn forward(&self, batch: &Batch<B>, _losses: Option<&Losses>) -> Output<B> {
        let features = self.project(self.encode_text(batch));
        Output::logits(self.head.forward(features.clone())).with_features(features)
    }
}
