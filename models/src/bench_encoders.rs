//! `mer bench encoders`: milliseconds per forward pass and per training step (forward, backward,
//! AdamW) of the text, audio and video encoders on random weights and inputs, at the demo's
//! shapes and at real sizes, beside PyTorch running the same shapes through transformers
//! (`scripts/reference/bench_encoders_torch.py`) with the same batch, inputs' shapes, dropout and
//! thread count.
//!
//! A case's shape travels to the PyTorch script as mer's own shape table (JSON), which the script
//! maps onto the transformers config, so both sides build the same network.

use std::path::Path;

use anyhow::Context;
use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Distribution, Int, Tensor};
use mer_core::config::schema::ConfigValue;
use mer_core::config::{RawConfig, Source};
use mer_core::encoders::audio::AudioEncoderConfig;
use mer_core::encoders::text::TextEncoderConfig;
use mer_core::encoders::video::VideoEncoderConfig;
use mer_core::registry::CpuTraining;
use mer_core::train::adamw::AdamWConfig;
use mer_kernels::{Precision, autocast};
use serde::Serialize;

const DEMO: &str = include_str!("../../experiments/multimodal/demo.toml");

/// One encoder at one size.
#[derive(Debug, Clone, Serialize)]
pub struct EncoderCase {
    pub name: &'static str,
    pub modality: &'static str,
    pub batch: usize,
    /// Tokens (text) or samples (audio); video reads `frames` × `image_size`².
    pub length: usize,
    /// The encoder's `[model.<modality>]` table, every default filled in (JSON for PyTorch).
    pub config: serde_json::Value,
    #[serde(skip)]
    toml: String,
}

/// The cases' names, in the order they run (`--case` takes these).
pub const CASES: [&str; 7] = [
    "text-demo",
    "text-minilm",
    "audio-demo",
    "video-demo",
    "audio-base",
    "video-base",
    "bert-base",
];

/// Which cases: the demo's encoders and the MiniLM text encoder (`demo`), or the base-size
/// audio, video and text (BERT-base: 32 × 128 tokens) encoders too (`all`).
pub fn cases(all: bool) -> anyhow::Result<Vec<EncoderCase>> {
    let demo: toml::Table = toml::from_str(DEMO)?;
    let table = |key: &str| toml::to_string(&demo["model"][key]).expect("a table");
    let mut out = vec![
        case(
            "text-demo",
            "text",
            16,
            64,
            &table("text").replace("\"mask\"", "\"mean\""),
        )?,
        case("text-minilm", "text", 16, 64, MINILM)?,
        case("audio-demo", "audio", 8, 16_000, &table("audio"))?,
        case("video-demo", "video", 8, 0, &table("video"))?,
    ];
    if all {
        out.push(case("audio-base", "audio", 2, 16_000, DATA2VEC_AUDIO_BASE)?);
        out.push(case("video-base", "video", 1, 0, VIDEOMAE_BASE)?);
        out.push(case("bert-base", "text", 32, 128, BERT_BASE)?);
    }
    Ok(out)
}

/// bert-base-uncased's shape: the reference point of GPU training speed.
const BERT_BASE: &str = r#"pooling = "mean"
[shape]
family = "bert"
vocab_size = 30522
hidden = 768
layers = 12
heads = 12
intermediate = 3072
max_positions = 512
type_vocab_size = 2
layer_norm_eps = 1e-12
pad_token_id = 0
"#;

/// all-MiniLM-L6-v2's shape.
const MINILM: &str = r#"pooling = "mean"
[shape]
family = "bert"
vocab_size = 30522
hidden = 384
layers = 6
heads = 12
intermediate = 1536
max_positions = 512
type_vocab_size = 2
layer_norm_eps = 1e-12
pad_token_id = 0
"#;

/// facebook/data2vec-audio-base's shape.
const DATA2VEC_AUDIO_BASE: &str = r#"max_samples = 16000
[shape]
kind = "data2vec-audio"
conv_dim = [512, 512, 512, 512, 512, 512, 512]
conv_kernel = [10, 3, 3, 3, 3, 2, 2]
conv_stride = [5, 2, 2, 2, 2, 2, 2]
hidden = 768
layers = 12
heads = 12
intermediate = 3072
pos_conv_kernel = 19
pos_conv_groups = 16
pos_conv_layers = 5
"#;

/// MCG-NJU/videomae-base's shape.
const VIDEOMAE_BASE: &str = r#"frames = 16
image_size = 224
[shape]
patch_size = 16
tubelet_size = 2
hidden = 768
layers = 12
heads = 12
intermediate = 3072
qkv_bias = true
layer_norm_eps = 1e-12
"#;

fn case(
    name: &'static str,
    modality: &'static str,
    batch: usize,
    length: usize,
    table: &str,
) -> anyhow::Result<EncoderCase> {
    // Resolved now, so the JSON the PyTorch side reads has every default mer would use.
    let config = match modality {
        "text" => serde_json::to_value(resolve::<TextEncoderConfig>(name, table)?)?,
        "audio" => serde_json::to_value(resolve::<AudioEncoderConfig>(name, table)?)?,
        _ => serde_json::to_value(resolve::<VideoEncoderConfig>(name, table)?)?,
    };
    Ok(EncoderCase {
        name,
        modality,
        batch,
        length,
        config,
        toml: table.to_owned(),
    })
}

fn resolve<T: ConfigValue>(name: &str, table: &str) -> anyhow::Result<T> {
    let raw = RawConfig::from_sources(&[Source::new(name, table)], &[] as &[&str])?;
    Ok(raw.resolve()?)
}

/// Both sides' figures for one case.
#[derive(Debug, Clone, Serialize)]
pub struct EncoderFigures {
    pub name: &'static str,
    pub batch: usize,
    pub forward_ms: f64,
    pub train_step_ms: f64,
    pub torch_forward_ms: Option<f64>,
    pub torch_train_step_ms: Option<f64>,
}

impl EncoderFigures {
    /// mer's speed as a fraction of PyTorch's (above 1: mer is faster).
    pub fn ratios(&self) -> (Option<f64>, Option<f64>) {
        (
            self.torch_forward_ms.map(|t| t / self.forward_ms),
            self.torch_train_step_ms.map(|t| t / self.train_step_ms),
        )
    }
}

/// The median of `steps` timed calls after `warmup` untimed ones, in milliseconds.
fn median_ms(steps: usize, warmup: usize, mut call: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        call();
    }
    let timed = crate::bench::median_ms(steps, || {
        call();
        Ok::<(), std::convert::Infallible>(())
    });
    timed.unwrap_or_else(|never| match never {})
}

/// A loss that reads every output value.
fn loss<B: Backend>(pooled: Tensor<B, 2>) -> Tensor<B, 1> {
    pooled.powf_scalar(2.0).mean()
}

/// How a case is timed: where, at which precision, and how many calls.
#[derive(Debug, Clone)]
pub struct Timing<D> {
    pub device: D,
    pub precision: Precision,
    /// Timed calls (the median is reported).
    pub steps: usize,
    /// Untimed calls first: on a GPU, the first calls of a shape compile and autotune its
    /// kernels.
    pub warmup: usize,
    /// Whether the forward pass is timed too (else its figure is NaN): on a GPU its warm-up
    /// compiles and tunes inference kernels a training-step benchmark has no use for.
    pub forward: bool,
}

/// Forward and training-step milliseconds of `network` on fixed random inputs.
fn measure<B, M>(
    network: M,
    timing: &Timing<B::Device>,
    forward: impl Fn(&M::InnerModule) -> Tensor<B::InnerBackend, 2>,
    train_forward: impl Fn(&M) -> Tensor<B, 2>,
) -> (f64, f64)
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
{
    let precision = timing.precision;
    let inner = network.valid();
    let forward_ms = if timing.forward {
        median_ms(timing.steps, timing.warmup, || {
            // Reading the output back waits for the device.
            let _ = autocast(precision, || forward(&inner)).into_data();
        })
    } else {
        f64::NAN
    };
    drop(inner);
    let mut optimizer = AdamWConfig::new().init::<B, M>();
    let mut network = Some(network);
    let train_step_ms = median_ms(timing.steps, timing.warmup, || {
        let current = network.take().expect("the network between steps");
        let grads = loss(autocast(precision, || train_forward(&current))).backward();
        let grads = GradientsParams::from_grads(grads, &current);
        network = Some(optimizer.step(1e-4, current, grads));
        B::sync(&timing.device).expect("the device finishes the step");
    });
    (forward_ms, train_step_ms)
}

/// mer's figures for one case on backend `B`: forward and training-step milliseconds.
pub fn run_case<B: AutodiffBackend>(
    case: &EncoderCase,
    timing: &Timing<B::Device>,
) -> anyhow::Result<(f64, f64)> {
    let device = &timing.device;
    B::seed(device, 7);
    let n = case.batch;
    Ok(match case.modality {
        "text" => {
            let config: TextEncoderConfig = resolve(case.name, &case.toml)?;
            let vocab = config.shape.as_ref().map_or(64, |s| s.vocab_size);
            let t = case.length;
            let ids = Tensor::<B::InnerBackend, 2, Int>::random(
                [n, t],
                Distribution::Uniform(3.0, vocab as f64),
                device,
            );
            let mask = Tensor::<B::InnerBackend, 2, Int>::ones([n, t], device);
            let (ids_t, mask_t) = (
                Tensor::<B, 2, Int>::from_inner(ids.clone()),
                Tensor::<B, 2, Int>::from_inner(mask.clone()),
            );
            measure(
                config.init::<B>(device),
                timing,
                |m| m.forward(ids.clone(), mask.clone()),
                |m| m.forward(ids_t.clone(), mask_t.clone()),
            )
        }
        "audio" => {
            let config: AudioEncoderConfig = resolve(case.name, &case.toml)?;
            let waves = Tensor::<B::InnerBackend, 2>::random(
                [n, case.length],
                Distribution::Default,
                device,
            );
            let mask = Tensor::<B::InnerBackend, 2, Int>::ones([n, case.length], device);
            let (waves_t, mask_t) = (
                Tensor::<B, 2>::from_inner(waves.clone()),
                Tensor::<B, 2, Int>::from_inner(mask.clone()),
            );
            measure(
                config.init::<B>(device),
                timing,
                |m| m.forward(waves.clone(), mask.clone()),
                |m| m.forward(waves_t.clone(), mask_t.clone()),
            )
        }
        _ => {
            let config: VideoEncoderConfig = resolve(case.name, &case.toml)?;
            let input = config.input().context("the video input's shape")?;
            let shape = [n, input.frames, 3, input.size, input.size];
            let pixels = Tensor::<B::InnerBackend, 5>::random(shape, Distribution::Default, device);
            let pixels_t = Tensor::<B, 5>::from_inner(pixels.clone());
            measure(
                config.init::<B>(device),
                timing,
                |m| m.forward(pixels.clone()),
                |m| m.forward(pixels_t.clone()),
            )
        }
    })
}

/// Runs the PyTorch script on `cases`; its figures by case name.
pub fn torch(
    script: &Path,
    cases: &[EncoderCase],
    steps: usize,
    threads: usize,
) -> anyhow::Result<Vec<(String, f64, f64)>> {
    let spec = serde_json::to_string(cases)?;
    let (steps, threads) = (steps.to_string(), threads.to_string());
    let args = ["--steps", &steps, "--threads", &threads, "--cases", &spec];
    let parsed = crate::bench::python_json(script, &args)?;
    let rows = parsed["cases"].as_array().cloned().unwrap_or_default();
    Ok(rows
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default().to_owned(),
                r["forward_ms"].as_f64().unwrap_or(f64::NAN),
                r["train_step_ms"].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect())
}

/// `mer bench encoders`: mer's figures for every case, then PyTorch's, as a table (and JSON).
pub fn report(
    all: bool,
    only: &[String],
    steps: usize,
    no_torch: bool,
    json: bool,
) -> anyhow::Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut cases = cases(all || only.iter().any(|n| n.ends_with("-base")))?;
    if !only.is_empty() {
        cases.retain(|c| only.iter().any(|n| n == c.name));
    }
    let mut figures = Vec::new();
    let timing = Timing {
        device: Default::default(),
        precision: Precision::F32,
        steps,
        warmup: 1,
        forward: true,
    };
    for case in &cases {
        let (forward_ms, train_step_ms) = run_case::<CpuTraining>(case, &timing)?;
        eprintln!(
            "{}: forward {forward_ms:.1} ms, train step {train_step_ms:.1} ms",
            case.name
        );
        figures.push(EncoderFigures {
            name: case.name,
            batch: case.batch,
            forward_ms,
            train_step_ms,
            torch_forward_ms: None,
            torch_train_step_ms: None,
        });
    }
    if !no_torch {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scripts/reference/bench_encoders_torch.py");
        match torch(&script, &cases, steps, threads) {
            Ok(rows) => {
                for (name, forward, train) in rows {
                    if let Some(f) = figures.iter_mut().find(|f| f.name == name) {
                        (f.torch_forward_ms, f.torch_train_step_ms) = (Some(forward), Some(train));
                    }
                }
            }
            Err(e) => eprintln!("PyTorch not measured: {e:#}"),
        }
    }
    println!(
        "{:<12} {:>5} {:>11} {:>11} {:>7} {:>11} {:>11} {:>7}",
        "encoder", "batch", "fwd ms", "torch", "speed", "train ms", "torch", "speed"
    );
    let cell = |v: Option<f64>, unit: &str| v.map_or("–".to_owned(), |v| format!("{v:.2}{unit}"));
    for f in &figures {
        let (forward_ratio, train_ratio) = f.ratios();
        println!(
            "{:<12} {:>5} {:>11.1} {:>11} {:>7} {:>11.1} {:>11} {:>7}",
            f.name,
            f.batch,
            f.forward_ms,
            cell(f.torch_forward_ms, ""),
            cell(forward_ratio, "×"),
            f.train_step_ms,
            cell(f.torch_train_step_ms, ""),
            cell(train_ratio, "×"),
        );
    }
    println!(
        "{threads} threads on both sides; speed = PyTorch's time / mer's (above 1: mer is faster)"
    );
    if json {
        println!(
            "{}",
            serde_json::json!({ "threads": threads, "cases": figures })
        );
    }
    Ok(())
}
