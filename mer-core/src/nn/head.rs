//! The classifier head: class logits from a fused vector.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

/// Dropout, then a linear layer to one logit per class.
#[crate::config]
pub struct ClassifierHeadConfig {
    /// Width of the input.
    #[config(default = 128)]
    pub input: usize,
    /// Number of classes: 7 for MELD emotions, 3 for MELD sentiments, 6 for IEMOCAP emotions.
    pub num_classes: usize,
    /// Dropout before the linear layer.
    #[config(default = 0.1)]
    pub dropout: f64,
}

#[derive(Module, Debug)]
pub struct ClassifierHead<B: Backend> {
    dropout: Dropout,
    linear: Linear<B>,
}

impl ClassifierHeadConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> ClassifierHead<B> {
        ClassifierHead {
            dropout: DropoutConfig::new(self.dropout).init(),
            linear: LinearConfig::new(self.input, self.num_classes).init(device),
        }
    }
}

impl<B: Backend> ClassifierHead<B> {
    /// [N, input] → logits [N, num_classes].
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.linear.forward(self.dropout.forward(x))
    }
}
