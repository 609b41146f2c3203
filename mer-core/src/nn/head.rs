//! Heads: class logits from a fused vector, by one linear classifier or a mixture of experts.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::activation::softmax;
use burn::tensor::backend::Backend;

use super::router::{NoiseRouter, NoiseRouterConfig};
use crate::config::checks::below_one;
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
    #[config(default = 0.1, range = "probability")]
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
    /// # Shapes
    /// `x` [N, input] → logits [N, num_classes].
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.linear.forward(self.dropout.forward(x))
    }
}

/// A mixture of linear classifiers weighted per sample by a noise router; with `top_k`, only
/// the k highest-weighted experts count (their weights renormalised), a sparse mixture.
/// One expert is a linear classifier.
#[crate::config(check = Self::check_values)]
pub struct MoeHeadConfig {
    /// Width of the input.
    #[config(derived = "the output width of the part before the head")]
    pub input: usize,
    /// Number of classes.
    #[config(derived = "the label set of `data.dataset` and `data.label`")]
    pub num_classes: usize,
    /// Number of experts.
    #[config(derived = "the architecture's expert count (`{N}xE` in its label)")]
    pub experts: usize,
    /// Experts kept per sample (sparse mixture); all when left out.
    #[config(range = "at-least-one")]
    pub top_k: Option<usize>,
    /// Dropout before the experts.
    #[config(default = 0.1, range = "probability")]
    pub dropout: f64,
}

impl MoeHeadConfig {
    fn check_values(&self) -> Result<(), Problem> {
        if let Some(k) = self.top_k
            && (k == 0 || k > self.experts.max(1))
        {
            return Err(Problem::new(
                "top_k",
                format!("must be between 1 and the expert count ({})", self.experts),
            ));
        }
        below_one("dropout", self.dropout)
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> MoeHead<B> {
        MoeHead {
            router: NoiseRouterConfig {
                input: self.input,
                experts: self.experts,
            }
            .init(device),
            experts: (0..self.experts)
                .map(|_| LinearConfig::new(self.input, self.num_classes).init(device))
                .collect(),
            dropout: DropoutConfig::new(self.dropout).init(),
            top_k: self.top_k.unwrap_or(self.experts),
        }
    }
}

impl Wiring for MoeHeadConfig {
    fn output_width(&self) -> Result<usize, Problem> {
        Ok(self.num_classes)
    }

    fn connect_inputs(&mut self, widths: &[usize], from: &str) -> Result<(), Problem> {
        derive_width(&mut self.input, single_input(widths, from)?, "input", from)
    }

    fn connect_classes(&mut self, classes: usize, from: &str) -> Result<(), Problem> {
        derive_width(&mut self.num_classes, classes, "num_classes", from)
    }

    fn connect_experts(&mut self, experts: usize, from: &str) -> Result<(), Problem> {
        derive_width(&mut self.experts, experts, "experts", from)
    }
}

#[derive(Module, Debug)]
pub struct MoeHead<B: Backend> {
    router: NoiseRouter<B>,
    experts: Vec<Linear<B>>,
    dropout: Dropout,
    top_k: usize,
}

impl<B: Backend> MoeHead<B> {
    /// The number of experts.
    pub fn experts(&self) -> usize {
        self.experts.len()
    }

    /// The per-sample expert weights: the router's, or its top-k renormalised.
    ///
    /// # Shapes
    /// `x` [N, input] → [N, experts].
    pub fn weights(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let logits = self.router.logits(x);
        if self.top_k >= self.experts.len() {
            return softmax(logits, 1);
        }
        // Below the k-th largest logit: −∞ before the softmax, so weight exactly 0.
        let kth = logits
            .clone()
            .topk(self.top_k, 1)
            .narrow(1, self.top_k - 1, 1);
        let dropped = logits.clone().lower(kth);
        softmax(logits.mask_fill(dropped, f32::NEG_INFINITY), 1)
    }

    /// # Shapes
    /// `x` [N, input] → logits [N, num_classes].
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let weights = self.weights(x.clone());
        let x = self.dropout.forward(x);
        let [n, experts] = weights.dims();
        let outputs: Vec<Tensor<B, 3>> = self
            .experts
            .iter()
            .map(|e| e.forward(x.clone()).unsqueeze_dim(1))
            .collect();
        // [N, E, C] weighted by [N, E, 1], summed over experts.
        let stacked = Tensor::cat(outputs, 1);
        let [_, _, c] = stacked.dims();
        (stacked * weights.reshape([n, experts, 1]))
            .sum_dim(1)
            .reshape([n, c])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use burn::tensor::Distribution;

    type B = NdArray<f32>;

    fn config(experts: usize, top_k: Option<usize>) -> MoeHeadConfig {
        MoeHeadConfig {
            input: 6,
            num_classes: 3,
            experts,
            top_k,
            dropout: 0.0,
        }
    }

    #[test]
    fn one_expert_is_a_linear_classifier() {
        let device = Default::default();
        let head: MoeHead<B> = config(1, None).init(&device);
        let x = Tensor::<B, 2>::random([4, 6], Distribution::Normal(0.0, 1.0), &device);
        let expected = head.experts[0].forward(x.clone());
        assert!((head.forward(x) - expected).abs().max().into_scalar() < 1e-5);
    }

    #[test]
    fn the_mixture_is_the_weighted_sum_of_experts() {
        let device = Default::default();
        let head: MoeHead<B> = config(3, None).init(&device);
        let x = Tensor::<B, 2>::random([2, 6], Distribution::Normal(0.0, 1.0), &device);
        let w = head.weights(x.clone());
        let mut expected = Tensor::<B, 2>::zeros([2, 3], &device);
        for (i, expert) in head.experts.iter().enumerate() {
            expected = expected + expert.forward(x.clone()) * w.clone().narrow(1, i, 1);
        }
        assert!((head.forward(x) - expected).abs().max().into_scalar() < 1e-5);
    }

    #[test]
    fn top_k_keeps_k_experts_per_sample() {
        let device = Default::default();
        let head: MoeHead<B> = config(4, Some(2)).init(&device);
        let x = Tensor::<B, 2>::random([5, 6], Distribution::Normal(0.0, 1.0), &device);
        let w = head.weights(x);
        let nonzero = w.clone().greater_elem(0.0).int().sum_dim(1).reshape([5]);
        assert_eq!(nonzero.to_data().to_vec::<i64>().unwrap(), vec![2; 5]);
        let sums = w.sum_dim(1).reshape([5]);
        assert!((sums - 1.0).abs().max().into_scalar() < 1e-5);
        use crate::config::schema::ConfigValue;
        assert_eq!(config(2, Some(3)).check().unwrap_err().key, "top_k");
    }
}
