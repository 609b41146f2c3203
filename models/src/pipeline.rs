//! Training a network after the networks it learns from: each teacher whose checkpoint is
//! missing is trained first (its own teachers before it), each that exists is reused, and the
//! figures of all of them are printed side by side at the end.

use std::path::PathBuf;
use std::time::Instant;

use mer_core::config::RawConfig;
use mer_core::train::BestEpoch;

use crate::cli;
use crate::report;

/// One network of a pipeline: a teacher (trained now or reused) or the run itself.
#[derive(Debug, Clone)]
pub struct Stage {
    /// The teacher field that needs it (`audio_student.teacher` for a teacher's teacher), or
    /// the run's architecture.
    pub name: String,
    /// Its checkpoint folder.
    pub checkpoint: PathBuf,
    /// Seconds spent training it in this command; `None` when it was reused.
    pub trained_seconds: Option<f64>,
}

/// Trains every teacher `raw`'s run needs that has no checkpoint yet, depth first, and lists
/// them all (each checkpoint once) with `prefix` before their field names.
pub fn train_teachers(raw: &RawConfig, device: &str, prefix: &str) -> anyhow::Result<Vec<Stage>> {
    let registration = cli::registration(raw, None)?;
    let inputs = (registration.inputs)(raw)?;
    let mut stages: Vec<Stage> = Vec::new();
    for teacher in inputs.teachers {
        let name = format!("{prefix}{}", teacher.field);
        let trained_seconds = if mer_core::train::is_finished(&teacher.checkpoint) {
            eprintln!(
                "reusing the teacher `{name}`: {}",
                teacher.checkpoint.display()
            );
            None
        } else {
            let Some((configs, overrides)) = &teacher.run else {
                anyhow::bail!(
                    "the teacher `{name}`'s checkpoint {} does not exist",
                    teacher.checkpoint.display()
                );
            };
            let teacher_raw = RawConfig::load(configs, overrides)?;
            // Its own teachers first; they are listed before it.
            stages.extend(train_teachers(&teacher_raw, device, &format!("{name}."))?);
            eprintln!(
                "training the teacher `{name}` ({} {}): its checkpoint {} does not exist yet",
                configs.join(" "),
                overrides
                    .iter()
                    .map(|o| format!("--set {o}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                teacher.checkpoint.display()
            );
            let started = Instant::now();
            crate::commands::train_run(&teacher_raw, None, device)?;
            Some(started.elapsed().as_secs_f64())
        };
        stages.push(Stage {
            name,
            checkpoint: teacher.checkpoint,
            trained_seconds,
        });
    }
    let mut seen = std::collections::BTreeSet::new();
    stages.retain(|s| seen.insert(s.checkpoint.clone()));
    Ok(stages)
}

/// The stages' best epochs side by side: dev and test weighted F1 and accuracy.
pub fn print_side_by_side(stages: &[Stage]) -> anyhow::Result<()> {
    println!();
    println!(
        "{:<28} {:>9} {:>9} {:>9} {:>9}  {:<14} checkpoint",
        "network", "dev wF1", "dev acc", "test wF1", "test acc", "this command"
    );
    for stage in stages {
        let Some(BestEpoch { dev, test, .. }) = report::best_epoch(&stage.checkpoint)? else {
            continue;
        };
        let test_figure = |f: fn(&mer_core::run::Metrics) -> f64| {
            test.as_ref()
                .map_or("-".to_owned(), |m| format!("{:.2}", f(m)))
        };
        let done = match stage.trained_seconds {
            Some(s) => format!("trained {s:.0} s"),
            None => "reused".to_owned(),
        };
        println!(
            "{:<28} {:>9.2} {:>9.2} {:>9} {:>9}  {:<14} {}",
            stage.name,
            dev.weighted_f1,
            dev.accuracy,
            test_figure(|m| m.weighted_f1),
            test_figure(|m| m.accuracy),
            done,
            stage.checkpoint.display()
        );
    }
    Ok(())
}
