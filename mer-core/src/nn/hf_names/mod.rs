//! One table per ported model from mer's parameter paths to Hugging Face tensor names and
//! layouts, used both ways: [`load`] reads a `model.safetensors` into a module, [`export`]
//! writes a module back under the names and layouts `from_pretrained` expects.
//!
//! A row is two templates where `*` stands for a layer number
//! (`encoder.layer.*.attention.self_attn.query.weight` ↔ `encoder.layers.*.attention.q_proj.weight`)
//! and the layout that relates the two tensors. Adapter tensors (LoRA) have no row: a Hugging
//! Face checkpoint has none, and exports merge them first.

mod checkpoint;
mod export;
mod layout;
mod load;
mod table;

pub use checkpoint::Checkpoint;
pub use export::export;
pub use load::load;
pub use table::{HfTensor, Layout, LoadReport, NamesError, Row, Table, row};
