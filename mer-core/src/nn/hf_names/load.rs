//! Loading a checkpoint into a module by a table.

use std::collections::BTreeSet;

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use super::checkpoint::{Checkpoint, Values};
use super::layout::{fold_weight_norm, to_mer};
use super::table::{Layout, LoadReport, NamesError, Table};
use crate::nn::lora;

/// Loads `checkpoint` into `module` by `table`: every parameter with a row must be there (under
/// its name, or a prefix and its name) with a shape that fits.
pub fn load<B: Backend, M: Module<B>>(
    module: M,
    checkpoint: &Checkpoint,
    table: &Table,
) -> Result<(M, LoadReport), NamesError> {
    let names = checkpoint.names();
    let mut loader = Loader {
        checkpoint,
        table,
        available: names.iter().cloned().collect(),
        used: BTreeSet::new(),
        path: Vec::new(),
        report: LoadReport::default(),
        missing: Vec::new(),
        errors: Vec::new(),
    };
    let module = module.map(&mut loader);
    if !loader.missing.is_empty() || !loader.errors.is_empty() {
        return Err(checkpoint.bad(format!(
            "does not fit the encoder its config.json describes; missing tensors: [{}]; errors: [{}]",
            loader.missing.join(", "),
            loader.errors.join("; ")
        )));
    }
    let mut report = loader.report;
    report.unused = names
        .into_iter()
        .filter(|n| !loader.used.contains(n))
        .collect();
    Ok((module, report))
}

struct Loader<'a> {
    checkpoint: &'a Checkpoint,
    table: &'a Table,
    available: BTreeSet<String>,
    used: BTreeSet<String>,
    path: Vec<String>,
    report: LoadReport,
    missing: Vec<String>,
    errors: Vec<String>,
}

impl Loader<'_> {
    /// The checkpoint's own spelling of `name`: as is, or behind one of the table's prefixes.
    fn find(&self, name: &str) -> Option<String> {
        std::iter::once(name.to_owned())
            .chain(self.table.prefixes.iter().map(|p| format!("{p}{name}")))
            .find(|n| self.available.contains(n))
    }

    fn take(&mut self, name: &str) -> Result<Option<Values>, String> {
        let Some(found) = self.find(name) else {
            return Ok(None);
        };
        self.used.insert(found.clone());
        self.checkpoint.get(&found).map_err(|e| e.to_string())
    }

    /// The two halves of a weight-normed convolution under either naming.
    fn weight_norm(&mut self, base: &str) -> Result<Option<Values>, String> {
        let stem = base.strip_suffix(".weight").unwrap_or(base);
        for (g, v) in [
            (format!("{stem}.weight_g"), format!("{stem}.weight_v")),
            (
                format!("{stem}.parametrizations.weight.original0"),
                format!("{stem}.parametrizations.weight.original1"),
            ),
        ] {
            if self.find(&g).is_some() {
                let (g, g_shape) = self.take(&g)?.expect("found");
                let (v, v_shape) = self
                    .take(&v)?
                    .ok_or(format!("{stem}: weight_g without weight_v"))?;
                return fold_weight_norm(&g, &g_shape, v, &v_shape).map(Some);
            }
        }
        Ok(None)
    }

    fn value(&mut self, path: &str, dims: &[usize]) -> Option<Vec<f32>> {
        let (name, layout) = self.table.hf_name(path)?;
        let found = match layout {
            Layout::WeightNormConv1d => self.weight_norm(&name),
            _ => self.take(&name),
        };
        match found {
            Err(e) => {
                self.errors.push(e);
                None
            }
            Ok(None) if self.table.is_optional(path) => {
                self.report.initialised.push(name);
                None
            }
            Ok(None) => {
                self.missing.push(name);
                None
            }
            Ok(Some((values, shape))) => match to_mer(values, &shape, layout, dims) {
                Ok(values) => {
                    self.report.applied += 1;
                    Some(values)
                }
                Err(message) => {
                    self.errors.push(format!("{name}: {message}"));
                    None
                }
            },
        }
    }
}

impl<B: Backend> ModuleMapper<B> for Loader<'_> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_owned());
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let path = self.path.join(".");
        if lora::is_adapter_path(&path) {
            return param;
        }
        let dims = param.shape().dims::<D>();
        match self.value(&path, &dims) {
            Some(values) => {
                let device = param.val().device();
                let tensor = Tensor::from_data(TensorData::new(values, dims), &device);
                param.map(|_| tensor)
            }
            None => param,
        }
    }
}
