use burn::module::Module;
use burn::tensor::backend::Backend;
use mer_core::Architecture;
#[allow(unused_imports)]
use mer_core::encoders::text::{TextEncoder, TextEncoderConfig};
#[allow(unused_imports)]
use mer_core::nn::{ClassifierHead, ClassifierHeadConfig, ConcatFusion, ConcatFusionConfig};

/// Three mistakes, all reported at once, each where it is.
#[derive(Module, Debug, Architecture)]
pub struct Net<B: Backend> {
    #[encoder(modality = "T", pooling = "mean")]
    pub text: TextEncoder<B>,
    #[fusion(inputs = [txt])]
    pub fusion: ConcatFusion<B>,
    #[head]
    pub head: ClassifierHead<B>,
    #[head]
    pub other: ClassifierHead<B>,
}

fn main() {}
