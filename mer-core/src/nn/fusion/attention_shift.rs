//! TelME's attention-shifting fusion (Yun et al., NAACL 2024): the non-verbal modalities shift
//! the text representation, by at most a fraction β of its norm.

use burn::module::Module;
use burn::nn::attention::{MhaInput, MultiHeadAttention, MultiHeadAttentionConfig};
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;

use crate::config::checks::{below_one, divides_hidden};
use crate::config::schema::Problem;
use crate::config::wiring::{Wiring, derive_widths};

/// Attention heads over the non-verbal vector when a config leaves them out.
pub const DEFAULT_HEADS: usize = 4;

/// The largest shift when a config leaves it out (TelME's MELD setting).
pub const DEFAULT_BETA: f64 = 0.1;

/// The first input is the text t, the others are concatenated to av:
/// av = Dropout(LN(MHA(av) + av)); w = ReLU(W[av; t]); h = w ⊙ W_av(av);
/// α = min(‖t‖/‖h‖ · β, 1); out = Dropout(LN(α·h + t)). The output has t's width.
#[crate::config(check = Self::check_values)]
pub struct AttentionShiftFusionConfig {
    /// Width of each input: the text first, then the modalities that shift it.
    #[config(derived = "the output widths of the encoders it fuses")]
    pub inputs: Vec<usize>,
    /// Attention heads over the non-verbal vector; they must divide its width.
    #[config(default = DEFAULT_HEADS, range = "at-least-one")]
    pub heads: usize,
    /// The largest shift, as a fraction of the text vector's norm: TelME uses 0.1 on MELD and
    /// 0.2 on IEMOCAP.
    #[config(default = DEFAULT_BETA, range = "positive")]
    pub beta: f64,
    /// Dropout after each layer norm.
    #[config(default = 0.1, range = "probability")]
    pub dropout: f64,
}

impl AttentionShiftFusionConfig {
    /// The width of the text, the first input: the output's.
    pub fn text_width(&self) -> usize {
        self.inputs.first().copied().unwrap_or(0)
    }

    fn shift_width(&self) -> usize {
        self.inputs.iter().skip(1).sum()
    }

    fn check_values(&self) -> Result<(), Problem> {
        if self.inputs.len() < 2 {
            return Err(Problem::new(
                "inputs",
                "needs the text and at least one other modality",
            ));
        }
        divides_hidden("heads", self.heads, self.shift_width())?;
        if self.beta <= 0.0 {
            return Err(Problem::new("beta", "must be positive"));
        }
        below_one("dropout", self.dropout)
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> AttentionShiftFusion<B> {
        let (t, av) = (self.text_width(), self.shift_width());
        AttentionShiftFusion {
            attention: MultiHeadAttentionConfig::new(av, self.heads)
                .with_dropout(self.dropout)
                .init(device),
            av_norm: LayerNormConfig::new(av).init(device),
            gate: LinearConfig::new(av + t, t).init(device),
            shift: LinearConfig::new(av, t).init(device),
            norm: LayerNormConfig::new(t).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            beta: self.beta,
        }
    }
}

impl Wiring for AttentionShiftFusionConfig {
    fn output_width(&self) -> Result<usize, Problem> {
        Ok(self.text_width())
    }

    fn connect_inputs(&mut self, widths: &[usize], from: &str) -> Result<(), Problem> {
        derive_widths(&mut self.inputs, widths, "inputs", from)
    }
}

#[derive(Module, Debug)]
pub struct AttentionShiftFusion<B: Backend> {
    attention: MultiHeadAttention<B>,
    av_norm: LayerNorm<B>,
    gate: Linear<B>,
    shift: Linear<B>,
    norm: LayerNorm<B>,
    dropout: Dropout,
    beta: f64,
}

impl<B: Backend> AttentionShiftFusion<B> {
    /// The shift h = w ⊙ W_av(av) before it is scaled.
    ///
    /// # Shapes
    /// `text` [N, t], `av` [N, a] → [N, t].
    fn shift(&self, text: Tensor<B, 2>, av: Tensor<B, 2>) -> Tensor<B, 2> {
        let [n, a] = av.dims();
        let tokens = av.reshape([n, 1, a]);
        let attended = self
            .attention
            .forward(MhaInput::self_attn(tokens.clone()))
            .context;
        let av = self
            .dropout
            .forward(self.av_norm.forward(attended + tokens))
            .reshape([n, a]);
        let weight = relu(self.gate.forward(Tensor::cat(vec![av.clone(), text], 1)));
        weight * self.shift.forward(av)
    }

    /// # Shapes
    /// `inputs` [N, t] (text), then [N, w_m] each → [N, t].
    pub fn forward(&self, mut inputs: Vec<Tensor<B, 2>>) -> Tensor<B, 2> {
        let text = inputs.remove(0);
        let h = self.shift(text.clone(), Tensor::cat(inputs, 1));
        self.dropout
            .forward(self.norm.forward(shifted(text, h, self.beta)))
    }
}

/// t + α·h with α = min(‖t‖/‖h‖ · β, 1) per row (α = β‖t‖ where h is 0).
///
/// # Shapes
/// `text`, `h` [N, t] → [N, t].
pub fn shifted<B: Backend>(text: Tensor<B, 2>, h: Tensor<B, 2>, beta: f64) -> Tensor<B, 2> {
    let norm = |x: Tensor<B, 2>| x.powi_scalar(2).sum_dim(1).sqrt();
    let h_norm = norm(h.clone());
    let h_norm = h_norm.clone().mask_fill(h_norm.equal_elem(0.0), 1.0);
    let alpha = (norm(text.clone()) / (h_norm + 1e-6) * beta).clamp_max(1.0);
    text + h * alpha
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use burn::tensor::Distribution;

    type B = NdArray<f32>;

    #[test]
    fn the_shift_is_at_most_beta_of_the_text_norm() {
        let device = Default::default();
        // ‖t‖ = 5, ‖h‖ = 10: α = min(5/10 · 0.1, 1) = 0.05, so t + 0.05 h.
        let t = Tensor::<B, 2>::from_floats([[3.0, 4.0]], &device);
        let h = Tensor::<B, 2>::from_floats([[6.0, 8.0]], &device);
        let out = shifted(t.clone(), h, 0.1)
            .to_data()
            .to_vec::<f32>()
            .unwrap();
        assert!(
            (out[0] - 3.3).abs() < 1e-4 && (out[1] - 4.4).abs() < 1e-4,
            "{out:?}"
        );
        // A small shift passes whole: α = min(5/0.5 · 0.2, 1) = 1.
        let small = Tensor::<B, 2>::from_floats([[0.3, 0.4]], &device);
        let out = shifted(t, small, 0.2).to_data().to_vec::<f32>().unwrap();
        assert!(
            (out[0] - 3.3).abs() < 1e-4 && (out[1] - 4.4).abs() < 1e-4,
            "{out:?}"
        );
    }

    #[test]
    fn keeps_the_text_width_and_the_batch_apart() {
        let device = Default::default();
        let fusion: AttentionShiftFusion<B> = AttentionShiftFusionConfig {
            inputs: vec![8, 4, 4],
            heads: 4,
            beta: 0.1,
            dropout: 0.0,
        }
        .init(&device);
        let x = |w| Tensor::<B, 2>::random([3, w], Distribution::Normal(0.0, 1.0), &device);
        let (t, a, v) = (x(8), x(4), x(4));
        let out = fusion.forward(vec![t.clone(), a.clone(), v.clone()]);
        assert_eq!(out.dims(), [3, 8]);
        let alone = fusion.forward(vec![
            t.narrow(0, 0, 1),
            a.narrow(0, 0, 1),
            v.narrow(0, 0, 1),
        ]);
        assert!((alone - out.narrow(0, 0, 1)).abs().max().into_scalar() < 1e-5);
    }
}
