//! LoRA: low-rank adapters injected into the [`crate::nn::Linear`] layers of any module.
//!
//! Injection maps parameters: layers whose path matches a target get `A` (random) and `B`
//! (zero), every other parameter is frozen. Targets are read as PEFT's `target_modules`: a plain
//! name matches a layer of that name or any path ending in it (`query`, `self_attn.query`), a
//! pattern with regex syntax must match the whole path, and `all-linear` matches every layer.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Shape, Tensor};
use regex::Regex;

use crate::config::schema::Problem;
use crate::nn::linear::LORA_SETTINGS;

/// Where adapters go and how they scale.
#[crate::config(check = Self::check_settings)]
pub struct LoraConfig {
    /// Rank of each adapter.
    #[config(default = 8, range = "at-least-one")]
    pub r: usize,
    /// Adapters are scaled by `alpha / r`.
    #[config(default = 16.0, range = "positive")]
    pub alpha: f64,
    /// Dropout on an adapter's input while training.
    #[config(default = 0.1, range = "probability")]
    pub dropout: f64,
    /// Linear layers to adapt: names or path suffixes (`query`, `self_attn.value`), regexes
    /// matching a whole path inside the encoder (`.*layer\.[0-5]\..*query` matches
    /// `bert.encoder.layer.0.attention.self_attn.query`), or `all-linear`.
    #[config(default = vec!["query".to_owned(), "value".to_owned()])]
    pub targets: Vec<String>,
}

impl Default for LoraConfig {
    fn default() -> Self {
        crate::config::schema::defaults().expect("every LoRA setting has a default")
    }
}

/// The keyword that adapts every linear layer.
pub const ALL_LINEAR: &str = "all-linear";

/// The path segment under which a layer keeps its adapter (`….query.lora.a`).
pub const SEGMENT: &str = "lora";

/// Whether a tensor path names an adapter tensor (`….lora.a`).
pub fn is_adapter_path(path: &str) -> bool {
    path.contains(&format!(".{SEGMENT}.")) || path.starts_with(&format!("{SEGMENT}."))
}

/// The layer and the tensor (`a`, `b` or `settings`) when a module path names an adapter
/// tensor: `[…, "query", "lora", "a"]` → (`….query`, `a`).
pub fn adapter_part(path: &[String]) -> Option<(String, &str)> {
    let n = path.len();
    (n >= 2 && path[n - 2] == SEGMENT).then(|| (path[..n - 2].join("."), path[n - 1].as_str()))
}

impl LoraConfig {
    fn check_settings(&self) -> Result<(), Problem> {
        if self.r == 0 {
            return Err(Problem::new("r", "must be at least 1"));
        }
        if self.alpha <= 0.0 {
            return Err(Problem::new("alpha", "must be positive"));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Problem::new("dropout", "must be in [0, 1)"));
        }
        if self.targets.is_empty() {
            return Err(Problem::new(
                "targets",
                "name at least one layer, or \"all-linear\"",
            ));
        }
        self.matcher()
            .map(|_| ())
            .map_err(|e| Problem::new("targets", e))
    }

    fn matcher(&self) -> Result<Targets, String> {
        let mut targets = Targets::default();
        for target in &self.targets {
            if target == ALL_LINEAR {
                targets.all = true;
            } else if target.contains(|c: char| "^$*+?()[]{}|\\".contains(c)) {
                let anchored = format!("^(?:{target})$");
                targets.patterns.push(
                    Regex::new(&anchored)
                        .map_err(|e| format!("\"{target}\" is not a regex: {e}"))?,
                );
            } else {
                targets.names.push(target.clone());
            }
        }
        Ok(targets)
    }
}

#[derive(Default)]
struct Targets {
    all: bool,
    names: Vec<String>,
    patterns: Vec<Regex>,
}

impl Targets {
    fn matches(&self, path: &str) -> bool {
        self.all
            || self
                .names
                .iter()
                .any(|n| path == n || path.ends_with(&format!(".{n}")))
            || self.patterns.iter().any(|p| p.is_match(path))
    }
}

/// Why adapters could not be injected.
#[derive(Debug, thiserror::Error)]
pub enum LoraError {
    #[error("lora.targets: {0}")]
    Targets(String),
    #[error("lora.targets {targets:?} match none of the encoder's linear layers (e.g. {example})")]
    NoMatch {
        targets: Vec<String>,
        example: String,
    },
    /// A rank above a layer's narrower side adds nothing and may not fit in memory.
    #[error(
        "is {r}, more than the width {width} of layer {layer}: the rank is at most a layer's narrower width"
    )]
    Rank {
        r: usize,
        layer: String,
        width: usize,
    },
}

/// Injects adapters into `module` as `config` says and freezes everything else; returns the
/// adapted layers' paths.
pub fn inject<B: Backend, M: Module<B>>(
    module: M,
    config: &LoraConfig,
) -> Result<(M, Vec<String>), LoraError> {
    let targets = config.matcher().map_err(LoraError::Targets)?;
    let mut injector = Injector {
        config,
        targets,
        path: Vec::new(),
        adapted: Vec::new(),
        layers: Vec::new(),
        weight: None,
        too_wide: None,
    };
    let module = module.map(&mut injector);
    if let Some((layer, width)) = injector.too_wide {
        return Err(LoraError::Rank {
            r: config.r,
            layer,
            width,
        });
    }
    if injector.adapted.is_empty() {
        return Err(LoraError::NoMatch {
            targets: config.targets.clone(),
            example: injector
                .layers
                .first()
                .cloned()
                .unwrap_or_else(|| "no linear layers".into()),
        });
    }
    Ok((module, injector.adapted))
}

struct Injector<'a> {
    config: &'a LoraConfig,
    targets: Targets,
    path: Vec<String>,
    adapted: Vec<String>,
    layers: Vec<String>,
    /// The last layer weight seen, [in, out]: its adapter comes right after it.
    weight: Option<(String, [usize; 2])>,
    /// A targeted layer narrower than the rank, and its narrower width.
    too_wide: Option<(String, usize)>,
}

impl<B: Backend> ModuleMapper<B> for Injector<'_> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_owned());
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let adapter = adapter_part(&self.path).map(|(layer, which)| (layer, which.to_owned()));
        let Some((layer, which)) = adapter else {
            if D == 2 && self.path.last().is_some_and(|p| p == "weight") {
                let dims = param.shape();
                let layer = self.path[..self.path.len() - 1].join(".");
                self.weight = Some((layer, [dims[0], dims[1]]));
            }
            return param.set_require_grad(false);
        };
        if which == "settings" {
            self.layers.push(layer.clone());
        }
        let size = match &self.weight {
            Some((weight_of, size)) if *weight_of == layer => *size,
            _ => return param,
        };
        if !self.targets.matches(&layer) {
            return param;
        }
        let r = self.config.r;
        let width = size[0].min(size[1]);
        if r > width {
            self.too_wide.get_or_insert((layer, width));
            return param;
        }
        let device = param.val().device();
        let value: Tensor<B, D> = match which.as_str() {
            "settings" => {
                self.adapted.push(layer);
                let scale = self.config.alpha / r as f64;
                let settings = Tensor::<B, 1>::from_floats(
                    [scale as f32, self.config.dropout as f32],
                    &device,
                );
                return Param::from_tensor(settings.reshape(Shape::from(vec![LORA_SETTINGS])))
                    .set_require_grad(false);
            }
            "a" => {
                // PEFT's default: Kaiming-uniform with a = √5, i.e. U(±1/√in).
                let bound = 1.0 / (size[0] as f64).sqrt();
                Tensor::random(
                    Shape::from(vec![size[0], r]),
                    Distribution::Uniform(-bound, bound),
                    &device,
                )
            }
            _ => Tensor::zeros(Shape::from(vec![r, size[1]]), &device),
        };
        Param::from_tensor(value)
    }
}

/// Adapted layers' paths in `module`, with their rank.
pub fn adapters<B: Backend, M: Module<B>>(module: &M) -> Vec<(String, usize)> {
    struct Find {
        path: Vec<String>,
        active: bool,
        found: Vec<(String, usize)>,
    }
    impl<B: Backend> ModuleVisitor<B> for Find {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_owned());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            match adapter_part(&self.path) {
                Some((_, "settings")) => self.active = param.shape()[0] == LORA_SETTINGS,
                Some((layer, "a")) if self.active => self.found.push((layer, param.shape()[D - 1])),
                _ => {}
            }
        }
    }
    let mut find = Find {
        path: Vec::new(),
        active: false,
        found: Vec::new(),
    };
    module.visit(&mut find);
    find.found
}

/// Folds every adapter into its layer's weight (`W + scale · A B`) and removes the adapters:
/// the result computes what the adapted module computes, with plain linear layers.
pub fn merge<B: Backend, M: Module<B>>(module: M) -> M {
    // Two passes: the deltas are read first, then weights are rewritten and adapters emptied.
    let deltas = collect_deltas(&module);
    let mut merger = Merger {
        deltas,
        path: Vec::new(),
    };
    module.map(&mut merger)
}

fn collect_deltas<B: Backend, M: Module<B>>(
    module: &M,
) -> std::collections::HashMap<String, Tensor<B, 2>> {
    struct Collect<B: Backend> {
        path: Vec<String>,
        scale: Option<f64>,
        a: Option<Tensor<B, 2>>,
        out: std::collections::HashMap<String, Tensor<B, 2>>,
    }
    impl<B: Backend> ModuleVisitor<B> for Collect<B> {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_owned());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let Some((layer, which)) = adapter_part(&self.path) else {
                return;
            };
            let as_2d = |t: Tensor<B, D>| {
                let dims = t.dims();
                t.reshape([dims[0], dims[D - 1]])
            };
            match which {
                "settings" => {
                    self.scale = (param.shape()[0] == LORA_SETTINGS).then(|| {
                        let values: Vec<f32> =
                            param.val().into_data().convert::<f32>().to_vec().unwrap();
                        f64::from(values[0])
                    });
                }
                "a" if self.scale.is_some() => self.a = Some(as_2d(param.val())),
                "b" => {
                    if let (Some(scale), Some(a)) = (self.scale.take(), self.a.take()) {
                        let delta = a.matmul(as_2d(param.val())).mul_scalar(scale);
                        self.out.insert(layer, delta);
                    }
                }
                _ => {}
            }
        }
    }
    let mut collect = Collect {
        path: Vec::new(),
        scale: None,
        a: None,
        out: Default::default(),
    };
    module.visit(&mut collect);
    collect.out
}

struct Merger<B: Backend> {
    deltas: std::collections::HashMap<String, Tensor<B, 2>>,
    path: Vec<String>,
}

impl<B: Backend> ModuleMapper<B> for Merger<B> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_owned());
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let n = self.path.len();
        if n < 2 {
            return param;
        }
        let layer = self.path[..n - 1].join(".");
        let last = self.path[n - 1].as_str();
        if last == "weight"
            && let Some(delta) = self.deltas.get(&layer)
        {
            let value = param.val();
            let dims = value.dims();
            let merged = value + delta.clone().reshape(Shape::from(dims.to_vec()));
            return Param::from_tensor(merged).set_require_grad(false);
        }
        if adapter_part(&self.path).is_some() {
            // Back to the stand-ins of a layer without an adapter.
            let device = param.val().device();
            return Param::from_tensor(Tensor::zeros(Shape::from(vec![1; D]), &device))
                .set_require_grad(false);
        }
        param
    }
}
