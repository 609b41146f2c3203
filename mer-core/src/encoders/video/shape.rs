//! The shape of a video encoder: Hugging Face's `VideoMAEConfig` / `TimesformerConfig` keys,
//! for a randomly initialised encoder or read from a folder.

use crate::config::checks::{at_least_one, divides_hidden, fits_in_memory};
use crate::config::schema::Problem;
use crate::nn::transformer::layer_parameters;

/// Which Hugging Face model the layout follows.
#[crate::config]
pub enum VideoKind {
    /// VideoMAE: tubelet patches, fixed sinusoidal positions, pre-norm layers.
    Videomae,
    /// TimeSformer: per-frame patches, a CLS token, learned space and time positions, divided
    /// space–time attention.
    Timesformer,
}

/// The shape of a video encoder.
#[crate::config(check = Self::check_shape)]
pub struct VideoShape {
    /// The Hugging Face model the layout follows.
    #[config(default = VideoKind::Videomae)]
    pub kind: VideoKind,
    /// Side of a square patch, in pixels.
    #[config(default = 16, range = "at-least-one")]
    pub patch_size: usize,
    /// Frames per tubelet (VideoMAE; TimeSformer's patches are one frame deep).
    #[config(default = 2, range = "at-least-one")]
    pub tubelet_size: usize,
    /// Width of token states.
    #[config(default = 64, range = "at-least-one")]
    pub hidden: usize,
    /// Transformer layers.
    #[config(default = 2, range = "at-least-one")]
    pub layers: usize,
    /// Attention heads per layer; divides `hidden`.
    #[config(default = 4, range = "at-least-one")]
    pub heads: usize,
    /// Width of the feed-forward block.
    #[config(default = 128, range = "at-least-one")]
    pub intermediate: usize,
    /// Biases on the attention projections (VideoMAE: query and value only).
    #[config(default = true)]
    pub qkv_bias: bool,
    /// VideoMAE's `use_mean_pooling`: no final layer norm on the states; the mean over patches
    /// goes through `fc_norm` instead.
    #[config(default = true)]
    pub use_mean_pooling: bool,
    /// Epsilon of every layer norm.
    #[config(default = 1e-12)]
    pub layer_norm_eps: f64,
}

impl VideoShape {
    fn check_shape(&self) -> Result<(), Problem> {
        divides_hidden("heads", self.heads, self.hidden)?;
        at_least_one(&[
            ("patch_size", self.patch_size),
            ("tubelet_size", self.tubelet_size),
            ("layers", self.layers),
            ("intermediate", self.intermediate),
        ])?;
        if self.kind == VideoKind::Timesformer && self.tubelet_size != 1 {
            return Err(Problem::new(
                "tubelet_size",
                "TimeSformer's patches are one frame deep: set 1",
            ));
        }
        // TimeSformer has a second attention block per layer.
        let blocks = match self.kind {
            VideoKind::Videomae => 1,
            VideoKind::Timesformer => 2,
        };
        fits_in_memory(
            "layers",
            layer_parameters(self.hidden, self.intermediate, self.layers).saturating_mul(blocks),
        )
    }

    /// Frames each token covers.
    pub fn frames_per_token(&self) -> usize {
        match self.kind {
            VideoKind::Videomae => self.tubelet_size,
            VideoKind::Timesformer => 1,
        }
    }
}
