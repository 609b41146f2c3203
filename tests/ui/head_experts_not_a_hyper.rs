use burn::module::Module;
use burn::tensor::backend::Backend;
use mer_core::Architecture;
#[allow(unused_imports)]
use mer_core::encoders::text::{TextEncoder, TextEncoderConfig};
#[allow(unused_imports)]
use mer_core::nn::{ClassifierHead, ClassifierHeadConfig};

#[derive(Module, Debug, Architecture)]
pub struct Net<B: Backend> {
    #[encoder(modality = "T")]
    pub text: TextEncoder<B>,
    #[head(experts = count)]
    pub head: ClassifierHead<B>,
}

fn main() {}
