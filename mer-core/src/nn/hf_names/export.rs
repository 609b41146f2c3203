//! A module's parameters under Hugging Face names and layouts.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

use super::layout::from_mer;
use super::table::{HfTensor, Table};
use crate::nn::lora;

/// `module`'s parameters under Hugging Face names and layouts; `hf_shapes` gives the shape each
/// name has in the model's own checkpoint (the layouts that flatten need it back).
pub fn export<B: Backend, M: Module<B>>(
    module: &M,
    table: &Table,
    hf_shapes: &BTreeMap<String, Vec<usize>>,
) -> Result<Vec<HfTensor>, String> {
    let mut exporter = Exporter {
        table,
        hf_shapes,
        path: Vec::new(),
        out: Vec::new(),
        errors: Vec::new(),
    };
    module.visit(&mut exporter);
    if exporter.errors.is_empty() {
        Ok(exporter.out)
    } else {
        Err(exporter.errors.join("; "))
    }
}

struct Exporter<'a> {
    table: &'a Table,
    hf_shapes: &'a BTreeMap<String, Vec<usize>>,
    path: Vec<String>,
    out: Vec<HfTensor>,
    errors: Vec<String>,
}

impl<B: Backend> ModuleVisitor<B> for Exporter<'_> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_owned());
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let path = self.path.join(".");
        if lora::is_adapter_path(&path) {
            return;
        }
        let Some((name, layout)) = self.table.hf_name(&path) else {
            self.errors.push(format!("{path}: no Hugging Face name"));
            return;
        };
        let dims = param.shape().dims::<D>().to_vec();
        let values: Vec<f32> = param
            .val()
            .into_data()
            .convert::<f32>()
            .into_vec()
            .expect("f32 values");
        self.out
            .extend(from_mer(&name, values, &dims, layout, self.hf_shapes));
    }
}
