use burn::module::Module;
use burn::tensor::backend::Backend;
use mer_core::Architecture;
#[allow(unused_imports)]
use mer_core::nn::{ClassifierHead, ClassifierHeadConfig};
#[allow(unused_imports)]
use mer_core::encoders::text::{TextEncoder, TextEncoderConfig};

#[derive(Debug, Clone)]
pub struct Labels;

#[derive(Module, Debug, Architecture)]
pub struct Net<B: Backend> {
    #[encoder(modality = "T")]
    pub text: TextEncoder<B>,
    #[head]
    pub head: ClassifierHead<B>,
    #[module(skip)]
    pub labels: Labels,
}

impl<B: Backend> mer_core::architecture::Forward<B> for Net<B> {
    fn forward(
        &self,
        batch: &mer_core::input::Batch<B>,
        _: Option<&mer_core::nn::loss::Losses>,
    ) -> mer_core::architecture::Output<B> {
        mer_core::architecture::Output::logits(self.head.forward(self.encode_text(batch)))
    }
}

fn main() {}
