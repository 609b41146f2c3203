//! The training loop.
//!
//! Each epoch shuffles with a seed derived from `training.seed` and the epoch, and reseeds the
//! backend for dropout the same way, so an epoch's result depends only on the state before it.
//! After every epoch the whole state (weights, optimiser, schedule step, history) is written to a
//! fresh `state-{epoch}/` folder and the `state` link is switched to it atomically: a run killed
//! at any point resumes from its last completed epoch and ends exactly as an uninterrupted run.

use std::fs;
use std::ops::Range;
use std::time::Instant;

use burn::module::{AutodiffModule, Module};
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{GradientsParams, Optimizer};
use burn::record::{BinFileRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::Tensor;
use burn::tensor::backend::AutodiffBackend;
use indicatif::{ProgressBar, ProgressStyle};
use mer_kernels::autocast;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::adamw::AdamWConfig;
use super::data::TrainData;
use super::error::{TrainError, io, state_error};
use super::evaluate::evaluate;
use super::frozen::{FrozenFeatures, SplitName};
use super::parallel;
use super::records::{BestEpoch, EpochRecord, Outcome};
use super::schedule::LinearSchedule;
use super::state::{CONFIG, Progress, read_state, write_state};
use super::step::{TermMeans, step_loss};
use crate::architecture::{Architecture, ArchitectureConfig, Forward};
use crate::cache::FeatureCache;
use crate::encoders::InputConfig;
use crate::input::{Batch, MediaStream, Sample};
use crate::nn::loss::balanced_weights;
use crate::run::RunConfig;
use crate::store::{Manifest, Store};
use crate::util::atomic;
use crate::util::backend::is_ndarray;

/// Test hook: abort the process after this many optimiser steps, as a kill would.
const ABORT_AFTER_STEPS: &str = "MER_ABORT_AFTER_STEPS";

/// Trains `A` as `run` says, on `data`, into its checkpoint folder in `store`.
pub fn train<B, A>(
    run: &RunConfig<A::Config>,
    config_toml: &str,
    data: &TrainData,
    store: &Store,
    device: &B::Device,
) -> Result<Outcome, TrainError>
where
    B: AutodiffBackend,
    A: Architecture<B> + AutodiffModule<B> + Forward<B>,
    A::InnerModule: Architecture<B::InnerBackend, Config = A::Config> + Forward<B::InnerBackend>,
{
    train_parallel::<B, A>(run, config_toml, data, store, std::slice::from_ref(device))
}

/// [`train`], each batch split over `devices` ([`super::parallel`]); the first one holds the
/// run's network, evaluates it and encodes frozen inputs.
pub fn train_parallel<B, A>(
    run: &RunConfig<A::Config>,
    config_toml: &str,
    data: &TrainData,
    store: &Store,
    devices: &[B::Device],
) -> Result<Outcome, TrainError>
where
    B: AutodiffBackend,
    A: Architecture<B> + AutodiffModule<B> + Forward<B>,
    A::InnerModule: Architecture<B::InnerBackend, Config = A::Config> + Forward<B::InnerBackend>,
{
    if data.train.is_empty() {
        return Err(TrainError::NoData);
    }
    let device = devices.first().ok_or(TrainError::NoDevice)?;
    let id = run.checkpoint_id();
    let relative = id.relative_dir();
    let dir = store.root().join(&relative);
    fs::create_dir_all(&dir).map_err(io(&dir))?;
    let settings = &run.training;
    let recorder = BinFileRecorder::<FullPrecisionSettings>::new();

    B::seed(device, settings.seed);
    let mut network = A::try_init(&run.model, device)?;
    let mut optimizer = AdamWConfig::new()
        .with_epsilon(1e-8)
        .with_weight_decay(settings.weight_decay as f32)
        .with_grad_clipping(
            (settings.grad_clip > 0.0)
                .then_some(GradientClippingConfig::Norm(settings.grad_clip as f32)),
        )
        .init::<B, A>();

    let mut progress = match read_state(&dir, config_toml)? {
        Some((progress, state)) => {
            if !progress.finished && progress.epochs_done > 0 {
                network = network
                    .load_file(state.join("model"), &recorder, device)
                    .map_err(|e| state_error(&state, e))?;
                let record = recorder
                    .load(state.join("optimizer"), device)
                    .map_err(|e| state_error(&state, e))?;
                optimizer = optimizer.load_record(record);
            }
            progress
        }
        None => {
            atomic::write(&dir.join(CONFIG), config_toml.as_bytes()).map_err(io(&dir))?;
            Progress::default()
        }
    };
    if progress.epochs_done == 0 {
        // The state link exists before the first checkpoint does: a checkpoint folder without
        // one reads as finished (`is_finished`), which a sweep's `--status` would otherwise
        // report for this run between its first best-epoch save and its first state.
        write_state(&dir, &progress, &network, &optimizer, &recorder)?;
    }
    let resumed_at = progress.epochs_done;

    let padding = settings.padding(!is_ndarray::<B>(device), token_limit(run, data));
    let precision = mer_kernels::Precision::from(settings.precision);

    // Frozen encoders run once per input, ever: their outputs come from the feature cache.
    let features_started = Instant::now();
    let cache = FeatureCache::new(
        &run.output.cache,
        run.output.cache_memory_mb.saturating_mul(1 << 20),
    );
    let frozen = {
        let inner = network.valid();
        FrozenFeatures::prepare(
            &inner,
            &run.model,
            data,
            &format!(
                "{}--{}",
                run.data.dataset.display_name(),
                run.data.label.letter()
            ),
            &cache,
            (settings.eval_batch_size, &padding),
            &inner.devices()[0],
        )?
    };
    let feature_seconds = features_started.elapsed().as_secs_f64();

    let batches_per_epoch = data.train.len().div_ceil(settings.batch_size);
    let schedule = LinearSchedule::new(
        settings.learning_rate,
        settings.warmup_ratio,
        settings.epochs * batches_per_epoch,
    );
    let class_weights = balanced_weights(&data.train_class_counts());
    let weights: Vec<Tensor<B, 1>> = devices
        .iter()
        .map(|device| Tensor::from_floats(class_weights.as_slice(), device))
        .collect();
    if let Some(split) = parallel::describe(devices.len(), settings.batch_size) {
        eprintln!("{split}");
    }
    let abort_after: Option<usize> = std::env::var(ABORT_AFTER_STEPS)
        .ok()
        .and_then(|v| v.parse().ok());
    let mut steps_this_process = 0usize;
    let media_needs = crate::architecture::media_per_epoch(&run.model.encoders());

    while !progress.finished && progress.epochs_done < settings.epochs {
        let epoch = progress.epochs_done + 1;
        let started = Instant::now();
        for device in devices {
            B::seed(device, epoch_seed(settings.seed, epoch));
        }
        let mut order: Vec<usize> = (0..data.train.len()).collect();
        order.shuffle(&mut StdRng::seed_from_u64(epoch_seed(settings.seed, epoch)));

        let bar = progress_bar(epoch, settings.epochs, batches_per_epoch);
        let mut loss_sum = 0.0;
        let mut term_means = TermMeans::default();
        // Media are decoded on worker threads, two batches ahead of the step that reads them.
        let mut media = MediaStream::start(
            data.media.as_ref(),
            &data.train,
            &order,
            media_needs,
            2 * settings.batch_size,
        );
        for (i, chunk) in order.chunks(settings.batch_size).enumerate() {
            let decoded = media.take(chunk.len())?;
            // One shard's loss and gradients, on `device` by `network` (a replica there).
            let shard_step = |network: &A, at: Range<usize>, on: usize, share| {
                let device = &devices[on];
                let samples: Vec<&Sample> =
                    chunk[at.clone()].iter().map(|&j| &data.train[j]).collect();
                let mut batch = Batch::<B>::padded(
                    &samples,
                    &decoded[at.clone()],
                    data.pad_id,
                    &padding,
                    device,
                );
                frozen.attach(&mut batch, SplitName::Train, &chunk[at], device);
                let output = autocast(precision, || {
                    network.forward(&batch, Some(&settings.losses))
                });
                let step = step_loss(output, batch.labels, &weights[on], &settings.losses, share)?;
                let grads = GradientsParams::from_grads(step.total.backward(), network);
                Ok::<_, TrainError>((grads, step.value, step.terms))
            };
            let labels: Vec<usize> = chunk.iter().map(|&j| data.train[j].label).collect();
            let step = parallel::step(&network, devices, (&labels, &class_weights), &shard_step)?;
            if !step.value.is_finite() {
                return Err(TrainError::NonFinite {
                    epoch,
                    step: progress.step + 1,
                    value: step.value,
                    terms: step
                        .terms
                        .iter()
                        .map(|(name, value)| format!("{name} {value}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            loss_sum += step.value;
            term_means.add(&step.terms);
            let grads = step.gradients(&network, device);
            network = optimizer.step(schedule.lr(progress.step), network, grads);
            progress.step += 1;
            steps_this_process += 1;
            let rate =
                (i + 1) as f64 * settings.batch_size as f64 / started.elapsed().as_secs_f64();
            let status = format!("loss {:.4} · {rate:.1} utt/s", loss_sum / (i + 1) as f64);
            // Off a terminal (logs, nohup) the bar is hidden: a line every tenth of an epoch.
            if bar.is_hidden() && (i + 1) % batches_per_epoch.div_ceil(10) == 0 {
                eprintln!(
                    "epoch {epoch}/{}: {}/{batches_per_epoch} batches, {status}",
                    settings.epochs,
                    i + 1
                );
            }
            bar.set_message(status);
            bar.inc(1);
            if abort_after == Some(steps_this_process) {
                std::process::abort();
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        bar.finish_and_clear();

        let inner = network.valid();
        let eval_device = &inner.devices()[0];
        let eval_started = Instant::now();
        let evaluate_split = |split| {
            autocast(precision, || {
                evaluate(
                    &inner,
                    split,
                    data,
                    (&frozen, media_needs),
                    (settings.eval_batch_size, &padding),
                    eval_device,
                )
            })
        };
        let dev = evaluate_split((&data.dev, SplitName::Dev))?;
        let test = if data.test.is_empty() {
            None
        } else {
            Some(evaluate_split((&data.test, SplitName::Test))?)
        };
        let eval_rate =
            (data.dev.len() + data.test.len()) as f64 / eval_started.elapsed().as_secs_f64();
        let record = EpochRecord {
            epoch,
            train_loss: loss_sum / batches_per_epoch as f64,
            losses: term_means.means(),
            dev,
            test,
        };
        let test_figures = record.test.as_ref().map_or(String::new(), |t| {
            format!(", test acc {:.2} wF1 {:.2}", t.accuracy, t.weighted_f1)
        });
        eprintln!(
            "epoch {epoch}/{}: loss {:.4}, dev acc {:.2} wF1 {:.2}{test_figures} ({seconds:.1}s)",
            settings.epochs, record.train_loss, record.dev.accuracy, record.dev.weighted_f1,
        );
        let improved = progress
            .best
            .as_ref()
            .is_none_or(|best| record.dev.weighted_f1 > best.dev.weighted_f1);
        let manifest = |best: &BestEpoch| Manifest {
            architecture: A::Config::NAME.to_owned(),
            summary: id.summary.clone(),
            hash: id.hash.to_string(),
            seed: id.seed,
            parts: Default::default(),
            metrics: Some(serde_json::to_value(best).expect("metrics serialise")),
        };
        if settings.keep_all_epochs {
            let epoch_best = BestEpoch {
                epoch,
                dev: record.dev.clone(),
                test: record.test.clone(),
            };
            let epoch_dir = relative.join("epochs").join(format!("epoch-{epoch}"));
            store.save(&epoch_dir, &inner, config_toml, manifest(&epoch_best))?;
        }
        if improved {
            let best = BestEpoch {
                epoch,
                dev: record.dev.clone(),
                test: record.test.clone(),
            };
            store.save(&relative, &inner, config_toml, manifest(&best))?;
            progress.best = Some(best);
            progress.bad_epochs = 0;
        } else {
            progress.bad_epochs += 1;
        }
        progress.history.push(record);
        progress.seconds.push(seconds);
        progress
            .utterances_per_s
            .push(data.train.len() as f64 / seconds);
        progress.eval_utterances_per_s.push(eval_rate);
        progress.epochs_done = epoch;
        let stop_early = settings.patience > 0 && progress.bad_epochs >= settings.patience;
        progress.finished = stop_early || epoch == settings.epochs;
        write_state(&dir, &progress, &network, &optimizer, &recorder)?;
        if stop_early {
            eprintln!(
                "stopping early: dev weighted F1 has not improved for {} epochs",
                settings.patience
            );
        }
    }

    let best = progress.best.clone().expect("at least one epoch ran");
    let mean = |values: &[f64]| {
        if values.is_empty() {
            0.0
        } else {
            values.iter().sum::<f64>() / values.len() as f64
        }
    };
    Ok(Outcome {
        dir,
        best,
        epochs: progress.epochs_done,
        resumed_at,
        train_utterances_per_s: mean(&progress.utterances_per_s),
        eval_utterances_per_s: mean(&progress.eval_utterances_per_s),
        epoch_seconds: progress.seconds.clone(),
        train_losses: progress.history.iter().map(|r| r.train_loss).collect(),
        feature_seconds,
        frozen_encoded: frozen.encoded,
        frozen_encode_seconds: frozen.encode_seconds,
        cache: cache.stats(),
        batch_shapes: padding.shapes(),
    })
}

/// The most tokens a padded batch may have: the shortest `max_len` of the text encoders (their
/// positions end there), or the longest text when no encoder reads text.
fn token_limit<C: ArchitectureConfig>(run: &RunConfig<C>, data: &TrainData) -> usize {
    run.model
        .inputs()
        .iter()
        .filter_map(|(_, input)| match input {
            InputConfig::Text(text) => Some(text.max_len),
            _ => None,
        })
        .min()
        .unwrap_or_else(|| data.longest_text())
}

fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(epoch as u64)
}

fn progress_bar(epoch: usize, epochs: usize, batches: usize) -> ProgressBar {
    let bar = ProgressBar::new(batches as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({eta})")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("epoch {epoch}/{epochs}"));
    bar
}
