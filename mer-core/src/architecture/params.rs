//! The parameter table: one row per part of a network, trainable and frozen counts.

use std::fmt;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor};
use serde::Serialize;

use super::network::Architecture;
use super::part::{PartVisitor, Role};

/// One sub-module's parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamRow {
    /// The field name in the architecture.
    pub name: String,
    /// `encoder (T)`, `fusion`, `head`, `teacher`.
    pub role: String,
    /// The module's type, without path or backend.
    pub module: String,
    pub params: usize,
    pub trainable: usize,
    /// For a row that breaks a part down: the part's name (`fusion` for `fusion.private`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
}

/// A parameter table like torchinfo's: one row per part, then totals. A fusion is broken down
/// by its sub-modules (MDN's private, shared, cross and reconstruction parts).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamTable {
    pub rows: Vec<ParamRow>,
    pub total: usize,
    pub trainable: usize,
    pub frozen: usize,
}

impl ParamTable {
    /// Counts the parameters of every part of `network`.
    pub fn of<B: Backend, A: Architecture<B>>(network: &A) -> Self {
        struct Rows(Vec<ParamRow>);
        impl<B: Backend> PartVisitor<B> for Rows {
            fn part<M: Module<B>>(&mut self, name: &'static str, role: Role, module: &M) {
                let (params, trainable, children) = count_by_child(module);
                self.0.push(ParamRow {
                    name: name.to_owned(),
                    role: role.to_string(),
                    module: short_type_name::<M>(),
                    params,
                    trainable,
                    within: None,
                });
                if role == Role::Fusion && children.len() > 1 {
                    self.0
                        .extend(
                            children
                                .into_iter()
                                .map(|(child, params, trainable)| ParamRow {
                                    name: format!("{name}.{child}"),
                                    role: String::new(),
                                    module: String::new(),
                                    params,
                                    trainable,
                                    within: Some(name.to_owned()),
                                }),
                        );
                }
            }
        }
        let mut rows = Rows(Vec::new());
        network.visit_parts(&mut rows);
        let parts = || rows.0.iter().filter(|r| r.within.is_none());
        let total = parts().map(|r| r.params).sum();
        let trainable = parts().map(|r| r.trainable).sum();
        ParamTable {
            rows: rows.0,
            total,
            trainable,
            frozen: total - trainable,
        }
    }
}

/// (parameters, trainable parameters) of a module. Integer and boolean tensors never train; a
/// LoRA adapter's settings (its scale and dropout), and the stand-ins of layers without one, are
/// not weights and are not counted.
pub fn count<B: Backend, M: Module<B>>(module: &M) -> (usize, usize) {
    let (total, trainable, _) = count_by_child(module);
    (total, trainable)
}

/// [`count`], and the same counts per direct sub-module with parameters, in field order.
fn count_by_child<B: Backend, M: Module<B>>(
    module: &M,
) -> (usize, usize, Vec<(String, usize, usize)>) {
    struct Counter {
        total: usize,
        trainable: usize,
        children: Vec<(String, usize, usize)>,
        path: Vec<String>,
        /// Whether the adapter being visited is injected (its settings come first).
        adapter: bool,
    }
    impl<B: Backend> ModuleVisitor<B> for Counter {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_owned());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            match crate::nn::lora::adapter_part(&self.path) {
                Some((_, "settings")) => {
                    self.adapter = param.shape()[0] == crate::nn::linear::LORA_SETTINGS;
                    return;
                }
                Some(_) if !self.adapter => return,
                _ => {}
            }
            let n = param.lazy_shape().num_elements();
            let trainable = if param.val().is_require_grad() { n } else { 0 };
            self.add(n, trainable);
        }
        fn visit_int<const D: usize>(&mut self, param: &Param<Tensor<B, D, Int>>) {
            self.add(param.lazy_shape().num_elements(), 0);
        }
        fn visit_bool<const D: usize>(&mut self, param: &Param<Tensor<B, D, Bool>>) {
            self.add(param.lazy_shape().num_elements(), 0);
        }
    }
    impl Counter {
        fn add(&mut self, n: usize, trainable: usize) {
            self.total += n;
            self.trainable += trainable;
            let Some(child) = self.path.first() else {
                return;
            };
            match self.children.iter_mut().find(|(name, _, _)| name == child) {
                Some((_, total, t)) => {
                    *total += n;
                    *t += trainable;
                }
                None => self.children.push((child.clone(), n, trainable)),
            }
        }
    }
    let mut counter = Counter {
        total: 0,
        trainable: 0,
        children: Vec::new(),
        path: Vec::new(),
        adapter: false,
    };
    module.visit(&mut counter);
    (counter.total, counter.trainable, counter.children)
}

/// `mer_core::nn::text::TextEncoder<burn_autodiff::Autodiff<...>>` → `TextEncoder`.
fn short_type_name<T>() -> String {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base).to_owned()
}

impl fmt::Display for ParamTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers = ["part", "role", "module", "params", "trainable", "frozen"];
        let mut lines: Vec<[String; 6]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    match &r.within {
                        Some(part) => format!("  {}", &r.name[part.len()..]),
                        None => r.name.clone(),
                    },
                    r.role.clone(),
                    r.module.clone(),
                    thousands(r.params),
                    thousands(r.trainable),
                    thousands(r.params - r.trainable),
                ]
            })
            .collect();
        lines.push([
            "total".into(),
            String::new(),
            String::new(),
            thousands(self.total),
            thousands(self.trainable),
            thousands(self.frozen),
        ]);
        let mut widths = headers.map(str::len);
        for line in &lines {
            for (w, cell) in widths.iter_mut().zip(line) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let row = |f: &mut fmt::Formatter<'_>, cells: &[String]| -> fmt::Result {
            let line: Vec<String> = cells
                .iter()
                .zip(widths)
                .enumerate()
                .map(|(i, (cell, w))| {
                    if i < 3 {
                        format!("{cell:<w$}")
                    } else {
                        format!("{cell:>w$}")
                    }
                })
                .collect();
            writeln!(f, "{}", line.join("  "))
        };
        let rule = "-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1));
        row(f, &headers.map(String::from))?;
        writeln!(f, "{rule}")?;
        let (body, total) = lines.split_at(lines.len() - 1);
        for line in body {
            row(f, line)?;
        }
        writeln!(f, "{rule}")?;
        row(f, &total[0])
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
