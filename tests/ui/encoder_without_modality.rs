use burn::module::Module;
use burn::tensor::backend::Backend;
use mer_core::Architecture;
#[allow(unused_imports)]
use mer_core::nn::{ClassifierHead, ClassifierHeadConfig};
#[allow(unused_imports)]
use mer_core::encoders::text::{TextEncoder, TextEncoderConfig};

#[derive(Module, Debug, Architecture)]
pub struct Net<B: Backend> {
    #[encoder]
    pub text: TextEncoder<B>,
    #[head]
    pub head: ClassifierHead<B>,
}

fn main() {}
