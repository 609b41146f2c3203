//! mer's linear layer: Burn's, computed as one matrix product over all leading dimensions, with
//! room for a LoRA adapter.
//!
//! Every layer carries its adapter's tensors. Without LoRA they are 1-element stand-ins
//! (`settings` of one value; real adapters have two), so an adapter can be injected later by
//! mapping parameters alone ([`crate::nn::lora`]): Burn's module mappers replace tensors but cannot
//! add fields. (Empty tensors would do, but GPU backends refuse zero-sized launches.)

use super::dropout::Dropout;
use burn::module::{Module, Param};
use burn::nn::LinearConfig as BurnLinearConfig;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

/// A linear layer's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinearConfig {
    pub input: usize,
    pub output: usize,
}

impl LinearConfig {
    pub fn new(input: usize, output: usize) -> Self {
        Self { input, output }
    }

    /// Initialises as Burn's `Linear` does (Kaiming uniform), with no adapter.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Linear<B> {
        let burn::nn::Linear { weight, bias } =
            BurnLinearConfig::new(self.input, self.output).init(device);
        Linear {
            weight,
            bias,
            lora: Lora::empty(device),
        }
    }
}

/// `y = x W + b`, plus `scale · dropout(x) A B` when a LoRA adapter is injected.
///
/// The struct is named `Linear` on purpose: burn-store's PyTorch adapter recognises the module
/// type by name and transposes `weight` from PyTorch's [out, in] to Burn's [in, out].
#[derive(Module, Debug)]
pub struct Linear<B: Backend> {
    /// [in, out]
    pub weight: Param<Tensor<B, 2>>,
    /// [out]
    pub bias: Option<Param<Tensor<B, 1>>>,
    pub lora: Lora<B>,
}

/// A low-rank update of a linear layer (Hu et al., 2021).
#[derive(Module, Debug)]
pub struct Lora<B: Backend> {
    /// [scale, dropout] (`alpha / r` and the dropout before `A`), or [0] without an adapter.
    /// Kept as a frozen tensor so a checkpoint carries its own scaling; first, so a visitor
    /// knows whether `a` and `b` are real before it sees them.
    pub settings: Param<Tensor<B, 1>>,
    /// [in, r]: random at injection ([1, 1] stand-in without an adapter).
    pub a: Param<Tensor<B, 2>>,
    /// [r, out]: zero at injection, so the layer starts as the base layer.
    pub b: Param<Tensor<B, 2>>,
}

/// Elements of `settings` when an adapter is injected.
pub const LORA_SETTINGS: usize = 2;

impl<B: Backend> Lora<B> {
    fn empty(device: &B::Device) -> Self {
        Lora {
            settings: Param::from_tensor(Tensor::zeros([1], device)).set_require_grad(false),
            a: Param::from_tensor(Tensor::zeros([1, 1], device)).set_require_grad(false),
            b: Param::from_tensor(Tensor::zeros([1, 1], device)).set_require_grad(false),
        }
    }

    /// Whether an adapter is injected (read from shapes: no device round trip).
    pub fn is_active(&self) -> bool {
        self.settings.shape()[0] == LORA_SETTINGS
    }

    /// The adapter's rank; 0 when there is none.
    pub fn rank(&self) -> usize {
        if self.is_active() {
            self.a.shape()[1]
        } else {
            0
        }
    }

    /// `(scale, dropout)`, when an adapter is injected.
    pub fn settings(&self) -> Option<(f64, f64)> {
        if !self.is_active() {
            return None;
        }
        let values: Vec<f32> = self
            .settings
            .val()
            .into_data()
            .convert::<f32>()
            .to_vec()
            .ok()?;
        Some((f64::from(values[0]), f64::from(values[1])))
    }
}

impl<B: Backend> Linear<B> {
    /// [..., in] → [..., out].
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        let dims = x.dims();
        let (input, rows) = (dims[D - 1], dims[..D - 1].iter().product::<usize>());
        // One large product instead of one per leading index: far faster on the CPU backend.
        let flat: Tensor<B, 2> = x.reshape([rows, input]);
        let bias = self.bias.as_ref().map(|b| b.val());
        let mut y = mer_kernels::linear(flat.clone(), self.weight.val(), bias);
        if let Some((scale, dropout)) = self.lora.settings() {
            let x = Dropout { prob: dropout }.forward(flat);
            let down = mer_kernels::linear(x, self.lora.a.val(), None);
            y = y + mer_kernels::linear(down, self.lora.b.val(), None).mul_scalar(scale);
        }
        let mut out = dims;
        out[D - 1] = y.dims()[1];
        y.reshape(out)
    }
}
