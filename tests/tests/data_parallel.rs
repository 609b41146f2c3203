//! Data-parallel training (`--devices`) follows one-device training: the same run trained on one
//! CPU device and split over two CPU replicas (uneven shards, weighted cross-entropy) gives the
//! same losses, metrics and weights up to float rounding. This is the code path of several
//! GPUs (shards, forked replicas on their own threads, gradients summed on the first device);
//! only the device copies differ there.

use std::path::Path;

use burn::backend::{Autodiff, NdArray};
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use mer_core::architecture::Architecture as _;
use mer_core::config::{RawConfig, Source};
use mer_core::run::RunConfig;
use mer_core::store::Store;
use mer_core::train::{self, Outcome};
use models::unimodal::DEMO_CONFIG;
use models::{Unimodal, UnimodalConfig, text_data};

type AB = Autodiff<NdArray<f32>>;

fn run_config(root: &Path) -> RunConfig<UnimodalConfig> {
    let overrides = [
        "training.epochs=2".to_owned(),
        // 7 per batch: shards of 4 and 3, so the shares are not halves.
        "training.batch_size=7".to_owned(),
        "training.losses.classification.kind=\"weighted-ce\"".to_owned(),
        // Each device draws its own dropout masks: off, so both runs compute the same function.
        "model.dropout=0.0".to_owned(),
        "model.text.dropout=0.0".to_owned(),
        "model.head.dropout=0.0".to_owned(),
        format!("output.checkpoints=\"{}\"", root.join("ckpt").display()),
        format!("output.cache=\"{}\"", root.join("cache").display()),
    ];
    RawConfig::from_sources(&[Source::new("demo.toml", DEMO_CONFIG)], &overrides)
        .unwrap()
        .resolve()
        .unwrap()
}

/// Every float parameter of a module, by its path (`….attention.self_attn.key.bias`).
#[derive(Default)]
struct Floats {
    path: Vec<String>,
    params: Vec<(String, Vec<f32>)>,
}

impl ModuleVisitor<NdArray<f32>> for Floats {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_owned());
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<NdArray<f32>, D>>) {
        let values = param.val().into_data().to_vec::<f32>().unwrap();
        self.params.push((self.path.join("."), values));
    }
}

fn train_on(devices: usize, root: &Path) -> (Outcome, Vec<(String, Vec<f32>)>) {
    let run = run_config(root);
    let toml = toml::to_string_pretty(&run).unwrap();
    let data = text_data::load(&run.data, Some(&run.model.text.config))
        .unwrap()
        .0;
    let store = Store::new(&run.output.checkpoints);
    let outcome = train::train_parallel::<AB, Unimodal<AB>>(
        &run,
        &toml,
        &data,
        &store,
        &vec![Default::default(); devices],
    )
    .unwrap();
    let network = store
        .load(
            &outcome.dir,
            Unimodal::<NdArray<f32>>::try_init(&run.model, &Default::default()).unwrap(),
        )
        .unwrap();
    let mut floats = Floats::default();
    network.visit(&mut floats);
    (outcome, floats.params)
}

#[test]
fn two_replicas_train_as_one_device_does() {
    let tmp = tempfile::tempdir().unwrap();
    let (one, one_weights) = train_on(1, &tmp.path().join("one"));
    let (two, two_weights) = train_on(2, &tmp.path().join("two"));

    assert_eq!(one.epochs, two.epochs);
    for (a, b) in one.train_losses.iter().zip(&two.train_losses) {
        assert!((a - b).abs() < 1e-4 * a.abs().max(1.0), "loss {a} vs {b}");
    }
    // The sums of shard gradients round differently from the whole batch's: not the same bits,
    // but the same weights to float rounding. Except attention's key biases: a constant added
    // to every key's score leaves the softmax unchanged, so their gradient is zero but for
    // rounding, which AdamW, dividing by its root mean square, turns into steps of up to the
    // learning rate in either direction, in both runs alike.
    assert_ne!(
        one_weights, two_weights,
        "the two-replica run took the same path"
    );
    assert_eq!(one_weights.len(), two_weights.len());
    let mut compared = 0;
    for ((path, a), (_, b)) in one_weights.iter().zip(&two_weights) {
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        let bound = match path.ends_with(".key.bias") {
            true => 2e-3,
            false => 1e-5,
        };
        assert!(worst <= bound, "{path}: differs by up to {worst}");
        compared += a.len();
    }
    assert!(compared > 80_000, "only {compared} weights compared");

    let (one, two) = (&one.best, &two.best);
    assert_eq!(one.epoch, two.epoch);
    // A prediction on the edge may flip with the last bits: at most one dev utterance.
    let dev_utterances = 100.0 / one.dev.per_class.iter().map(|c| c.support).sum::<usize>() as f64;
    assert!(
        (one.dev.accuracy - two.dev.accuracy).abs() <= dev_utterances + 1e-9,
        "dev accuracy {} vs {}",
        one.dev.accuracy,
        two.dev.accuracy
    );
}
