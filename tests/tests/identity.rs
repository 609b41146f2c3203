//! The identity hash: what changes it and what never does.

use mer_core::config::identity::Identity;
use mer_core::config::{RawConfig, Source};
use mer_core::run::RunConfig;
use models::UnimodalConfig;
use models::unimodal::DEMO_CONFIG;
use serde_json::Value as Json;

fn run(text: &str, overrides: &[&str]) -> RunConfig<UnimodalConfig> {
    RawConfig::from_sources(&[Source::new("test.toml", text)], overrides)
        .and_then(|raw| raw.resolve())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn key_order_comments_and_explicit_defaults_keep_the_hash() {
    let demo = run(DEMO_CONFIG, &[]).identity();
    let permuted = r#"
# Same network as the demo, written differently.
architecture = "unimodal"
[data]
label = "emotion"

[model.head]
dropout = 0.1        # the default, written out
num_classes = 7
input = 64

[model]
dropout = 1e-1       # 0.1 in another spelling

[model.projector]
output = 64
input = 64

[model.text.shape]
pad_token_id = 1
max_positions = 130
intermediate = 128
heads = 4
layers = 2
hidden = 64
vocab_size = 64
family = "roberta"
type_vocab_size = 1  # the default
layer_norm_eps = 1e-5

[model.text]
prompt = "dialogue"
pooling = "mask"
mode = "trainable"
max_len = 128
dropout = 0.1

[training]
seed = 42
"#;
    assert_eq!(run(permuted, &[]).identity(), demo);
    let minimal = "architecture = \"unimodal\"\n[model.text.shape]\nvocab_size = 64\n[model.head]\nnum_classes = 7\n";
    let minimal = run(
        minimal,
        &[
            "model.projector.input=64",
            "model.projector.output=64",
            "model.head.input=64",
            "model.text.shape.max_positions=130",
        ],
    );
    assert_eq!(minimal.identity(), demo);
}

#[test]
fn integer_and_float_spellings_of_a_float_agree() {
    let a = run(DEMO_CONFIG, &["model.head.dropout=0"]).identity();
    let b = run(DEMO_CONFIG, &["model.head.dropout=0.0"]).identity();
    assert_eq!(a, b);
}

/// Every leaf of the architecture config, by dotted path.
fn leaves(value: &Json, path: String, out: &mut Vec<(String, Json)>) {
    match value {
        Json::Object(map) => {
            for (key, inner) in map {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                leaves(inner, path, out);
            }
        }
        leaf => out.push((path, leaf.clone())),
    }
}

fn set(value: &mut Json, path: &str, new: Json) {
    let mut target = value;
    for segment in path.split('.') {
        target = &mut target[segment];
    }
    *target = new;
}

/// A different value of the same type.
fn changed(value: &Json) -> Json {
    match value {
        Json::Bool(b) => Json::Bool(!b),
        Json::Number(n) if n.is_u64() => Json::from(n.as_u64().unwrap() + 1),
        Json::Number(n) => Json::from(n.as_f64().unwrap() * 0.5 + 0.01),
        Json::Null => Json::String("set".into()),
        Json::String(s) => Json::String(
            match s.as_str() {
                "trainable" => "frozen",
                "frozen" => "trainable",
                "mean" => "cls",
                "cls" => "mean",
                "mask" => "cls",
                "dialogue" => "utterance",
                "roberta" => "bert",
                other => panic!("no other choice known for {other:?}: extend this test"),
            }
            .into(),
        ),
        other => panic!("unexpected leaf {other}"),
    }
}

#[test]
fn every_architecture_value_changes_the_hash() {
    let base = run(DEMO_CONFIG, &[]);
    let model = serde_json::to_value(&base.model).unwrap();
    let mut all = Vec::new();
    leaves(&model, String::new(), &mut all);
    assert!(
        all.len() >= 15,
        "expected every model key, found {}",
        all.len()
    );
    let base_hash = base.identity();
    for (path, value) in all {
        let mut mutated = model.clone();
        set(&mut mutated, &path, changed(&value));
        let config: UnimodalConfig = serde_json::from_value(mutated).unwrap();
        assert_ne!(
            Identity::of("unimodal", &config),
            base_hash,
            "changing model.{path} must change the hash"
        );
    }
}

#[test]
fn run_settings_change_the_folder_not_the_hash() {
    let base = run(DEMO_CONFIG, &[]);
    for overrides in [
        &["training.seed=7"][..],
        &["training.batch_size=2"],
        &["training.learning_rate=3e-5", "training.epochs=1"],
        &["training.losses.classification.kind=focal"],
        &["data.root=/elsewhere"],
        &["output.checkpoints=/tmp/ckpt"],
    ] {
        let other = run(DEMO_CONFIG, overrides);
        assert_eq!(other.identity(), base.identity(), "{overrides:?}");
    }
    let seeded = run(DEMO_CONFIG, &["training.seed=7"]);
    let batched = run(
        DEMO_CONFIG,
        &[
            "training.batch_size=2",
            "training.losses.classification.kind=focal",
        ],
    );
    // Golden: the demo default's network and training settings.
    assert_eq!(
        base.checkpoint_id().relative_dir().to_str().unwrap(),
        "training/demo--E/trainable--8/1xE--T/2dd1beb3-a91892e3--42"
    );
    assert_eq!(
        seeded.checkpoint_id().relative_dir().to_str().unwrap(),
        "training/demo--E/trainable--8/1xE--T/2dd1beb3-a91892e3--7"
    );
    let dir = batched.checkpoint_id().relative_dir();
    assert!(
        dir.starts_with("training/demo--E/trainable--2--focal/1xE--T")
            && dir.to_str().unwrap().ends_with("--42")
            && dir.to_str().unwrap().contains("2dd1beb3-"),
        "{}",
        dir.display()
    );
    let frozen = run(
        DEMO_CONFIG,
        &["model.text.mode=frozen", "data.label=sentiment"],
    );
    let dir = frozen.checkpoint_id().relative_dir();
    assert!(
        dir.starts_with("training/demo--S/frozen--8/1xE--T"),
        "{}",
        dir.display()
    );
}

#[test]
fn every_setting_that_changes_the_weights_makes_its_own_folder() {
    let base = run(DEMO_CONFIG, &[]);
    let dir = |r: &RunConfig<UnimodalConfig>| r.checkpoint_id().relative_dir();
    let mut seen = vec![dir(&base)];
    for overrides in [
        &["training.learning_rate=3e-5"][..],
        &["training.warmup_ratio=0.2"],
        &["training.epochs=5"],
        &["training.patience=2"],
        &["training.weight_decay=0.1"],
        &["training.grad_clip=0.5"],
        &["training.losses.classification.kind=focal"],
        &[
            "training.losses.classification.kind=focal",
            "training.losses.classification.gamma=1.0",
        ],
        &["training.losses.classification.weight=0.5"],
    ] {
        let other = run(DEMO_CONFIG, overrides);
        assert_eq!(other.identity(), base.identity(), "the network is the same");
        let other_dir = dir(&other);
        assert!(
            !seen.contains(&other_dir),
            "{overrides:?}: {}",
            other_dir.display()
        );
        seen.push(other_dir);
    }
    // What changes no weight leaves the folder as it was.
    for overrides in [
        &["training.eval_batch_size=4"][..],
        &["training.keep_all_epochs=true"],
        &["output.cache=/elsewhere"],
    ] {
        assert_eq!(
            dir(&run(DEMO_CONFIG, overrides)),
            dir(&base),
            "{overrides:?}"
        );
    }
}

#[test]
fn golden_vectors_hold() {
    #[derive(serde::Deserialize)]
    struct Golden {
        vector: Vec<Vector>,
    }
    #[derive(serde::Deserialize)]
    struct Vector {
        name: String,
        config: String,
        hash: String,
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/golden/identity.toml");
    let golden: Golden = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(golden.vector.len() >= 3);
    let mismatches: Vec<String> = golden
        .vector
        .iter()
        .filter_map(|v| {
            let actual = run(&v.config, &[]).identity();
            (actual.as_str() != v.hash)
                .then(|| format!("{}: expected {}, got {actual}", v.name, v.hash))
        })
        .collect();
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}
