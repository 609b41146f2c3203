//! `mer bench train-step`: milliseconds and utterances per second of one training step (forward
//! at the run's precision, backward, AdamW) of an encoder on a device, beside PyTorch's eager
//! fp32, TF32 and bf16-autocast steps of the same network, batch, shape and dropout on the same
//! device (`scripts/reference/bench_train_step_torch.py`).
//!
//! The default case is BERT-base (12 × 768, batch 32, 128 tokens), the reference point of GPU
//! training speed; `--case` takes any of `mer bench encoders`' cases. Shapes are fixed per case,
//! so the warm-up steps compile and autotune every kernel a timed step uses.

use std::path::{Path, PathBuf};

use anyhow::Context;
use mer_core::registry::{CpuTraining, Device};
use mer_kernels::Precision;
use serde::Serialize;

use crate::bench_encoders::{self, EncoderCase, Timing};

/// What to time.
#[derive(Debug, Clone)]
pub struct TrainStepBench {
    /// `cpu`, `cuda` or `cuda:N` (checked by `results::parse_device`).
    pub device: String,
    pub precision: Precision,
    /// Case names; empty: BERT-base.
    pub cases: Vec<String>,
    pub steps: usize,
    pub warmup: usize,
    /// Skip the PyTorch script.
    pub no_torch: bool,
    /// Also write the figures here as JSON (temp file + rename).
    pub out: Option<PathBuf>,
}

/// One case's figures.
#[derive(Debug, Clone, Serialize)]
pub struct TrainStepFigures {
    pub name: &'static str,
    pub batch: usize,
    pub length: usize,
    pub precision: &'static str,
    pub train_step_ms: f64,
    pub utterances_per_s: f64,
    pub torch_fp32_ms: Option<f64>,
    pub torch_tf32_ms: Option<f64>,
    pub torch_bf16_ms: Option<f64>,
}

/// mer's training-step milliseconds for `case` on `device`.
fn time_case(case: &EncoderCase, device: Device, bench: &TrainStepBench) -> anyhow::Result<f64> {
    let (precision, steps, warmup) = (bench.precision, bench.steps, bench.warmup);
    let (_, train_ms) = match device {
        Device::Cpu => bench_encoders::run_case::<CpuTraining>(
            case,
            &Timing {
                device: Default::default(),
                precision,
                steps,
                warmup,
                forward: false,
            },
        )?,
        #[cfg(feature = "cuda")]
        Device::Cuda(index) => {
            // The same persistent tuning and kernel cache as training's default `output.cache`.
            mer_core::registry::gpu::configure_cubecl(Path::new("cache/cubecl"));
            bench_encoders::run_case::<mer_core::registry::GpuTraining>(
                case,
                &Timing {
                    device: burn::backend::cuda::CudaDevice { index },
                    precision,
                    steps,
                    warmup,
                    forward: false,
                },
            )?
        }
    };
    Ok(train_ms)
}

/// PyTorch's fp32, TF32 and bf16 step milliseconds per case name.
type TorchRow = (String, Option<f64>, Option<f64>, Option<f64>);

fn torch(cases: &[EncoderCase], bench: &TrainStepBench) -> anyhow::Result<Vec<TorchRow>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts/reference/bench_train_step_torch.py");
    let script = if script.exists() {
        script
    } else {
        // A carried binary runs away from its source tree: the script beside the working folder.
        PathBuf::from("scripts/reference/bench_train_step_torch.py")
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (steps, warmup, threads) = (
        bench.steps.to_string(),
        bench.warmup.to_string(),
        threads.to_string(),
    );
    let spec = serde_json::to_string(cases)?;
    let parsed = crate::bench::python_json(
        &script,
        &[
            "--device",
            &bench.device,
            "--steps",
            &steps,
            "--warmup",
            &warmup,
            "--threads",
            &threads,
            "--cases",
            &spec,
        ],
    )?;
    Ok(parsed["cases"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default().to_owned(),
                r["fp32_ms"].as_f64(),
                r["tf32_ms"].as_f64(),
                r["bf16_ms"].as_f64(),
            )
        })
        .collect())
}

/// Runs the benchmark and prints its table (and JSON, last line).
pub fn report(bench: &TrainStepBench) -> anyhow::Result<Vec<TrainStepFigures>> {
    let wanted: Vec<String> = match bench.cases.is_empty() {
        true => vec!["bert-base".to_owned()],
        false => bench.cases.clone(),
    };
    let mut cases = bench_encoders::cases(true)?;
    cases.retain(|c| wanted.iter().any(|n| n == c.name));
    let device = crate::results::device(&bench.device);
    let mut figures = Vec::new();
    for case in &cases {
        let train_step_ms = time_case(case, device, bench)?;
        eprintln!(
            "{}: {train_step_ms:.1} ms/step ({})",
            case.name, bench.device
        );
        figures.push(TrainStepFigures {
            name: case.name,
            batch: case.batch,
            length: case.length,
            precision: bench.precision.name(),
            train_step_ms,
            utterances_per_s: case.batch as f64 * 1000.0 / train_step_ms,
            torch_fp32_ms: None,
            torch_tf32_ms: None,
            torch_bf16_ms: None,
        });
    }
    if !bench.no_torch {
        match torch(&cases, bench) {
            Ok(rows) => {
                for (name, fp32, tf32, bf16) in rows {
                    if let Some(f) = figures.iter_mut().find(|f| f.name == name) {
                        (f.torch_fp32_ms, f.torch_tf32_ms, f.torch_bf16_ms) = (fp32, tf32, bf16);
                    }
                }
            }
            Err(e) => eprintln!("PyTorch not measured: {e:#}"),
        }
    }
    print_table(&figures, bench);
    let json = serde_json::json!({
        "device": bench.device,
        "steps": bench.steps,
        "warmup": bench.warmup,
        "cases": figures,
    });
    println!("{json}");
    if let Some(path) = &bench.out {
        mer_core::util::atomic::write(path, format!("{json:#}\n").as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(figures)
}

fn print_table(figures: &[TrainStepFigures], bench: &TrainStepBench) {
    println!(
        "{:<12} {:>5} {:>6} {:>10} {:>9} {:>11} {:>11} {:>11} {:>8}",
        "encoder",
        "batch",
        "length",
        "mer ms",
        "utt/s",
        "torch fp32",
        "torch tf32",
        "torch bf16",
        "speed"
    );
    let cell = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.1}"));
    for f in figures {
        // Like with like: mer's bf16 against autocast's, mer's fp32 against eager fp32.
        let reference = match bench.precision {
            Precision::F32 => f.torch_fp32_ms,
            Precision::Bf16 => f.torch_bf16_ms,
        };
        let speed = reference.map_or("–".to_owned(), |t| format!("{:.2}×", t / f.train_step_ms));
        // Video cases have no length of their own (frames and size are in their table).
        let length = match f.length {
            0 => "–".to_owned(),
            n => n.to_string(),
        };
        println!(
            "{:<12} {:>5} {:>6} {:>10.1} {:>9.1} {:>11} {:>11} {:>11} {:>8}",
            f.name,
            f.batch,
            length,
            f.train_step_ms,
            f.utterances_per_s,
            cell(f.torch_fp32_ms),
            cell(f.torch_tf32_ms),
            cell(f.torch_bf16_ms),
            speed
        );
    }
    println!(
        "{} at {}; median of {} steps after {} warm-up steps on both sides; speed = PyTorch's time \
         at the same precision / mer's (above 1: mer is faster)",
        bench.device,
        bench.precision.name(),
        bench.steps,
        bench.warmup
    );
}
