//! The shape of an audio encoder: Hugging Face's `Wav2Vec2Config` / `Data2VecAudioConfig` /
//! `HubertConfig` keys, shortened, for a randomly initialised encoder or read from a folder.

use crate::config::checks::{at_least_one, divides_hidden, fits_in_memory};
use crate::config::schema::Problem;
use crate::nn::transformer::layer_parameters;

/// Which Hugging Face model the layout follows (its tensor names, its positional convolution).
#[crate::config]
pub enum AudioKind {
    /// wav2vec 2.0: one weight-normed positional convolution.
    Wav2vec2,
    /// data2vec-audio: `pos_conv_layers` positional convolutions, each with a plain layer norm.
    Data2vecAudio,
    /// HuBERT: wav2vec 2.0's layout, the projection's layer norm optional.
    Hubert,
}

/// How the feature encoder's convolutions are normalised (`feat_extract_norm`).
#[crate::config]
pub enum FeatureNorm {
    /// A layer norm over channels after every convolution (large models, data2vec-audio).
    Layer,
    /// One group norm (a group per channel, over time) after the first convolution only (base).
    Group,
}

/// The shape of an audio encoder.
#[crate::config(check = Self::check_shape)]
pub struct AudioShape {
    /// The Hugging Face model the layout follows.
    #[config(default = AudioKind::Wav2vec2)]
    pub kind: AudioKind,
    /// Output channels of each feature-encoder convolution.
    #[config(default = vec![64, 64, 64, 64], range = "at-least-one")]
    pub conv_dim: Vec<usize>,
    /// Kernel width of each convolution.
    #[config(default = vec![10, 4, 4, 2], range = "at-least-one")]
    pub conv_kernel: Vec<usize>,
    /// Stride of each convolution; their product is the samples per frame.
    #[config(default = vec![5, 4, 4, 2], range = "at-least-one")]
    pub conv_stride: Vec<usize>,
    /// Whether the convolutions have biases.
    #[config(default = true)]
    pub conv_bias: bool,
    /// How the convolutions are normalised.
    #[config(default = FeatureNorm::Layer)]
    pub feature_norm: FeatureNorm,
    /// Whether the feature projection starts with a layer norm (HuBERT's `feat_proj_layer_norm`).
    #[config(default = true)]
    pub projection_norm: bool,
    /// Width of frame states.
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
    /// Kernel width of the convolutional position embedding.
    #[config(default = 16, range = "at-least-one")]
    pub pos_conv_kernel: usize,
    /// Groups of the convolutional position embedding; divides `hidden`.
    #[config(default = 4, range = "at-least-one")]
    pub pos_conv_groups: usize,
    /// Positional convolutions (data2vec-audio's `num_conv_pos_embeddings`; 1 otherwise).
    #[config(default = 1, range = "at-least-one")]
    pub pos_conv_layers: usize,
    /// Pre-norm layers and a final layer norm (`do_stable_layer_norm`, large models).
    #[config(default = false)]
    pub stable_layer_norm: bool,
    /// Epsilon of every layer norm.
    #[config(default = 1e-5)]
    pub layer_norm_eps: f64,
}

impl AudioShape {
    fn check_shape(&self) -> Result<(), Problem> {
        if self.conv_dim.is_empty() {
            return Err(Problem::new("conv_dim", "needs at least one convolution"));
        }
        for (key, list) in [
            ("conv_kernel", &self.conv_kernel),
            ("conv_stride", &self.conv_stride),
        ] {
            if list.len() != self.conv_dim.len() {
                return Err(Problem::new(
                    key,
                    format!(
                        "has {} entries, conv_dim has {}: one per convolution",
                        list.len(),
                        self.conv_dim.len()
                    ),
                ));
            }
        }
        for (key, list) in [
            ("conv_dim", &self.conv_dim),
            ("conv_kernel", &self.conv_kernel),
            ("conv_stride", &self.conv_stride),
        ] {
            if list.contains(&0) {
                return Err(Problem::new(key, "every entry must be at least 1"));
            }
        }
        if self.kind != AudioKind::Data2vecAudio && self.pos_conv_layers != 1 {
            return Err(Problem::new(
                "pos_conv_layers",
                "only data2vec-audio has more than one positional convolution",
            ));
        }
        divides_hidden("heads", self.heads, self.hidden)?;
        divides_hidden("pos_conv_groups", self.pos_conv_groups, self.hidden)?;
        at_least_one(&[
            ("layers", self.layers),
            ("intermediate", self.intermediate),
            ("pos_conv_kernel", self.pos_conv_kernel),
            ("pos_conv_layers", self.pos_conv_layers),
        ])?;
        fits_in_memory(
            "layers",
            layer_parameters(self.hidden, self.intermediate, self.layers),
        )
    }

    /// The fewest samples that make one frame: shorter inputs are padded to this.
    pub fn receptive_field(&self) -> usize {
        let mut field = 1;
        for (k, s) in self.conv_kernel.iter().zip(&self.conv_stride).rev() {
            field = (field - 1) * s + k;
        }
        field
    }

    /// Frames the feature encoder makes of `samples` samples.
    pub fn frames(&self, samples: usize) -> usize {
        self.conv_kernel
            .iter()
            .zip(&self.conv_stride)
            .fold(
                samples,
                |len, (k, s)| {
                    if len < *k { 0 } else { (len - k) / s + 1 }
                },
            )
    }
}
