//! `mer prep meld`: MELD's clips → the 16 kHz mono FLAC files audio encoders read.
//!
//! Input is `videos/{train,dev,test}/dia{D}_utt{U}.mp4`, or MELD.Raw's own folders as
//! downloaded (`train/train_splits`, `dev/dev_splits_complete`, `test/output_repeated_splits_test`),
//! which are first linked into that layout. Output is `audios/{split}/dia{D}_utt{U}.flac`.
//! Clips are converted on every core; finished files are skipped, so a killed run resumes;
//! every file is written to a temporary name and renamed, so none is ever half-written.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use mer_core::util::atomic;
use mer_datasets::media::audio::{decode_mono, write_flac};

/// MELD.Raw's folders per split, relative to the root.
pub const RAW_FOLDERS: [(&str, &str); 3] = [
    ("train", "train/train_splits"),
    ("dev", "dev/dev_splits_complete"),
    ("test", "test/output_repeated_splits_test"),
];

/// What a prep run did.
#[derive(Debug, Default)]
pub struct PrepReport {
    /// Clips linked from MELD.Raw's folders into `videos/`.
    pub linked: usize,
    pub converted: usize,
    /// Clips whose FLAC was already there.
    pub skipped: usize,
    /// Clips that could not be converted, with why.
    pub broken: Vec<(PathBuf, String)>,
    pub seconds: f64,
}

/// Test hook: abort the process after this many converted clips, as a kill would.
const ABORT_AFTER_CLIPS: &str = "MER_ABORT_AFTER_CLIPS";

/// Converts every clip under `root` that has no FLAC yet, on `workers` threads.
pub fn prep_meld(root: &Path, workers: usize) -> anyhow::Result<PrepReport> {
    let started = Instant::now();
    let bad_root = |message: &str| mer_datasets::DatasetError::Read {
        path: root.to_owned(),
        error: std::io::Error::new(std::io::ErrorKind::NotFound, message.to_owned()),
    };
    if !root.is_dir() {
        return Err(bad_root("not a folder").into());
    }
    let mut report = PrepReport {
        linked: link_raw(root)?,
        ..Default::default()
    };
    let mut jobs = Vec::new();
    for split in ["train", "dev", "test"] {
        let videos = root.join("videos").join(split);
        let audios = root.join("audios").join(split);
        let Ok(entries) = fs::read_dir(&videos) else {
            continue;
        };
        remove_stale_temps(&audios);
        let mut clips: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| is_clip(p))
            .collect();
        clips.sort();
        for clip in clips {
            let out = audios.join(clip.with_extension("flac").file_name().expect("a file"));
            if out.exists() {
                report.skipped += 1;
            } else {
                jobs.push((clip, out));
            }
        }
    }
    if jobs.is_empty() && report.skipped == 0 {
        return Err(bad_root(
            "no clips (expected videos/{train,dev,test}/dia*_utt*.mp4 or MELD.Raw's folders)",
        )
        .into());
    }

    let bar = ProgressBar::new(jobs.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("prep [{bar:30}] {pos}/{len} clips {per_sec} ({eta})")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let abort_after: Option<usize> = std::env::var(ABORT_AFTER_CLIPS)
        .ok()
        .and_then(|v| v.parse().ok());
    let next = AtomicUsize::new(0);
    let converted = AtomicUsize::new(0);
    let broken = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1).min(jobs.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((clip, out)) = jobs.get(i) else {
                        break;
                    };
                    match convert(clip, out) {
                        Ok(()) => {
                            let done = converted.fetch_add(1, Ordering::Relaxed) + 1;
                            if abort_after == Some(done) {
                                std::process::abort();
                            }
                        }
                        Err(e) => {
                            bar.suspend(|| eprintln!("skipping {}: {e:#}", clip.display()));
                            broken
                                .lock()
                                .expect("lock")
                                .push((clip.clone(), format!("{e:#}")));
                        }
                    }
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    report.converted = converted.into_inner();
    report.broken = broken.into_inner().expect("lock");
    report.broken.sort();
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn convert(clip: &Path, out: &Path) -> anyhow::Result<()> {
    let samples = decode_mono(clip, 16_000)?;
    atomic::write_via(out, |temp| write_flac(&samples, 16_000, temp)).map_err(|e| match e {
        atomic::WriteViaError::Fill(e) => anyhow::Error::from(e),
        atomic::WriteViaError::Io(e) => {
            anyhow::Error::from(e).context(format!("writing {}", out.display()))
        }
    })
}

/// `dia{D}_utt{U}.mp4`, not macOS's `._` shadow files (MELD.Raw has some).
fn is_clip(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    name.starts_with("dia") && name.ends_with(".mp4")
}

/// Temporary files of a killed run.
fn remove_stale_temps(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if atomic::is_temp(&entry.file_name().to_string_lossy()) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// Links clips from MELD.Raw's folders into `videos/{split}/` (relative links); returns how
/// many new links were made.
fn link_raw(root: &Path) -> anyhow::Result<usize> {
    let mut linked = 0;
    for (split, raw) in RAW_FOLDERS {
        let Ok(entries) = fs::read_dir(root.join(raw)) else {
            continue;
        };
        let videos = root.join("videos").join(split);
        fs::create_dir_all(&videos).with_context(|| format!("creating {}", videos.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if !is_clip(&path) {
                continue;
            }
            let name = entry.file_name();
            let link = videos.join(&name);
            if fs::symlink_metadata(&link).is_ok() {
                continue;
            }
            let target = Path::new("../..").join(raw).join(&name);
            atomic::symlink(&target, &link)
                .with_context(|| format!("linking {}", link.display()))?;
            linked += 1;
        }
    }
    Ok(linked)
}

/// Every utterance's audio and video file that is missing or does not decode, as
/// `{split} {dialogue}/{utterance}: {file}: {why}` lines.
pub fn check_dataset(raw: &mer_core::config::RawConfig) -> anyhow::Result<Vec<String>> {
    use mer_datasets::Split;
    use mer_datasets::media::{AudioOptions, load_audio, sample_frames};
    // Any registered architecture's config: its resolved `data` table says what to check.
    let data = (mer_core::registry::for_config(raw, Some("unimodal"))?.data)(raw)?;
    let mut problems = Vec::new();
    for split in [Split::Train, Split::Dev, Split::Test] {
        if split == Split::Test && mer_datasets::test_split_file(&data).is_some_and(|p| !p.exists())
        {
            continue;
        }
        let split_data = mer_datasets::load(&data, split)?;
        for dialogue in &split_data.dialogues {
            for (u, utterance) in dialogue.utterances.iter().enumerate() {
                let mut report = |file: &Path, why: String| {
                    problems.push(format!(
                        "{split} {}/{u}: {}: {why}",
                        dialogue.id,
                        file.display()
                    ));
                };
                if let Some(audio) = &utterance.audio {
                    if !audio.exists() {
                        report(audio, "missing".into());
                    } else if let Err(e) = load_audio(audio, &AudioOptions::default()) {
                        report(audio, e.to_string());
                    }
                }
                if let Some(video) = &utterance.video {
                    if !video.exists() {
                        report(video, "missing".into());
                    } else if let Err(e) = sample_frames(video, 1) {
                        report(video, e.to_string());
                    }
                }
            }
        }
    }
    Ok(problems)
}
