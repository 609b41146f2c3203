//! Encoder modes: frozen encoders and their feature cache, LoRA adapters, and what the store
//! keeps of each.

use std::fs;
use std::path::{Path, PathBuf};

use burn::backend::{Autodiff, NdArray};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use mer_core::architecture::Architecture;
use mer_core::cache::FeatureCache;
use mer_core::config::{RawConfig, Source};
use mer_core::input::{Batch, Sample};
use mer_core::nn::weights::{Tensors, part_bytes};
use mer_core::run::RunConfig;
use mer_core::store::Store;
use mer_core::train::{self, FrozenFeatures, SplitName, TrainData};
use models::unimodal::DEMO_CONFIG;
use models::{Unimodal, UnimodalConfig, text_data};

type B = NdArray<f32>;
type AB = Autodiff<B>;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// The demo config with `overrides`.
fn run_config(overrides: &[String]) -> RunConfig<UnimodalConfig> {
    RawConfig::from_sources(&[Source::new("demo.toml", DEMO_CONFIG)], overrides)
        .and_then(|raw| raw.resolve())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The demo config reading through the tiny pretrained RoBERTa fixture.
fn pretrained(root: &Path, mode: &str, extra: &[&str]) -> RunConfig<UnimodalConfig> {
    let dir = fixture("tiny-roberta");
    let config: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("config.json")).unwrap()).unwrap();
    let hidden = config["hidden_size"].as_u64().unwrap();
    // `shape` must be absent with `pretrained`: drop the demo's.
    let mut base: toml::Value = toml::from_str(DEMO_CONFIG).unwrap();
    base["model"]["text"]
        .as_table_mut()
        .unwrap()
        .remove("shape");
    let mut overrides = vec![
        format!("model.text.pretrained=\"{}\"", dir.display()),
        format!("model.text.mode=\"{mode}\""),
        format!("model.projector.input={hidden}"),
        format!(
            "output.checkpoints=\"{}\"",
            root.join("checkpoints").display()
        ),
        format!("output.cache=\"{}\"", root.join("cache").display()),
        "training.epochs=1".to_owned(),
        "model.text.max_len=64".to_owned(),
    ];
    overrides.extend(extra.iter().map(|s| s.to_string()));
    let base = toml::to_string(&base).unwrap();
    RawConfig::from_sources(&[Source::new("demo.toml", base)], &overrides)
        .and_then(|raw| raw.resolve())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn data(run: &RunConfig<UnimodalConfig>) -> TrainData {
    text_data::load(&run.data, Some(&run.model.text.config))
        .unwrap()
        .0
}

/// The backend's random state is global: tests that draw weights take turns, or two tests
/// seeding at once would each draw some of the other's numbers.
static RANDOM: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn with_random<T>(f: impl FnOnce() -> T) -> T {
    let _turn = RANDOM.lock().unwrap_or_else(|e| e.into_inner());
    f()
}

fn network<Bk: Backend>(run: &RunConfig<UnimodalConfig>) -> Unimodal<Bk> {
    with_random(|| {
        Bk::seed(&Default::default(), run.training.seed);
        run.model.init::<Bk>(&Default::default())
    })
}

fn prepare(
    run: &RunConfig<UnimodalConfig>,
    data: &TrainData,
    cache: &FeatureCache,
) -> FrozenFeatures {
    FrozenFeatures::prepare(
        &network::<B>(run),
        &run.model,
        data,
        "demo--E",
        cache,
        (16, &Default::default()),
        &Default::default(),
    )
    .unwrap()
}

/// The encoder run directly over `samples`, one row per sample.
fn direct(run: &RunConfig<UnimodalConfig>, data: &TrainData, split: &[Sample]) -> Vec<f32> {
    let net = network::<B>(run);
    let refs: Vec<&Sample> = split.iter().collect();
    let batch = Batch::<B>::new(&refs, data.pad_id, &Default::default());
    net.encode_part("text", &batch)
        .unwrap()
        .into_data()
        .to_vec()
        .unwrap()
}

fn cached(frozen: &FrozenFeatures, split: SplitName, n: usize) -> Vec<f32> {
    let mut batch = Batch::<B>::new(&[], 1, &Default::default());
    let indices: Vec<usize> = (0..n).collect();
    frozen.attach(&mut batch, split, &indices, &Default::default());
    batch.features["text"].clone().into_data().to_vec().unwrap()
}

/// Inputs with distinct content (repeated utterances are encoded once).
fn unique(splits: &[&[Sample]]) -> usize {
    splits
        .iter()
        .map(|split| {
            split
                .iter()
                .map(|s| &s.text_ids)
                .collect::<std::collections::HashSet<_>>()
                .len()
        })
        .sum()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn frozen_features_equal_the_encoder_and_come_from_the_cache_the_second_time() {
    let tmp = tempfile::tempdir().unwrap();
    let run = run_config(&["model.text.mode=\"frozen\"".into()]);
    let data = data(&run);
    let total = data.train.len() + data.dev.len() + data.test.len();
    let distinct = unique(&[&data.train, &data.dev, &data.test]);

    let first = FeatureCache::new(tmp.path(), 1 << 20);
    let frozen = prepare(&run, &data, &first);
    assert_eq!(first.stats().computed, distinct);
    assert_eq!(first.stats().hits, 0);

    // Equal to the encoder run unfrozen (trainable mode, same seed) on the same inputs.
    let trainable = run_config(&[]);
    let expected = direct(&trainable, &data, &data.dev);
    let from_cache = cached(&frozen, SplitName::Dev, data.dev.len());
    assert!(max_diff(&expected, &from_cache) < 1e-5);

    // A second run, with a fresh cache handle on the same folder, computes nothing.
    let second = FeatureCache::new(tmp.path(), 1 << 20);
    let again = prepare(&run, &data, &second);
    assert_eq!(second.stats().computed, 0);
    assert_eq!(second.stats().hits, total);
    assert_eq!(cached(&again, SplitName::Dev, data.dev.len()), from_cache);

    // The head, seed and learning rate do not change the encoder's identity …
    let other_head = run_config(&[
        "model.text.mode=\"frozen\"".into(),
        "model.projector.output=32".into(),
        "model.head.input=32".into(),
        "training.learning_rate=1e-4".into(),
    ]);
    let third = FeatureCache::new(tmp.path(), 0);
    prepare(&other_head, &data, &third);
    assert_eq!(third.stats().computed, 0, "a new head reuses the features");

    // … the prompt template does: every input is new.
    let utterance = run_config(&[
        "model.text.mode=\"frozen\"".into(),
        "model.text.prompt=\"utterance\"".into(),
        "model.text.pooling=\"mean\"".into(),
    ]);
    let utterance_data = self::data(&utterance);
    let fourth = FeatureCache::new(tmp.path(), 1 << 20);
    prepare(&utterance, &utterance_data, &fourth);
    assert_eq!(fourth.stats().hits, 0);
    assert_eq!(
        fourth.stats().computed,
        unique(&[
            &utterance_data.train,
            &utterance_data.dev,
            &utterance_data.test
        ])
    );

    let listed = second.list().unwrap();
    assert_eq!(listed.len(), 6, "two identities × three splits");
    let (checked, bad) = second.verify().unwrap();
    assert_eq!((checked, bad.len()), (6, 0));
}

#[test]
fn a_corrupted_shard_is_detected_and_recomputed() {
    let tmp = tempfile::tempdir().unwrap();
    let run = run_config(&["model.text.mode=\"frozen\"".into()]);
    let data = data(&run);
    let cache = FeatureCache::new(tmp.path(), 1 << 20);
    let reference = cached(
        &prepare(&run, &data, &cache),
        SplitName::Train,
        data.train.len(),
    );

    let shard = shard_files(tmp.path())
        .into_iter()
        .find(|p| p.parent().unwrap().ends_with("demo--E-train"))
        .unwrap();
    let mut bytes = fs::read(&shard).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x5a;
    fs::write(&shard, &bytes).unwrap();
    let (_, bad) = cache.verify().unwrap();
    assert_eq!(bad.len(), 1, "verify names the corrupted shard");

    let after = FeatureCache::new(tmp.path(), 1 << 20);
    let recovered = prepare(&run, &data, &after);
    assert_eq!(after.stats().recovered_shards, 1);
    assert_eq!(after.stats().computed, unique(&[&data.train]));
    assert_eq!(
        cached(&recovered, SplitName::Train, data.train.len()),
        reference
    );

    // A truncated shard, likewise.
    let shard = shard_files(tmp.path())
        .into_iter()
        .find(|p| p.parent().unwrap().ends_with("demo--E-dev"))
        .unwrap();
    let bytes = fs::read(&shard).unwrap();
    fs::write(&shard, &bytes[..bytes.len() / 2]).unwrap();
    let last = FeatureCache::new(tmp.path(), 1 << 20);
    prepare(&run, &data, &last);
    assert_eq!(last.stats().recovered_shards, 1);
    assert_eq!(last.stats().computed, unique(&[&data.dev]));
}

#[test]
fn two_writers_at_once_leave_a_valid_cache() {
    let tmp = tempfile::tempdir().unwrap();
    // Pretrained weights: the backend's random state is global, so threads drawing random
    // encoders at once would draw different ones.
    let run = pretrained(tmp.path(), "frozen", &[]);
    let data = data(&run);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let cache = FeatureCache::new(tmp.path(), 1 << 20);
                prepare(&run, &data, &cache);
            });
        }
    });
    let cache = FeatureCache::new(tmp.path(), 1 << 20);
    let (checked, bad) = cache.verify().unwrap();
    assert!(
        checked >= 3 && bad.is_empty(),
        "{checked} shards, bad: {bad:?}"
    );
    prepare(&run, &data, &cache);
    assert_eq!(cache.stats().computed, 0);
    assert!(
        !walk(tmp.path())
            .iter()
            .any(|p| p.to_string_lossy().contains(".tmp-")),
        "no temporary files are left"
    );
}

#[test]
fn lora_starts_as_the_base_model_and_leaves_the_base_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let base_run = pretrained(tmp.path(), "trainable", &[]);
    let lora_run = pretrained(
        tmp.path(),
        "lora",
        &[
            "model.text.lora.r=4",
            "model.text.lora.alpha=8",
            "model.text.lora.targets=[\"query\", \"value\"]",
        ],
    );
    let data = data(&lora_run);
    let refs: Vec<&Sample> = data.dev.iter().collect();
    let batch = Batch::<B>::new(&refs, data.pad_id, &Default::default());
    let base = network::<B>(&base_run);
    let adapted = network::<B>(&lora_run);
    let adapters = mer_core::nn::lora::adapters(&adapted.text);
    assert_eq!(adapters.len(), 2 * adapted.text.bert.encoder.layer.len());
    assert!(
        adapters
            .iter()
            .all(|(path, r)| *r == 4 && (path.ends_with("query") || path.ends_with("value")))
    );
    let expected: Vec<f32> = base.encode_text(&batch).into_data().to_vec().unwrap();
    let got: Vec<f32> = adapted.encode_text(&batch).into_data().to_vec().unwrap();
    assert_eq!(
        expected, got,
        "B = 0: the adapted encoder computes the base model"
    );

    // Train; the checkpoint's base blob is byte-identical to the base weights before training,
    // and only adapters train.
    let before = part_bytes(&adapted.text, Path::new("text"), Tensors::Base).unwrap();
    let store = Store::new(&lora_run.output.checkpoints);
    let toml = toml::to_string(&lora_run).unwrap();
    let outcome = with_random(|| {
        train::train::<AB, Unimodal<AB>>(&lora_run, &toml, &data, &store, &Default::default())
    })
    .unwrap();
    let after = fs::read(outcome.dir.join("text.safetensors")).unwrap();
    assert_eq!(
        before, after,
        "LoRA training leaves the base weights bit-identical"
    );
    let trained = store
        .load(&outcome.dir, lora_run.model.init::<B>(&Default::default()))
        .unwrap();
    let moved = mer_core::nn::lora::adapters(&trained.text).len();
    assert_eq!(moved, adapters.len(), "adapters are saved and loaded back");
    let b_norm: f32 = trained
        .text
        .bert
        .encoder
        .layer
        .iter()
        .map(|l| {
            l.attention
                .self_attn
                .query
                .lora
                .b
                .val()
                .abs()
                .sum()
                .into_scalar()
        })
        .sum();
    assert!(b_norm > 0.0, "the adapters trained");

    // Merging folds the adapters in: same outputs, no adapters left.
    let merged = mer_core::nn::lora::merge(trained.text.clone());
    assert!(mer_core::nn::lora::adapters(&merged).is_empty());
    let with: Tensor<B, 2> = trained
        .text
        .forward(batch.text.ids.clone(), batch.text.attention_mask.clone());
    let without = merged.forward(batch.text.ids.clone(), batch.text.attention_mask.clone());
    let diff: f32 = (with.clone() - without).abs().max().into_scalar();
    assert!(
        diff < 1e-4,
        "merged weights compute the adapted model (Δ {diff})"
    );

    // `mer export --merge-lora`: a Hugging Face folder our loader (which reads Hugging Face
    // names) loads back to the same outputs.
    let dest = tmp.path().join("export");
    models::export::export_merged(&store, &outcome.dir, &dest).unwrap();
    let hf = dest.join(models::export::HF_DIR);
    let mut reloaded = lora_run.model.text.config.clone();
    reloaded.pretrained = Some(hf.display().to_string());
    reloaded.tokenizer = None;
    let (encoder, report) = reloaded
        .try_init_reporting::<B>(&Default::default())
        .unwrap();
    assert!(report.unwrap().unused.is_empty(), "no stray tensors");
    let exported = encoder.forward(batch.text.ids.clone(), batch.text.attention_mask.clone());
    let diff: f32 = (with - exported).abs().max().into_scalar();
    assert!(
        diff < 1e-4,
        "the export computes the adapted model (Δ {diff})"
    );
}

/// Trains `run` on its data to the end, into its own store.
fn fit(run: &RunConfig<UnimodalConfig>) -> train::Outcome {
    let data = data(run);
    let store = Store::new(&run.output.checkpoints);
    let toml = toml::to_string(run).unwrap();
    with_random(|| train::train::<AB, Unimodal<AB>>(run, &toml, &data, &store, &Default::default()))
        .unwrap()
}

/// bf16 products (emulated on the CPU) train like f32 without being f32; padding to buckets
/// trains exactly as padding to each batch's longest, in the same checkpoint folder name.
/// Without dropout: its masks are drawn per position, padded ones included, so a padded batch
/// draws other masks (as in PyTorch).
#[test]
fn bf16_tracks_fp32_and_bucket_padding_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let train = |name: &str, extra: &[&str]| {
        let mut extra = extra.to_vec();
        extra.extend(["training.epochs=2", "model.text.dropout=0.0"]);
        let run = pretrained(&tmp.path().join(name), "trainable", &extra);
        let outcome = fit(&run);
        let relative = outcome.dir.strip_prefix(&run.output.checkpoints).unwrap();
        (relative.to_owned(), outcome)
    };
    let (fp32_dir, longest) = train("fp32", &[]);
    let (bucketed_dir, outcome) = train("bucketed", &["training.pad_tokens=[64]"]);
    let (bf16_dir, bf16_run) = train("bf16", &["training.precision=\"bf16\""]);
    let (fp32, bucketed, bf16) = (
        &longest.train_losses,
        &outcome.train_losses,
        &bf16_run.train_losses,
    );
    assert_eq!(fp32.len(), 2);
    assert!(
        longest.batch_shapes.len() > outcome.batch_shapes.len(),
        "buckets make fewer shapes: {:?} vs {:?}",
        longest.batch_shapes,
        outcome.batch_shapes
    );
    // The demo's texts fit in 64 tokens (its `max_len` here): every batch has 64.
    let tokens: std::collections::BTreeSet<usize> =
        outcome.batch_shapes.iter().map(|s| s.tokens).collect();
    assert_eq!(tokens, [64].into(), "{:?}", outcome.batch_shapes);
    for (a, b) in fp32.iter().zip(bucketed) {
        assert!((a - b).abs() <= 1e-5 * a.abs(), "padded {b} vs {a}");
    }
    assert_eq!(
        fp32_dir, bucketed_dir,
        "padding is not part of the run's name"
    );
    assert_ne!(fp32_dir, bf16_dir, "bf16 runs are stored apart");
    for (a, b) in fp32.iter().zip(bf16) {
        assert!(
            a != b && (a - b).abs() <= 0.02 * a.abs(),
            "bf16 {b} vs fp32 {a}"
        );
    }
}

#[test]
fn five_seeds_of_a_frozen_encoder_store_its_weights_once() {
    let tmp = tempfile::tempdir().unwrap();
    let mut blobs = std::collections::BTreeSet::new();
    let mut heads = std::collections::BTreeSet::new();
    for seed in 1..=5 {
        let run = pretrained(tmp.path(), "frozen", &[&format!("training.seed={seed}")]);
        let outcome = fit(&run);
        if seed > 1 {
            assert_eq!(outcome.cache.computed, 0, "seed {seed} reads every feature");
            assert!(outcome.cache.hits > 0);
        }
        blobs.insert(fs::read_link(outcome.dir.join("text.safetensors")).unwrap());
        heads.insert(fs::read_link(outcome.dir.join("head.safetensors")).unwrap());
    }
    assert_eq!(blobs.len(), 1, "one encoder blob for five seeds");
    assert_eq!(heads.len(), 5, "each seed's head is its own");
}

fn shard_files(root: &Path) -> Vec<PathBuf> {
    walk(root)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect()
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(root).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
