//! The classifier head: class logits from a fused vector.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

use crate::config::schema::Problem;
use crate::config::wiring::{Wiring, derive_width, single_input};

/// Dropout, then a linear layer to one logit per class.
#[crate::config]
pub struct ClassifierHeadConfig {
    /// Width of the input.
    #[config(derived = "the output width of the part before the head")]
    pub input: usize,
    /// Number of classes: 7 for MELD emotions, 3 for MELD sentiments, 6 for IEMOCAP emotions.
    #[config(derived = "the label set of `data.dataset` and `data.label`")]
    pub num_classes: usize,
    /// Dropout before the linear layer.
    #[config(default = 0.1)]
    pub dropout: f64,
}

impl Wiring for ClassifierHeadConfig {
    fn output_width(&self) -> Result<usize, Problem> {
        Ok(self.num_classes)
    }

    fn connect_inputs(&mut self, widths: &[usize], from: &str) -> Result<(), Problem> {
        derive_width(&mut self.input, single_input(widths, from)?, "input", from)
    }

    fn connect_classes(&mut self, classes: usize, from: &str) -> Result<(), Problem> {
        derive_width(&mut self.num_classes, classes, "num_classes", from)
    }
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
