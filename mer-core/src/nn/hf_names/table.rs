//! The table itself: rows of mer path and Hugging Face name templates, and their layouts.

use std::path::PathBuf;

/// How a Hugging Face tensor is laid out against mer's parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The same values in the same order (biases, norms, embeddings; leading 1s are dropped or
    /// added as the shapes say).
    Same,
    /// `nn.Linear`'s [out, in] against mer's [in, out].
    Linear,
    /// `nn.Conv1d`'s [out, in/groups, kernel] against [`crate::nn::Conv1d`]'s
    /// [groups, kernel × in/groups, out/groups].
    Conv1d,
    /// A weight-normed `nn.Conv1d` (`weight_norm(dim=2)`): two tensors, `…weight_g` [1, 1, k] and
    /// `…weight_v` (or `…parametrizations.weight.original0/1`), folded into one plain weight.
    WeightNormConv1d,
    /// A patch convolution with kernel equal to stride (`Conv2d`/`Conv3d` [out, C, (t,) p, p]) as
    /// a linear map over flattened patches [C·(t·)p·p, out].
    Patch,
}

/// One row of a table: a mer path, the Hugging Face name, and their layout.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub mer: &'static str,
    pub hf: &'static str,
    pub layout: Layout,
}

/// Shorthand for a table row.
pub const fn row(mer: &'static str, hf: &'static str, layout: Layout) -> Row {
    Row { mer, hf, layout }
}

/// A model's table, with the prefixes its checkpoints may put before every name
/// (`wav2vec2.` in a CTC checkpoint) and the rows that may be absent (left as initialised).
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub rows: Vec<Row>,
    pub prefixes: Vec<&'static str>,
    /// mer paths (templates) a checkpoint may lack: a classification checkpoint's `fc_norm`.
    pub optional: Vec<&'static str>,
}

/// A table or checkpoint that does not fit a module.
#[derive(Debug, thiserror::Error)]
pub enum NamesError {
    #[error("{}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Weights { path: PathBuf, message: String },
}

/// A tensor to write: Hugging Face name, shape, values.
pub type HfTensor = (String, Vec<usize>, Vec<f32>);

/// What loading a checkpoint did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoadReport {
    pub applied: usize,
    /// Checkpoint tensors the encoder has no place for (an LM or classification head).
    pub unused: Vec<String>,
    /// Optional parameters the checkpoint lacks, left as initialised.
    pub initialised: Vec<String>,
}

/// `*` in `template` matched against `path`: the numbers it stood for.
fn captures<'a>(template: &str, path: &'a str) -> Option<Vec<&'a str>> {
    let mut out = Vec::new();
    let mut rest = path;
    let mut parts = template.split('*').peekable();
    let first = parts.next()?;
    rest = rest.strip_prefix(first)?;
    while let Some(part) = parts.next() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        out.push(&rest[..digits]);
        rest = rest[digits..].strip_prefix(part)?;
        if parts.peek().is_none() && !rest.is_empty() {
            return None;
        }
    }
    rest.is_empty().then_some(out)
}

fn fill(template: &str, numbers: &[&str]) -> String {
    let mut out = String::new();
    for (i, part) in template.split('*').enumerate() {
        if i > 0 {
            out.push_str(numbers[i - 1]);
        }
        out.push_str(part);
    }
    out
}

impl Table {
    /// The Hugging Face name and layout of mer parameter `path`.
    pub fn hf_name(&self, path: &str) -> Option<(String, Layout)> {
        self.rows.iter().find_map(|row| {
            captures(row.mer, path).map(|numbers| (fill(row.hf, &numbers), row.layout))
        })
    }

    pub(super) fn is_optional(&self, path: &str) -> bool {
        self.optional
            .iter()
            .any(|template| captures(template, path).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_layer_numbers_both_ways() {
        let table = Table {
            rows: vec![row(
                "encoder.layer.*.attention.self_attn.query.weight",
                "encoder.layers.*.attention.q_proj.weight",
                Layout::Linear,
            )],
            ..Table::default()
        };
        assert_eq!(
            table.hf_name("encoder.layer.11.attention.self_attn.query.weight"),
            Some((
                "encoder.layers.11.attention.q_proj.weight".into(),
                Layout::Linear
            ))
        );
        assert_eq!(
            table.hf_name("encoder.layer.x.attention.self_attn.query.weight"),
            None
        );
        assert_eq!(
            table.hf_name("encoder.layer.1.attention.self_attn.query.weight.x"),
            None
        );
    }
}
