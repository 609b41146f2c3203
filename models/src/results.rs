//! What architecture binaries print: a finished training run, and a split's metrics.

use mer_core::config::ConfigError;
use mer_core::run::metrics::Metrics;
use mer_core::train::{self, Outcome, TrainData};
use mer_datasets::{LabelSet, Split};

/// `--device`'s value: `cpu`, `cuda` (the first GPU) or `cuda:N`.
pub fn parse_device(value: &str) -> Result<String, String> {
    match value.strip_prefix("cuda") {
        _ if value == "cpu" => Ok(value.to_owned()),
        Some("") => Ok(value.to_owned()),
        Some(index)
            if index
                .strip_prefix(':')
                .is_some_and(|i| i.parse::<usize>().is_ok()) =>
        {
            Ok(value.to_owned())
        }
        _ => Err(format!("`{value}`: expected cpu, cuda or cuda:N")),
    }
}

/// `train --device`'s value: one device as [`parse_device`] takes, or several of one kind,
/// comma-separated, for data-parallel training (`cuda:0,cuda:1`; `cpu,cpu` runs that path on
/// the CPU). A GPU named twice is refused.
pub fn parse_devices(value: &str) -> Result<String, String> {
    let names: Vec<&str> = value.split(',').collect();
    let mut gpus = Vec::new();
    for name in &names {
        parse_device(name).map_err(|e| format!("{e} (in `{value}`)"))?;
        if *name != "cpu" {
            let index = name.strip_prefix("cuda:").unwrap_or("0");
            if gpus.contains(&index) {
                return Err(format!("`{value}`: cuda:{index} named twice"));
            }
            gpus.push(index);
        }
    }
    if !gpus.is_empty() && gpus.len() != names.len() {
        return Err(format!(
            "`{value}`: the CPU and GPUs cannot share a run (name devices of one kind)"
        ));
    }
    Ok(value.to_owned())
}

/// The devices `train --device` names (checked by [`parse_devices`] and [`check_device`]).
pub fn devices(value: &str) -> mer_core::registry::Devices {
    let names: Vec<&str> = value.split(',').collect();
    #[cfg(feature = "cuda")]
    if value.starts_with("cuda") {
        return mer_core::registry::Devices::Cuda(
            names
                .iter()
                .map(|name| match device(name) {
                    mer_core::registry::Device::Cuda(index) => index,
                    mer_core::registry::Device::Cpu => 0,
                })
                .collect(),
        );
    }
    mer_core::registry::Devices::Cpu(names.len())
}

/// The device `--device` names (checked by [`parse_device`] and [`check_device`]).
pub fn device(value: &str) -> mer_core::registry::Device {
    #[cfg(feature = "cuda")]
    if let Some(index) = value.strip_prefix("cuda") {
        let index = index
            .strip_prefix(':')
            .map_or(0, |i| i.parse().unwrap_or(0));
        return mer_core::registry::Device::Cuda(index);
    }
    let _ = value;
    mer_core::registry::Device::Cpu
}

/// `--device cuda` needs a binary built with CUDA.
pub fn check_device(device: &str) -> Result<(), ConfigError> {
    if device.starts_with("cuda") && !cfg!(feature = "cuda") {
        return Err(ConfigError::Missing(
            "--device cuda: this binary was built without CUDA (build with `--features cuda`)"
                .into(),
        ));
    }
    Ok(())
}

/// The best epoch's figures, throughput, cache use, memory and where the checkpoint is.
pub fn print_outcome(outcome: &Outcome, data: &TrainData) {
    if outcome.resumed_at > 0 {
        println!("resumed after epoch {}", outcome.resumed_at);
    }
    let best = &outcome.best;
    println!(
        "best epoch {} of {} (selected on dev weighted F1)",
        best.epoch, outcome.epochs
    );
    println!(
        "{:<6} {:>9} {:>12} {:>9}",
        "split", "accuracy", "weighted F1", "macro F1"
    );
    for (name, m) in [("dev", Some(&best.dev)), ("test", best.test.as_ref())] {
        if let Some(m) = m {
            println!(
                "{name:<6} {:>9.2} {:>12.2} {:>9.2}",
                m.accuracy, m.weighted_f1, m.macro_f1
            );
        }
    }
    if !data.test.is_empty() {
        println!(
            "test majority-class baseline: accuracy {:.2}",
            majority_baseline(data)
        );
    }
    println!(
        "throughput: training {:.1} utterances/s, inference {:.1} utterances/s",
        outcome.train_utterances_per_s, outcome.eval_utterances_per_s
    );
    if outcome.cache.hits + outcome.cache.computed > 0 {
        println!(
            "feature cache: {} features read, {} computed ({:.1}s encoding), {} corrupt shards recomputed",
            outcome.cache.hits,
            outcome.cache.computed,
            outcome.frozen_encode_seconds,
            outcome.cache.recovered_shards
        );
    }
    let shapes = &outcome.batch_shapes;
    let listed: Vec<String> = shapes.iter().take(6).map(|s| s.to_string()).collect();
    let more = if shapes.len() > listed.len() {
        ", …"
    } else {
        ""
    };
    println!(
        "batch shapes: {} distinct ({}{more})",
        shapes.len(),
        listed.join(", ")
    );
    if let Some(mb) = crate::bench::peak_rss_mb() {
        println!("peak memory: {mb:.0} MB");
    }
    println!("checkpoint: {}", outcome.dir.display());
}

/// Test accuracy of always predicting train's most frequent class.
pub fn majority_baseline(data: &TrainData) -> f64 {
    let counts: Vec<f32> = data
        .train_class_counts()
        .iter()
        .map(|&c| c as f32)
        .collect();
    let majority = train::argmax(&counts);
    let hits = data.test.iter().filter(|s| s.label == majority).count();
    100.0 * hits as f64 / data.test.len().max(1) as f64
}

/// Accuracy and F1 of a split, per class, and the confusion matrix.
pub fn print_metrics(split: Split, m: &Metrics, labels: &LabelSet) {
    println!(
        "{split}: accuracy {:.2}, weighted F1 {:.2}, macro F1 {:.2} ({} utterances)",
        m.accuracy,
        m.weighted_f1,
        m.macro_f1,
        m.per_class.iter().map(|c| c.support).sum::<usize>()
    );
    println!(
        "{:<10} {:>9} {:>7} {:>7} {:>8}",
        "class", "precision", "recall", "F1", "support"
    );
    for (name, c) in labels.names.iter().zip(&m.per_class) {
        println!(
            "{name:<10} {:>9.2} {:>7.2} {:>7.2} {:>8}",
            c.precision, c.recall, c.f1, c.support
        );
    }
    println!("confusion (rows gold, columns predicted):");
    for (name, row) in labels.names.iter().zip(&m.confusion) {
        let cells: Vec<String> = row.iter().map(|n| format!("{n:>5}")).collect();
        println!("{name:<10} {}", cells.join(""));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_cpu_cuda_or_cuda_with_an_index() {
        for ok in ["cpu", "cuda", "cuda:0", "cuda:12"] {
            assert_eq!(parse_device(ok).as_deref(), Ok(ok));
        }
        for bad in ["gpu", "cuda:", "cuda:x", "cuda1", "cpu:0", ""] {
            assert!(parse_device(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(device("cpu"), mer_core::registry::Device::Cpu);
        for ok in ["cpu", "cpu,cpu", "cuda:0,cuda:1", "cuda,cuda:1", "cuda:3"] {
            assert_eq!(parse_devices(ok).as_deref(), Ok(ok));
        }
        for bad in [
            "cpu,cuda:0",
            "cuda:0,cuda:0",
            "cuda,cuda:0",
            "cpu,",
            "cuda:0,gpu",
        ] {
            assert!(parse_devices(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(devices("cpu,cpu"), mer_core::registry::Devices::Cpu(2));
    }
}
