//! Garbage in, a clear error out: generated bad input for the config loader, the CSV readers,
//! the weight and model-folder loaders and media decoding. Each must return an error (which
//! the binaries turn into exit 2) or a usable value, and never panic. Seeded and bounded, so it
//! runs the same cases in a few seconds every time.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use burn::backend::NdArray;
use mer_core::config::{RawConfig, Source};
use mer_core::input::data::{DataConfig, Dataset, LabelKind};
use mer_core::registry;
use mer_core::store::Store;
use mer_datasets::media::audio::{AudioOptions, load_audio};
use mer_datasets::media::video::sample_frames;
use mer_datasets::{Split, load};
use models::Unimodal;
use models::unimodal::DEMO_CONFIG;

/// A small seeded generator (xorshift64*): the same cases on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// Up to `n` random bytes.
    fn some_bytes(&mut self, n: usize) -> Vec<u8> {
        let len = self.below(n);
        self.bytes(len)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Runs `f`, failing the test with `case` if it panics.
fn no_panic<T>(case: &str, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| panic!("panicked on {case}"))
}

/// Bytes of `text` with a few of them replaced, or the text cut short.
fn damaged(rng: &mut Rng, text: &[u8]) -> Vec<u8> {
    let mut bytes = text.to_vec();
    if rng.below(2) == 0 {
        bytes.truncate(rng.below(bytes.len().max(1)));
    } else {
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(bytes.len().max(1));
            if let Some(b) = bytes.get_mut(at) {
                *b = rng.next() as u8;
            }
        }
    }
    bytes
}

/// Plans `text` as the `mer plan` command does: resolve, pick the architecture, build.
fn plan(text: &str, overrides: &[String]) -> Result<(), String> {
    let raw = RawConfig::from_sources(&[Source::new("fuzz.toml", text)], overrides)
        .map_err(|e| e.to_string())?;
    let registration = registry::for_config(&raw, None).map_err(|e| e.to_string())?;
    (registration.plan)(&raw)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn configs_damaged_or_with_wild_values_are_refused_or_planned_never_panic() {
    let mut rng = Rng(0x5eed_0001);
    for i in 0..150 {
        let text = String::from_utf8_lossy(&damaged(&mut rng, DEMO_CONFIG.as_bytes())).into_owned();
        let _ = no_panic(&format!("damaged config #{i}"), || plan(&text, &[]));
    }
    let keys = [
        "model.dropout",
        "model.head.dropout",
        "model.projector.output",
        "model.projector.depth",
        "model.text.max_len",
        "model.text.shape.hidden",
        "model.text.shape.heads",
        "model.text.shape.layers",
        "model.text.shape.intermediate",
        "model.text.shape.vocab_size",
        "model.text.shape.max_positions",
        "model.text.lora.r",
        "training.batch_size",
        "training.learning_rate",
        "training.epochs",
        "training.warmup_ratio",
        "training.grad_clip",
        "training.losses.classification.weight",
    ];
    // Small values a network can be built with, and values no network should accept.
    let values = [
        "0",
        "1",
        "3",
        "16",
        "-1",
        "1.5",
        "-0.1",
        "0.999",
        "1e30",
        "-1e30",
        "nan",
        "inf",
        "1000000000000",
        "18446744073709551615",
        "\"x\"",
        "[]",
        "{}",
        "true",
    ];
    let (mut planned, mut refused) = (0, 0);
    for _ in 0..250 {
        let overrides: Vec<String> = (0..1 + rng.below(3))
            .map(|_| format!("{}={}", rng.pick(&keys), rng.pick(&values)))
            .collect();
        let result = no_panic(&format!("{overrides:?}"), || plan(DEMO_CONFIG, &overrides));
        match result {
            Ok(()) => planned += 1,
            Err(message) => {
                refused += 1;
                assert!(
                    message.contains("fuzz.toml") || message.contains("--set"),
                    "{overrides:?}: an error names where: {message}"
                );
            }
        }
    }
    // The cases reach both outcomes: the generator is not only feeding parse errors.
    assert!(
        planned > 20 && refused > 20,
        "{planned} planned, {refused} refused"
    );
}

#[test]
fn damaged_csv_files_are_read_or_refused_never_panic() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/demo/train_sent_emo.csv");
    let csv = std::fs::read(demo).unwrap();
    let mut rng = Rng(0x5eed_0002);
    for i in 0..120 {
        let tmp = tempfile::tempdir().unwrap();
        let bytes = match i % 3 {
            0 => damaged(&mut rng, &csv),
            1 => rng.some_bytes(400),
            _ => [
                &csv[..csv.iter().position(|&b| b == b'\n').unwrap() + 1],
                &rng.bytes(64),
            ]
            .concat(),
        };
        let dataset = if i % 2 == 0 {
            Dataset::Meld
        } else {
            Dataset::Iemocap
        };
        let name = match dataset {
            Dataset::Iemocap => "train.csv",
            _ => "train_sent_emo.csv",
        };
        std::fs::write(tmp.path().join(name), &bytes).unwrap();
        let config = DataConfig {
            dataset,
            label: LabelKind::Emotion,
            root: Some(tmp.path().display().to_string()),
        };
        let _ = no_panic(&format!("csv #{i}"), || load(&config, Split::Train));
    }
}

#[test]
fn weights_config_json_and_media_that_are_garbage_are_refused_never_panic() {
    type B = NdArray<f32>;
    let mut rng = Rng(0x5eed_0003);
    let run: mer_core::run::RunConfig<models::UnimodalConfig> =
        RawConfig::from_sources(&[Source::new("demo.toml", DEMO_CONFIG)], &[] as &[&str])
            .unwrap()
            .resolve()
            .unwrap();

    // A checkpoint whose weight files are random or cut short.
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path().join("store"));
    let network: Unimodal<B> = run.model.init(&Default::default());
    let manifest = mer_core::store::Manifest {
        architecture: "unimodal".into(),
        summary: "1xE--T".into(),
        hash: "00000000".into(),
        seed: 1,
        parts: Default::default(),
        metrics: None,
    };
    let dir = Path::new("training/x/y/z/00000000--1");
    store.save(dir, &network, "x = 1\n", manifest).unwrap();
    let exported = tmp.path().join("exported");
    store.export(dir, &exported).unwrap();
    let head = std::fs::read(exported.join("head.safetensors")).unwrap();
    for i in 0..40 {
        let bytes = if i % 2 == 0 {
            damaged(&mut rng, &head)
        } else {
            rng.some_bytes(300)
        };
        std::fs::write(exported.join("head.safetensors"), &bytes).unwrap();
        let fresh: Unimodal<B> = run.model.init(&Default::default());
        let _ = no_panic(&format!("weights #{i}"), || store.load(&exported, fresh));
    }

    // A model folder whose config.json holds random values.
    let fields = [
        "vocab_size",
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "intermediate_size",
        "max_position_embeddings",
        "type_vocab_size",
        "pad_token_id",
    ];
    let values: [serde_json::Value; 8] = [
        0.into(),
        1.into(),
        3.into(),
        (-1).into(),
        1_000_000_000_000u64.into(),
        "x".into(),
        serde_json::Value::Null,
        2.5.into(),
    ];
    for i in 0..80 {
        let mut config = serde_json::json!({
            "model_type": "bert", "vocab_size": 50, "hidden_size": 16,
            "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 32,
            "max_position_embeddings": 40, "type_vocab_size": 2, "hidden_act": "gelu",
        });
        config[*rng.pick(&fields)] = rng.pick(&values).clone();
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join("config.json"), config.to_string()).unwrap();
        let _ = no_panic(&format!("config.json #{i}: {config}"), || {
            mer_core::encoders::text::hf::read_shape(folder.path())
        });
    }

    // Media files of random or damaged bytes.
    let clip =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/demo/audios/train/dia0_utt0.flac");
    let flac = std::fs::read(clip).unwrap();
    let video =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/demo/videos/train/dia0_utt0.mp4");
    let mp4 = std::fs::read(video).unwrap();
    for i in 0..30 {
        let folder = tempfile::tempdir().unwrap();
        let audio = folder.path().join("a.flac");
        std::fs::write(
            &audio,
            if i % 2 == 0 {
                damaged(&mut rng, &flac)
            } else {
                rng.bytes(200)
            },
        )
        .unwrap();
        let _ = no_panic(&format!("audio #{i}"), || {
            load_audio(&audio, &AudioOptions::default())
        });
        let frames = folder.path().join("v.mp4");
        std::fs::write(
            &frames,
            if i % 2 == 0 {
                damaged(&mut rng, &mp4)
            } else {
                rng.bytes(200)
            },
        )
        .unwrap();
        let _ = no_panic(&format!("video #{i}"), || sample_frames(&frames, 4));
    }
}
